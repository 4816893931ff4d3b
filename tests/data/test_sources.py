"""hf_hybrid.data.sources: the "bundled" alias (its one home), load_parallel_data and load_pool."""

from __future__ import annotations

import json

import pytest

from hf_hybrid.data import (
    BUNDLED,
    DataError,
    bundled_sample_path,
    is_bundled,
    is_lareqa_source,
    load_lareqa,
    load_lareqa_pool,
    load_parallel_data,
    load_pool,
    resolve_data_source,
    summarize,
)

XQUAD_LANGS = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]


def test_bundled_sample(xquad_sample):
    ds = load_parallel_data("bundled")
    s = summarize(ds)
    assert sorted(s.groups_per_language) == XQUAD_LANGS
    assert s.num_articles == 12 and s.languages_per_group == {11: s.num_groups}
    assert (xquad_sample / "LICENSE").is_file()
    assert "CC BY-SA 4.0" in (xquad_sample / "README.md").read_text()


@pytest.mark.parametrize("name", ["bundled", "xquad-r-sample"])
def test_bundled_alias_and_its_old_spelling(name):
    assert BUNDLED == "bundled" and is_bundled(name)
    assert resolve_data_source(name) == str(bundled_sample_path())
    assert is_lareqa_source(name)
    english = load_lareqa(bundled_sample_path(), ["en"])
    assert load_parallel_data(name, languages=["en"])["group_id"] == english["group_id"]
    pool = load_pool(name, languages=["en", "de"])
    reference = load_lareqa_pool(bundled_sample_path(), languages=["en", "de"])
    assert (pool.name, pool.query_ids, pool.cand_ids) == (reference.name, reference.query_ids, reference.cand_ids)


def test_other_sources_pass_through(tmp_path):
    table = tmp_path / "pairs.jsonl"
    table.write_text(json.dumps({"group_id": "g", "lang": "en", "query": "Q", "positive": "P"}) + "\n")
    assert not is_bundled(str(table)) and not is_bundled(table) and not is_bundled("Bundled")
    assert resolve_data_source(str(table)) == str(table)
    assert not is_lareqa_source(str(table)) and is_lareqa_source(str(tmp_path))
    assert load_parallel_data(str(table))["group_id"] == ["g"]
    with pytest.raises(DataError, match=r"--data .*pairs.jsonl: not a directory"):
        load_pool(str(table))
