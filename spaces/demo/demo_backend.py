"""The demo's engine: cached passage indexes, search and evaluation; and the one module the UI imports.

Everything the demo Space does that is not UI lives beside ``app.py``, one concept per module:
``demo_config`` (environment, limits, :class:`DemoInputError`), ``demo_corpus`` (corpora and queries),
``demo_models`` (the models offered, and loading them), ``demo_held_out`` (the held-out articles of a
training run) and this one, :class:`DemoEngine`. ``app.py`` imports only this module, which re-exports the names the
UI and the tests use (``backend.parse_corpus``, ``backend.DEMO_LABEL``...). Those are copies of the
names: to change one (a test's ``monkeypatch.setattr``), set it on the module that owns it.

Why apart from ``app.py``: the tests and the command line can use the search and the input checks
without starting a web server, and the UI file stays a readable layout of components. Every public
entry point returns results or raises :class:`DemoInputError` whose message is meant for the user as it
is (what was wrong, what to do). The UI turns those, and any unexpected error, into a short message: a
visitor of the Space never sees a stack trace.
"""

from __future__ import annotations

import io
import tempfile
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from demo_config import (ENV_CACHE, ENV_CORPUS, ENV_MODEL, ENV_MODEL_B, ENV_MODELS, ENV_QUERY, MAX_PASSAGE_CHARS,
                         MAX_PASSAGES, MAX_QUERY_CHARS, MAX_TOP_K, MAX_TORCH_THREADS, MAX_UPLOAD_BYTES, DemoInputError,
                         cache_dir, limit_torch_threads, logger)
from demo_corpus import (DEFAULT_QUERY, UNKNOWN_LANG, Corpus, bundled_corpus, bundled_pool, clip_query, default_corpus,
                         default_query, parse_corpus, read_corpus_file)
from demo_held_out import held_out_articles
from demo_models import (DEMO_LABEL, DEMO_MODEL, E5_LABEL, E5_SMALL, GET_E5, MODEL_NOT_OFFERED, NO_MODEL,
                         TRAINED_DIRS, DefaultModels, LoadedModel, allowed_models, build_default_demo_encoder,
                         check_offered, default_models, load_model, model_choices, model_label, zero_shot_model,
                         zero_shot_problem)

__all__ = [
    # demo_config
    "ENV_CACHE", "ENV_CORPUS", "ENV_MODEL", "ENV_MODEL_B", "ENV_MODELS", "ENV_QUERY", "MAX_PASSAGES",
    "MAX_PASSAGE_CHARS", "MAX_QUERY_CHARS", "MAX_TOP_K", "MAX_TORCH_THREADS", "MAX_UPLOAD_BYTES", "DemoInputError",
    "cache_dir", "limit_torch_threads",
    # demo_corpus
    "DEFAULT_QUERY", "UNKNOWN_LANG", "Corpus", "bundled_corpus", "bundled_pool", "clip_query", "default_corpus",
    "default_query", "parse_corpus", "read_corpus_file",
    # demo_models
    "DEMO_LABEL", "DEMO_MODEL", "E5_LABEL", "E5_SMALL", "GET_E5", "MODEL_NOT_OFFERED", "NO_MODEL", "TRAINED_DIRS",
    "DefaultModels", "LoadedModel", "allowed_models", "build_default_demo_encoder", "check_offered",
    "default_models", "load_model", "model_choices", "model_label", "zero_shot_model", "zero_shot_problem",
    # demo_held_out
    "held_out_articles",
    # this module
    "DemoEngine", "EvalOutput", "SearchResult", "language_counts",
]


@dataclass
class SearchResult:
    """Top-k of one query: the rows for the table, and the language counts for the chart."""

    rows: list[dict[str, Any]]
    language_counts: dict[str, int]
    corpus: Corpus
    model: LoadedModel
    notices: list[str]

    def table(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["rank", "score", "language", "passage"])

    def chart(self):
        import pandas as pd

        return pd.DataFrame({"language": list(self.language_counts), "count": list(self.language_counts.values())})

    def composition(self) -> list[tuple[str, int]]:
        """The languages of the top-k with their counts, most frequent first (ties by language code)."""
        return sorted(((l, c) for l, c in self.language_counts.items() if c), key=lambda lc: (-lc[1], lc[0]))

    def summary(self) -> str:
        """``top-10 holds 2 of 11 corpus languages: es 9, hi 1`` (the chart, in words)."""
        k = len(self.rows)
        if not k:
            return "no results"
        parts = self.composition()
        return (f"top-{k} holds {len(parts)} of {len(self.language_counts)} corpus languages: "
                + ", ".join(f"{lang} {count}" for lang, count in parts))


@dataclass
class EvalOutput:
    """What the Evaluate tab shows: the metrics as markdown, the heatmap, and the result behind them."""

    markdown: str  # headline metrics
    tables_markdown: str  # language-pair mAP matrix and top-k language shares ("" for one language)
    heatmap_path: Path
    result: Any  # hf_hybrid.evaluation.RetrievalResult
    model: LoadedModel
    articles: list[str] | None = None  # the held-out articles used, None = all


_TMP: Path | None = None


def _tmp_dir() -> Path:
    """A folder of this process in the system temp dir: gradio serves output files from there."""
    global _TMP
    if _TMP is None or not _TMP.is_dir():
        _TMP = Path(tempfile.mkdtemp(prefix="hf_hybrid_demo_"))
    return _TMP


def language_counts(langs: Sequence[str], corpus_langs: Sequence[str]) -> dict[str, int]:
    """Count of each corpus language among ``langs``; all corpus languages listed (0 when absent) when they
    are few, so that a missing language shows as an empty bar (that absence is the bias)."""
    counts = Counter(langs)
    universe = sorted(set(corpus_langs))
    if len(universe) > 30:
        universe = sorted(counts)
    return {lang: int(counts.get(lang, 0)) for lang in universe}


class DemoEngine:
    """Loads models and builds passage indexes once per (model, corpus), in memory and on disk.

    An index on disk is ``<cache>/index/<model fingerprint>-<corpus fingerprint>.npy``: the model's files (an
    adapter's base model included) and the corpus texts decide it, so a retrained checkpoint or another corpus
    gets a new one and a restart reuses the old one. Creating an engine caps torch at
    :data:`~demo_config.MAX_TORCH_THREADS` threads.
    """

    def __init__(self, max_models: int = 3, max_indexes: int = 6, disk_cache: bool = True, batch_size: int = 64):
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._indexes: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.RLock()
        self.max_models = max_models
        self.max_indexes = max_indexes
        self.disk_cache = disk_cache
        self.batch_size = batch_size
        limit_torch_threads()  # at most MAX_TORCH_THREADS encoding threads, for this process

    def model(self, name: str) -> LoadedModel:
        """A model of :func:`allowed_models`, loaded once; any other name is refused before anything else."""
        name = check_offered(name)
        with self._lock:
            if name in self._models:
                self._models.move_to_end(name)
                return self._models[name]
            loaded = load_model(name)
            self._models[name] = loaded
            while len(self._models) > self.max_models:
                self._models.popitem(last=False)
            return loaded

    def index(self, model: LoadedModel, corpus: Corpus) -> np.ndarray:
        """Passage embeddings of ``corpus`` under ``model`` (L2-normalised float32, one row per passage)."""
        key = (model.fingerprint, corpus.fingerprint)
        with self._lock:
            if key in self._indexes:
                self._indexes.move_to_end(key)
                return self._indexes[key]
            path = cache_dir() / "index" / f"{key[0]}-{key[1]}.npy" if self.disk_cache else None
            emb = None
            if path is not None and path.is_file():
                try:
                    emb = np.load(path)
                    if emb.shape[0] != len(corpus.texts):
                        emb = None
                except (OSError, ValueError):
                    emb = None
            if emb is None:
                emb = np.asarray(model.model.encode_passages(list(corpus.texts), batch_size=self.batch_size,
                                                             show_progress_bar=False), dtype=np.float32)
                if path is not None:
                    from hf_hybrid.checkpoint import atomic_write_bytes

                    try:
                        buffer = io.BytesIO()
                        np.save(buffer, emb)
                        atomic_write_bytes(path, buffer.getvalue())
                    except OSError:
                        logger.warning("could not write the index cache %s", path, exc_info=True)
            self._indexes[key] = emb
            while len(self._indexes) > self.max_indexes:
                self._indexes.popitem(last=False)
            return emb

    def search(self, query: str, model_name: str, corpus: Corpus, k: int = 10) -> SearchResult:
        q, notices = clip_query(query)
        try:
            k = int(k)
        except (TypeError, ValueError):
            raise DemoInputError(f"top-k must be a whole number between 1 and {MAX_TOP_K}, got {k!r}.") from None
        if not 1 <= k <= MAX_TOP_K:
            raise DemoInputError(f"top-k must be between 1 and {MAX_TOP_K}, got {k}.")
        model = self.model(model_name)
        emb = self.index(model, corpus)
        qv = np.asarray(model.model.encode_queries([q], batch_size=1, show_progress_bar=False), dtype=np.float32)[0]
        scores = emb @ qv
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        # Ties (rare with float scores) go to the earlier passage, as in the metric (docs/design.md section 3).
        top = sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))
        rows = [
            {"rank": r + 1, "score": round(float(scores[i]), 4), "language": corpus.langs[i], "passage": corpus.texts[i]}
            for r, i in enumerate(top)
        ]
        counts = language_counts([corpus.langs[i] for i in top], corpus.langs)
        return SearchResult(rows, counts, corpus, model, list(corpus.notices) + notices)

    # -- evaluation ----------------------------------------------------------------------------

    def evaluate(self, model_name: str, languages: Sequence[str] | None = None, articles: str = "held-out") -> EvalOutput:
        """LAReQA evaluation of a model on the bundled sample with :mod:`hf_hybrid.evaluation`.

        ``articles="held-out"`` evaluates on the articles that the model's training run held out, when its
        ``hf_hybrid_training.json`` says it trained on the bundled sample with an article split (the
        quickstart does): the other articles were seen in training and would flatter it. Otherwise, and
        with ``articles="all"``, every article is used. For all articles the candidates are the default
        search corpus, so their embeddings come from the cached index and only the queries are encoded.
        """
        from hf_hybrid.data import bundled_sample_path, load_lareqa_pool
        from hf_hybrid.evaluation import evaluate_embeddings

        if articles not in ("held-out", "all"):
            raise DemoInputError(f"articles must be 'held-out' or 'all', got {articles!r}.")
        langs = sorted({l for l in (languages or []) if l})
        if not langs:
            raise DemoInputError("Choose at least one language to evaluate on.")
        model = self.model(model_name)
        held_out = held_out_articles(model.root) if articles == "held-out" else None
        try:
            pool = load_lareqa_pool(bundled_sample_path(), languages=langs, articles=held_out)
        except ValueError as err:
            raise DemoInputError(f"Cannot evaluate on languages {langs}: {err}") from None
        full = bundled_corpus()
        keep = [i for i, l in enumerate(full.langs) if l in set(langs)]
        if held_out is None and [full.texts[i] for i in keep] == list(pool.cand_texts):
            cand_emb = self.index(model, full)[keep]
        else:  # another candidate list (held-out articles): encode it
            cand_emb = np.asarray(model.model.encode_passages(list(pool.cand_texts), batch_size=self.batch_size,
                                                              show_progress_bar=False), dtype=np.float32)
        query_emb = np.asarray(model.model.encode_queries(list(pool.query_texts), batch_size=self.batch_size,
                                                          show_progress_bar=False), dtype=np.float32)
        result = evaluate_embeddings(query_emb, cand_emb, pool, model=model.label)
        # In the system temp dir: gradio serves output files from there (not from arbitrary cache dirs).
        scope = "held-out" if held_out else "all"
        heatmap = _tmp_dir() / f"map-{model.fingerprint}-{scope}-{'-'.join(langs)}.png"
        result.save_heatmap(heatmap, title=f"mAP by language pair ({len(langs)} languages, {scope} articles)")
        if held_out:
            scope_md = (f"**Articles:** the {len(held_out)} held out by this model's training run "
                        f"({', '.join(sorted(held_out))}).")
        else:
            total = len(load_lareqa_pool(bundled_sample_path(), languages=langs[:1]).meta["articles"])
            scope_md = f"**Articles:** all {total}" + (
                "." if articles == "all" else
                " (this model records no held-out split of the bundled sample: articles it was trained on, if "
                "any, flatter the numbers).")
        # Headline table next to the heatmap; the 11 x 11 tables below it, at 2 decimals so that they fit.
        headline = result.to_markdown().split("\n### ", 1)[0]
        _, sep, tables = result.to_markdown(precision=2).partition("\n### ")
        return EvalOutput(scope_md + "\n\n" + headline, "### " + tables if sep else "", heatmap, result, model,
                          sorted(held_out) if held_out else None)
