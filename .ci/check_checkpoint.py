"""Check that a training run's output directory holds a complete, loadable checkpoint (docs/design.md section 4)."""

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
run = Path(sys.argv[1])
expected_processes = int(sys.argv[2]) if len(sys.argv) > 2 else None
required = ["modules.json", "config.json", "model.safetensors", "hf_hybrid_config.json", "hf_hybrid_training.json", "README.md"]
missing = [f for f in required if not (run / f).is_file()]
ckpts = sorted(run.glob("checkpoint-*"))
if missing or not ckpts:
    sys.exit(f"incomplete run in {run}: missing {missing}, checkpoints {ckpts}")
if list(run.glob(".staging-*")):
    sys.exit(f"staging folder left behind in {run}")

if expected_processes is not None:
    import json

    got = json.loads((run / "hf_hybrid_training.json").read_text())["training"]["num_processes"]
    if got != expected_processes:
        sys.exit(f"{run} was trained by {got} process(es), expected {expected_processes}")

from sentence_transformers import SentenceTransformer  # noqa: E402
from transformers import AutoModel  # noqa: E402

from hf_hybrid import DualEncoder  # noqa: E402

texts = ["Wer gewann den Super Bowl?", "The Broncos won."]
ours = DualEncoder.from_pretrained(str(run)).encode_queries(texts)
st = SentenceTransformer(str(run), device="cpu").encode_query(texts)
AutoModel.from_pretrained(str(run))
diff = abs(ours - st).max()
if diff > 1e-5:
    sys.exit(f"SentenceTransformer and DualEncoder disagree by {diff}")
print(f"checkpoint OK: {run} ({len(ckpts)} checkpoint(s)); ST vs DualEncoder max diff {diff:.2e}")
