"""``DataSummary``: the shape of a parallel dataset, i.e. what the batch sampler can draw from.

How many groups have each language, and how many languages each group has, decide which batch kinds
are possible and at which batch size (``docs/design.md``, sections 1 and 2); training logs this summary
before it builds the sampler.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import datasets

__all__ = ["DataSummary", "summarize"]


@dataclass
class DataSummary:
    """Shape of a parallel dataset: what the sampler can draw from."""

    num_rows: int
    num_groups: int
    num_articles: int
    groups_per_language: dict[str, int]
    languages_per_group: dict[int, int]  # number of languages -> number of groups

    def __str__(self) -> str:
        langs = ", ".join(f"{lang}: {n}" for lang, n in sorted(self.groups_per_language.items()))
        lpg = ", ".join(f"{k} lang: {v}" for k, v in sorted(self.languages_per_group.items()))
        return (f"{self.num_groups} groups, {self.num_rows} rows, {self.num_articles} articles\n"
                f"  groups per language: {langs}\n  languages per group: {lpg}")


def summarize(dataset: datasets.Dataset) -> DataSummary:
    """Groups per language and the distribution of languages per group."""
    per_group = Counter(dataset["group_id"])
    arts = len(set(dataset["article"])) if "article" in dataset.column_names else len(per_group)
    return DataSummary(
        num_rows=len(dataset),
        num_groups=len(per_group),
        num_articles=arts,
        groups_per_language=dict(sorted(Counter(dataset["lang"]).items())),
        languages_per_group=dict(sorted(Counter(per_group.values()).items())),
    )
