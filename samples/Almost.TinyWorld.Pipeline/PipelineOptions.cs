using Almost.Models.Lora;

namespace Almost.TinyWorld.Pipeline;

/// <summary>
/// The sizes of one run of the ALMoST pipeline on TinyWorld. <see cref="Default"/> is the main job (≈ 15 minutes on 2
/// CPU cores); <see cref="Fast"/> runs the same stages on a fraction of the data (the test suite's run).
/// </summary>
public sealed record PipelineOptions
{
    /// <summary>Folder of every artifact (datasets, checkpoints, metrics, report).</summary>
    public required string OutputDir { get; init; }

    /// <summary>The zoo folder; null finds <c>samples/Almost.TinyWorld/zoo</c> above the working directory.</summary>
    public string? ZooFolder { get; init; }

    /// <summary>Seed of every stage (each derives its own).</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Synthetic queries to accept.</summary>
    public int Queries { get; init; } = 240;

    /// <summary>
    /// Reject a new query whose ROUGE-L F1 with an accepted one reaches this. The reference's 0.5 suits free-form
    /// queries; TinyWorld's are templated ("Sort the list 3, 7, 8." vs "Sort the list 7, 10, 14." is 0.67 for two
    /// different tasks), and at 0.5 the base model gave 37 accepted queries in 2,208 candidates before stalling. 0.75
    /// keeps the rewordings of one task out while letting different operands in.
    /// </summary>
    public double MaxRougeL { get; init; } = 1.0;

    /// <summary>Most query-generation rounds (32 prompts each).</summary>
    public int MaxQueryRounds { get; init; } = 60;

    /// <summary>The zoo model that writes queries and plays the user.</summary>
    public string QueryModel { get; init; } = "base";

    /// <summary>The policy's starting point (the zoo model fine-tuned by SFT).</summary>
    public string PolicyModel { get; init; } = "base";

    /// <summary>The reward model's starting point.</summary>
    public string RewardModel { get; init; } = "small";

    /// <summary>
    /// The ranking rubric over configurations named <c>{size}-{quality}-{shots}</c>: chains separated by <c>|</c>, each
    /// best first and paired on its own. Default: the settings docs/synthetic-feedback.md chose on train-split tasks —
    /// the widest size-and-shots step and careful vs sloppy at equal size (86.4 % oracle agreement after the filter on
    /// its reported run; adjacent ranks agree ~59 %).
    /// </summary>
    public string Rubric { get; init; } = "base-careful-5 > tiny-0 | base-careful-3 > base-sloppy-3";

    /// <summary>
    /// Minimum response length of the heuristic filter; the reference's other rules are off (measured: 50 drops
    /// TinyWorld's best answers, and the other rules cost the careful-vs-sloppy chain 12 points; see docs).
    /// </summary>
    public int FilterMinLength { get; init; } = 20;

    /// <summary>
    /// Reward-model epochs. The paper trains one epoch on ~20k comparisons; TinyWorld runs have a few hundred, and one
    /// epoch leaves the score head near its random start (the fast run measured 17 % accuracy on oracle pairs after
    /// 3 steps), so the RM trains longer here.
    /// </summary>
    public int RewardModelEpochs { get; init; } = 4;

    /// <summary>Reward-model peak learning rate.</summary>
    public double RewardModelLearningRate { get; init; } = 3e-4;

    /// <summary>Self-play dialogues (opening queries taken from the accepted queries, repeated as needed).</summary>
    public int Dialogues { get; init; } = 240;

    /// <summary>
    /// Candidates per assistant turn in self-play (the paper's N is 4). 8 with the consensus selection below, chosen on
    /// train-split signals (the main job's RM, 300 train-split tasks, samples of <c>base-careful-5</c>): the kept
    /// candidate scores 0.832 at N = 4 and 0.846 at N = 8 (the RM's argmax alone 0.812 and 0.792, a random candidate
    /// 0.793 and 0.791: more samples give the RM more outliers to overrate, and the consensus more agreement to find);
    /// the SFT policy on the N = 8 dialogues 0.833 vs 0.828 on 400 train-split tasks and 0.868 vs 0.864 on fresh list
    /// operations, for about a minute more per self-play run (docs/pipeline.md).
    /// </summary>
    public int Candidates { get; init; } = 8;

    /// <summary>
    /// Weight of the candidates' agreement in self-play's selection (<see cref="Almost.Synthetic.SelfPlay.SelfPlayOptions.ConsensusWeight"/>;
    /// 0 is the paper's reward-model argmax). 8 was chosen on 300 train-split tasks (4 samples of <c>base-careful-5</c>
    /// each, the main job's RM): random 0.795, RM argmax 0.818, weight 1 / 2 / 4 / 8 / 16 0.827 / 0.831 / 0.838 / 0.843 /
    /// 0.843, oracle pick 0.880 (docs/pipeline.md).
    /// </summary>
    public double SelfPlayConsensusWeight { get; init; } = 8;

    /// <summary>SFT epochs. Self-play gives a few hundred short dialogues; at 2 epochs and 1e-4 the fast run's policy
    /// moved 0.011 in oracle score from its start, so SFT takes more passes at a higher rate.</summary>
    public int SftEpochs { get; init; } = 4;

    /// <summary>
    /// SFT peak learning rate; null (default) = <see cref="SftPeakLearningRate"/>'s rule: 2e-3 for the LoRA adapter,
    /// 3e-4 for full fine-tuning (<see cref="SftLora"/> null).
    /// </summary>
    public double? SftLearningRate { get; init; }

    /// <summary>The SFT peak learning rate in effect: <see cref="SftLearningRate"/>, or its default for the SFT mode.</summary>
    public double SftPeakLearningRate => SftLearningRate ?? (SftLora is null ? 3e-4 : 2e-3);

    /// <summary>
    /// Pretraining-data replay in SFT: documents of the world's pretraining sample (its encyclopedia and worked
    /// examples), in file order, until their tokens reach this multiple of the demonstrations' trained tokens; 0 turns
    /// replay off (the paper's SFT). 1: as many replayed tokens as trained dialogue tokens. Every SFT policy of a run
    /// (ALMoST, plain self-play, no filter) replays the same way, so the ablations stay comparable. Chosen without the
    /// eval split (seed 1's dialogues, 400 train-split tasks): SFT alone raised the base model's loss on fresh (seed 77)
    /// encyclopedia documents from 0.288 to 0.310 nats; ratio 1 brought it to 0.262 (below the base model: nothing
    /// forgotten) for 0.818 vs 0.821 on the tasks (within their noise) at 1.3 times the SFT time; ratio 0.5 gave 0.276
    /// and 0.817.
    /// </summary>
    public double SftReplayRatio { get; init; } = 1.0;

    /// <summary>
    /// Every SFT policy (ALMoST, plain self-play, no filter) trains a LoRA adapter on all linear projections of its
    /// decoder layers, merged into the policy at the end (<see cref="LoraAdapter"/>), instead of every weight; null =
    /// full fine-tuning (the paper's). Default rank 8, alpha 16 (PEFT's defaults) at 2e-3. Chosen without the eval split
    /// (seed 1's dialogues; 400 train-split tasks, 200 train-split list operations that the zoo's corpus never shows,
    /// and the loss on fresh seed-77 encyclopedia and worked-example documents): full fine-tuning 0.822 / 0.850 /
    /// 0.262 / 0.727; rank 8 at 2e-3 0.828 / 0.864 / 0.251 / 0.702; rank 16 at 2e-3 0.827 / 0.864 / 0.254 / 0.709;
    /// rank 16 at 1e-3 0.824 / 0.865 / 0.249 / 0.699; rank 8 at 4e-3 0.828 / 0.856 / 0.255 / 0.712; rank 32 at 2e-3
    /// 0.819 / 0.853 / 0.254 / 0.717 (docs/pipeline.md).
    /// </summary>
    public LoraOptions? SftLora { get; init; } = new();

    /// <summary>PPO steps (rollouts).</summary>
    public int PpoSteps { get; init; } = 24;

    /// <summary>
    /// Evaluation tasks (eval split) per system: all 2,000 the world files hold. A system's mean oracle score then has
    /// a 95 % interval of about ±0.010 (±0.020 at 500 tasks, the earlier default, too wide to separate the 0.02–0.04
    /// gaps the main job measures); at about 22 s per system on 2 cores since decoding drops finished rows.
    /// </summary>
    public int EvalTasks { get; init; } = 2000;

    /// <summary>
    /// The engine of every frozen zoo model's generation (stages 1, 2 and 6 and the vanilla baselines); trained
    /// policies always use <see cref="Almost.Generation.LocalGenerator"/>. Default <see cref="FrozenGeneratorBackend.Local"/>
    /// (docs/performance.md, "Main job: TorchSharp vs llama.cpp for frozen-model generation", has the measurements).
    /// </summary>
    public FrozenGeneratorBackend FrozenGenerator { get; init; } = FrozenGeneratorBackend.Local;

    /// <summary>The main job's settings in <paramref name="outputDir"/>.</summary>
    /// <param name="outputDir">The output folder.</param>
    /// <returns>The options.</returns>
    public static PipelineOptions Default(string outputDir) => new() { OutputDir = outputDir };

    /// <summary>
    /// The same stages on a fraction of the data (under 3 minutes on 2 cores): the <c>small</c> policy and query model,
    /// the <c>tiny</c> RM, half the default's queries and dialogues, 4 PPO steps, 300 eval tasks (a paired interval of
    /// about ±0.02; the earlier 60 tasks, ±0.05, could not tell the systems apart). The data budget was set on a
    /// train-split signal (400 train-split tasks, 2 sampling seeds): with 48 queries and dialogues at N = 4 the SFT
    /// policy scored 0.785 against <c>small-careful-5</c>'s 0.775, with 120 at N = 8 0.812 (docs/pipeline.md).
    /// </summary>
    /// <param name="outputDir">The output folder.</param>
    /// <returns>The options.</returns>
    public static PipelineOptions Fast(string outputDir) => new()
    {
        OutputDir = outputDir, Queries = 120, Dialogues = 120, PpoSteps = 4, EvalTasks = 300, RewardModel = "tiny", QueryModel = "small",
        PolicyModel = "small",
    };
}
