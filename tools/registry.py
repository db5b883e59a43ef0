"""The one list of agent tools, in the order the model sees them.

Each entry names a module and a function `fn(ctx: ToolContext, ...) -> ToolResult`. Modules that
are not installed yet (tools still being built) are skipped, so the agent works with whatever is
present and picks up new tools as they land.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

# (tool name, modules where it may live: the first that has it wins)
TOOLS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("describe_warehouse", ("tools.describe",)),
    ("run_sql", ("tools.sql",)),
    ("segment_customers", ("tools.segments",)),
    ("describe_segment", ("tools.segments", "tools.runs")),
    ("list_segment_runs", ("tools.runs", "tools.segments")),
    ("compare_segment_runs", ("tools.runs", "tools.segments")),
    ("predict_churn", ("tools.churn",)),
    ("build_audience", ("tools.audience",)),
    ("draft_campaign", ("tools.draft_campaign",)),
    ("list_drafts", ("tools.drafts",)),
    ("show_draft", ("tools.drafts",)),
    ("approve_draft", ("tools.drafts",)),
    ("export_drafts", ("tools.drafts",)),
    ("design_ab_test", ("tools.ab_design",)),
)
TOOL_NAMES = tuple(name for name, _ in TOOLS)


def _module(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:      # the module itself is not there yet
            return None
        raise                     # a dependency of a present module is missing: a real error


def agent_tools() -> list[Callable]:
    """The tool functions that are installed, in registry order."""
    found = []
    for name, modules in TOOLS:
        for module_name in modules:
            module = _module(module_name)
            fn = getattr(module, name, None) if module is not None else None
            if callable(fn):
                found.append(fn)
                break
    return found
