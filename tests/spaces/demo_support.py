"""Helpers of the demo Space tests: load spaces/demo, small corpora, tiny models and adapters, the launched app."""

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


def bias_corpus_rows(query_article: str = "Apollo_program", query_lang: str = "es") -> list[dict[str, str]]:
    """Every sentence of ``query_article`` in the 11 languages, and every ``query_lang`` sentence of the sample
    (500 passages): the answers of the demo's default query in every language, among the same-language
    distractors that zero-shot e5-small prefers. On it the default query's top-10 has the same language make-up
    as on the whole bundled corpus (measured: zero-shot es 9 + hi 1; the quickstart adapter one per language)."""
    from hf_hybrid.data import bundled_sample_path, load_lareqa_pool

    article = load_lareqa_pool(bundled_sample_path(), articles=[query_article])
    keep = set(zip(article.cand_texts, article.cand_langs))
    pool = load_lareqa_pool(bundled_sample_path())
    return [{"text": t, "lang": l} for t, l in zip(pool.cand_texts, pool.cand_langs)
            if (t, l) in keep or l == query_lang]


def make_tiny_adapter(root: Path, texts: list[str], seed: int = 0) -> tuple[Path, Path]:
    """(base dir, adapter dir): a tiny encoder and a LoRA adapter on it whose weights are not the identity
    (``lora_B`` random, so the adapter changes the embeddings), saved as training saves one."""
    import torch

    from hf_hybrid.modeling import DualEncoder, apply_lora

    base = make_tiny_encoder(root / "base", texts, seed=seed)
    model = DualEncoder.from_pretrained(base)
    apply_lora(model, r=4, alpha=8, verbose=False)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    model.save_pretrained(root / "adapter")
    return base, root / "adapter"


@contextlib.contextmanager
def demo_environment(root: Path):
    """Tiny models A and B, the small corpus and a private cache, set through the app's environment variables.

    The allow-list is models A and B, then :data:`UNREACHABLE_MODEL` (a Hub id the Space owner listed,
    which cannot load offline), then ``e5-small`` (offered as if it resolved: it is never loaded here). No
    trained checkpoint (recommended or quickstart), whatever the checkout holds.
    """
    import huggingface_hub.constants as hub_constants

    _, backend = load_demo_modules()
    import demo_models  # where allowed_models() reads the trained checkpoints' paths and the e5-small probe

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
        mp.setattr(demo_models, "TRAINED_DIRS", (("recommended", root / "outputs" / "recommended"),
                                                 ("quickstart", root / "outputs" / "quickstart")))
        mp.setattr(demo_models, "_probe_zero_shot", lambda: None)
        mp.delenv(backend.ENV_QUERY, raising=False)
        yield {"rows": rows, "model_a": str(model_a), "model_b": str(model_b), "corpus": corpus}


@contextlib.contextmanager
def compare_environment(root: Path, trained: Path):
    """The demo's defaults for real: zero-shot e5-small beside ``trained`` as the quickstart checkpoint (no
    recommended one), on the :func:`bias_corpus_rows` corpus with the default query prefilled; no owner-set models;
    a private cache."""
    _, backend = load_demo_modules()
    import demo_models

    rows = bias_corpus_rows()
    corpus = root / "bias_corpus.jsonl"
    corpus.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        for var in (backend.ENV_MODEL, backend.ENV_MODEL_B, backend.ENV_MODELS):
            mp.delenv(var, raising=False)
        mp.setenv(backend.ENV_CORPUS, str(corpus))
        mp.setenv(backend.ENV_QUERY, backend.DEFAULT_QUERY)
        mp.setenv(backend.ENV_CACHE, str(root / "cache"))
        mp.setattr(demo_models, "TRAINED_DIRS", (("recommended", root / "outputs" / "recommended"),
                                                 ("quickstart", Path(trained))))
        yield {"rows": rows, "corpus": corpus, "trained": str(trained)}


@contextlib.contextmanager
def launched(demo):
    """``demo`` served on a free local port (prevent_thread_lock) for the block; its URL."""
    app, _ = load_demo_modules()
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                **app.launch_kwargs())
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@contextlib.contextmanager
def running_demo(root: Path):
    """The launched app (prevent_thread_lock) on a free port; closed on exit."""
    app, _ = load_demo_modules()
    with demo_environment(root) as env:
        demo = app.build_demo(app.DemoEngine(disk_cache=False))
        with launched(demo) as url:
            yield {**env, "url": url, "demo": demo}


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
