"""PairDataset: (query row, passage row) -> one training example."""

from __future__ import annotations

from hf_hybrid.sampling import PairDataset
from sampling.layouts import make_layout


def test_pair_dataset_reads_query_fields_from_the_query_row_and_passage_fields_from_the_passage_row():
    ds = make_layout([["en", "de"], ["en", "zh"]])
    rows = {(g, lang): i for i, (g, lang) in enumerate(zip(ds["group_id"], ds["lang"]))}
    pairs = PairDataset(ds)
    q, p = rows[("g0", "en")], rows[("g0", "de")]
    assert pairs[(q, p)] == {"query": "q-0-en", "positive": "p-0-de", "negatives": ["n-0-de"], "query_lang": "en",
                             "passage_lang": "de", "group_id": "g0"}
    batch = pairs.__getitems__([(q, p), (rows[("g1", "zh")], rows[("g1", "zh")])])
    assert [b["positive"] for b in batch] == ["p-0-de", "p-1-zh"] and len(pairs) == 4
    no_neg = PairDataset(ds.remove_columns("negatives"))
    assert no_neg[(q, q)]["negatives"] == []
