"""The tools as MCP endpoints: same names and arguments, PII-masked summaries, writes left out."""

from __future__ import annotations

import inspect

import pytest

from assistant.settings import Settings
from assistant.ui import mcp
from assistant.ui.session import Overrides
from tools.registry import agent_tools
from warehouse.connection import Warehouse

TOOLS = {fn.__name__: fn for fn in agent_tools()}


@pytest.fixture
def served(writable_warehouse):
    settings = Settings(warehouse=writable_warehouse, provider="offline")
    with Warehouse.open(writable_warehouse) as wh:
        yield settings, wh


def _fn(name, settings, wh):
    from tools.result import ToolContext
    from warehouse.privacy import NameIndex

    names = NameIndex.from_warehouse(wh)
    return mcp.mcp_function(TOOLS[name], lambda: ToolContext(wh=wh, settings=settings), names,
                            None)


def test_endpoints_keep_the_tool_signature_without_the_context(served):
    settings, wh = served
    fn = _fn("run_sql", settings, wh)
    assert list(inspect.signature(fn).parameters) == ["sql", "title"]
    assert fn.__doc__ == TOOLS["run_sql"].__doc__
    assert fn.__annotations__["return"] is str


def test_results_for_other_assistants_carry_no_personal_data(served, wh):
    settings, handle = served
    emails = [r[0] for r in wh.rows("SELECT email FROM customers ORDER BY customer_id LIMIT 5")]
    out = _fn("run_sql", settings, handle)(
        sql="SELECT customer_id, email, first_name || ' ' || last_name AS who FROM customers "
            "ORDER BY customer_id LIMIT 5")
    assert "5 rows" in out or "rows" in out
    assert not any(e in out for e in emails)


def test_errors_come_back_as_text(served):
    settings, wh = served
    out = _fn("run_sql", settings, wh)(sql="DROP TABLE customers")
    assert out.startswith("Error:")


def test_only_read_only_tools_are_exposed(served):
    import gradio as gr

    settings, wh = served
    with gr.Blocks() as demo:
        pass
    exposed = mcp.register(demo, wh, settings)
    assert {"describe_warehouse", "run_sql", "segment_customers"} <= set(exposed)
    assert not {"build_audience", "approve_draft", "export_drafts"} & set(exposed)


def test_session_settings_never_show_the_key():
    o = Overrides(model="gpt-x", base_url="http://127.0.0.1:1/v1", api_key="sk-secret")
    assert "sk-secret" not in repr(o)
    s = o.apply(Settings(provider="offline"))
    assert s.provider == "openai" and s.model == "gpt-x"
    assert s.api_key.get_secret_value() == "sk-secret" and "sk-secret" not in repr(s)
    assert Overrides(offline=True).apply(Settings()).provider == "offline"
