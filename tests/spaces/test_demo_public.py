"""The demo Space in front of a careless or hostile visitor (issue 16): what it must refuse, and how.

* Models: the choice is an allow-list set by the Space owner (``HF_HYBRID_DEMO_MODEL``, ``..._MODEL_B``,
  ``..._MODELS``, the recommended and quickstart checkpoints when present, ``e5-small``, the untrained demo
  encoder only where e5-small cannot be resolved). Anything else is refused before anything is looked up,
  with one message whether the path exists, is a loadable model, or is a Hub id, so the Space cannot be
  used to probe the server's filesystem; the dropdowns take no typed value.
* Queries of non-printing characters only (zero-width, format, control, spaces) are empty queries.
* An unexpected server error shows the friendly message, never its text or a traceback; the log has both.

Through gradio_client against the launched app (the ``served`` and ``client`` fixtures of conftest.py),
and directly on the engine.
"""

from __future__ import annotations

import logging

import httpx
import pytest
from demo_support import load_demo_modules

from tiny import make_tiny_encoder

# Zero-width/format (Cf), spaces (Zs), controls (Cc), mixtures, and characters that render as blank.
BLANK_QUERIES = {
    "zero-width": "\u200b\u200c\u2060\ufeff",
    "format": "\u200e\u200f\u202a\u202c\u2066\u2069\u00ad\u180e",
    "spaces": "\u00a0\u2003\u2009\u3000",
    "controls": "\x00\x07\x1b\x7f\x85",
    "mixed": " \u200b\t\u2060\n\u200d\u3000 ",
    "fillers": "\u3164\u115f\u2800\ufe0f\u034f",
}
SECRET = "secret /srv/private/token.txt"


@pytest.fixture(scope="module")
def unlisted_model(tmp_path_factory, served):
    """A loadable model on the server that the Space owner did not list."""
    texts = [r["text"] for r in served["rows"]]
    return str(make_tiny_encoder(tmp_path_factory.mktemp("unlisted") / "model", texts, seed=2))


def _refused_names(unlisted: str, tmp: str) -> list[str]:
    return [unlisted, f"{unlisted}/", tmp, "/etc", "/etc/passwd", "/no/such/dir", "../../..", "demo/..",
            "other-org/other-model", "bert-base-uncased", "demo"]  # the demo encoder: not while e5-small resolves


# --------------------------------------------------------------------------------------------------
# case 1: the model allow-list
# --------------------------------------------------------------------------------------------------


def test_models_outside_the_allow_list_are_refused_alike(client, served, unlisted_model, tmp_path, monkeypatch):
    app, backend = load_demo_modules()
    from hf_hybrid.modeling import DualEncoder

    loads: list[str] = []
    real = DualEncoder.from_pretrained
    monkeypatch.setattr(DualEncoder, "from_pretrained",
                        classmethod(lambda cls, path, *a, **k: loads.append(str(path)) or real(path, *a, **k)))
    statuses: dict[str, str] = {}
    for name in _refused_names(unlisted_model, str(tmp_path)):
        status, table, chart = client.predict("Warsaw", name, 3, "", None, api_name="/search")
        assert table["data"] == [] and chart["data"] == []
        statuses[f"search {name}"] = status
        out = client.predict("Warsaw", served["model_a"], name, 3, "", None, api_name="/compare")
        assert len(out[1]["data"]) == 3 and out[4]["data"] == []  # the listed side still answers
        statuses[f"compare {name}"] = out[3]
        md, heatmap, tables = client.predict(name, ["en"], "all", api_name="/evaluate")
        assert heatmap is None and tables == ""
        statuses[f"evaluate {name}"] = md
    assert len(set(statuses.values())) == 1, statuses  # the same, whether the path exists or not
    assert set(statuses.values()) == {app._warn(backend.MODEL_NOT_OFFERED)}
    assert "/etc" not in backend.MODEL_NOT_OFFERED and "/no/such" not in backend.MODEL_NOT_OFFERED
    assert set(loads) == {served["model_a"]}  # the listed side of Compare; nothing refused was looked up


def test_model_dropdowns_offer_only_the_allow_list(served):
    _, backend = load_demo_modules()
    config = httpx.get(served["url"] + "config", timeout=30).json()
    dropdowns = [c["props"] for c in config["components"] if c["type"] == "dropdown"]
    assert len(dropdowns) == 4  # Search, Compare A and B, Evaluate
    assert [d["allow_custom_value"] for d in dropdowns] == [False] * 4
    allowed = backend.allowed_models()
    assert allowed[:3] == [served["model_a"], served["model_b"], "no-such-org/no-such-model"]
    assert allowed[-1] == "e5-small"  # always offered; the demo encoder only where e5-small cannot be resolved
    for d in dropdowns:
        assert [value for _, value in d["choices"]] == allowed
    assert [d["value"] for d in dropdowns] == [served["model_a"], served["model_a"], served["model_b"],
                                               served["model_a"]]


def test_engine_refuses_models_outside_the_allow_list(tmp_path, monkeypatch):
    _, backend = load_demo_modules()
    import demo_models  # where allowed_models() reads the trained checkpoints' paths and the e5-small probe

    texts = ["Der Rhein fließt durch Köln.", "The Thames flows through London.", "塞纳河流经巴黎。"]
    listed = make_tiny_encoder(tmp_path / "listed", texts)
    unlisted = make_tiny_encoder(tmp_path / "unlisted", texts, seed=1)
    monkeypatch.setattr(demo_models, "TRAINED_DIRS", (("recommended", tmp_path / "outputs" / "recommended"),
                                                      ("quickstart", tmp_path / "outputs" / "quickstart")))
    monkeypatch.setattr(demo_models, "_probe_zero_shot", lambda: None)  # e5-small offered, never loaded here
    monkeypatch.delenv("HF_HYBRID_DEMO_MODEL", raising=False)
    monkeypatch.delenv("HF_HYBRID_DEMO_MODEL_B", raising=False)
    monkeypatch.setenv("HF_HYBRID_DEMO_MODELS", f" {listed} ,, other-org/listed-model ,")
    monkeypatch.setenv("HF_HYBRID_DEMO_CACHE", str(tmp_path / "cache"))
    engine = backend.DemoEngine(disk_cache=False)
    corpus = backend.Corpus(tuple(texts), ("de", "en", "zh"), "three")
    messages: list[str] = []
    for name in _refused_names(str(unlisted), str(tmp_path)) + [str(tmp_path / "missing"), 3, ["demo"]]:
        calls = ((engine.model, name), (engine.search, "Köln", name, corpus, 2), (engine.evaluate, name, ["en"]),
                 (backend.load_model, name))
        for call, *args in calls:
            with pytest.raises(backend.DemoInputError) as err:
                call(*args)
            messages.append(str(err.value))
    assert set(messages) == {backend.MODEL_NOT_OFFERED}
    for empty in ("", "  ", None):
        with pytest.raises(backend.DemoInputError, match=r"^Please choose a model in the list\.$"):
            engine.model(empty)
    assert backend.allowed_models() == [str(listed), "other-org/listed-model", "e5-small"]
    assert [v for _, v in backend.model_choices()] == backend.allowed_models()
    assert engine.search("Köln", str(listed), corpus, 2).model.root == listed  # a listed directory loads


def test_a_server_path_sent_as_the_upload_is_refused_alike(served, tmp_path):
    """The corpus upload cannot read server files either (gradio only accepts files uploaded to it)."""
    secret = tmp_path / "secret.txt"
    secret.write_text("en\tserver-side text\n", encoding="utf-8")
    replies = {}
    for path in (str(secret), str(tmp_path / "missing.txt"), served["model_a"] + "/config.json", "/etc/passwd"):
        upload = {"path": path, "meta": {"_type": "gradio.FileData"}}
        replies[path] = _raw_call(served["url"], "search", ["server", served["model_a"], 3, "", upload])
    assert set(replies.values()) == {("error", '{"error": null}')}, replies


def _raw_call(url: str, api: str, data: list) -> tuple[str, str]:
    """(event, data) of the last event of a call through gradio's HTTP API, as any HTTP client sends it."""
    r = httpx.post(f"{url}gradio_api/call/{api}", json={"data": data}, timeout=30)
    r.raise_for_status()
    with httpx.stream("GET", f"{url}gradio_api/call/{api}/{r.json()['event_id']}", timeout=60) as stream:
        text = "".join(stream.iter_text())
    events = [dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
              for block in text.strip().split("\n\n")]
    return events[-1].get("event", ""), events[-1].get("data", "")


# --------------------------------------------------------------------------------------------------
# case 2: non-printing queries
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", list(BLANK_QUERIES.values()), ids=list(BLANK_QUERIES))
def test_non_printing_query_gets_the_empty_query_message(client, served, query):
    empty = client.predict("", served["model_a"], 3, "", None, api_name="/search")[0]
    assert "Please type a query" in empty
    status, table, chart = client.predict(query, served["model_a"], 3, "", None, api_name="/search")
    assert status == empty and table["data"] == [] and chart["data"] == []
    out = client.predict(query, served["model_a"], served["model_b"], 3, "", None, api_name="/compare")
    assert out[0] == out[3] == empty and out[1]["data"] == out[4]["data"] == []


def test_clip_query_treats_non_printing_queries_as_empty():
    _, backend = load_demo_modules()
    for query in list(BLANK_QUERIES.values()) + ["", " \n ", None, "\U000e0020\U000e007f", "\U000e0100"]:
        with pytest.raises(backend.DemoInputError, match=r"^Please type a query \(a question or a few words\)"):
            backend.clip_query(query)
    # Visible text stays as typed, without the invisible characters around it.
    assert backend.clip_query("\ufeff\u200b Warsaw\u200b \u2060") == ("Warsaw", [])
    assert backend.clip_query("War\u200bsaw?") == ("War\u200bsaw?", [])
    assert backend.clip_query("\u200b😀") == ("😀", [])  # an emoji is visible
    assert backend.clip_query("\u2764\ufe0f\u200d") == ("\u2764\ufe0f", [])  # its variation selector stays
    assert backend.clip_query("\u0627\u200c\u0628") == ("\u0627\u200c\u0628", [])  # ZWNJ inside Persian text


# --------------------------------------------------------------------------------------------------
# case 3: unexpected server errors
# --------------------------------------------------------------------------------------------------


def _boom(*args, **kwargs):
    raise RuntimeError(SECRET)


# id -> (owner of the failing function, its name, the request, what the message says was going on)
FAILURES = {
    "search-engine": ("DemoEngine", "search", "search", ["searching"]),
    "search-model": ("DemoEngine", "model", "search", ["searching"]),
    "search-results": ("SearchResult", "table", "search", ["searching"]),
    "search-paste": ("backend", "parse_corpus", "search-paste", ["searching"]),
    "search-upload": ("backend", "read_corpus_file", "search-upload", ["searching"]),
    "compare-engine": ("DemoEngine", "search", "compare", ["searching with model A", "searching with model B"]),
    "compare-model": ("DemoEngine", "model", "compare", ["searching with model A", "searching with model B"]),
    "compare-query": ("backend", "clip_query", "compare", ["preparing the search"] * 2),
    "compare-upload": ("backend", "read_corpus_file", "compare-upload", ["preparing the search"] * 2),
    "evaluate-engine": ("DemoEngine", "evaluate", "evaluate", ["evaluating"]),
    "evaluate-model": ("DemoEngine", "model", "evaluate", ["evaluating"]),
}


@pytest.mark.parametrize("case", list(FAILURES), ids=list(FAILURES))
def test_unexpected_errors_show_the_friendly_message(client, served, tmp_path, monkeypatch, caplog, case):
    from gradio_client import handle_file

    app, backend = load_demo_modules()
    owner, attr, request, whats = FAILURES[case]
    monkeypatch.setattr(getattr(backend, owner) if owner != "backend" else backend, attr, _boom)
    upload = None
    if request.endswith("-upload"):
        path = tmp_path / "mine.jsonl"
        path.write_text('{"text": "Kraków lies on the Vistula.", "lang": "en"}\n', encoding="utf-8")
        upload = handle_file(str(path))
    pasted = "en\tKraków lies on the Vistula." if request == "search-paste" else ""
    model_a, model_b = served["model_a"], served["model_b"]
    with caplog.at_level(logging.ERROR, logger="hf_hybrid.demo"):
        if request.startswith("search"):
            status, table, chart = client.predict("Vistula", model_a, 3, pasted, upload, api_name="/search")
            shown, empty = [status], [table["data"], chart["data"]]
        elif request.startswith("compare"):
            out = client.predict("Vistula", model_a, model_b, 3, pasted, upload, api_name="/compare")
            shown, empty = [out[0], out[3]], [out[1]["data"], out[2]["data"], out[4]["data"], out[5]["data"]]
        else:
            md, heatmap, tables = client.predict(model_a, ["en", "de"], "all", api_name="/evaluate")
            shown, empty = [md], [heatmap, tables]
    assert shown == [app._warn(app.UNEXPECTED.format(what=what)) for what in whats]
    for text in shown:
        assert "secret" not in text and "/srv" not in text and "Traceback" not in text and 'File "' not in text
        assert model_a not in text and model_b not in text
    assert all(not e for e in empty)
    logged = [r for r in caplog.records if r.exc_info and SECRET in str(r.exc_info[1])]
    assert len(logged) == len(set(whats))  # the server log has the error and its traceback (once per failure)
    assert all(r.levelno == logging.ERROR and r.name == "hf_hybrid.demo" for r in logged)
