"""Names of data sources: the ``"bundled"`` sample, directories and files, for training and evaluation.

Commands, configs and the demo name their data by a string: ``"bundled"`` (the XQuAD-R sample shipped in
the package, so that the quickstart, the tests and the demo run offline), a LAReQA directory, a BEIR
directory or a table file. This module is the one place that knows the ``"bundled"`` alias (and its old
spelling ``"xquad-r-sample"``): :func:`load_parallel_data` turns a source into canonical pairs
(``docs/design.md``, section 1), :func:`load_pool` into a retrieval pool and :func:`load_retrieval_data`
into queries + qrels + corpus (what a corpus-scale run is scored against).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping, Sequence

import datasets

from .beir import is_beir_dir, load_beir, load_beir_pool
from .errors import DataError
from .lareqa import load_lareqa, load_lareqa_pool
from .miracl import is_miracl_dir, load_miracl
from .pool import RetrievalPool
from .retrieval_data import RetrievalData
from .split import filter_languages
from .tables import load_pairs

logger = logging.getLogger(__name__)

__all__ = [
    "BUNDLED",
    "bundled_sample_path",
    "is_bundled",
    "is_lareqa_source",
    "load_parallel_data",
    "load_pool",
    "load_retrieval_data",
    "resolve_data_source",
]

#: The name of the XQuAD-R sample shipped in the package.
BUNDLED = "bundled"
_BUNDLED_NAMES = (BUNDLED, "xquad-r-sample")  # the second is the old spelling, still accepted


def bundled_sample_path() -> Path:
    """Directory of the XQuAD-R sample shipped in the package (11 languages, a few articles, CC BY-SA 4.0).

    It exists so that the quickstart, the tests and the demo run offline; see its ``README.md`` for the
    attribution and which articles it holds.
    """
    return Path(__file__).parent.parent / "resources" / "xquad_r_sample"


def is_bundled(source: object) -> bool:
    """Whether ``source`` names the bundled sample (``"bundled"``, or its old spelling ``"xquad-r-sample"``)."""
    return isinstance(source, str) and source in _BUNDLED_NAMES


def resolve_data_source(source: str) -> str:
    """The bundled sample's path for ``"bundled"``; any other source unchanged."""
    return str(bundled_sample_path()) if is_bundled(source) else source


def is_lareqa_source(source: str) -> bool:
    """Whether ``source`` is read as a LAReQA directory (the bundled sample, or any directory)."""
    return Path(resolve_data_source(source)).is_dir()


def load_parallel_data(
    source: str | os.PathLike | datasets.Dataset | datasets.DatasetDict,
    languages: Sequence[str] | None = None,
    context: bool = False,
    column_mapping: Mapping[str, str] | None = None,
) -> datasets.Dataset:
    """Load any supported source into canonical form: a LAReQA directory, a table file or a dataset.

    ``source="bundled"`` (or ``"xquad-r-sample"``) gives the XQuAD-R sample shipped in the package.
    """
    if isinstance(source, str):
        source = resolve_data_source(source)
    if isinstance(source, (str, os.PathLike)) and Path(source).is_dir():
        return load_lareqa(source, languages, context)
    ds = load_pairs(source, column_mapping)
    return filter_languages(ds, languages) if languages else ds


def _data_dir(source: str | os.PathLike) -> Path:
    p = Path(resolve_data_source(str(source)))
    if not p.is_dir():
        raise DataError(f"--data {source}: not a directory (expected a LAReQA directory of <lang>.json files, "
                        "a BEIR directory with corpus.jsonl, queries.jsonl, qrels/, or a MIRACL directory).")
    return p


def load_pool(source: str | os.PathLike, languages: Sequence[str] | None = None, context: bool = False,
              split: str | None = None, prefix_ids: bool = False) -> RetrievalPool:
    """A BEIR, MIRACL or LAReQA directory (``"bundled"`` = the XQuAD-R sample shipped with the package) as a pool.

    ``split`` names the BEIR / MIRACL qrels (default ``"test"`` / ``"dev"``); ``context`` only applies to
    LAReQA data; ``prefix_ids`` only to MIRACL (ids become ``<lang>/<id>``: MIRACL ids repeat across languages). A MIRACL pool holds the whole corpus of each language: fine for small sets only.
    """
    p = _data_dir(source)
    if context and (is_beir_dir(p) or is_miracl_dir(p)):
        logger.warning("--context has no meaning for BEIR or MIRACL data; ignored.")
    if is_beir_dir(p):
        return load_beir_pool(p, split=split or "test", languages=languages)
    if is_miracl_dir(p):
        return load_miracl(p, split=split or "dev", languages=languages, prefix_ids=prefix_ids).to_pool()
    return load_lareqa_pool(p, languages=languages, context=context)


def load_retrieval_data(source: str | os.PathLike, languages: Sequence[str] | None = None, context: bool = False,
                        split: str | None = None, corpus: str = "full", prefix_ids: bool = False) -> RetrievalData:
    """Queries, qrels and corpus of a BEIR, MIRACL or LAReQA directory (:class:`RetrievalData`).

    ``corpus="ids"`` reads only document ids and languages (enough to score a run). A LAReQA pool is
    small and always loaded whole: its qrels say query ``q`` finds candidate ``c`` iff ``c`` answers q's group.
    """
    p = _data_dir(source)
    if is_beir_dir(p):
        return load_beir(p, split=split or "test", languages=languages, corpus=corpus)
    if is_miracl_dir(p):
        return load_miracl(p, split=split or "dev", languages=languages, corpus=corpus, prefix_ids=prefix_ids)
    return RetrievalData.from_pool(load_lareqa_pool(p, languages=languages, context=context))
