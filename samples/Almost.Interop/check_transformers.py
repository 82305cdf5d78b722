"""Checks that Hugging Face transformers opens checkpoints written by Almost and computes the same logits, and that
the `tokenizers` library tokenizes like Almost; then that reward models written by Almost open with
AutoModelForSequenceClassification and give Almost's scores, left- and right-padded (so transformers pools at the token
Almost scores, PAD = EOS included), with mean/std in the config.
Usage: python3 check_transformers.py <folder written by Almost.Interop>
Prints one JSON line per case and exits non-zero on any mismatch."""
import json, os, sys, torch
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

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

for case in json.load(open(f"{root}/reward_expected.json")) if os.path.exists(f"{root}/reward_expected.json") else []:
    folder = f"{root}/{case['name']}"
    model = AutoModelForSequenceClassification.from_pretrained(folder, torch_dtype=torch.float32).eval()
    tok = AutoTokenizer.from_pretrained(folder)
    expected = torch.tensor(case["scores"])
    diffs, pooled_ok = {}, True
    for side in ("left", "right"):
        ids = torch.tensor(case[f"input_ids_{side}"])
        lengths = torch.tensor(case["lengths"])
        width = ids.shape[1]
        positions = torch.arange(width).unsqueeze(0)
        real = positions >= width - lengths.unsqueeze(1) if side == "left" else positions < lengths.unsqueeze(1)
        # The token transformers pools at (last non-pad id) must be the last real token, which Almost scores.
        non_pad = (ids != model.config.pad_token_id).int()
        hf_last = (positions * non_pad).argmax(-1)
        almost_last = (positions * real.int()).argmax(-1)
        pooled_ok &= bool((hf_last == almost_last).all())
        with torch.no_grad():
            scores = model(input_ids=ids, attention_mask=real.long()).logits[:, 0].float()
        diffs[side] = (scores - expected).abs().max().item()
        if torch.cuda.is_available():
            gpu = model.cuda()
            with torch.no_grad():
                diffs[f"{side}-cuda"] = (gpu(input_ids=ids.cuda(), attention_mask=real.long().cuda()).logits[:, 0].float().cpu() - expected).abs().max().item()
            model = gpu.cpu()
    bodies = [tok(p + r, add_special_tokens=False)["input_ids"] for p, r in zip(case["prompts"], case["responses"])]
    pad = model.config.pad_token_id
    stripped = []
    for b in bodies:
        while b and b[-1] == pad:
            b = b[:-1]
        stripped.append(b)
    almost_bodies = [row[:n] for row, n in zip(case["input_ids_right"], case["lengths"])]
    bos = 1 if tok.bos_token_id is not None else 0
    eos = 1 if case["appends_eos"] else 0
    tokens_ok = all(a[bos:len(a) - eos] == b for a, b in zip(almost_bodies, stripped))
    config_ok = (model.config.num_labels == 1 and type(model).__name__.endswith("ForSequenceClassification")
                 and abs(model.config.mean - case["mean"]) < 1e-12 and abs(model.config.std - case["std"]) < 1e-12
                 and tuple(model.score.weight.shape) == (1, model.config.hidden_size))
    ok = all(d < 1e-4 for d in diffs.values()) and pooled_ok and tokens_ok and config_ok
    failed |= not ok
    print(json.dumps({"case": case["name"], "arch": type(model).__name__, "max_abs_score_diff": diffs,
                      "pooled_token_equal": pooled_ok, "tokenizer_ids_equal": tokens_ok, "config_ok": config_ok, "ok": ok}))
sys.exit(1 if failed else 0)
