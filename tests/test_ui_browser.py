"""End to end in a real browser: Debian's chromium driven by playwright against `assistant serve`.

Asks a counting question, a grouped question and "segment my customers", and checks that the
answer, a table and a chart appear. Screenshots go to tests/artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from ui_server import running_app

from warehouse.connection import Warehouse

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(os.environ.get("ASSISTANT_SKIP_BROWSER") == "1",
                                reason="ASSISTANT_SKIP_BROWSER=1")


@pytest.fixture(scope="module")
def page(warehouse_path, tmp_path_factory):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install "
                    "chromium); set ASSISTANT_SKIP_BROWSER=1 to skip browser tests")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with running_app(warehouse_path, tmp_path_factory.mktemp("ui")) as url, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        pg = context.new_page()
        pg.set_default_timeout(60_000)
        pg.goto(url)
        pg.locator("#question textarea").wait_for()
        yield pg
        browser.close()


TURNS = {"n": 0}


def ask(page, question: str, shot: str) -> str:
    """Type the question, press Ask, wait until the page says this answer is complete."""
    TURNS["n"] += 1
    page.locator("#question textarea").fill(question)
    page.locator("#ask").click()
    page.wait_for_function(
        "([n]) => { const t = document.querySelector('#turn-status')?.innerText || '';"
        " return t.startsWith(`Answer ${n} ·`) && !t.includes('working'); }",
        arg=[TURNS["n"]])
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    return page.locator("#chat").inner_text()


def open_tab(page, name: str):
    page.locator("#answer-panel").get_by_role("tab", name=name).click()
    page.wait_for_timeout(300)


def selected_tab(page) -> str:
    return page.locator("#answer-panel [role=tab][aria-selected=true]").first.inner_text().strip()


def table_rows(page) -> int:
    open_tab(page, "Table")
    return page.locator("#result-table [role=row]").count() - 1  # minus the header row


def has_chart(page) -> bool:
    open_tab(page, "Chart")
    page.locator("#result-chart .main-svg").first.wait_for(timeout=20_000)
    return page.locator("#result-chart .main-svg .trace").count() > 0


def test_counting_question(page, warehouse_path):
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        expected = wh.scalar("SELECT count(*) FROM customer_status WHERE is_active")
    text = ask(page, "How many active customers do we have?", "1_count")
    assert re.search(rf"{expected:,}|{expected}", text), text[-800:]
    assert selected_tab(page) == "Table"     # one number draws no chart: its table is shown
    assert table_rows(page) >= 1


def test_grouped_question(page):
    text = ask(page, "Spend by category last month", "2_grouped")
    assert "groceries" in text.lower() or "category" in text.lower()
    assert selected_tab(page) == "Chart"
    assert table_rows(page) >= 5
    assert has_chart(page)
    page.screenshot(path=str(ARTIFACTS / "2_grouped_chart.png"), full_page=True)
    open_tab(page, "Downloads")
    link = page.locator("#result-files a").first
    href = link.get_attribute("href")
    assert href.startswith("/downloads/") and href.endswith(".csv")
    page.screenshot(path=str(ARTIFACTS / "2_grouped_downloads.png"), full_page=True)
    with page.expect_download() as download:             # the browser session gets its file
        link.click()
    assert download.value.suggested_filename.endswith(".csv")


def test_segment_my_customers(page):
    text = ask(page, "Segment my customers", "3_segments")
    assert "segment" in text.lower()
    assert table_rows(page) >= 3
    assert has_chart(page)
    open_tab(page, "Details")
    details = page.locator("#result-details").inner_text()
    assert "customers" in details and "{" not in details
    page.screenshot(path=str(ARTIFACTS / "3_segments_details.png"), full_page=True)


def test_errors_show_in_the_chat_and_the_conversation_goes_on(page):
    text = ask(page, "Run this SQL: DROP TABLE customers", "4_refused")
    assert "customers" in text
    text = ask(page, "How many customers live in Germany?", "5_after_error")
    with_de = re.findall(r"\d[\d,]*", text)
    assert with_de
