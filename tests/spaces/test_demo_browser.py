"""The demo Space in a real browser: headless Chromium (Debian's package) driven by Playwright for Python.

Types a query, clicks Search, waits for the results table and the status line, and saves a screenshot of
the Search tab under the test's tmp dir; a path typed into the model dropdown does not stick (the Space
offers its owner's models only). Every request the page makes to a host other than the local
server is refused and recorded, and the test fails if there was one: an offline Space must not wait on
remote fonts or scripts. Skips with a reason when Chromium or Playwright is missing (CI installs
Chromium in .ci/run; never `playwright install`).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from demo_support import LANGS, running_demo

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
