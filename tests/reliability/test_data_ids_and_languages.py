"""Issue 16, case 2: ids are strings in every source (no type guessing), language codes are case-blind.

CSV values were type-guessed, so ``01`` and ``1`` became one group and unrelated questions were paired as
translations. Language codes ``EN`` and ``en`` were two languages.
"""

from __future__ import annotations

import json
import warnings

import datasets
import pytest

from hf_hybrid.data import DataError, load_pairs
from hf_hybrid.data.errors import DataWarning
from hf_hybrid.data.schema import check_languages, is_language_code, normalise_lang

ROWS = [{"group_id": "01", "lang": "en", "query": "Who?", "positive": "Him."},
        {"group_id": "1", "lang": "de", "query": "Was?", "positive": "Das."}]


def _write(tmp_path, fmt: str, rows: list[dict]):
    path = tmp_path / f"pairs.{fmt}"
    if fmt == "csv":
        header = list(rows[0])
        path.write_text(",".join(header) + "\n" + "".join(",".join(r[k] for k in header) + "\n" for r in rows))
    elif fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        datasets.Dataset.from_list(rows).to_parquet(str(path))
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "dataset"])
def test_ids_are_strings_and_never_guessed(tmp_path, fmt):
    src = datasets.Dataset.from_list(ROWS) if fmt == "dataset" else _write(tmp_path, fmt, ROWS)
    ds = load_pairs(src)
    assert ds["group_id"] == ["01", "1"]  # CSV gave ['1', '1']: two questions paired as translations
    assert ds.features["group_id"].dtype == "string" and ds.features["lang"].dtype == "string"


def test_csv_values_are_kept_as_written(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("group_id,lang,query,positive\n007,en,NA,1e3\n1.0,de,null,True\n")
    assert load_pairs(path).to_list() == [
        {"group_id": "007", "lang": "en", "query": "NA", "positive": "1e3", "article": "007"},
        {"group_id": "1.0", "lang": "de", "query": "null", "positive": "True", "article": "1.0"}]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet", "dataset"])
def test_language_codes_are_lower_cased(tmp_path, fmt):
    rows = [{**ROWS[0], "lang": "EN"}, {**ROWS[0], "lang": "pt-BR"}, {**ROWS[0], "lang": " zh-Hans"}]
    src = datasets.Dataset.from_list(rows) if fmt == "dataset" else _write(tmp_path, fmt, rows)
    assert load_pairs(src)["lang"] == ["en", "pt-br", "zh-hans"]


@pytest.mark.parametrize("fmt, second", [("csv", "line 3"), ("jsonl", "row 2")])
def test_en_and_EN_are_one_language(tmp_path, fmt, second):
    path = _write(tmp_path, fmt, [{**ROWS[0], "lang": "en"}, {**ROWS[0], "lang": "EN", "query": "Who again?"}])
    with pytest.raises(DataError) as info:
        load_pairs(path)
    first = "line 2" if fmt == "csv" else "row 1"
    assert str(info.value) == (
        f"{path}: {second}: duplicate (group_id, lang) = ('01', 'en'), first seen at {first}. Each question may "
        "appear once per language; give translations the same group_id and different lang.")


def test_codes_that_are_not_bcp47_like_warn_once_per_code(tmp_path):
    rows = [{**ROWS[0], "lang": "english"}, {**ROWS[1], "lang": "English"}, {**ROWS[1], "lang": "en_US"},
            {**ROWS[0], "lang": "de"}]
    path = _write(tmp_path, "jsonl", rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_pairs(path)
    assert ds["lang"] == ["english", "english", "en_us", "de"]
    assert [(w.category, str(w.message)) for w in caught] == [
        (DataWarning, (f"{path}: language code {code!r} does not look like a BCP-47 code (such as 'en', 'de', "
                      "'pt-br', 'zh-hans'); it is kept as is. Use the same codes in every file and config."))
        for code in ("en_us", "english")]


@pytest.mark.parametrize("code", ["en", "yue", "und", "zh-Hans", "pt-BR", "sr-Latn-RS", "es-419"])
def test_bcp47_like_codes(code):
    assert is_language_code(code) and normalise_lang(code) == code.lower()


@pytest.mark.parametrize("code", ["english", "en_US", "e", "", "x-klingon", "en-"])
def test_codes_that_are_not_bcp47_like(code):
    assert not is_language_code(code)


def test_an_upper_case_language_list_gets_a_hint():
    with pytest.raises(DataError) as info:
        check_languages(["EN", "de"], ["en", "de"], "src")
    assert str(info.value) == ("src: unknown language(s) ['EN']; available: ['de', 'en']. Language codes are "
                               "lower-case in the data: use ['en'].")
