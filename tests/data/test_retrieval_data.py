"""hf_hybrid.data.retrieval_data: RetrievalData from/to pools, languages, corpus modes."""

from __future__ import annotations

import pytest
from retrieval_fixtures import tiny_pool

from hf_hybrid.data import DataError, RetrievalData, load_retrieval_data


def test_from_pool_gives_group_qrels_and_back():
    data = RetrievalData.from_pool(tiny_pool())
    assert data.qrels == {"g1/en": {"en/0": 1, "de/0": 1}, "g1/de": {"en/0": 1, "de/0": 1},
                          "g2/en": {"en/1": 1, "de/0": 1}}
    assert data.doc_lang_map() == {"en/0": "en", "en/1": "en", "de/0": "de", "de/1": "de"}
    assert data.languages == ["de", "en"] and data.meta["from_pool"]
    pool = data.to_pool()                                    # BEIR mapping: a query's group is its own id
    assert pool.query_groups == pool.query_ids and pool.cand_groups[2] == ("g1/en", "g1/de", "g2/en")
    assert pool.cand_texts == tiny_pool().cand_texts


def test_select_languages_filters_queries_documents_and_qrels():
    data = RetrievalData.from_pool(tiny_pool()).select_languages(["en"])
    assert data.query_ids == ["g1/en", "g2/en"] and data.doc_ids == ["en/0", "en/1"]
    assert data.qrels == {"g1/en": {"en/0": 1}, "g2/en": {"en/1": 1}}
    with pytest.raises(DataError, match=r"languages \['fr'\] are not in the data"):
        data.select_languages(["fr"])


def test_lareqa_source_and_validation(xquad_sample):
    data = load_retrieval_data(xquad_sample, languages=["en", "de"])
    assert len(data.query_ids) == len(data.qrels) and set(data.languages) == {"de", "en"}
    q = data.query_ids[0]
    assert all(data.doc_lang_map()[d] in ("de", "en") for d in data.qrels[q]) and len(data.qrels[q]) == 2
    with pytest.raises(DataError, match="2 query ids, 1 texts and 2 languages"):
        RetrievalData(["a", "b"], ["x"], ["en", "en"], {})
    with pytest.raises(DataError, match="doc_ids without doc_langs"):
        RetrievalData(["a"], ["x"], ["en"], {}, doc_ids=["d"])
    with pytest.raises(DataError, match="the corpus is not loaded"):
        RetrievalData(["a"], ["x"], ["en"], {}).doc_lang_map()
    with pytest.raises(DataError, match="no query has a judgement"):
        RetrievalData(["a"], ["x"], ["en"], {}, doc_ids=["d"], doc_langs=["en"], doc_titles=[""],
                      doc_texts=["t"]).to_pool()
