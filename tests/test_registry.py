"""The tool registry: one entry per tool carries everything the rest of the assistant needs."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from tools import registry
from tools.result import ToolResult

ROOT = Path(__file__).resolve().parents[1]


def test_every_registered_tool_is_installed_and_typed_for_the_agent():
    installed = {fn.__name__: fn for fn in registry.agent_tools()}
    assert set(installed) == set(registry.TOOL_NAMES)
    for name, fn in installed.items():
        params = list(inspect.signature(fn).parameters)
        assert params[0] == "ctx", name
        assert inspect.signature(fn).return_annotation in (ToolResult, "ToolResult"), name
        assert (fn.__doc__ or "").strip(), f"{name} has no docstring for the model"


def test_every_entry_has_a_declared_group_a_label_and_an_icon():
    assert len(set(registry.TOOL_NAMES)) == len(registry.TOOL_NAMES)
    for tool in registry.TOOLS:
        assert tool.group in registry.GROUPS, tool.name
        assert tool.label and tool.icon, tool.name
    assert [g for g, group in registry.GROUPS.items() if group.always] == ["data"]
    assert registry.routed_groups()[0] == "data"
    assert "data" not in registry.optional_groups()
    for group in registry.optional_groups():
        assert registry.group_keywords(group), f"group {group} has no words to route by"


def test_tools_that_write_are_not_exposed_over_mcp_unless_the_entry_says_so():
    exposed = {t.name for t in registry.TOOLS if t.exposed}
    assert {"describe_warehouse", "run_sql", "describe_segment", "list_drafts",
            "show_draft", "design_ab_test"} <= exposed
    assert not {"build_audience", "draft_campaign", "approve_draft", "export_drafts"} & exposed
    # segment runs and churn scores are saved, but other assistants may ask for them
    assert {"segment_customers", "predict_churn"} <= exposed
    for tool in registry.TOOLS:
        if tool.mcp is None:
            assert tool.exposed is not tool.writes


def test_an_unknown_tool_has_no_entry():
    assert registry.spec("brand_new_tool") is None
    assert registry.spec("run_sql").label == "Query"


@pytest.mark.parametrize("path", ["assistant/ui/mcp.py", "assistant/ui/translate.py",
                                  "assistant/planner/answer.py"])
def test_no_other_module_keeps_its_own_list_of_tools(path):
    text = (ROOT / path).read_text()
    named = [n for n in registry.TOOL_NAMES if f'"{n}"' in text]
    assert len(named) <= 1, f"{path} lists tools ({', '.join(named)}): use tools/registry.py"
