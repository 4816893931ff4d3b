"""Issue 16, case 1: JSONL columns are those of every row, not of row 1 (optional columns were dropped).

``Dataset.from_list`` took its columns from the first row, so a first row without ``article`` or
``negatives`` dropped them for the whole file: the article split became a per-group split (translations
leaked across train/test) and the hard negatives vanished, silently.
"""

from __future__ import annotations

import json

import pytest

from hf_hybrid.data import DataError, load_pairs, load_parallel_data, split_by_article

LANGS = ("en", "de", "es")


def _rows() -> list[dict]:
    """120 rows: 4 articles x 10 groups x 3 languages, each with an article and one hard negative."""
    return [{"group_id": f"a{a}-g{g}", "lang": lang, "query": f"Q {a}/{g} {lang}", "positive": f"P {a}/{g} {lang}",
             "negatives": [f"N {a}/{g} {lang}"], "article": f"article {a}"}
            for a in range(4) for g in range(10) for lang in LANGS]


def _write(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def test_optional_columns_missing_from_the_first_row_are_kept(tmp_path):
    rows = _rows()
    del rows[0]["article"], rows[0]["negatives"]  # the repro of the issue: only row 1 lacks them
    _write(tmp_path / "pairs.jsonl", rows)
    ds = load_parallel_data(str(tmp_path / "pairs.jsonl"))
    assert len(ds) == 120
    assert ds.column_names == ["group_id", "lang", "query", "positive", "negatives", "article"]
    assert len(set(ds["article"])) == 4  # was 40: every group its own article
    assert ds[0]["negatives"] is None and ds[1]["negatives"] == ["N 0/0 de"]
    assert ds[0]["article"] == "article 0"  # from the other translations of its group, not its group_id
    train, test = split_by_article(ds, test_size=1, seed=0)
    assert not set(train["group_id"]) & set(test["group_id"])


def test_optional_columns_only_in_a_later_row(tmp_path):
    rows = [{k: v for k, v in r.items() if k not in ("article", "negatives")} for r in _rows()[:6]]
    rows[4]["negatives"] = ["hard"]
    rows[5]["article"] = "B"  # group a0-g1 has article B in one row: all its rows get it
    _write(tmp_path / "pairs.jsonl", rows)
    ds = load_pairs(tmp_path / "pairs.jsonl")
    assert ds["negatives"] == [None, None, None, None, ["hard"], None]
    assert ds["article"] == ["a0-g0", "a0-g0", "a0-g0", "B", "B", "B"]


def test_translations_with_different_articles_are_an_error(tmp_path):
    rows = _rows()[:3]
    rows[2]["article"] = "another article"
    _write(tmp_path / "pairs.jsonl", rows)
    with pytest.raises(DataError) as info:
        load_pairs(tmp_path / "pairs.jsonl")
    assert str(info.value) == (
        f"{tmp_path / 'pairs.jsonl'}: row 3: group_id 'a0-g0' has article 'another article', but row 1 gives it "
        "'article 0'. All translations of a question share one article (the split unit), or they would land on "
        "both sides of a train/test split; give them the same article.")
