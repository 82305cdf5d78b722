using System.Text;
using Almost.Data;
using Almost.Generation;
using FluentAssertions;
using Xunit;

namespace Almost.Core.Tests.Data;

public sealed class BatchGenerationJobTests : IDisposable
{
    private readonly TempFolder _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// Deterministic generator: a sample is the reversed prompt, tagged with the call's seed and the prompt's position in
    /// the batch (so it depends on batch composition and seed, as a real sampler does). Optionally calls
    /// <see cref="AfterPrompts"/> once it has completed that many prompts in total.
    /// </summary>
    private sealed class ReversingGenerator : ITextGenerator
    {
        public int CompletedPrompts { get; private set; }

        public List<(IReadOnlyList<string> Prompts, long Seed)> Calls { get; } = [];

        public (int Count, Action Callback)? AfterPrompts { get; set; }

        public Task<IReadOnlyList<IReadOnlyList<GenerationResult>>> GenerateAsync(
            IReadOnlyList<string> prompts, GenerationOptions options, IProgress<GenerationProgress>? progress = null,
            CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Calls.Add((prompts, options.Seed));
            var results = new List<IReadOnlyList<GenerationResult>>();
            for (int i = 0; i < prompts.Count; i++)
            {
                string reversed = new(prompts[i].Reverse().ToArray());
                results.Add(Enumerable.Range(0, options.SamplesPerPrompt)
                    .Select(s => new GenerationResult($"{reversed}|{options.Seed}|{i}|{s}", [], null, s == 0 ? FinishReason.Eos : FinishReason.Length))
                    .ToList());
                CompletedPrompts++;
                if (AfterPrompts is { } after && CompletedPrompts == after.Count)
                {
                    after.Callback();
                }
            }

            return Task.FromResult<IReadOnlyList<IReadOnlyList<GenerationResult>>>(results);
        }
    }

    private string WritePrompts(int count, Func<int, string>? line = null)
    {
        var text = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            text.Append(line?.Invoke(i) ?? $"{{\"prompt\":\"prompt number {i}\"}}").Append('\n');
        }

        return _dir.Write("prompts.jsonl", text.ToString());
    }

    private static BatchGenerationJob Job(ITextGenerator generator, int chunkSize = 3) =>
        new(generator, new BatchGenerationOptions { ChunkSize = chunkSize, Generation = new GenerationOptions { Seed = 1234 } });

    /// <summary>The output of an uninterrupted run, for comparison.</summary>
    private async Task<byte[]> ReferenceOutput(string prompts, int chunkSize = 3)
    {
        string path = _dir.File("reference.jsonl");
        await Job(new ReversingGenerator(), chunkSize).RunAsync(prompts, path);
        return File.ReadAllBytes(path);
    }

    private static async Task<List<CompletionRecord>> ReadOutput(string path) =>
        [.. (await JsonlReader.ReadAllAsync<CompletionRecord>(path)).Records];

    [Fact]
    public async Task Job_writes_one_completion_per_prompt_in_order()
    {
        string prompts = WritePrompts(7);
        string output = _dir.File("out/completions.jsonl");
        var progress = new List<BatchGenerationProgress>();

        var summary = await Job(new ReversingGenerator()).RunAsync(prompts, output, new SyncProgress(progress));

        var records = await ReadOutput(output);
        records.Select(r => r.Id).Should().Equal(Enumerable.Range(0, 7).Select(i => i.ToString()));
        records[2].Prompt.Should().Be("prompt number 2");
        records[2].Completion.Should().StartWith("2 rebmun tpmorp|");
        records[2].FinishReason.Should().Be(FinishReason.Eos);
        records[2].Samples.Should().BeNull();
        summary.Should().Be(new BatchGenerationSummary(7, 0, 7, 0));
        progress.Select(p => p.CompletedPrompts).Should().Equal(0, 3, 6, 7);
        File.ReadAllText(output).Should().Contain("\"finish_reason\":\"eos\"");
    }

    [Fact]
    public async Task Cancelled_job_resumes_to_exactly_one_record_per_prompt()
    {
        string prompts = WritePrompts(10);
        byte[] reference = await ReferenceOutput(prompts);
        string output = _dir.File("out.jsonl");
        using var cts = new CancellationTokenSource();
        var generator = new ReversingGenerator { AfterPrompts = (4, cts.Cancel) };

        var first = () => Job(generator).RunAsync(prompts, output, cancellationToken: cts.Token);

        await first.Should().ThrowAsync<OperationCanceledException>();
        (await ReadOutput(output)).Should().HaveCount(6, "the chunk in which cancellation was requested is still written whole");

        var rerun = new ReversingGenerator();
        var summary = await Job(rerun).RunAsync(prompts, output);

        summary.ResumedPrompts.Should().Be(6);
        summary.GeneratedThisRun.Should().Be(4);
        rerun.Calls.Select(c => c.Prompts.Count).Should().Equal(3, 1);
        var records = await ReadOutput(output);
        records.Select(r => r.Id).Should().Equal(Enumerable.Range(0, 10).Select(i => i.ToString()));
        File.ReadAllBytes(output).Should().Equal(reference, "a resumed run gives the same samples as an uninterrupted one");
    }

    [Fact]
    public async Task Torn_last_line_is_repaired_on_rerun()
    {
        string prompts = WritePrompts(8);
        byte[] reference = await ReferenceOutput(prompts);
        string output = _dir.File("out.jsonl");
        await Job(new ReversingGenerator()).RunAsync(prompts, output);
        using (var stream = new FileStream(output, FileMode.Open))
        {
            stream.SetLength(stream.Length - 17); // chop the last record mid-line
        }

        var rerun = new ReversingGenerator();
        var summary = await Job(rerun).RunAsync(prompts, output);

        summary.RepairedBytes.Should().BeGreaterThan(0);
        summary.GeneratedThisRun.Should().Be(1);
        var records = await ReadOutput(output);
        records.Select(r => r.Id).Should().OnlyHaveUniqueItems().And.Equal(Enumerable.Range(0, 8).Select(i => i.ToString()));
        File.ReadAllBytes(output).Should().Equal(reference);
    }

    [Fact]
    public async Task Partly_written_chunk_is_regenerated_with_the_same_batch_and_seed()
    {
        string prompts = WritePrompts(6);
        byte[] reference = await ReferenceOutput(prompts);
        string output = _dir.File("out.jsonl");
        var lines = Encoding.UTF8.GetString(reference).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        File.WriteAllText(output, string.Join("", lines.Take(4).Select(l => l + "\n")) + lines[4][..10]);

        var rerun = new ReversingGenerator();
        await Job(rerun).RunAsync(prompts, output);

        rerun.Calls.Should().ContainSingle().Which.Prompts.Should().HaveCount(3);
        rerun.Calls[0].Seed.Should().Be(BatchGenerationJob.ChunkSeed(1234, 3));
        File.ReadAllBytes(output).Should().Equal(reference);
    }

    [Fact]
    public async Task Rerun_of_a_finished_job_generates_nothing()
    {
        string prompts = WritePrompts(5);
        string output = _dir.File("out.jsonl");
        await Job(new ReversingGenerator()).RunAsync(prompts, output);
        byte[] before = File.ReadAllBytes(output);

        var rerun = new ReversingGenerator();
        var summary = await Job(rerun).RunAsync(prompts, output);

        rerun.Calls.Should().BeEmpty();
        summary.GeneratedThisRun.Should().Be(0);
        File.ReadAllBytes(output).Should().Equal(before);
    }

    [Fact]
    public async Task Ids_come_from_the_prompt_or_its_line_index_and_metadata_is_kept()
    {
        string prompts = _dir.Write("prompts.jsonl",
            "{\"prompt\":\"a\",\"id\":\"q-a\",\"topic\":\"math\"}\n\n{\"prompt\":\"b\"}\n{\"prompt\":\"c\",\"id\":17}\n");
        string output = _dir.File("out.jsonl");

        await Job(new ReversingGenerator(), chunkSize: 2).RunAsync(prompts, output);

        var records = await ReadOutput(output);
        records.Select(r => r.Id).Should().Equal("q-a", "2", "17");
        records[0].Extra.Should().ContainKey("topic");
        DatasetFormatDetector.Detect(File.ReadAllLines(output)[0]).Should().Be(DatasetFormat.PromptCompletion);
    }

    [Fact]
    public async Task Duplicate_prompt_ids_are_rejected()
    {
        string prompts = _dir.Write("prompts.jsonl", "{\"prompt\":\"a\",\"id\":\"x\"}\n{\"prompt\":\"b\",\"id\":\"x\"}\n");

        var act = () => Job(new ReversingGenerator()).RunAsync(prompts, _dir.File("out.jsonl"));

        (await act.Should().ThrowAsync<JsonlFormatException>()).Which.Message.Should().Contain("line 2: duplicate id 'x'");
    }

    [Fact]
    public async Task Empty_prompts_file_is_rejected()
    {
        string prompts = _dir.Write("prompts.jsonl", "");

        var act = () => Job(new ReversingGenerator()).RunAsync(prompts, _dir.File("out.jsonl"));

        (await act.Should().ThrowAsync<JsonlFormatException>()).Which.Message.Should().Contain("empty dataset");
    }

    [Fact]
    public async Task Several_samples_per_prompt_are_all_stored()
    {
        string prompts = WritePrompts(2);
        string output = _dir.File("out.jsonl");
        var job = new BatchGenerationJob(new ReversingGenerator(), new BatchGenerationOptions
        {
            Generation = new GenerationOptions { SamplesPerPrompt = 3 },
        });

        await job.RunAsync(prompts, output);

        var records = await ReadOutput(output);
        records[1].Samples.Should().HaveCount(3);
        records[1].Samples![0].Completion.Should().Be(records[1].Completion);
        records[1].Samples![2].FinishReason.Should().Be(FinishReason.Length);
    }

    [Fact]
    public void Chunk_seeds_are_stable_and_distinct()
    {
        BatchGenerationJob.ChunkSeed(7, 32).Should().Be(BatchGenerationJob.ChunkSeed(7, 32));
        var seeds = Enumerable.Range(0, 100).Select(i => BatchGenerationJob.ChunkSeed(7, i * 32)).ToList();
        seeds.Should().OnlyHaveUniqueItems().And.OnlyContain(s => s >= 0);
        BatchGenerationJob.ChunkSeed(8, 0).Should().NotBe(BatchGenerationJob.ChunkSeed(7, 0));
    }

    /// <summary>Reports synchronously (Progress&lt;T&gt; posts to the thread pool, which makes assertions racy).</summary>
    private sealed class SyncProgress(List<BatchGenerationProgress> sink) : IProgress<BatchGenerationProgress>
    {
        public void Report(BatchGenerationProgress value) => sink.Add(value);
    }
}
