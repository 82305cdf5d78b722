"""Checks that Hugging Face transformers opens checkpoints written by Almost and computes the same logits, and that
the `tokenizers` library tokenizes like Almost. Usage: python3 check_transformers.py <folder written by Almost.Interop>
Prints one JSON line per case and exits non-zero on any mismatch."""
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer

root = sys.argv[1]
cases = json.load(open(f"{root}/expected.json"))
failed = False
for case in cases:
    folder = f"{root}/{case['name']}"
    model = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    hf_ids = [tok(t, add_special_tokens=False)["input_ids"] for t in case["texts"]]
    ids = torch.tensor(case["input_ids"])
    mask = torch.tensor(case["attention_mask"])
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask).logits.float()
    expected = torch.tensor(case["logits"]).reshape(case["logits_shape"])
    real = mask.bool()
    diff = (logits - expected).abs()[real].max().item()
    devices = {"cpu": diff}
    if torch.cuda.is_available():
        gpu = AutoModelForCausalLM.from_pretrained(folder, torch_dtype=torch.float32).cuda().eval()
        with torch.no_grad():
            devices["cuda"] = (gpu(input_ids=ids.cuda(), attention_mask=mask.cuda()).logits.float().cpu() - expected).abs()[real].max().item()
    ok = all(d < 1e-4 for d in devices.values()) and hf_ids == case["token_ids"]
    failed |= not ok
    print(json.dumps({"case": case["name"], "arch": type(model).__name__, "max_abs_logit_diff": devices,
                      "tokenizer_ids_equal": hf_ids == case["token_ids"], "ok": ok}))
sys.exit(1 if failed else 0)
