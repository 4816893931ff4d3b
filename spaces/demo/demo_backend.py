"""Everything the demo Space does that is not UI: model choice, corpus parsing, cached indexes, search, evaluation.

Why a module apart from ``app.py``: the tests and the command line can use the search and the input
checks without starting a web server, and the UI file stays a readable layout of components.

Every public entry point returns results or raises :class:`DemoInputError` whose message is meant
for the user as it is (what was wrong, what to do). The UI turns those, and any unexpected error, into
a short message: a visitor of the Space never sees a stack trace.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sys
import tempfile
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1] if len(HERE.parents) > 1 else HERE  # a Space has the app at its root

try:  # The Space installs hf-hybrid; a repo checkout may not have it installed.
    import hf_hybrid  # noqa: F401
except ImportError:  # pragma: no cover - depends on how the app is started
    if (REPO_ROOT / "hf_hybrid" / "__init__.py").is_file():
        sys.path.insert(0, str(REPO_ROOT))

logger = logging.getLogger("hf_hybrid.demo")

# Environment variables (documented in the Space README).
ENV_MODEL = "HF_HYBRID_DEMO_MODEL"
ENV_MODEL_B = "HF_HYBRID_DEMO_MODEL_B"
ENV_CORPUS = "HF_HYBRID_DEMO_CORPUS"
ENV_CACHE = "HF_HYBRID_DEMO_CACHE"

DEMO_MODEL = "demo"  # value of the "untrained demo encoder" choice
DEMO_LABEL = "untrained demo encoder (random init): run the quickstart for a trained one"
QUICKSTART_DIR = REPO_ROOT / "outputs" / "quickstart"
QUICKSTART_INIT = QUICKSTART_DIR / "tiny-encoder-init"  # written by the quickstart before training

# Input limits: they keep one request from tying up the (shared, CPU) Space for minutes.
MAX_QUERY_CHARS = 500
MAX_PASSAGE_CHARS = 2000
MAX_PASSAGES = 20_000
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_TOP_K = 100
UNKNOWN_LANG = "und"
TEXT_KEYS = ("text", "passage", "positive", "sentence", "content")


class DemoInputError(ValueError):
    """Bad user input or an unusable model; the message is shown to the user unchanged."""


# --------------------------------------------------------------------------------------------------
# corpus
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Corpus:
    """Passages with their languages; ``notices`` tell the user what was changed (truncation...)."""

    texts: tuple[str, ...]
    langs: tuple[str, ...]
    name: str
    notices: tuple[str, ...] = ()
    fingerprint: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if len(self.texts) != len(self.langs):
            raise ValueError(f"corpus '{self.name}': {len(self.texts)} texts but {len(self.langs)} languages")
        if not self.fingerprint:
            h = hashlib.sha256()
            for t, l in zip(self.texts, self.langs):
                h.update(l.encode() + b"\0" + t.encode() + b"\0")
            object.__setattr__(self, "fingerprint", h.hexdigest()[:16])

    @property
    def languages(self) -> list[str]:
        return sorted(set(self.langs))

    def describe(self) -> str:
        return f"{self.name} ({len(self.texts)} passages, {len(self.languages)} languages)"


_BUNDLED: dict[str, Any] = {}
_BUNDLED_LOCK = threading.Lock()


def bundled_pool():
    """The LAReQA pool of the bundled XQuAD-R sample, parsed once per process."""
    with _BUNDLED_LOCK:
        if "pool" not in _BUNDLED:
            from hf_hybrid.data import bundled_sample_path, load_lareqa_pool

            _BUNDLED["pool"] = load_lareqa_pool(bundled_sample_path())
        return _BUNDLED["pool"]


def bundled_corpus() -> Corpus:
    """Every sentence of the bundled XQuAD-R sample, in all 11 languages (the LAReQA candidate pool)."""
    pool = bundled_pool()
    with _BUNDLED_LOCK:
        if "corpus" not in _BUNDLED:
            _BUNDLED["corpus"] = Corpus(tuple(pool.cand_texts), tuple(pool.cand_langs), "bundled XQuAD-R sample")
        return _BUNDLED["corpus"]


def _clean_lang(value: Any, where: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return UNKNOWN_LANG
    if not isinstance(value, str):
        raise DemoInputError(f"{where}: field 'lang' must be a string such as \"en\", got {value!r}.")
    lang = value.strip()
    if len(lang) > 20:
        raise DemoInputError(f"{where}: 'lang' value {lang[:30]!r}... is too long; use a short code such as \"en\".")
    return lang


def parse_corpus(text: str, name: str = "your corpus") -> Corpus:
    """Parse pasted/uploaded passages: JSONL (``{"text": ..., "lang": ...}``) or one passage per line.

    A plain line may start with a language code and a tab (``de<TAB>Der Rhein ...``); lines without one
    get the language ``und`` (undetermined), which the language chart shows as such. The format is
    JSONL when the first non-empty line starts with ``{``; then every non-empty line must be a JSON
    object, and a bad line is reported by number rather than skipped (a silent skip would hide the
    passage the user is looking for).
    """
    if text is None or not str(text).strip():
        raise DemoInputError(
            "The corpus is empty: paste passages (one per line, or JSONL with \"text\" and \"lang\" fields) "
            "or upload a .txt / .jsonl file."
        )
    lines = str(text).splitlines()
    non_empty = [(i + 1, ln.strip()) for i, ln in enumerate(lines) if ln.strip()]
    texts: list[str] = []
    langs: list[str] = []
    if non_empty[0][1].startswith("{"):
        for lineno, line in non_empty:
            where = f"{name}, line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise DemoInputError(
                    f"{where} is not valid JSON ({err.msg} at column {err.colno}). Each line of a JSONL corpus "
                    "must be one object such as {\"text\": \"...\", \"lang\": \"en\"}."
                ) from None
            if not isinstance(obj, dict):
                raise DemoInputError(f"{where}: expected a JSON object with \"text\" and \"lang\", got {type(obj).__name__}.")
            key = next((k for k in TEXT_KEYS if k in obj), None)
            if key is None:
                raise DemoInputError(
                    f"{where}: no passage field; use one of {', '.join(repr(k) for k in TEXT_KEYS)} "
                    f"(found keys: {', '.join(map(repr, list(obj)[:6])) or 'none'})."
                )
            value = obj[key]
            if not isinstance(value, str):
                raise DemoInputError(f"{where}: field {key!r} must be a string, got {type(value).__name__}.")
            if not value.strip():
                continue
            texts.append(value.strip())
            langs.append(_clean_lang(obj.get("lang"), where))
    else:
        for _lineno, line in non_empty:
            head, sep, rest = line.partition("\t")
            if sep and 1 <= len(head.strip()) <= 12 and " " not in head.strip() and rest.strip():
                langs.append(head.strip())
                texts.append(rest.strip())
            else:
                langs.append(UNKNOWN_LANG)
                texts.append(line)
    if not texts:
        raise DemoInputError(f"{name} has no non-empty passage.")
    notices = []
    if len(texts) > MAX_PASSAGES:
        notices.append(f"{name} has {len(texts)} passages; only the first {MAX_PASSAGES} are used.")
        texts, langs = texts[:MAX_PASSAGES], langs[:MAX_PASSAGES]
    n_long = sum(len(t) > MAX_PASSAGE_CHARS for t in texts)
    if n_long:
        texts = [t[:MAX_PASSAGE_CHARS] for t in texts]
        notices.append(f"{n_long} passage(s) longer than {MAX_PASSAGE_CHARS} characters were truncated.")
    n_und = langs.count(UNKNOWN_LANG)
    if n_und:
        notices.append(
            f"{n_und} passage(s) have no language tag and are shown as '{UNKNOWN_LANG}': use JSONL with a "
            "\"lang\" field, or start a line with a language code and a tab."
        )
    return Corpus(tuple(texts), tuple(langs), name, tuple(notices))


def read_corpus_file(path: str | os.PathLike) -> Corpus:
    """Read an uploaded corpus file (UTF-8 text or JSONL), with a clear message for binary or huge files."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError:
        raise DemoInputError(f"The uploaded file {p.name!r} could not be read; please upload it again.") from None
    if size > MAX_UPLOAD_BYTES:
        raise DemoInputError(f"The uploaded file {p.name!r} is {size / 2**20:.1f} MB; the limit is "
                             f"{MAX_UPLOAD_BYTES // 2**20} MB.")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DemoInputError(
            f"The uploaded file {p.name!r} is not UTF-8 text. Upload a .txt (one passage per line) or a .jsonl "
            "file (one {\"text\": ..., \"lang\": ...} object per line)."
        ) from None
    if "\x00" in text:
        raise DemoInputError(f"The uploaded file {p.name!r} looks binary; upload a .txt or .jsonl text file.")
    return parse_corpus(text, name=p.name)


def default_corpus() -> Corpus:
    """``$HF_HYBRID_DEMO_CORPUS`` (a .txt/.jsonl file) when set, else the bundled XQuAD-R sample."""
    path = os.environ.get(ENV_CORPUS, "").strip()
    if path:
        return read_corpus_file(path)
    return bundled_corpus()


def clip_query(query: str | None) -> tuple[str, list[str]]:
    """The query, stripped and cut to :data:`MAX_QUERY_CHARS`; the notices say whether it was cut."""
    q = (query or "").strip()
    if not q:
        raise DemoInputError("Please type a query (a question or a few words) before searching.")
    if len(q) > MAX_QUERY_CHARS:
        return q[:MAX_QUERY_CHARS], [f"The query had {len(q)} characters and was truncated to the first {MAX_QUERY_CHARS}."]
    return q, []


# --------------------------------------------------------------------------------------------------
# models
# --------------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    root = os.environ.get(ENV_CACHE) or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hf_hybrid_demo"
    )
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _is_model_dir(path: Path) -> bool:
    return path.is_dir() and any((path / f).is_file() for f in ("config.json", "hf_hybrid_config.json", "adapter_config.json"))


def model_label(name: str) -> str:
    """What the UI calls a model choice."""
    if name == DEMO_MODEL:
        return DEMO_LABEL
    p = Path(name)
    try:
        if p.resolve() == QUICKSTART_DIR.resolve():
            return f"quickstart, trained with hybrid batches ({name})"
        if p.resolve() == QUICKSTART_INIT.resolve():
            return f"quickstart, before training: random init ({name})"
    except OSError:
        pass
    return name


def model_choices() -> list[tuple[str, str]]:
    """Dropdown entries (label, value): env models, the quickstart checkpoints present, the demo encoder."""
    values: list[str] = []
    for env in (ENV_MODEL, ENV_MODEL_B):
        v = os.environ.get(env, "").strip()
        if v:
            values.append(v)
    for path in (QUICKSTART_DIR, QUICKSTART_INIT):
        if _is_model_dir(path):
            values.append(str(path))
    values.append(DEMO_MODEL)
    seen: list[str] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return [(model_label(v), v) for v in seen]


def default_models() -> tuple[str, str]:
    """(model A, model B) for Search and Compare.

    A: ``$HF_HYBRID_DEMO_MODEL``, else the trained quickstart checkpoint, else the untrained demo encoder.
    B: ``$HF_HYBRID_DEMO_MODEL_B``, else the quickstart's random-init starting point (so Compare shows
    before/after hybrid training), else the same as A.
    """
    a = os.environ.get(ENV_MODEL, "").strip()
    if not a:
        a = str(QUICKSTART_DIR) if _is_model_dir(QUICKSTART_DIR) else DEMO_MODEL
    b = os.environ.get(ENV_MODEL_B, "").strip()
    if not b:
        b = str(QUICKSTART_INIT) if _is_model_dir(QUICKSTART_INIT) and a != str(QUICKSTART_INIT) else a
    return a, b


def build_default_demo_encoder() -> Path:
    """The untrained demo encoder on the bundled texts, built once into the cache directory (atomically)."""
    from hf_hybrid.modeling import build_tiny_encoder

    pool = bundled_pool()
    texts = list(pool.cand_texts) + list(pool.query_texts)
    key = hashlib.sha256("\0".join(texts).encode()).hexdigest()[:12]
    target = cache_dir() / f"demo-encoder-{key}"
    if not _is_model_dir(target):
        build_tiny_encoder(target, texts, seed=0)  # an atomic save: a racing process sees all or nothing
    return target


@dataclass
class LoadedModel:
    name: str
    label: str
    model: Any
    fingerprint: str
    root: Path | None = None

    @property
    def untrained(self) -> bool:
        return self.name == DEMO_MODEL


def _dir_fingerprint(root: Path) -> str:
    """Changes when the weights or settings in ``root`` change, so a retrained checkpoint gets a new index."""
    h = hashlib.sha256(str(root.resolve()).encode())
    for f in sorted(root.rglob("*")):
        if f.is_file() and f.suffix in {".safetensors", ".bin", ".json"}:
            st = f.stat()
            h.update(f"{f.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def load_model(name: str) -> LoadedModel:
    """Load a choice: ``demo``, a local checkpoint directory or a Hub id, with a user-facing error."""
    name = (name or "").strip()
    if not name:
        raise DemoInputError("Please choose a model (a local checkpoint directory or a Hugging Face Hub id).")
    try:
        from hf_hybrid.checkpoint import resolve_model_dir
        from hf_hybrid.modeling import DualEncoder
    except ImportError as err:  # pragma: no cover - packaging problem
        raise DemoInputError(f"hf_hybrid is not installed correctly ({err}); `pip install hf-hybrid`.") from None
    try:
        path = build_default_demo_encoder() if name == DEMO_MODEL else name
        model = DualEncoder.from_pretrained(path)
        root = resolve_model_dir(path)
    except Exception as err:  # any loader failure becomes a message; the log keeps the details
        logger.warning("could not load model %r", name, exc_info=True)
        msg = str(err).strip() or type(err).__name__
        if len(msg) > 600:
            msg = msg[:600] + "..."
        raise DemoInputError(
            f"Could not load the model {name!r}: {msg}\n\nUse a local checkpoint directory, a Hub id (needs the "
            f"Hub to be reachable), or the default '{DEMO_MODEL}'."
        ) from None
    model.eval()
    return LoadedModel(name, model_label(name), model, _dir_fingerprint(Path(root)), Path(root))


# --------------------------------------------------------------------------------------------------
# index + search
# --------------------------------------------------------------------------------------------------


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

    def summary(self) -> str:
        k = len(self.rows)
        present = sum(1 for c in self.language_counts.values() if c)
        return (f"top-{k} holds {present} of {len(self.language_counts)} corpus languages "
                f"(most frequent: {max(self.language_counts, key=self.language_counts.get)})" if k else "no results")


def language_counts(langs: Sequence[str], corpus_langs: Sequence[str]) -> dict[str, int]:
    """Count of each corpus language among ``langs``; all corpus languages listed (0 when absent) when they
    are few, so that a missing language shows as an empty bar (that absence is the bias)."""
    counts = Counter(langs)
    universe = sorted(set(corpus_langs))
    if len(universe) > 30:
        universe = sorted(counts)
    return {lang: int(counts.get(lang, 0)) for lang in universe}


class DemoEngine:
    """Loads models and builds passage indexes once per (model, corpus), in memory and on disk."""

    def __init__(self, max_models: int = 3, max_indexes: int = 6, disk_cache: bool = True, batch_size: int = 64):
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self._indexes: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
        self._lock = threading.RLock()
        self.max_models = max_models
        self.max_indexes = max_indexes
        self.disk_cache = disk_cache
        self.batch_size = batch_size

    def model(self, name: str) -> LoadedModel:
        name = (name or "").strip()
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


def held_out_articles(model_dir: Path | None) -> list[str] | None:
    """Articles of the bundled sample that the training run of ``model_dir`` held out, or None.

    Read from the training record ``hf_hybrid_training.json`` (its ``data`` section, written by
    ``train.py``): only when it trained on the bundled sample with an article split and no separate eval set.
    The demo never imports training code: the record says which articles were held out.
    """
    if model_dir is None:
        return None
    from hf_hybrid.checkpoint import TRAINING_RECORD_NAME, read_json
    from hf_hybrid.data import BUNDLED, resolve_data_source

    path = Path(model_dir) / TRAINING_RECORD_NAME
    if not path.is_file():
        return None
    try:
        data = read_json(path, what="training record").get("data") or {}
    except Exception:  # noqa: BLE001 - a damaged or foreign record: fall back to all articles
        logger.warning("could not read the held-out articles from %s", path, exc_info=True)
        return None
    source = data.get("train_data")
    if not isinstance(source, str) or resolve_data_source(source) != resolve_data_source(BUNDLED) or data.get("eval_data"):
        return None
    return list(data.get("held_out_articles") or []) or None


_TMP: Path | None = None


def _tmp_dir() -> Path:
    global _TMP
    if _TMP is None or not _TMP.is_dir():
        _TMP = Path(tempfile.mkdtemp(prefix="hf_hybrid_demo_"))
    return _TMP


@dataclass
class EvalOutput:
    markdown: str  # headline metrics
    tables_markdown: str  # language-pair mAP matrix and top-k language shares ("" for one language)
    heatmap_path: Path
    result: Any  # hf_hybrid.evaluation.RetrievalResult
    model: LoadedModel
    articles: list[str] | None = None  # the held-out articles used, None = all
