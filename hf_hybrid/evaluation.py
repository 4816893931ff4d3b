"""Retrieval evaluation: metrics on a :class:`~hf_hybrid.data.RetrievalPool`, the result object, caching.

The numbers come from :mod:`hf_hybrid.metrics_core` (pure NumPy, shared byte for byte with the
``evaluate`` metric Space, so the library and the published metric cannot drift).  This module adds what
a training run or the ``python -m hf_hybrid.evaluate`` CLI needs around it:

* :func:`evaluate_model` encodes a pool with a dual encoder (``encode_queries`` / ``encode_passages``),
  optionally through an on-disk :class:`EmbeddingCache`, and scores it; ``DualEncoderTrainer.evaluate``
  calls it, so training-time and standalone numbers are the same code path;
* :class:`RetrievalResult` holds the metrics with ``summary()``, ``to_dict()``, ``to_markdown()`` and a
  heatmap of the language-pair matrix;
* :func:`load_beir_pool` / :func:`load_pool` read BEIR-format directories (and LAReQA ones through
  :func:`hf_hybrid.data.load_lareqa_pool`) into the same pool type.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ._io import atomic_write_bytes
from .data import DataError, RetrievalPool
from .metrics_core import compute_retrieval_metrics

logger = logging.getLogger(__name__)

__all__ = [
    "RetrievalResult", "EmbeddingCache", "evaluate_scores", "evaluate_embeddings", "evaluate_model",
    "model_fingerprint", "load_beir_pool", "load_pool", "default_cache_dir",
]

DEFAULT_K_VALUES = (1, 5, 10, 100)


# ============================================================================ result object

@dataclass
class RetrievalResult:
    """Metrics of one model on one pool (the dict of :func:`hf_hybrid.metrics_core.compute_retrieval_metrics`).

    ``metrics`` is kept as the plain JSON-ready dict the core returns, so that what the Space metric
    returns and what this object serialises are literally the same structure.
    """

    metrics: dict[str, Any]
    name: str = "pool"
    model: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    # -- headline numbers -------------------------------------------------
    @property
    def languages(self) -> list[str]:
        return list(self.metrics["languages"])

    @property
    def pool_map(self) -> float | None:
        return self.metrics["pool"]["map"]

    @property
    def mono_map(self) -> float | None:
        return self.metrics["mono"]["map"]

    @property
    def cross_map(self) -> float | None:
        return self.metrics["cross"]["map"]

    @property
    def max_rd(self) -> float | None:
        return self.metrics["pool"]["max_rd"]

    def matrix(self, metric: str = "map") -> np.ndarray:
        """The language-pair matrix of ``metric`` (rows: query language, columns: candidate language); NaN = no query."""
        grid = self.metrics["matrix"].get(metric)
        if grid is None:
            raise KeyError(f"no matrix for {metric!r}; available: {sorted(self.metrics['matrix'])}")
        return np.array([[np.nan if v is None else v for v in row] for row in grid], dtype=np.float64)

    def summary(self) -> dict[str, float]:
        """Flat scalar metrics (what a Trainer logs): ``pool_map``, ``mono_map``, ``cross_map``, ``max_rd``,
        pool Recall/MRR/nDCG and the skipped-query count.  Undefined values are left out, never NaN."""
        m = self.metrics
        out: dict[str, float] = {}
        for key, value in [("pool_map", m["pool"]["map"]), ("mono_map", m["mono"]["map"]),
                           ("cross_map", m["cross"]["map"]), ("max_rd", m["pool"]["max_rd"])]:
            if value is not None:
                out[key] = float(value)
        for key, value in m["pool"].items():
            if key not in ("map", "max_rd", "num_evaluated", "num_skipped") and value is not None:
                out[f"pool_{key}"] = float(value)
        out["num_skipped"] = float(m["pool"]["num_skipped"])
        return out

    # -- serialisation ----------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "model": self.model, "meta": dict(self.meta), **self.metrics}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RetrievalResult":
        data = dict(data)
        name, model, meta = data.pop("name", "pool"), data.pop("model", None), data.pop("meta", {})
        return cls(metrics=data, name=name, model=model, meta=meta)

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False)
        if path is not None:
            atomic_write_bytes(Path(path), text.encode("utf-8"))
        return text

    def to_markdown(self, precision: int = 4) -> str:
        """Headline table, per-language pool table, the mAP language-pair matrix and the top-k shares."""
        m = self.metrics
        f = lambda v: "-" if v is None else f"{v:.{precision}f}"  # noqa: E731
        langs = m["languages"]
        lines = [f"## Retrieval results: {self.name}" + (f" ({self.model})" if self.model else ""), "",
                 f"{m['num_queries']} queries x {m['num_candidates']} candidates, {len(langs)} language(s), "
                 f"scores: {m['score_function']}. Ranks are 1-based, ties broken by candidate order.", "",
                 "| metric | value |", "|---|---:|",
                 f"| multilingual pool mAP | {f(m['pool']['map'])} |",
                 f"| mono mAP (mean of {m['mono']['num_cells']} diagonal cells) | {f(m['mono']['map'])} |",
                 f"| cross mAP (mean of {m['cross']['num_cells']} off-diagonal cells) | {f(m['cross']['map'])} |",
                 f"| MaxRD (pool, lower = less language bias) | {f(m['pool']['max_rd'])} |"]
        for key, value in m["pool"].items():
            if key not in ("map", "max_rd", "num_evaluated", "num_skipped"):
                lines.append(f"| pool {key} | {f(value)} |")
        lines.append(f"| queries evaluated / skipped (no relevant candidate) | "
                     f"{m['pool']['num_evaluated']} / {m['pool']['num_skipped']} |")
        if len(langs) > 1:
            lines += ["", "### mAP by language pair (rows: query language, columns: candidate language)", "",
                      "| query \\ cand | " + " | ".join(langs) + " |", "|---|" + "---:|" * len(langs)]
            for x, row in zip(langs, m["matrix"]["map"]):
                lines.append(f"| **{x}** | " + " | ".join(f(v) for v in row) + " |")
            skipped = int(np.sum(m["matrix"]["num_skipped"]))
            if skipped:
                lines.append(f"\n{skipped} (query, candidate language) pairs skipped: the query's group has no "
                             "answer in that language (see `matrix.num_skipped`).")
            share = m["top_k_language_share"]
            lines += ["", f"### Share of each candidate language in the pool top-{share['k']}", "",
                      "| query \\ cand | " + " | ".join(langs) + " |", "|---|" + "---:|" * len(langs)]
            for x, row in zip(langs, share["shares"]):
                lines.append(f"| **{x}** | " + " | ".join(f(v) for v in row) + " |")
        return "\n".join(lines) + "\n"

    def save_heatmap(self, path: str | os.PathLike, metric: str = "map", title: str | None = None) -> Path:
        """PNG heatmap of the language-pair matrix.

        Uses the object-oriented Figure + Agg canvas (not pyplot), so it works headless and never switches
        the backend of a notebook or GUI that imported this library.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        grid = self.matrix(metric)
        langs = self.languages
        n = len(langs)
        fig = Figure(figsize=(1.2 + 0.55 * n, 0.9 + 0.5 * n), dpi=120)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        finite = grid[np.isfinite(grid)]
        vmax = 1.0 if metric != "max_rd" else (float(finite.max()) if finite.size else 1.0)
        im = ax.imshow(np.ma.masked_invalid(grid), vmin=0.0, vmax=vmax, cmap="viridis")
        ax.set_xticks(range(n), langs)
        ax.set_yticks(range(n), langs)
        ax.set_xlabel("candidate language")
        ax.set_ylabel("query language")
        if n <= 16:
            for i in range(n):
                for j in range(n):
                    if np.isfinite(grid[i, j]):
                        ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7,
                                color="white" if grid[i, j] < 0.6 * vmax else "black")
        label = {"map": "mAP"}.get(metric, metric)
        ax.set_title(title or f"{label} by language pair: {self.name}", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
        return path

    def save(self, output_dir: str | os.PathLike, stem: str = "results") -> dict[str, Path]:
        """Write ``<stem>.json``, ``<stem>.md`` and ``<stem>_map_matrix.png`` into ``output_dir``."""
        out = Path(output_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {"json": out / f"{stem}.json", "markdown": out / f"{stem}.md",
                 "heatmap": out / f"{stem}_map_matrix.png"}
        self.to_json(paths["json"])
        atomic_write_bytes(paths["markdown"], self.to_markdown().encode("utf-8"))
        self.save_heatmap(paths["heatmap"])
        return paths


# ============================================================================ scoring entry points

def _core_kwargs(pool: RetrievalPool) -> dict[str, Any]:
    return {"query_groups": pool.query_groups, "candidate_groups": pool.cand_groups,
            "query_langs": pool.query_langs, "candidate_langs": pool.cand_langs}


def _evaluate(pool: RetrievalPool, model: str | None, max_chunk_elements: int | None,
              **inputs: Any) -> RetrievalResult:
    """The metrics core on the pool's groups and languages, wrapped in a result."""
    if max_chunk_elements is not None:
        inputs["max_chunk_elements"] = max_chunk_elements
    metrics = compute_retrieval_metrics(**_core_kwargs(pool), **inputs)
    return RetrievalResult(metrics, name=pool.name, model=model)


def evaluate_scores(
    scores: Any,
    pool: RetrievalPool,
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    top_k: int = 10,
    languages: Sequence[str] | None = None,
    model: str | None = None,
    max_chunk_elements: int | None = None,
) -> RetrievalResult:
    """Metrics from a ``(num_queries, num_candidates)`` score matrix in ``pool`` order (array, memmap, tensor)."""
    return _evaluate(pool, model, max_chunk_elements, scores=scores, languages=languages, k_values=k_values,
                     top_k=top_k)


def evaluate_embeddings(
    query_embeddings: Any,
    candidate_embeddings: Any,
    pool: RetrievalPool,
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    top_k: int = 10,
    languages: Sequence[str] | None = None,
    model: str | None = None,
    max_chunk_elements: int | None = None,
) -> RetrievalResult:
    """Metrics from query/candidate embeddings (dot product; reported as cosine when they are unit-norm)."""
    return _evaluate(pool, model, max_chunk_elements, query_embeddings=query_embeddings,
                     candidate_embeddings=candidate_embeddings, languages=languages, k_values=k_values, top_k=top_k)


# ============================================================================ embedding cache

def default_cache_dir() -> Path:
    """``$HF_HYBRID_CACHE/embeddings`` or ``~/.cache/hf_hybrid/embeddings``."""
    root = os.environ.get("HF_HYBRID_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "hf_hybrid")
    return Path(root) / "embeddings"


def model_fingerprint(model: Any) -> str:
    """Identity of a model's *weights* for cache keys: sha256 over parameter names, dtypes, shapes and bytes.

    Why weights and not the path: a checkpoint directory is rewritten in place by every training run
    and a hub id moves with new commits; a stale cache hit would silently report the old model's numbers.
    Hashing ~0.5 GB of weights costs about a second, negligible next to encoding a pool.  Objects
    without ``state_dict`` (tests' fake encoders) may expose a string attribute ``fingerprint``.
    """
    explicit = getattr(model, "fingerprint", None)
    if isinstance(explicit, str) and explicit:
        return hashlib.sha256(explicit.encode("utf-8")).hexdigest()
    state_dict = getattr(model, "state_dict", None)
    if not callable(state_dict):
        raise TypeError(f"cannot fingerprint {type(model).__name__} for the embedding cache: it has no state_dict() "
                        "and no 'fingerprint' string; pass cache_dir=None to encode without a cache.")
    h = hashlib.sha256()
    for name, tensor in sorted(state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        try:
            h.update(t.numpy().tobytes())
        except TypeError:  # bfloat16 has no NumPy dtype: hash the raw 16-bit words
            import torch

            h.update(t.view(torch.int16).numpy().tobytes())
    return h.hexdigest()


def _encoding_settings(model: Any, kind: str) -> tuple[str, str]:
    """(prompt, max_length) strings for the cache key: what changes a text's embedding besides the weights.

    The prompt part also carries the model's other non-weight settings (pooling, normalisation, tokenizer
    size), so changing e.g. the pooling of the same checkpoint cannot hit stale entries.
    """
    prompt = model.prompt(kind) if callable(getattr(model, "prompt", None)) else getattr(model, f"{kind}_prompt", "")
    if callable(getattr(model, "max_length", None)):
        max_length = model.max_length(kind)
    else:
        max_length = getattr(model, f"{kind}_max_length", None) or getattr(model, "max_seq_length", None)
    extra = ""
    settings = getattr(model, "settings", None)
    if callable(getattr(settings, "to_dict", None)):
        extra = json.dumps(settings.to_dict(), sort_keys=True, default=str)
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is not None:
        extra += f"|{type(tokenizer).__name__}:{len(tokenizer)}"
    return f"{prompt or ''}\x00{extra}", str(max_length or "")


class EmbeddingCache:
    """Embeddings on disk, keyed by ``sha256(model fingerprint, kind, prompt, max_length, text)``.

    Layout: ``<cache_dir>/<fingerprint[:16]>/<kind>/shard-<hash>.npz`` with arrays ``keys`` (uint8
    ``(n, 32)`` sha256 digests) and ``embeddings``.  Each :meth:`encode` call appends at most one shard with the texts that
    were missing; shards are written to a temporary file and moved into place with ``os.replace``, so a
    crash never leaves a truncated shard and concurrent runs at worst encode the same texts twice.
    """

    def __init__(self, cache_dir: str | os.PathLike, fingerprint: str):
        self.root = Path(cache_dir) / fingerprint[:16]
        self.fingerprint = fingerprint

    def key(self, kind: str, prompt: str, max_length: str, text: str) -> bytes:
        h = hashlib.sha256()
        for part in (self.fingerprint, kind, prompt, max_length, text):
            b = part.encode("utf-8")
            h.update(len(b).to_bytes(8, "little"))  # length-prefixed: no ambiguity between fields
            h.update(b)
        return h.digest()

    def _load(self, kind: str) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        folder = self.root / kind
        if not folder.is_dir():
            return found
        for shard in sorted(folder.glob("shard-*.npz")):
            try:
                with np.load(shard) as data:
                    keys, emb = data["keys"], data["embeddings"]
            except Exception as exc:  # unreadable shard: ignore it, the texts are re-encoded
                logger.warning("ignoring unreadable embedding cache shard %s (%s)", shard, exc)
                continue
            if keys.ndim != 2 or keys.shape[1] != 32 or len(keys) != len(emb):
                logger.warning("ignoring malformed embedding cache shard %s", shard)
                continue
            for k, e in zip(keys, emb):
                found[k.tobytes()] = e
        return found

    def encode(self, texts: Sequence[str], kind: str, encode_fn: Callable[[list[str]], np.ndarray],
               prompt: str = "", max_length: str = "") -> np.ndarray:
        """Embeddings of ``texts`` (in order), encoding only those not cached (each distinct text once)."""
        keys = [self.key(kind, prompt, max_length, t) for t in texts]
        cached = self._load(kind)
        missing: dict[bytes, str] = {}
        for k, t in zip(keys, texts):
            if k not in cached and k not in missing:
                missing[k] = t
        if missing:
            new = np.asarray(encode_fn(list(missing.values())), dtype=np.float32)
            if new.shape[0] != len(missing):
                raise ValueError(f"encoder returned {new.shape[0]} embeddings for {len(missing)} texts.")
            # uint8 rows, not a bytes dtype: NumPy's "S32" strips trailing NUL bytes, which would corrupt
            # the ~1 in 256 digests that end in 0x00.
            new_keys = np.frombuffer(b"".join(missing), dtype=np.uint8).reshape(len(missing), 32)
            folder = self.root / kind
            folder.mkdir(parents=True, exist_ok=True)
            name = hashlib.sha256(b"".join(missing)).hexdigest()[:20]
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".npz")
            try:
                with os.fdopen(fd, "wb") as fh:
                    np.savez(fh, keys=new_keys, embeddings=new)
                os.replace(tmp, folder / f"shard-{name}.npz")
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
            cached.update(zip(missing, new))
        return np.stack([cached[k] for k in keys]).astype(np.float32, copy=False)


# ============================================================================ model evaluation

def _encode(model: Any, kind: str, texts: list[str], batch_size: int, show_progress_bar: bool) -> np.ndarray:
    method = getattr(model, f"encode_{'queries' if kind == 'query' else 'passages'}", None)
    if method is None:
        raise TypeError(f"{type(model).__name__} has no encode_{'queries' if kind == 'query' else 'passages'}(); "
                        "evaluate_model needs a hf_hybrid DualEncoder (or an object with both encode methods).")
    out = method(texts, batch_size=batch_size, show_progress_bar=show_progress_bar)  # numpy by default
    if hasattr(out, "detach"):
        out = out.detach().cpu().numpy()
    return np.asarray(out, dtype=np.float32)


def evaluate_model(
    model: Any,
    pool: RetrievalPool,
    batch_size: int = 32,
    cache_dir: str | os.PathLike | None = None,
    show_progress_bar: bool = False,
    *,
    k_values: Sequence[int] = DEFAULT_K_VALUES,
    top_k: int = 10,
    languages: Sequence[str] | None = None,
    model_name: str | None = None,
) -> RetrievalResult:
    """Encode ``pool`` with ``model`` (queries with ``encode_queries``, candidates with ``encode_passages``) and score it.

    ``cache_dir`` enables the on-disk :class:`EmbeddingCache` (keyed by the model's weights, see
    :func:`model_fingerprint`); leave it ``None`` during training, where weights change every step and
    fingerprinting would only cost time.  Each distinct text is encoded once either way.
    """
    if len(pool.query_texts) == 0 or len(pool.cand_texts) == 0:
        raise ValueError(f"pool '{pool.name}' is empty ({len(pool.query_texts)} queries, "
                         f"{len(pool.cand_texts)} candidates); nothing to evaluate.")
    if cache_dir is not None:
        cache = EmbeddingCache(cache_dir, model_fingerprint(model))
    embs = {}
    for kind, texts in (("query", pool.query_texts), ("passage", pool.cand_texts)):
        texts = list(texts)
        fn = lambda ts, kind=kind: _encode(model, kind, ts, batch_size, show_progress_bar)  # noqa: E731
        if cache_dir is not None:
            prompt, max_len = _encoding_settings(model, kind)
            embs[kind] = cache.encode(texts, kind, fn, prompt=prompt, max_length=max_len)
        else:
            unique = list(dict.fromkeys(texts))
            enc = fn(unique)
            if enc.shape[0] != len(unique):
                raise ValueError(f"encoder returned {enc.shape[0]} embeddings for {len(unique)} {kind} texts.")
            index = {t: i for i, t in enumerate(unique)}
            embs[kind] = enc[[index[t] for t in texts]] if len(unique) != len(texts) else enc
    name = model_name or getattr(model, "name_or_path", None) or getattr(getattr(model, "config", None),
                                                                            "_name_or_path", None)
    return evaluate_embeddings(embs["query"], embs["passage"], pool, k_values=k_values, top_k=top_k,
                               languages=languages, model=str(name) if name else None)


# ============================================================================ BEIR loader

def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not valid JSON ({exc.msg}); BEIR files hold one object per line.") from None
            if not isinstance(row, dict) or "_id" not in row:
                raise DataError(f"{path}:{n}: expected an object with an '_id' field (BEIR format).")
            rows.append(row)
    return rows


def load_beir_pool(path: str | os.PathLike, split: str = "test",
                   languages: Sequence[str] | None = None) -> RetrievalPool:
    """A BEIR directory (``corpus.jsonl``, ``queries.jsonl``, ``qrels/<split>.tsv``) as a :class:`RetrievalPool`.

    Queries are those listed in the qrels; a query's group is its id and a document's groups are the ids
    of the queries that judge it relevant (score > 0), so "relevant iff group in candidate groups" holds
    unchanged.  Languages come from a ``lang``/``language`` field when present, else ``"und"``.
    """
    root = Path(path)
    corpus_file, queries_file = root / "corpus.jsonl", root / "queries.jsonl"
    qrels_file = root / "qrels" / f"{split}.tsv"
    for f in (corpus_file, queries_file, qrels_file):
        if not f.is_file():
            available = sorted(p.stem for p in (root / "qrels").glob("*.tsv")) if (root / "qrels").is_dir() else []
            raise DataError(f"{f} not found: a BEIR directory needs corpus.jsonl, queries.jsonl and qrels/<split>.tsv"
                            + (f" (available splits: {available})" if available else ""))
    lang_of = lambda row: str(row.get("lang") or row.get("language") or "und")  # noqa: E731
    corpus = _read_jsonl(corpus_file)
    queries = {str(r["_id"]): r for r in _read_jsonl(queries_file)}
    judged: dict[str, dict[str, float]] = {}
    with open(qrels_file, encoding="utf-8", newline="") as fh:
        for n, rec in enumerate(csv.reader(fh, delimiter="\t"), 1):
            if not rec or (n == 1 and rec[0].strip().lower() in ("query-id", "query_id", "qid")):
                continue
            if len(rec) < 3:
                raise DataError(f"{qrels_file}:{n}: expected 3 tab-separated columns query-id, corpus-id, score; got {rec}")
            try:
                score = float(rec[2])
            except ValueError:
                raise DataError(f"{qrels_file}:{n}: score {rec[2]!r} is not a number.") from None
            judged.setdefault(rec[0], {})[rec[1]] = score
    missing = [q for q in judged if q not in queries]
    if missing:
        raise DataError(f"{qrels_file}: {len(missing)} query id(s) not in {queries_file}, e.g. {missing[:3]}.")
    doc_ids = [str(r["_id"]) for r in corpus]
    known = set(doc_ids)
    groups: dict[str, list[str]] = {}
    unknown_docs = 0
    for qid, docs in judged.items():
        for did, score in docs.items():
            if score > 0:
                if did in known:
                    groups.setdefault(did, []).append(qid)
                else:
                    unknown_docs += 1
    if unknown_docs:
        logger.warning("%s: %d relevance judgement(s) point to documents missing from corpus.jsonl; ignored.",
                       qrels_file, unknown_docs)
    qids = list(judged)
    keep_lang = None if languages is None else set(languages)
    q_rows = [queries[q] for q in qids if keep_lang is None or lang_of(queries[q]) in keep_lang]
    c_rows = [r for r in corpus if keep_lang is None or lang_of(r) in keep_lang]
    if not q_rows or not c_rows:
        raise DataError(f"{root}: no {'queries' if not q_rows else 'documents'} left"
                        + (f" for languages {sorted(keep_lang)}" if keep_lang else "") + ".")
    return RetrievalPool(
        query_ids=[str(r["_id"]) for r in q_rows], query_groups=[str(r["_id"]) for r in q_rows],
        query_langs=[lang_of(r) for r in q_rows], query_texts=[str(r.get("text", "")) for r in q_rows],
        cand_ids=[str(r["_id"]) for r in c_rows],
        cand_groups=[tuple(groups.get(str(r["_id"]), ())) for r in c_rows],
        cand_langs=[lang_of(r) for r in c_rows],
        cand_texts=[(str(r.get("title") or "") + " " + str(r.get("text") or "")).strip() for r in c_rows],
        name=f"{root.name}-{split}", meta={"format": "beir", "split": split, "path": str(root)},
    )


def is_beir_dir(path: str | os.PathLike) -> bool:
    p = Path(path)
    return (p / "corpus.jsonl").is_file() and (p / "queries.jsonl").is_file()


def load_pool(path: str | os.PathLike, languages: Sequence[str] | None = None, context: bool = False,
              split: str = "test") -> RetrievalPool:
    """BEIR or LAReQA directory (``"bundled"`` = the XQuAD-R sample shipped with the package) as a pool."""
    from .data import bundled_sample_path, load_lareqa_pool

    if str(path) in ("bundled", "xquad-r-sample"):
        path = bundled_sample_path()
    p = Path(path)
    if not p.is_dir():
        raise DataError(f"--data {path}: not a directory (expected a LAReQA directory of <lang>.json files or a "
                        "BEIR directory with corpus.jsonl, queries.jsonl, qrels/).")
    if is_beir_dir(p):
        if context:
            logger.warning("--context has no meaning for BEIR data; ignored.")
        return load_beir_pool(p, split=split, languages=languages)
    pool = load_lareqa_pool(p, languages=languages, context=context)
    if pool.name == "pool":
        pool.name = p.name
    return pool


# ============================================================================ helpers

