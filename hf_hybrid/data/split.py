"""Subsets of canonical pairs for experiments: :func:`filter_languages` and :func:`split_by_article`.

Splits are made **by article**, never by row (``docs/design.md``, section 1): a row split would put
translations of a test question, or other questions about the same paragraph, into training, and the
measured cross-lingual retrieval would be memorisation.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Sequence

import datasets

from .errors import DataError
from .schema import check_languages

__all__ = ["filter_languages", "split_by_article"]


def filter_languages(dataset: datasets.Dataset, languages: Sequence[str], min_languages: int = 1) -> datasets.Dataset:
    """Keep rows in ``languages``; then drop groups left with fewer than ``min_languages`` languages."""
    check_languages(languages, dataset.unique("lang"), "filter_languages")
    keep = set(languages)
    out = dataset.filter(lambda lang: lang in keep, input_columns="lang")
    if min_languages > 1:
        counts = Counter(out["group_id"])
        out = out.filter(lambda g: counts[g] >= min_languages, input_columns="group_id")
    if len(out) == 0:
        raise DataError(f"filter_languages: nothing left after keeping languages {sorted(keep)} with at least "
                        f"{min_languages} language(s) per group. Widen the language list or lower min_languages.")
    return out


def split_by_article(
    dataset: datasets.Dataset,
    test_size: float | int = 0.25,
    seed: int = 0,
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Split by article so that no translation of a test question, nor its article, is seen in training.

    ``test_size`` is a fraction of articles (0 < x < 1) or a number of articles (int >= 1); the articles
    are shuffled by ``random.Random(seed)``, so a seed gives the same split on every machine.

    Returns:
        ``(train, test)``.
    """
    col = "article" if "article" in dataset.column_names else "group_id"
    articles = sorted(set(dataset[col]))
    if isinstance(test_size, float) and 0 < test_size < 1:
        n_test = max(1, round(len(articles) * test_size))
    elif isinstance(test_size, int) and not isinstance(test_size, bool) and test_size >= 1:
        n_test = test_size
    else:
        raise DataError(f"split_by_article: test_size={test_size!r}; use a fraction in (0, 1) or a number of "
                        "articles >= 1.")
    if n_test >= len(articles):
        raise DataError(f"split_by_article: test_size={test_size!r} takes {n_test} of {len(articles)} article(s) "
                        "and leaves the training side empty; use a smaller test_size or more data.")
    shuffled = articles[:]
    random.Random(seed).shuffle(shuffled)
    test_articles = set(shuffled[:n_test])
    test = dataset.filter(lambda a: a in test_articles, input_columns=col)
    train = dataset.filter(lambda a: a not in test_articles, input_columns=col)
    return train, test
