"""A three-document BEIR directory for tests (``from beir_data import write_beir``; tests/ is on sys.path)."""

from __future__ import annotations

import json
from pathlib import Path


def write_beir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "qrels").mkdir(exist_ok=True)
    docs = [{"_id": "d1", "title": "Paris", "text": "Paris is in France."}, {"_id": "d2", "title": "", "text": "Berlin."},
            {"_id": "d3", "text": "Rome is in Italy."}]
    (root / "corpus.jsonl").write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    queries = [{"_id": "q1", "text": "Where is Paris?"}, {"_id": "q2", "text": "Where is Rome?"},
               {"_id": "q3", "text": "unjudged"}]
    (root / "queries.jsonl").write_text("\n".join(json.dumps(q) for q in queries) + "\n")
    (root / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td3\t2\nq2\td1\t0\n")
    return root
