"""Which articles of the bundled sample a model's training run held out, read from its training record.

Evaluating a model on articles it was trained on flatters it, so the Evaluate tab uses the held-out
articles when the record says there were some. The demo never imports training code (``hf_hybrid.training``):

* a record of format 2 (``{"data": {..., "held_out_articles": [...]}}``) lists them;
* an older, flat record (``{"data_args": {"train_data", "languages", "context", "test_articles",
  "split_seed", "eval_data"}}``) does not: the split is recomputed from those arguments with
  :mod:`hf_hybrid.data` alone, by the arithmetic of ``hf_hybrid.training.pipeline.prepare_data``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from demo_config import logger


def held_out_articles(model_dir: Path | None) -> list[str] | None:
    """Articles of the bundled sample that the training run of ``model_dir`` held out, or None.

    Only when it trained on the bundled sample with an article split and no separate eval set; None for
    no record, a damaged or foreign one, or a run without a held-out split (then every article is used).
    """
    if model_dir is None:
        return None
    from hf_hybrid.checkpoint import TRAINING_RECORD_NAME, read_json

    path = Path(model_dir) / TRAINING_RECORD_NAME
    if not path.is_file():
        return None
    try:
        record = read_json(path, what="training record")
        data = record.get("data") or record.get("data_args") or {}  # format 2, else the old flat record
        if not isinstance(data, Mapping) or not _trained_on_bundled(data.get("train_data")) or data.get("eval_data"):
            return None
        if "held_out_articles" in data:
            return list(data["held_out_articles"] or []) or None
        return _recompute_split(data)
    except Exception:  # noqa: BLE001 - a damaged or foreign record: fall back to all articles
        logger.warning("could not read the held-out articles from %s", path, exc_info=True)
        return None


def _trained_on_bundled(source: Any) -> bool:
    from hf_hybrid.data import bundled_sample_path, is_bundled

    return is_bundled(source) or (isinstance(source, str) and source == str(bundled_sample_path()))


def _recompute_split(data_args: Mapping[str, Any]) -> list[str] | None:
    """The held-out articles of an old record, whose ``data_args`` hold the split but not its result."""
    n = data_args.get("test_articles")
    if not n:
        return None
    languages = data_args.get("languages")
    return list(_split(tuple(languages) if languages else None, bool(data_args.get("context")), float(n),
                       int(data_args.get("split_seed") or 0))) or None


@functools.lru_cache(maxsize=16)
def _split(languages: tuple[str, ...] | None, context: bool, n: float, seed: int) -> tuple[str, ...]:
    """``prepare_data``'s split of the bundled sample (cached: Evaluate asks on every click)."""
    from hf_hybrid.data import bundled_sample_path, load_lareqa, split_by_article

    dataset = load_lareqa(bundled_sample_path(), languages=list(languages) if languages else None, context=context)
    _, test = split_by_article(dataset, test_size=int(n) if n >= 1 else float(n), seed=seed)
    return tuple(sorted(set(test["article"])))
