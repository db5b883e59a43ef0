"""Twenty marketers at once: separate sessions through gradio_client, each gets its own answer."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from ui_server import running_app

from warehouse.connection import Warehouse
from warehouse.contract import COUNTRIES

COUNTRY_NAMES = {"DE": "Germany", "FR": "France", "ES": "Spain", "IT": "Italy",
                 "NL": "the Netherlands", "GB": "the United Kingdom", "US": "the United States",
                 "CA": "Canada"}
PRODUCTS = {"credit_card": "a credit card", "savings": "a savings account",
            "mortgage": "a mortgage", "investment": "an investment account"}


def _expected(warehouse_path) -> list[tuple[str, int]]:
    cases = []
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        for code in COUNTRIES:
            n = wh.scalar("SELECT count(*) FROM customers WHERE country = ?", [code])
            cases.append((f"How many customers live in {COUNTRY_NAMES[code]}?", n))
        for product, words in PRODUCTS.items():
            n = wh.scalar("SELECT count(DISTINCT customer_id) FROM accounts "
                          "WHERE product = ? AND status = 'open'", [product])
            cases.append((f"How many customers hold {words}?", n))
        for band in ("<25k", "25-50k", "50-100k", "100-200k"):
            n = wh.scalar("SELECT count(*) FROM customers WHERE income_band = ?", [band])
            cases.append((f"How many customers are in the {band} income band?", n))
        for status in ("student", "retired", "self_employed", "employed"):
            n = wh.scalar("SELECT count(*) FROM customers WHERE employment_status = ?",
                          [status])
            words = {"student": "students", "retired": "retired customers",
                     "self_employed": "self-employed customers",
                     "employed": "employed customers"}[status]
            cases.append((f"How many {words} do we have?", n))
    return cases[:20]


def _numbers(text: str) -> set[int]:
    return {int(m.replace(",", "")) for m in re.findall(r"\d[\d,]*", text)}


@pytest.fixture(scope="module")
def url(warehouse_path, tmp_path_factory):
    with running_app(warehouse_path, tmp_path_factory.mktemp("conc")) as base:
        yield base


def _ask(url: str, question: str) -> str:
    client = Client(url, verbose=False)
    outputs = client.predict(question, api_name="/chat")
    history = outputs[1]
    last = history[-1]["content"]
    return " ".join(b.get("text", "") for b in last) if isinstance(last, list) else str(last)


def test_twenty_sessions_at_once_each_get_their_own_answer(url, warehouse_path):
    cases = _expected(warehouse_path)
    assert len(cases) == 20
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda c: _ask(url, c[0]), cases))
    wrong = [(q, n, a) for (q, n), a in zip(cases, answers, strict=True)
             if n not in _numbers(a) or "went wrong" in a]
    assert not wrong, wrong[:3]


def test_a_model_outage_is_a_clear_message_and_the_page_goes_on(warehouse_path, tmp_path,
                                                                  monkeypatch):
    # a closed local port: the "model" is unreachable
    monkeypatch.setenv("ASSISTANT_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("ASSISTANT_API_KEY", "test-key")
    monkeypatch.setenv("ASSISTANT_MAX_RETRIES", "0")
    with running_app(warehouse_path, tmp_path, env={"ASSISTANT_PROVIDER": "openai"}) as base:
        client = Client(base, verbose=False)
        first = client.predict("How many customers do we have?", api_name="/chat")
        text = " ".join(b.get("text", "") for b in first[1][-1]["content"])
        assert "127.0.0.1:9" in text and "Traceback" not in text
        second = client.predict("And in Germany?", api_name="/chat")
        assert len(second[1]) > len(first[1])  # the conversation went on
