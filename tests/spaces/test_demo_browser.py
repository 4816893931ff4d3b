"""The demo Space in a real browser: headless Chromium (Debian's package) driven by Playwright for Python.

* Search with tiny models: types a query, clicks Search, waits for the results table and the status line,
  and saves a screenshot of the Search tab; a path typed into the model dropdown does not stick (the Space
  offers its owner's models only).
* Compare with the real defaults (slow): zero-shot multilingual-e5-small (A) beside a 12-step quickstart
  adapter (B, the ``e5_quickstart_adapter`` fixture) on the prefilled default query; the languages of the two
  top-10s, read from the bar charts' data (each bar's ``aria-label``) and from the status lines, differ: A is
  mostly Spanish, B spreads over many languages. Screenshot ``compare_tab.png`` in the test's tmp dir.

Every request the page makes to a host other than the local server is refused and recorded, and the test
fails if there was one: an offline Space must not wait on remote fonts or scripts. Skips with a reason when
Chromium or Playwright is missing (CI installs Chromium in .ci/run; never `playwright install`).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pytest

from demo_support import LANGS, compare_environment, launched, load_demo_modules, running_demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} not found: `apt-get install chromium` (Debian's "
                                                     "package) to run the browser test"),
]


def test_search_tab_in_headless_chromium(tmp_path, tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")

    with running_demo(tmp_path_factory.mktemp("demo_browser")) as served:
        base = urlparse(served["url"])
        target = min((r for r in served["rows"] if r["lang"] == "zh"), key=lambda r: len(r["text"]))
        remote: list[str] = []

        def only_local(route):
            url = urlparse(route.request.url)
            if url.scheme in ("data", "blob") or url.netloc == base.netloc:
                return route.continue_()
            remote.append(route.request.url)
            return route.abort()

        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(30_000)
                page.route("**/*", only_local)
                page.goto(served["url"], wait_until="domcontentloaded")
                query = page.locator("#query textarea")
                query.wait_for(state="visible")
                query.fill(target["text"])
                page.locator("#search-btn").click()

                results = page.locator("#results")
                # The exact passage as query ranks itself first (same tower, no prompts).
                results.get_by_text(target["text"], exact=True).first.wait_for(state="visible")
                status = page.locator("#status-search")
                status.get_by_text("top-10 holds", exact=False).wait_for(state="visible")
                assert "corpus.jsonl (40 passages, 5 languages)" in status.inner_text()
                table_text = results.inner_text()
                assert "rank" in table_text and "language" in table_text
                assert sum(f"\n{lang}\n" in f"\n{table_text}\n".replace("\t", "\n") for lang in LANGS) >= 1
                assert "Traceback" not in page.content()

                shot = tmp_path / "search_tab.png"
                page.screenshot(path=str(shot), full_page=True)

                # The model dropdown offers the Space owner's list only: a typed path does not stick.
                model = page.get_by_label("Model", exact=True)
                assert model.input_value() == served["model_a"]
                model.click()
                model.fill("/etc")
                model.press("Enter")
                query.click()  # leaving the dropdown puts back the chosen model
                page.wait_for_function("() => document.querySelector('input[aria-label=\"Model\"]').value !== '/etc'")
                assert model.input_value() == served["model_a"]

                # Compare: the same query, two models, two result sets with their own charts.
                page.get_by_role("tab", name="Compare").click()
                page.locator("#compare-query textarea").fill(target["text"])
                page.locator("#compare-btn").click()
                for side in ("a", "b"):
                    page.locator(f"#status-{side}").get_by_text("top-10 holds", exact=False).wait_for(state="visible")
                    assert page.locator(f"#results-{side}").get_by_text(target["text"], exact=True).count() >= 1
                assert served["model_b"] in page.locator("#status-b").inner_text()
                page.screenshot(path=str(tmp_path / "compare_tab.png"), full_page=True)
            finally:
                browser.close()

    assert remote == [], f"the page tried to fetch remote resources: {remote}"
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


@contextmanager
def _local_page(sync_api, url: str, remote: list[str]):
    """A headless Chromium page that may load only from ``url``'s host (other requests: refused, recorded)."""
    base = urlparse(url)

    def only_local(route):
        target = urlparse(route.request.url)
        if target.scheme in ("data", "blob") or target.netloc == base.netloc:
            return route.continue_()
        remote.append(route.request.url)
        return route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.route("**/*", only_local)
            page.goto(url, wait_until="domcontentloaded")
            yield page
        finally:
            browser.close()


BAR = re.compile(r"^passage language: (.+); passages in the top-k: (\d+)$")


def _chart_counts(page, side: str, n_languages: int) -> dict[str, int]:
    """The bars of Compare's chart ``side`` (``a``/``b``), from their aria-labels: {language: count}."""
    bars = page.locator(f"#chart-{side} [aria-label^='passage language:']")
    page.wait_for_function(f"() => document.querySelectorAll(\"#chart-{side} [aria-label^='passage language:']\")"
                           f".length === {n_languages}")
    return {m.group(1): int(m.group(2)) for m in (BAR.match(b.get_attribute("aria-label")) for b in bars.all())}


def _status_counts(text: str) -> dict[str, int]:
    """{language: count} from a status line's ``top-10 holds 2 of 11 corpus languages: es 9, hi 1``."""
    listed = re.search(r"corpus languages: ([^\n·]+)", text).group(1)
    return {lang: int(n) for lang, n in (part.strip().rsplit(" ", 1) for part in listed.split(","))}


@pytest.mark.slow
def test_compare_tab_zero_shot_vs_trained_adapter(tmp_path, tmp_path_factory, e5_quickstart_adapter):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
    app, backend = load_demo_modules()
    remote: list[str] = []
    with compare_environment(tmp_path_factory.mktemp("demo_compare"), e5_quickstart_adapter) as env:
        languages = sorted({r["lang"] for r in env["rows"]})
        assert len(languages) == 11 and len(env["rows"]) == 500
        with launched(app.build_demo(backend.DemoEngine())) as url, _local_page(sync_api, url, remote) as page:
            page.get_by_role("tab", name="Compare").click()
            assert page.locator("#compare-query textarea").input_value() == backend.DEFAULT_QUERY  # prefilled
            assert page.get_by_label("Model A", exact=True).input_value() == "multilingual-e5-small, zero-shot"
            trained_label = "quickstart: e5-small + hybrid α=0.5, LoRA (12 steps)"
            assert page.get_by_label("Model B", exact=True).input_value() == trained_label
            assert trained_label in page.locator("#compare-notice").inner_text()
            page.locator("#compare-btn").click()
            status, charts = {}, {}
            for side in ("a", "b"):
                line = page.locator(f"#status-{side}")
                line.get_by_text("top-10 holds", exact=False).wait_for(state="visible", timeout=150_000)
                status[side] = _status_counts(line.inner_text())
                charts[side] = _chart_counts(page, side, len(languages))
                assert {k: v for k, v in charts[side].items() if v} == status[side]  # the chart = the status line
                assert sum(charts[side].values()) == 10 and set(charts[side]) == set(languages)
            assert "multilingual-e5-small, zero-shot" in page.locator("#status-a").inner_text()
            assert trained_label in page.locator("#status-b").inner_text()
            page.screenshot(path=str(tmp_path / "compare_tab.png"), full_page=True)
    # Zero-shot: mostly Spanish (the query's language); trained: the answer in many languages.
    assert charts["a"] != charts["b"]
    assert charts["a"]["es"] >= 6 and sum(1 for v in charts["a"].values() if v) <= 4
    assert charts["b"]["es"] <= 3 and sum(1 for v in charts["b"].values() if v) >= 6
    assert remote == [], f"the page tried to fetch remote resources: {remote}"
    assert (tmp_path / "compare_tab.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
