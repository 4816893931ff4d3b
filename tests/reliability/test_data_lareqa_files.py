"""Issue 16, case 4: files in a LAReQA directory that are not ``<lang>.json`` language files.

Before: every ``*.json`` was read as a language named after the file (``README.json`` -> language
``README``, failing with "missing field 'data'"; macOS's ``._en.json`` -> a non-UTF-8 error), and other
files were ignored without a word. Now (``hf_hybrid.data.lareqa``'s docstring): hidden files,
subdirectories and README / LICENSE files are ignored; other non-language files are skipped with one
warning; a SQuAD-style file under a name that is not a language code, and a ``<lang>.json`` that is not
SQuAD-style, are errors.
"""

from __future__ import annotations

import json
import warnings

import pytest

from hf_hybrid.data import DataError, load_lareqa, load_lareqa_pool
from hf_hybrid.data.errors import DataWarning


def _doc(qid: str = "q1") -> dict:
    return {"version": "1", "data": [{"title": "T", "paragraphs": [{
        "context": "Alpha is first.", "sentences": ["Alpha is first."], "sentence_breaks": [[0, 15]],
        "qas": [{"id": qid, "question": "First?", "answers": [{"answer_start": 3, "text": "x"}]}]}]}]}


@pytest.fixture
def lq(tmp_path):
    """A LAReQA directory with en.json and de.json."""
    for lang in ("en", "de"):
        (tmp_path / f"{lang}.json").write_text(json.dumps(_doc()))
    return tmp_path


def _load_quietly(path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return load_lareqa(path)


def test_metadata_and_documentation_are_ignored(lq):
    (lq / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1\x00\xff")
    (lq / "._en.json").write_bytes(b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X\xff")  # AppleDouble junk
    (lq / "README.json").write_text('{"about": "XQuAD-R"}')
    (lq / "README.md").write_text("# data")
    (lq / "LICENSE").write_text("CC BY-SA 4.0")
    (lq / "old").mkdir()
    (lq / "old" / "en.json").write_text("not even JSON")
    assert sorted(set(_load_quietly(lq)["lang"])) == ["de", "en"]


def test_other_files_are_skipped_with_one_warning(lq):
    (lq / "notes.txt").write_text("to do")
    (lq / "train.json").write_text('{"split": "train", "size": 3}')
    (lq / "en.jsonl").write_text("{}\n")
    with pytest.warns(DataWarning) as caught:
        ds = load_lareqa(lq)
    assert sorted(set(ds["lang"])) == ["de", "en"]
    assert [str(w.message) for w in caught] == [
        (f"{lq}: skipped en.jsonl, notes.txt, train.json: not <lang>.json file(s). A LAReQA directory holds one "
         "SQuAD-style <lang>.json per language (en.json, de.json, ...); move other files out to silence this warning.")]
    with pytest.warns(DataWarning):
        assert load_lareqa_pool(lq).query_langs == ["de", "en"]


def test_squad_data_under_a_name_that_is_not_a_language_is_an_error(lq):
    (lq / "english.json").write_text(json.dumps(_doc()))
    with pytest.raises(DataError) as info:
        load_lareqa(lq)
    assert str(info.value) == (f"{lq / 'english.json'}: holds SQuAD-style data, but 'english' is not a language code. "
                               "Rename it to <lang>.json (e.g. en.json, zh-hans.json), or move it out of the "
                               "directory.")


@pytest.mark.parametrize("content", ['{"version": "1"}', "[1, 2]", '{"data": {"title": "T"}}'])
def test_a_language_file_that_is_not_squad_style(lq, content):
    (lq / "fr.json").write_text(content)
    with pytest.raises(DataError) as info:
        load_lareqa(lq)
    assert str(info.value) == (f"{lq / 'fr.json'}: not a LAReQA language file: expected a JSON object whose 'data' is "
                               "a list of articles (the SQuAD layout). A LAReQA directory holds only <lang>.json "
                               "files; fix this one, or move it out of the directory.")


def test_only_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("to do")
    (tmp_path / ".DS_Store").write_bytes(b"\x00")
    with pytest.raises(DataError) as info:
        load_lareqa(tmp_path)
    assert str(info.value) == (f"{tmp_path}: no <lang>.json files found (not language files: notes.txt). A LAReQA "
                               "directory holds e.g. en.json, de.json, ...")


def test_language_file_names_are_case_blind(lq):
    (lq / "de.json").rename(lq / "DE.json")
    assert sorted(set(_load_quietly(lq)["lang"])) == ["de", "en"]
    if (lq / "de.json").exists():
        pytest.skip("case-insensitive file system: DE.json and de.json cannot both exist")
    (lq / "de.json").write_text(json.dumps(_doc()))
    with pytest.raises(DataError) as info:
        load_lareqa(lq)
    assert str(info.value) == (f"{lq / 'de.json'}: DE.json and de.json are both language 'de' (codes are "
                               "case-blind); keep one.")
