"""The page's pure translators: events to chat messages, results to charts and cards."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from assistant.events import Answer, ToolFinished, ToolStarted
from assistant.ui import charts, render, translate
from tools.result import ChartSpec, TableResult, ToolResult
from tools.segment_card import SegmentCard, Trait

SQL = "SELECT country, count(*) AS customers FROM customers GROUP BY ALL"


def test_a_tool_step_starts_pending_with_its_sql():
    msg = translate.started_message(ToolStarted("c1", "run_sql",
                                                {"sql": SQL, "title": "Customers by country"}))
    assert msg.metadata["status"] == "pending"
    assert msg.metadata["id"] == "c1"
    assert msg.metadata["title"] == "🔎 Query: Customers by country"
    assert "```sql" in msg.content and "GROUP BY ALL" in msg.content


def test_a_finished_step_has_duration_rows_and_stays_collapsible():
    df = pd.DataFrame({"country": ["DE", "FR"], "customers": [10, 7]})
    result = ToolResult(summary="2 rows", tables=[TableResult("Customers by country", df)],
                        sql=[SQL])
    msg = translate.finished_message(ToolFinished("c1", "run_sql", {"sql": SQL}, result, None,
                                                  0.123))
    assert msg.metadata == {"title": "🔎 Query", "id": "c1", "status": "done",
                            "duration": 0.12}
    assert "2 rows in 1 table" in msg.content
    assert msg.content.count("```sql") == 1  # the SQL is not repeated


def test_a_failed_step_says_why_in_plain_words():
    msg = translate.finished_message(ToolFinished(
        "c2", "run_sql", {"sql": "DROP TABLE customers"}, None,
        "only SELECT queries are allowed", 0.01))
    assert msg.metadata["title"].endswith("failed")
    assert "⚠️ only SELECT queries are allowed" in msg.content


@pytest.mark.parametrize(("name", "args", "title"), [
    ("segment_customers", {"k": 6}, "🧩 Segmentation (k=6)"),
    ("build_audience", {"channel": "sms", "segment_id": 3},
     "📬 Audience (channel=sms, segment_id=3)"),
    ("describe_warehouse", {}, "📚 Looked up the warehouse"),
    ("brand_new_tool", {}, "🔧 Brand new tool"),
])
def test_tool_titles(name, args, title):
    assert translate.tool_title(name, args) == title


def test_errors_show_once():
    answer = Answer("q", "offline", answer="The model is unreachable.",
                    error="The model is unreachable.")
    assert translate.error_message(answer) is None
    answer = Answer("q", "offline", answer="", error="Query timed out")
    assert "Query timed out" in translate.error_message(answer).content


MONTHLY = pd.DataFrame({"month": ["2026-01", "2026-02", "2026-03"], "spend": [10.5, 12.0, 9.0]})
BY_CATEGORY = pd.DataFrame({"category": ["travel", "dining", "groceries"],
                            "spend": [300.0, 120.0, 200.0]})
BY_MONTH_AND_CATEGORY = pd.DataFrame({
    "month": ["2026-01", "2026-01", "2026-02", "2026-02"],
    "category": ["travel", "dining", "travel", "dining"], "spend": [1.0, 2.0, 3.0, 4.0]})
ONE_NUMBER = pd.DataFrame({"active_customers": [16749]})


@pytest.mark.parametrize(("df", "kind", "x", "series"), [
    (MONTHLY, "line", "month", None),
    (BY_CATEGORY, "bar", "category", None),
    (BY_MONTH_AND_CATEGORY, "line", "month", "category"),
    (pd.DataFrame({"ts": pd.to_datetime(["2026-01-01", "2026-02-01"]), "n": [1, 2]}), "line",
     "ts", None),
])
def test_the_chart_fits_the_result(df, kind, x, series):
    spec = charts.infer_spec(TableResult("t", df))
    assert (spec.kind, spec.x, spec.series) == (kind, x, series)
    assert charts.figure(TableResult("t", df)) is not None


def test_no_chart_for_a_single_number_or_text():
    assert charts.infer_spec(TableResult("t", ONE_NUMBER)) is None
    assert charts.infer_spec(TableResult("t", pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}))) \
        is None
    assert charts.figure(TableResult("t", pd.DataFrame())) is None


def test_bars_are_sorted_largest_first():
    fig = charts.figure(TableResult("Spend", BY_CATEGORY))
    assert list(fig.data[0].x) == ["travel", "groceries", "dining"]


def test_a_tool_spec_wins_when_it_fits_and_is_ignored_when_not():
    radar = ChartSpec("radar", x="category", y=["spend"], title="Profile")
    fig = charts.figure(TableResult("t", BY_CATEGORY), radar)
    assert fig.data[0].type == "scatterpolar"
    wrong = ChartSpec("bar", x="nope", y=["spend"])
    assert charts.figure(TableResult("t", BY_CATEGORY), wrong).data[0].type == "bar"


CARD = SegmentCard(
    run_id="r1", segment_id=3, name="Frequent international travellers",
    description="They spend 3.1x the average on travel.", size=1234, share=0.123,
    traits=[Trait("share_travel", "share of card spend on travel", 0.38, 0.09, 1.9, "%"),
            Trait("logins", "logins per month", 1.2, 3.4, -0.8, "per month")],
    products={"credit_card": 0.91, "savings": 0.4}, reach={"email": 800, "sms": 200},
    countries={"DE": 0.3},
)


def test_a_segment_card_reads_as_a_card_not_json():
    text = render.card_markdown(CARD)
    assert text.startswith("### 3 · Frequent international travellers")
    assert "**1,234 customers** (12% of those segmented)" in text
    assert "| share of card spend on travel | 38% | 9% | ▲ 1.9 |" in text
    assert "email 800" in text and "credit card 91%" in text
    assert "{" not in text
    assert render.data_markdown([CARD, CARD]).count("### 3") == 2


def test_display_frame_rounds_but_keeps_numbers_sortable():
    from decimal import Decimal

    df = pd.DataFrame({"x": ["a", "b"], "v": [Decimal("1.234"), Decimal("10.5")],
                       "f": [1.23456, 2.0], "products": [["savings", "checking"], []]})
    out = render.display_frame(df)
    assert out.v.tolist() == [1.23, 10.5] and pd.api.types.is_numeric_dtype(out.v)
    assert out.f.tolist() == [1.23, 2.0]
    assert out.products.tolist() == ["savings, checking", ""]


def test_metrics_on_different_scales_are_not_drawn_on_one_axis():
    df = pd.DataFrame({"category": ["rent", "travel"], "total_spend": [8e6, 1.2e6],
                       "customers": [6454, 2408], "pct_of_spend": [69.2, 10.7]})
    spec = ChartSpec("bar", x="category", y=["total_spend", "customers", "pct_of_spend"])
    fig = charts.figure(TableResult("Spend", df), spec)
    assert [t.name for t in fig.data] == ["total spend"]


def test_long_category_names_get_horizontal_bars():
    df = pd.DataFrame({"name": ["Frequent international travellers with high card spend",
                                "Cash-heavy customers with irregular gig income"],
                       "customers": [311, 222]})
    fig = charts.figure(TableResult("Customers per segment", df))
    assert fig.data[0].orientation == "h"
    assert fig.data[0].y[0].startswith("Frequent international")
    assert fig.layout.xaxis.range[1] > 311 * 1.1      # room for the "311" beside the bar


def test_vertical_bars_leave_room_for_their_value_labels():
    fig = charts.figure(TableResult("Spend", BY_CATEGORY))
    assert fig.layout.yaxis.range[0] == 0
    assert fig.layout.yaxis.range[1] > BY_CATEGORY["spend"].max() * 1.1


def test_a_card_states_its_size_once_and_keeps_reach_and_products_apart():
    card = replace(CARD, description="1,234 customers (12% of customers with transactions). "
                                     "What sets them apart: travel. Reachable with consent: "
                                     "800 by email, 200 by SMS.")
    text = render.card_markdown(card)
    assert text.count("1,234 customers") == 1 and "800 by email" not in text
    assert "What sets them apart: travel." in text
    reach = text.index("**Reachable with consent:**")
    assert "\n\n**Products held:**" in text[reach:]           # separate paragraphs
    assert "| logins per month | 1.2 | 3.4 |" in text            # as in the chat answer


def test_a_list_of_customers_charts_its_measure_and_never_an_empty_plot():
    at_risk = pd.DataFrame({"customer_id": [3744, 8416, 356], "score": [0.97, 0.95, 0.9],
                            "segment": [None, None, None],
                            "reasons": ["transactions in the last 30 days: 0 vs typical 9; days "
                                        "since the last transaction: 64 vs typical 3"] * 3})
    fig = charts.figure(TableResult("Top 3 customers at risk", at_risk))
    assert list(fig.data[0].x) == ["3744", "8416", "356"] and fig.data[0].y[0] == 0.97
    empty_groups = pd.DataFrame({"segment": [None, None], "customers": [3, 4]})
    assert charts.figure(TableResult("t", empty_groups)) is None


def test_a_category_with_one_value_is_not_the_charts_axis():
    from tools.sql import chart_hint

    # "which country has the best email opt-in rate?": channel is the same on every row
    df = pd.DataFrame({"channel": ["email"] * 3, "country": ["US", "CA", "ES"],
                       "opt_in_rate": [59.9, 57.7, 51.0]})
    hint = chart_hint(df, "Email opt-in rate by country")
    assert (hint.kind, hint.x, hint.series) == ("bar", "country", None)
    assert charts.infer_spec(TableResult("t", df)).x == "country"
    # the best one alone: its country is the bar, not the channel asked for
    hint = chart_hint(df.head(1), "Email opt-in rate by country")
    assert (hint.x, hint.series) == ("country", None)
