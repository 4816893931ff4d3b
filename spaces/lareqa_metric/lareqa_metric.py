# Copyright 2025 The hf-hybrid developers. Licensed under the Apache License, Version 2.0.
"""LAReQA retrieval metrics as a Hugging Face `evaluate` metric.

The numbers are computed by metrics_core.py, ranking.py and (the "run" configuration: metrics from the
top-k candidates of each query) topk.py, byte-identical copies of the files of the same names in
hf_hybrid/evaluation/ (the hf-hybrid library and this metric share one implementation and cannot drift;
the copies exist because the Space runs without hf-hybrid installed).
"""

import datasets
import evaluate

# evaluate copies only the local files this script imports itself (not those they import), so ranking.py,
# which metrics_core.py imports, is named here too.  No comment may end these three lines: evaluate would
# read it as the URL to download the module from.
from .metrics_core import CORE_VERSION, compute_retrieval_metrics
from .ranking import rank_metrics
from .topk import TOPK_VERSION, compute_topk_metrics

_CITATION = """\
@inproceedings{roy-etal-2020-lareqa,
  title = {{LAReQA}: Language-Agnostic Answer Retrieval from a Multilingual Pool},
  author = {Roy, Uma and Constant, Noah and Al-Rfou, Rami and Barua, Aditya and Phillips, Aaron and Yang, Yinfei},
  booktitle = {Proceedings of EMNLP 2020},
  year = {2020},
  url = {https://aclanthology.org/2020.emnlp-main.477}
}
"""

_DESCRIPTION = """\
Language-agnostic retrieval metrics (LAReQA conventions): mean average precision over one multilingual
pool of candidates, the language-pair mAP matrix with its mono (diagonal) and cross (off-diagonal) means,
MaxRD (rank distance between a query's relevant candidates in different languages: language bias),
the share of each candidate language in the pool top-k per query language, and Recall@k, MRR@10,
nDCG@10 in the pool and per language pair. Ranks are 1-based; tied scores are broken by candidate order.
"""

_KWARGS_DESCRIPTION = """
Each example is one query.
Args:
    predictions: per query, its score for every candidate (a row of the score matrix, candidate order).
        With the "embeddings" configuration: the query embedding instead.
    references: per query, its group id (the question id shared by all its translations).
    query_langs: per query, its language code.
    candidate_groups: per candidate, the list of group ids it answers (empty list: distractor).
        Omitted: candidate i is the answer of query i (square score matrix), its language query_langs[i].
    candidate_langs: per candidate, its language code (required with candidate_groups).
    candidate_embeddings: "embeddings" configuration only: one row per candidate; scores are dot products
        (cosine when the embeddings are L2-normalised, or with normalize=True).
    languages: optional order of the matrix rows/columns (default: sorted).
    k_values: Recall@k cut-offs (default [1, 5, 10, 100]); mrr_k, ndcg_k (default 10); top_k (default 10).
The "run" configuration (evaluate.load("lareqa_metric", "run")) scores the top-k lists of a search run:
    predictions: per query, its retrieved doc ids, best first (at most k; ties already in run order).
    references: per query, its query id.   query_langs: per query, its language code.
    qrels: {query id: {doc id: relevance}} (relevance > 0 is relevant; nDCG uses it as the gain).
    doc_langs: {doc id: language} for every retrieved and relevant doc (omitted: every query and doc 'und').
    k: the run depth (default: the longest list); default k_values: [1, 5, 10, 100] up to k, and k.
    missing_queries: "skip" (default: the examples are the queries; qrels queries without an example are
        only counted in run.num_missing_from_run), "zero" (they score 0; their languages go in
        query_langs_extra={query id: language}) or "error".
    Same output layout; map = mAP@k, max_rd = MaxRD@k (missing relevant docs at rank k + 1); with every
    candidate in every list they equal the dense numbers exactly.
Returns:
    languages, score_function, num_queries, num_candidates,
    pool: {map, max_rd, recall@k..., mrr@10, ndcg@10, num_evaluated, num_skipped},
    pool_by_query_language: the same per query language,
    matrix: {map, recall@k..., mrr@10, ndcg@10: rows = query language, columns = candidate language
             (null where no query of that row has an answer in that column), num_evaluated, num_skipped},
    mono / cross: means of the diagonal / off-diagonal cells (+ num_cells),
    top_k_language_share: {k, shares[x][y]}, settings.
    Queries with no relevant candidate are skipped and counted in num_skipped.
Examples:
    >>> lareqa = evaluate.load("lareqa_metric")
    >>> out = lareqa.compute(predictions=[[0.9, 0.1], [0.2, 0.8]], references=["q1", "q1"],
    ...                      query_langs=["en", "de"], candidate_groups=[["q1"], ["q1"]],
    ...                      candidate_langs=["en", "de"])
    >>> out["pool"]["map"], out["mono"]["map"], out["cross"]["map"]
    (1.0, 1.0, 1.0)
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class LareqaMetric(evaluate.Metric):
    """LAReQA pool mAP, language-pair matrix, MaxRD, top-k language shares, Recall/MRR/nDCG."""

    def _info(self):
        row_type = {"embeddings": "float32", "run": "string"}.get(self.config_name, "float64")
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({
                "predictions": datasets.Sequence(datasets.Value(row_type)),
                "references": datasets.Value("string"),
                "query_langs": datasets.Value("string"),
            }),
            homepage="https://arxiv.org/abs/2408.10536",
            codebase_urls=["https://github.com/google-research-datasets/lareqa"],
            reference_urls=["https://aclanthology.org/2020.emnlp-main.477"],
        )

    def _compute(self, predictions, references, query_langs, candidate_groups=None, candidate_langs=None,
                 candidate_embeddings=None, languages=None, k_values=None, mrr_k=10, ndcg_k=10,
                 top_k=10, normalize=False, qrels=None, doc_langs=None, k=None, missing_queries="skip",
                 query_langs_extra=None):
        if self.config_name == "run":
            return _compute_run(predictions, references, query_langs, qrels=qrels, doc_langs=doc_langs, k=k,
                                languages=languages, k_values=k_values, mrr_k=mrr_k, ndcg_k=ndcg_k, top_k=top_k,
                                missing_queries=missing_queries, query_langs_extra=query_langs_extra)
        if qrels is not None or doc_langs is not None:
            raise ValueError('qrels/doc_langs belong to the "run" configuration: evaluate.load(..., "run").')
        k_values = (1, 5, 10, 100) if k_values is None else k_values
        query_groups = [str(g) for g in references]
        query_langs = [str(x) for x in query_langs]
        if candidate_groups is None:
            if candidate_langs is not None:
                raise ValueError("candidate_langs given without candidate_groups; give both, or neither for a "
                                 "square score matrix where candidate i is the answer of query i.")
            candidate_groups = [(g,) for g in query_groups]
            candidate_langs = list(query_langs)
        elif candidate_langs is None:
            raise ValueError("candidate_groups given without candidate_langs: give the language of every candidate.")
        common = dict(query_groups=query_groups, candidate_groups=candidate_groups, query_langs=query_langs,
                      candidate_langs=candidate_langs, languages=languages, k_values=k_values, mrr_k=mrr_k,
                      ndcg_k=ndcg_k, top_k=top_k)
        if self.config_name == "embeddings":
            if candidate_embeddings is None:
                raise ValueError('the "embeddings" configuration needs candidate_embeddings (one row per candidate).')
            result = compute_retrieval_metrics(query_embeddings=_stack(predictions, "predictions"),
                                               candidate_embeddings=candidate_embeddings, normalize=normalize, **common)
        else:
            if candidate_embeddings is not None:
                raise ValueError('candidate_embeddings needs evaluate.load(..., "embeddings"); the default '
                                 "configuration takes score rows as predictions.")
            result = compute_retrieval_metrics(_stack(predictions, "predictions"), **common)
        result["settings"]["metric_module_core_version"] = CORE_VERSION
        return result


class _RankedRun:
    """The run form topk.py reads: ids per query, best first; scores only carry that order."""

    def __init__(self, query_ids, doc_ids):
        self.query_ids = [str(q) for q in query_ids]
        self.doc_ids = [[str(d) for d in row] for row in doc_ids]
        self.scores = [[-float(i) for i in range(len(row))] for row in self.doc_ids]


def _compute_run(predictions, references, query_langs, *, qrels, doc_langs, query_langs_extra, **options):
    """The "run" configuration: predictions = ranked doc ids per query, references = query ids."""
    if qrels is None:
        raise ValueError('the "run" configuration needs qrels={query id: {doc id: relevance}}.')
    if len(predictions) == 0:
        raise ValueError("no queries: predictions is empty (nothing to evaluate).")
    q_langs = {**{str(q): str(x) for q, x in (query_langs_extra or {}).items()},
               **{str(q): str(x) for q, x in zip(references, query_langs)}}
    if doc_langs is None:
        if set(q_langs.values()) != {"und"}:
            raise ValueError("doc_langs is missing: give the language of every retrieved and relevant doc, or "
                             "query_langs 'und' for a monolingual run.")
        q_langs = None
    run = _RankedRun(references, predictions)
    result = compute_topk_metrics(run, qrels, doc_langs=doc_langs, query_langs=q_langs, **options)
    result["settings"]["metric_module_core_version"] = CORE_VERSION
    result["settings"]["metric_module_topk_version"] = TOPK_VERSION
    return result


def _stack(rows, name):
    """Rows (lists from Arrow) as one 2-D array; rows of different lengths get a clear error."""
    import numpy as np

    if len(rows) == 0:
        raise ValueError(f"no queries: {name} is empty (nothing to evaluate).")
    lengths = sorted({len(r) for r in rows})
    if len(lengths) > 1:
        raise ValueError(f"{name} rows have different lengths {lengths[:5]}; each row needs one value per "
                         "candidate (or per embedding dimension).")
    arr = np.asarray(rows, dtype=np.float64)  # exact for float32 inputs too
    if arr.ndim != 2:
        raise ValueError(f"{name} must be one row per query, got shape {arr.shape}.")
    return arr
