"""Writes small checkpoints with Hugging Face transformers (random weights, fixed seed) plus the logits transformers
computes for them, so Almost's tests can check that checkpoints written by Python load and agree in .NET.
Usage: python3 make_transformers_fixtures.py <out-folder>"""
import json, sys, torch, transformers
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

out = sys.argv[1]
torch.manual_seed(0)
common = dict(vocab_size=96, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=128, rms_norm_eps=1e-6, initializer_range=0.2,
              bos_token_id=1, eos_token_id=2, pad_token_id=0)
models = {
    "hf-llama": LlamaForCausalLM(LlamaConfig(**common, tie_word_embeddings=False, rope_theta=10000.0)),
    "hf-qwen2": Qwen2ForCausalLM(Qwen2Config(**common, tie_word_embeddings=True, rope_theta=1000000.0)),
}
ids = torch.tensor([[1, 5, 9, 33, 12, 40, 7], [0, 0, 0, 1, 8, 50, 3]])
mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1, 1]])
expected = {"transformers": transformers.__version__, "input_ids": ids.tolist(), "attention_mask": mask.tolist()}
for name, model in models.items():
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith(".bias"):
                p.normal_(0, 0.1)   # Qwen2's q/k/v biases start at zero; make them count
        logits = model.eval()(input_ids=ids, attention_mask=mask).logits.float()
    model.save_pretrained(f"{out}/{name}", safe_serialization=True)
    expected[name] = {"logits": logits.flatten().tolist(), "shape": list(logits.shape)}
json.dump(expected, open(f"{out}/hf_expected.json", "w"))
print("wrote", out, "with transformers", transformers.__version__)
