"""Helpers of the demo Space tests: load spaces/demo, a small corpus, tiny models, the launched app."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import sys
from collections import Counter
from pathlib import Path

import pytest

from tiny import make_tiny_encoder

DEMO_DIR = Path(__file__).resolve().parents[2] / "spaces" / "demo"
LANGS = ("en", "de", "zh", "ar", "ru")
PER_LANG = 8


def load_demo_modules():
    """Import spaces/demo/app.py (and with it demo_backend) under names that cannot clash with other tests."""
    if "hf_hybrid_demo_app" in sys.modules:
        app = sys.modules["hf_hybrid_demo_app"]
    else:
        spec = importlib.util.spec_from_file_location("hf_hybrid_demo_app", DEMO_DIR / "app.py")
        app = importlib.util.module_from_spec(spec)
        sys.modules["hf_hybrid_demo_app"] = app
        spec.loader.exec_module(app)
    return app, app.backend


def small_corpus_rows() -> list[dict[str, str]]:
    """The first PER_LANG sentences of each of LANGS in the bundled XQuAD-R sample."""
    from hf_hybrid.data import bundled_sample_path, load_lareqa_pool

    pool = load_lareqa_pool(bundled_sample_path(), languages=list(LANGS))
    rows, seen = [], Counter()
    for text, lang in zip(pool.cand_texts, pool.cand_langs):
        text = text.strip()  # the demo strips passages; some sample sentences end in a space
        if seen[lang] < PER_LANG and text not in {r["text"] for r in rows}:
            rows.append({"text": text, "lang": lang})
            seen[lang] += 1
    return rows


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


UNREACHABLE_MODEL = "no-such-org/no-such-model"  # on the allow-list, but the Hub is offline in the tests


@contextlib.contextmanager
def demo_environment(root: Path):
    """Tiny models A and B, the small corpus and a private cache, set through the app's environment variables.

    The allow-list is models A and B, then :data:`UNREACHABLE_MODEL` (a Hub id the Space owner listed,
    which cannot load offline), then the quickstart checkpoints if present, then the demo encoder.
    """
    import huggingface_hub.constants as hub_constants

    rows = small_corpus_rows()
    corpus = root / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    texts = [r["text"] for r in rows]
    model_a = make_tiny_encoder(root / "model_a", texts, seed=0)
    model_b = make_tiny_encoder(root / "model_b", texts, seed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HYBRID_DEMO_MODEL", str(model_a))
        mp.setenv("HF_HYBRID_DEMO_MODEL_B", str(model_b))
        mp.setenv("HF_HYBRID_DEMO_MODELS", UNREACHABLE_MODEL)
        mp.setenv("HF_HYBRID_DEMO_CORPUS", str(corpus))
        mp.setenv("HF_HYBRID_DEMO_CACHE", str(root / "cache"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setattr(hub_constants, "HF_HUB_OFFLINE", True)
        yield {"rows": rows, "model_a": str(model_a), "model_b": str(model_b), "corpus": corpus}


@contextlib.contextmanager
def running_demo(root: Path):
    """The launched app (prevent_thread_lock) on a free port; closed on exit."""
    app, _ = load_demo_modules()
    with demo_environment(root) as env:
        demo = app.build_demo(app.DemoEngine(disk_cache=False))
        port = free_port()
        demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                    **app.launch_kwargs())
        try:
            yield {**env, "url": f"http://127.0.0.1:{port}/", "demo": demo}
        finally:
            demo.close()


def check_result_set(table: dict, chart: dict, k: int, rows: list[dict[str, str]]) -> list[list]:
    """Invariants of one top-k: ranks 1..k, scores sorted, passages/languages from the corpus, chart = table."""
    assert table["headers"] == ["rank", "score", "language", "passage"]
    data = table["data"]
    assert [r[0] for r in data] == list(range(1, k + 1))
    scores = [r[1] for r in data]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0001 <= s <= 1.0001 for s in scores)
    lang_of = {r["text"]: r["lang"] for r in rows}
    for _, _, lang, passage in data:
        assert lang_of[passage] == lang
    assert len({r[3] for r in data}) == k  # no passage twice
    counts = dict(chart["data"])
    assert set(counts) == set(LANGS)  # every corpus language has a bar, empty ones included
    assert counts == {lang: sum(r[2] == lang for r in data) for lang in LANGS}
    return data
