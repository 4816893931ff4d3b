"""``RetrievalPool``: what an evaluation ranks (queries, candidates, and which candidates answer which query).

Evaluation needs more than the training pairs: LAReQA ranks *every sentence* of the corpus, so a pool
carries queries and candidates separately, with the set of question groups each candidate answers (one
sentence may answer several questions; sentences do not align across languages). LAReQA directories
(:func:`hf_hybrid.data.load_lareqa_pool`), BEIR directories (:func:`hf_hybrid.data.load_beir_pool`) and
canonical pairs (:meth:`RetrievalPool.from_pairs`) all become this one type, which is all
:mod:`hf_hybrid.evaluation` reads. See ``docs/design.md``, sections 1 (data) and 3 (metrics).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import datasets

from .errors import DataError
from .schema import REQUIRED_COLUMNS, check_languages, validate_parallel

__all__ = ["RetrievalPool"]


@dataclass
class RetrievalPool:
    """Queries and candidates for LAReQA-style evaluation.

    ``cand_groups[i]`` holds the ids of every question group that candidate ``i`` answers (empty for a
    distractor sentence), because one sentence can answer several questions and sentences do not align
    across languages. Query ``q`` is relevant to candidate ``c`` iff ``query_groups[q] in cand_groups[c]``.
    """

    query_ids: list[str]
    query_groups: list[str]
    query_langs: list[str]
    query_texts: list[str]
    cand_ids: list[str]
    cand_groups: list[tuple[str, ...]]
    cand_langs: list[str]
    cand_texts: list[str]
    name: str = "pool"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        nq = {len(self.query_ids), len(self.query_groups), len(self.query_langs), len(self.query_texts)}
        nc = {len(self.cand_ids), len(self.cand_groups), len(self.cand_langs), len(self.cand_texts)}
        if len(nq) != 1 or len(nc) != 1:
            raise DataError(f"RetrievalPool '{self.name}': query fields have lengths {sorted(nq)} and candidate "
                            f"fields {sorted(nc)}; each side's fields must have one entry per item.")
        self.cand_groups = [tuple(g) for g in self.cand_groups]

    @property
    def languages(self) -> list[str]:
        """Every language of the queries and the candidates, sorted."""
        return sorted(set(self.query_langs) | set(self.cand_langs))

    def __repr__(self) -> str:
        return (f"RetrievalPool(name={self.name!r}, queries={len(self.query_ids)}, "
                f"candidates={len(self.cand_ids)}, languages={self.languages})")

    @classmethod
    def from_pairs(cls, dataset: datasets.Dataset, name: str = "pairs") -> RetrievalPool:
        """Pool from canonical pairs: every row is a query; every (group, language) positive a candidate."""
        validate_parallel(dataset, name)
        cols = dataset.select_columns(list(REQUIRED_COLUMNS)).to_dict()
        ids = [f"{g}/{l}" for g, l in zip(cols["group_id"], cols["lang"])]  # noqa: E741
        return cls(
            query_ids=ids, query_groups=list(cols["group_id"]), query_langs=list(cols["lang"]),
            query_texts=list(cols["query"]), cand_ids=list(ids), cand_groups=[(g,) for g in cols["group_id"]],
            cand_langs=list(cols["lang"]), cand_texts=list(cols["positive"]), name=name,
        )

    def select_languages(self, languages: Sequence[str]) -> RetrievalPool:
        """The sub-pool of the queries and candidates in ``languages``."""
        check_languages(languages, self.languages, f"pool '{self.name}'")
        keep = set(languages)
        qi = [i for i, lang in enumerate(self.query_langs) if lang in keep]
        ci = [i for i, lang in enumerate(self.cand_langs) if lang in keep]

        def pick(values: list, idx: list[int]) -> list:
            return [values[i] for i in idx]

        return RetrievalPool(pick(self.query_ids, qi), pick(self.query_groups, qi), pick(self.query_langs, qi),
                             pick(self.query_texts, qi), pick(self.cand_ids, ci), pick(self.cand_groups, ci),
                             pick(self.cand_langs, ci), pick(self.cand_texts, ci), self.name, dict(self.meta))
