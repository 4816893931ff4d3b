"""hf-hybrid demo Space: multilingual search that shows language bias at a glance.

Run locally from a checkout with ``python spaces/demo/app.py`` (no network needed). Tabs:

* Search: top-k passages of a corpus in many languages, with the language make-up of the top-k;
* Compare: two models on the same query, side by side: zero-shot multilingual-e5-small (left) and a trained
  LoRA adapter (right) by default: the recommended recipe's (``outputs/recommended``) when present, else the
  quickstart's (``outputs/quickstart``);
* Evaluate: LAReQA mAP of a model on the bundled XQuAD-R sample, with the language-pair heatmap.

The dropdowns offer the models the Space owner listed (``$HF_HYBRID_DEMO_MODEL``, ``..._MODEL_B``,
``..._MODELS``, the recommended and quickstart checkpoints when present, ``e5-small``, and the untrained
demo encoder only where e5-small cannot be resolved: ``demo_models.allowed_models``) and take no typed
value; the defaults work offline (see ``demo_models.default_models``). The query comes prefilled
(``demo_corpus.DEFAULT_QUERY``). All work other than layout lives in the ``demo_*.py`` modules beside this
file, reached through ``demo_backend`` (which re-exports what the UI needs).
"""

from __future__ import annotations

import time

_T_START = time.perf_counter()  # startup is timed from here, imports included

import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

# Before gradio is imported: no telemetry, no version check, nothing fetched at startup.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("MPLBACKEND", "Agg")

# The demo_*.py modules beside this file: importable however the app is started (``python app.py``, a
# Space, or a test that loads this file by path).
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

import gradio as gr  # noqa: E402
import pandas as pd  # noqa: E402

import demo_backend as backend  # noqa: E402
from demo_backend import DemoEngine, DemoInputError  # noqa: E402

logger = logging.getLogger("hf_hybrid.demo")

EXAMPLES = [
    backend.DEFAULT_QUERY,
    "How many points did the Panthers defense surrender?",
    "Wie viele Punkte gab die Verteidigung der Panthers ab?",
    "黑豹队的防守丢了多少分？",
    "ماذا غنت ليدي غاغا؟",
    "Что пела Леди Гага?",
]

# Local fonts only: a theme with Google fonts would make every page load wait on fonts.googleapis.com,
# which an offline machine (or a headless browser in CI) never reaches.
THEME = gr.themes.Default(
    font=[gr.themes.LocalFont("Source Sans Pro", weights=(400, 600)), "ui-sans-serif", "system-ui", "sans-serif"],
    font_mono=[gr.themes.LocalFont("IBM Plex Mono", weights=(400, 600)), "ui-monospace", "monospace"],
)
CSS = """
#status-search, #status-a, #status-b {min-height: 2em}
.gradio-container {max-width: 1400px !important}
"""
TABLE_HEADERS = ["rank", "score", "language", "passage"]
COLUMN_WIDTHS = ["8%", "10%", "11%", "71%"]
HALF_COLUMN_WIDTHS = ["10%", "15%", "14%", "61%"]  # the half-width tables of Compare
UNEXPECTED = "Something went wrong on the server while {what}; please try again. (The details are in the server log.)"


def empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=TABLE_HEADERS)


def empty_chart() -> pd.DataFrame:
    return pd.DataFrame({"language": pd.Series([], dtype=str), "count": pd.Series([], dtype=int)})


def _warn(message: str) -> str:
    return "\n".join(f"> ⚠️ {line}" if line else ">" for line in str(message).splitlines())


def _resolve_corpus(pasted: str | None, upload: Any) -> backend.Corpus:
    """Uploaded file, else pasted text, else the default corpus."""
    path = upload if isinstance(upload, (str, os.PathLike)) else getattr(upload, "name", None) or (
        upload.get("path") if isinstance(upload, dict) else None)
    if path:
        corpus = backend.read_corpus_file(path)
        if pasted and pasted.strip():
            corpus = backend.Corpus(corpus.texts, corpus.langs, corpus.name,
                                    corpus.notices + ("Both a file and pasted text were given: the file is used.",))
        return corpus
    if pasted and pasted.strip():
        return backend.parse_corpus(pasted, name="pasted corpus")
    return backend.default_corpus()


def _status(result: backend.SearchResult) -> str:
    lines = []
    if result.model.untrained:
        lines.append(_warn(f"**{backend.DEMO_LABEL}**: its rankings are meaningless. {backend.GET_E5}"))
        lines.append("")
    lines.append(f"**Model:** {result.model.label} · **Corpus:** {result.corpus.describe()} · {result.summary()}")
    for notice in result.notices:
        lines.append("")
        lines.append(f"ℹ️ {notice}")
    return "\n".join(lines)


def make_handlers(engine: DemoEngine):
    """The event functions, closed over one engine (tests build their own engine).

    Each one shows a :class:`DemoInputError` as it is and any other error as :data:`UNEXPECTED`, which
    repeats nothing of the error or of the input; the server log gets the error with its traceback.
    """

    def search(query: str, model_name: str, k: float, pasted: str, upload: Any):
        try:
            corpus = _resolve_corpus(pasted, upload)
            result = engine.search(query, model_name, corpus, int(k))
            return _status(result), result.table(), result.chart()
        except DemoInputError as err:
            return _warn(str(err)), empty_table(), empty_chart()
        except Exception:
            logger.exception("search failed")
            return _warn(UNEXPECTED.format(what="searching")), empty_table(), empty_chart()

    def compare(query: str, model_a: str, model_b: str, k: float, pasted: str, upload: Any):
        try:
            corpus = _resolve_corpus(pasted, upload)
            backend.clip_query(query)  # one message for both sides when the query is empty
        except DemoInputError as err:
            msg = _warn(str(err))
            return msg, empty_table(), empty_chart(), msg, empty_table(), empty_chart()
        except Exception:
            logger.exception("compare failed")
            msg = _warn(UNEXPECTED.format(what="preparing the search"))
            return msg, empty_table(), empty_chart(), msg, empty_table(), empty_chart()
        out: list[Any] = []
        for side, name in (("A", model_a), ("B", model_b)):
            try:
                result = engine.search(query, name, corpus, int(k))
                out += [_status(result), result.table(), result.chart()]
            except DemoInputError as err:
                out += [_warn(str(err)), empty_table(), empty_chart()]
            except Exception:
                logger.exception("compare failed for model %s (%r)", side, name)
                out += [_warn(UNEXPECTED.format(what=f"searching with model {side}")), empty_table(), empty_chart()]
        return tuple(out)

    def evaluate(model_name: str, languages: list[str] | None, articles: str):
        try:
            t0 = time.perf_counter()
            res = engine.evaluate(model_name, languages, articles)
            head = f"**Model:** {res.model.label} · bundled XQuAD-R sample · {time.perf_counter() - t0:.1f} s\n\n"
            if res.model.untrained:
                head = _warn(f"**{backend.DEMO_LABEL}**: expect near-chance numbers. {backend.GET_E5}") + "\n\n" + head
            return head + res.markdown, str(res.heatmap_path), res.tables_markdown
        except DemoInputError as err:
            return _warn(str(err)), None, ""
        except Exception:
            logger.exception("evaluation failed")
            return _warn(UNEXPECTED.format(what="evaluating")), None, ""

    return search, compare, evaluate


def model_dropdown(choices, value: str, label: str, **kwargs: Any) -> gr.Dropdown:
    """A dropdown of the models the Space offers: ``allow_custom_value=False``, nothing can be typed.

    A value that is no choice can still arrive through the API. gradio's own check would answer with an
    error that repeats it; this dropdown hands it to the handler instead, whose backend refuses it with
    the one message of ``demo_models.MODEL_NOT_OFFERED`` (the same for every refused value) before any
    lookup. A replaced ``preprocess`` rather than a subclass: gradio writes a ``.pyi`` stub beside the
    file of every component subclass.
    """
    dropdown = gr.Dropdown(choices, value=value, label=label, allow_custom_value=False, **kwargs)
    checked = dropdown.preprocess

    def preprocess(payload: Any) -> Any:
        if payload is not None and payload not in [v for _, v in dropdown.choices]:
            return payload  # refused by the backend (demo_models.check_offered)
        return checked(payload)

    dropdown.preprocess = preprocess
    return dropdown


def _chart(label: str, elem_id: str) -> gr.BarPlot:
    """The language bar chart; each bar's ``aria-label`` reads ``passage language: es; passages in the top-k: 9``."""
    return gr.BarPlot(value=empty_chart(), x="language", y="count", title=label, x_title="passage language",
                      y_title="passages in the top-k", y_lim=[0, None], height=300, label=label, show_label=False,
                      elem_id=elem_id)


def _compare_column(choices, value, name: str):
    """One side of the Compare tab: model choice, status line, language chart and results table."""
    tag = name.lower()
    with gr.Column():
        model = model_dropdown(choices, value, f"Model {name}")
        status = gr.Markdown(elem_id=f"status-{tag}")
        chart = _chart(f"Model {name}: languages in the top-k", f"chart-{tag}")
        table = gr.Dataframe(value=empty_table(), headers=TABLE_HEADERS, label=f"Model {name} results",
                             wrap=True, interactive=False, column_widths=HALF_COLUMN_WIDTHS,
                             elem_id=f"results-{tag}")
    return model, status, chart, table


def notices(defaults: backend.DefaultModels) -> tuple[str, str]:
    """(page notice, Compare notice): what the page must say about the models it starts with ("" for none)."""
    page = ""
    problem = backend.zero_shot_problem()
    if problem is not None:
        page = _warn(f"**multilingual-e5-small is not available on this server**: neither it nor a model trained "
                     f"from it can load, and the untrained demo encoder (whose rankings are meaningless) stands in "
                     f"for it. {backend.GET_E5}")
    if defaults.compare_b != defaults.compare_a:
        compare = (f"**A:** {backend.model_label(defaults.compare_a)} · "
                   f"**B:** {backend.model_label(defaults.compare_b)} · the same query and corpus: the bar charts "
                   "show the languages of each top-k.")
    else:
        compare = ("ℹ️ No trained model to compare with yet: train the recommended recipe (`accelerate launch "
                   "train.py configs/recommended.yaml`, ~10 minutes on CPU) or its quick version "
                   "(`configs/quickstart.yaml`, a few minutes) and restart; model B is then the trained LoRA "
                   "adapter.")
    return page, compare


def build_demo(engine: DemoEngine | None = None) -> gr.Blocks:
    """The Blocks app. Event names (``api_name``): ``search``, ``compare``, ``evaluate``."""
    engine = engine or DemoEngine()
    search, compare, evaluate = make_handlers(engine)
    choices = backend.model_choices()  # the allow-list; the defaults are on it
    defaults = backend.default_models()
    page_notice, compare_notice = notices(defaults)
    prefilled = backend.default_query()
    corpus_env = os.environ.get(backend.ENV_CORPUS, "").strip()
    default_corpus_name = Path(corpus_env).name if corpus_env else "bundled XQuAD-R sample (11 languages)"
    languages = ["ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh"]

    with gr.Blocks(title="hf-hybrid: multilingual search without language bias") as demo:
        gr.Markdown(
            "# hf-hybrid: multilingual search\n"
            "Type a question in any language: a retriever trained with **hybrid batches** "
            "([arXiv 2408.10536](https://arxiv.org/abs/2408.10536)) ranks passages of every language by "
            "relevance, not by language. The bar chart shows the languages of the top-k: the language bias at a glance."
        )
        if page_notice:
            gr.Markdown(page_notice, elem_id="page-notice")
        with gr.Accordion(f"Corpus: {default_corpus_name} by default; paste or upload your own", open=False):
            gr.Markdown("One passage per line (optionally `lang<TAB>passage`), or JSONL with `text` and `lang` "
                        "fields. Leave both empty to use the default corpus. An uploaded file wins over pasted text.")
            with gr.Row():
                pasted = gr.Textbox(label="Paste passages", lines=5, max_lines=12,
                                    placeholder='{"text": "Der Rhein ist 1233 km lang.", "lang": "de"}')
                upload = gr.File(label="Upload .txt / .jsonl", file_types=[".txt", ".jsonl", ".json"], type="filepath")

        with gr.Tab("Search"):
            with gr.Row(equal_height=True):
                query = gr.Textbox(prefilled, label="Query", placeholder="Ask a question in any language...", scale=5,
                                   elem_id="query")
                search_btn = gr.Button("Search", variant="primary", scale=1, elem_id="search-btn")
            with gr.Row():
                model = model_dropdown(choices, defaults.search, "Model", scale=3)
                k = gr.Slider(1, backend.MAX_TOP_K, value=10, step=1, label="top-k", scale=1)
            gr.Examples(EXAMPLES, inputs=[query], label="Examples (the same question in several languages)")
            status = gr.Markdown(elem_id="status-search")
            with gr.Row():
                table = gr.Dataframe(value=empty_table(), headers=TABLE_HEADERS, label="Results", wrap=True,
                                     interactive=False, scale=3, elem_id="results", column_widths=COLUMN_WIDTHS,
                                     max_height=640)
                chart = _chart("Languages in the top-k", "chart")
            inputs = [query, model, k, pasted, upload]
            search_btn.click(search, inputs, [status, table, chart], api_name="search")
            query.submit(search, inputs, [status, table, chart], api_name=False)

        with gr.Tab("Compare"):
            with gr.Row(equal_height=True):
                cquery = gr.Textbox(prefilled, label="Query", placeholder="The same query for both models", scale=5,
                                    elem_id="compare-query")
                compare_btn = gr.Button("Compare", variant="primary", scale=1, elem_id="compare-btn")
            ck = gr.Slider(1, backend.MAX_TOP_K, value=10, step=1, label="top-k")
            gr.Markdown(compare_notice, elem_id="compare-notice")
            with gr.Row():
                cmodel_a, status_a, chart_a, table_a = _compare_column(choices, defaults.compare_a, "A")
                cmodel_b, status_b, chart_b, table_b = _compare_column(choices, defaults.compare_b, "B")
            cquery.submit(compare, [cquery, cmodel_a, cmodel_b, ck, pasted, upload],
                          [status_a, table_a, chart_a, status_b, table_b, chart_b], api_name=False)
            compare_btn.click(compare, [cquery, cmodel_a, cmodel_b, ck, pasted, upload],
                              [status_a, table_a, chart_a, status_b, table_b, chart_b], api_name="compare")

        with gr.Tab("Evaluate"):
            gr.Markdown("LAReQA evaluation on the bundled XQuAD-R sample: every question against every sentence "
                        "of every language (multilingual pool mAP), and the mAP of each (query language, passage "
                        "language) pair. Fewer languages run faster.")
            with gr.Row():
                emodel = model_dropdown(choices, defaults.search, "Model", scale=3)
                with gr.Column(scale=3):
                    elangs = gr.CheckboxGroup(languages, value=languages, label="Languages")
                    earticles = gr.Radio(
                        [("held-out articles of the model's training run (else all)", "held-out"),
                         ("all 12 articles", "all")], value="held-out", label="Articles")
                eval_btn = gr.Button("Evaluate", variant="primary", scale=1)
            with gr.Row():
                eval_md = gr.Markdown(elem_id="eval-results")
                heatmap = gr.Image(label="Language-pair mAP heatmap", type="filepath", interactive=False,
                                   show_label=False)
            eval_tables = gr.Markdown(elem_id="eval-tables")
            eval_btn.click(evaluate, [emodel, elangs, earticles], [eval_md, heatmap, eval_tables], api_name="evaluate")
    return demo


def launch_kwargs(**overrides: Any) -> dict[str, Any]:
    """Arguments of ``demo.launch`` shared by ``main`` and the tests (theme, no SSR, no error traces)."""
    kwargs: dict[str, Any] = dict(theme=THEME, css=CSS, ssr_mode=False, show_error=False,
                                  max_file_size=backend.MAX_UPLOAD_BYTES)
    kwargs.update(overrides)
    return kwargs


def warm_up(engine: DemoEngine) -> float:
    """Load the default models (Search's first, then Compare's), index the default corpus with each (from the
    disk cache when it is there) and run the prefilled query once, so that the first Search and Compare are fast."""
    t0 = time.perf_counter()
    for name in backend.default_models().distinct():
        t1 = time.perf_counter()
        try:
            corpus = backend.default_corpus()
            engine.search(backend.default_query() or "warm-up", name, corpus, 10)
            logger.info("warm-up: %s ready in %.1f s", backend.model_label(name), time.perf_counter() - t1)
        except DemoInputError as err:  # the UI will say it again on the first search
            logger.warning("warm-up: %s", err)
        except Exception:  # the first search will show the friendly message; the log has the traceback
            logger.exception("warm-up failed")
    return time.perf_counter() - t0


def main() -> None:
    """Serve the app; the default model and index are prepared in the background while the UI starts.

    Why in the background: on a busy 2-core CPU, indexing the bundled corpus with the default model can
    take longer than the UI takes to come up; a search sent meanwhile simply waits for the index.
    """
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    t0 = _T_START
    engine = DemoEngine()

    def _warm() -> None:
        seconds = warm_up(engine)
        logger.info("default models and indexes ready %.1f s after start (%.1f s of work)",
                    time.perf_counter() - t0, seconds)

    threading.Thread(target=_warm, name="demo-warm-up", daemon=True).start()
    demo = build_demo(engine)
    demo.launch(**launch_kwargs(prevent_thread_lock=True))
    logger.info("UI serving %.1f s after start", time.perf_counter() - t0)
    demo.block_thread()


if __name__ == "__main__":
    main()
