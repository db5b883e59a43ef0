"""The one list of agent tools, in the order the model sees them, with everything said about them.

Adding a tool is one `Tool(...)` entry in `TOOLS` below, and nothing else: the agent wraps it for
the model (assistant/toolkit.py), the router offers it to the model when a question is about its
group (assistant/routing.py), the chat page titles its steps with `icon` and `label`
(assistant/ui/translate.py), MCP clients see it when `mcp` is true (assistant/ui/mcp.py), and the
offline planner introduces its summary with `heading` (assistant/planner/answer.py). Nothing else
keeps a list of tool names.

The convention for an entry:
- `name` is the function's name; `modules` are where it may live (the first that has it wins).
  Modules that are not installed yet (tools still being built) are skipped, so the agent works
  with whatever is present and picks up new tools as they land.
- The function is `fn(ctx: ToolContext, ...) -> ToolResult` with typed arguments and a docstring
  written for the model. The model gets the docstring's first paragraph and the first clause of
  each `Args:` entry, so put what matters most there; an optional argument whose omission means
  "the default" should be `x: T | None = None` (the model sees just `T`, not optional).
- `group` is the routing group (one of `GROUPS`, or a new one declared there): the model is sent a
  group's tools only when the question or the conversation is about it (its `keywords`, or a tool
  of the group used in the last turn), or when the model asks for the group (`load_tools`).
  Group "data" is always sent; keep it small, every request pays for it.
- `keywords` adds words that bring the tool's group into a question (see `Group.keywords`).
- `writes`: the tool changes the warehouse or writes files. `mcp`: exposed to other assistants
  over MCP; by default exactly the tools that do not write.
- `permission`: what a signed-in person needs to run it (assistant/auth.py): "ask" (everyone),
  "draft" (marketer), "approve" (approver), "export" (analyst: files with personal data). By
  default "ask" for a tool that does not write and "approve" for one that does, so a new
  writing tool is never open to everyone by accident; say so when it should be.
- `label` and `icon` title its step in the chat page; `heading` (optional) introduces its summary
  when the offline planner shows that summary to a person as it is.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    """A routing group: tools that serve one kind of question."""

    blurb: str                       # what the group does, for the model (a few words)
    keywords: tuple[str, ...] = ()   # words or phrases that bring the group into a question;
    #                                  whole words, a plural s/es allowed; "segment*" matches any
    #                                  word that starts with "segment"
    always: bool = False             # sent with every question


@dataclass(frozen=True)
class Tool:
    """One agent tool and what every part of the assistant needs to know about it."""

    name: str
    modules: tuple[str, ...]
    group: str
    label: str
    icon: str = "🔧"
    writes: bool = False
    mcp: bool | None = None          # None: exposed exactly when it does not write
    keywords: tuple[str, ...] = ()
    heading: str = ""
    needs: str | None = None         # None: "ask" when it does not write, else "approve"

    @property
    def exposed(self) -> bool:
        return (not self.writes) if self.mcp is None else self.mcp

    @property
    def permission(self) -> str:
        return self.needs or ("approve" if self.writes else "ask")


GROUPS: dict[str, Group] = {
    "data": Group("the warehouse and SQL", always=True),
    "segments": Group(
        "segmentation, segment cards",
        ("segment*", "cluster*", "persona*", "rfm", "champion*", "hibernating", "can't lose",
         "cannot lose", "lookalike*", "kinds of customers", "types of customers",
         "groups of customers", "customer groups")),
    "churn": Group(
        "churn risk",
        ("churn", "churning", "churner*", "attrition", "likely to", "leave", "leaving",
         "at risk", "at-risk", "retention", "retain", "propensity", "predict*", "risk score*",
         "score*", "win back", "win-back")),
    "audience": Group(
        "send lists",
        ("audience*", "target list", "send list", "mailing list", "contact list", "reach",
         "reachable", "marketable", "contactable", "csv", "target", "targeting")),
    "copy": Group(
        "campaign copy",
        ("write", "writing", "draft", "copy", "copywriting", "compose", "message",
         "subject line", "wording", "tone", "headline", "notification", "push notification",
         "in-app", "in_app", "newsletter", "rewrite", "translate", "variant*", "email for",
         "sms for", "text for", "campaign for",
         # the other contract languages (de, fr, es, it, nl): verbs of writing
         "schreib*", "entwirf", "formulier*", "écri*", "ecri*", "rédig*", "redig*",
         # (not "sms" or "push": "build an SMS audience" and "push triggers" are no copy)
         "escrib*", "redact*", "scriv*", "schrijf*", "opstellen")),
    "drafts": Group(
        "saved drafts",
        ("draft*", "approve*", "approval", "sign off", "sign-off", "export*", "receipt*")),
    "triggers": Group(
        "event-triggered campaigns",
        ("trigger*", "fired", "fire", "fires", "skipped", "real-time", "realtime",
         "real time", "event-triggered", "pause", "resume", "rule", "rules", "outbox",
         "offers")),
    "models": Group(
        "lifetime value, model drift and refresh",
        ("lifetime value", "clv", "ltv", "cltv", "valuable", "most value", "predicted value",
         "expected spend", "still with us", "still active", "still around", "alive",
         "next year", "next 12 months", "drift*", "model*", "refresh*", "retrain*",
         "challenger*", "stable", "stability", "changed since", "what changed", "grew",
         "shrank", "migration")),
    "experiments": Group(
        "A/B tests",
        ("a/b", "ab test", "a-b", "split test", "experiment*", "test", "sample size",
         "holdout", "hold-out", "control group", "significan*", "lift", "uplift")),
}

TOOLS: tuple[Tool, ...] = (
    Tool("describe_warehouse", ("tools.describe",), "data", "Looked up the warehouse", "📚",
         heading="Here is what the warehouse holds:"),
    Tool("query_metrics", ("tools.metrics",), "data", "Metrics", "📊"),
    Tool("run_sql", ("tools.sql",), "data", "Query", "🔎",
         heading="Your query ran (read-only). What it returned:"),
    Tool("load_tools", ("tools.catalog",), "data", "More tools", "🧰", mcp=False),
    Tool("segment_customers", ("tools.segments",), "segments", "Segmentation", "🧩",
         writes=True, mcp=True, needs="ask", heading="I segmented the customers:"),
    Tool("describe_segment", ("tools.segments", "tools.runs"), "segments", "Segment card", "🪪"),
    Tool("list_segment_runs", ("tools.runs", "tools.segments"), "segments", "Segment runs", "🗂️",
         heading="The segmentations so far:"),
    Tool("compare_segment_runs", ("tools.runs", "tools.segments"), "segments",
         "Compared segment runs", "↔️"),
    Tool("predict_churn", ("tools.churn",), "churn", "Churn risk", "📉", writes=True, mcp=True,
         needs="ask"),
    Tool("predict_clv", ("tools.clv",), "models", "Lifetime value", "💎", writes=True, mcp=True,
         needs="ask"),
    Tool("check_model_drift", ("tools.drift",), "models", "Drift check", "🌊",
         heading="What changed since the models were trained:"),
    Tool("show_models", ("tools.models",), "models", "Model registry", "🏷️",
         heading="The models:"),
    Tool("refresh_models", ("tools.refresh",), "models", "Model refresh", "🔄", writes=True,
         heading="I refreshed the models:"),
    Tool("approve_model", ("tools.models",), "models", "Model approval", "✅", writes=True),
    Tool("build_audience", ("tools.audience",), "audience", "Audience", "📬", writes=True,
         needs="export"),
    Tool("draft_campaign", ("tools.draft_campaign",), "copy", "Campaign draft", "✍️",
         writes=True, needs="draft"),
    Tool("list_drafts", ("tools.drafts",), "drafts", "Drafts", "🗒️",
         heading="The saved campaign drafts:"),
    Tool("show_draft", ("tools.drafts",), "drafts", "Draft", "📄"),
    Tool("approve_draft", ("tools.drafts",), "drafts", "Approval", "✅", writes=True),
    Tool("export_drafts", ("tools.drafts",), "drafts", "Export", "📦", writes=True,
         needs="draft"),
    Tool("design_ab_test", ("tools.ab_design",), "experiments", "A/B tests", "🧪"),
    Tool("list_triggers", ("tools.trigger_tools",), "triggers", "Triggers", "⚡",
         heading="The event-triggered campaigns:"),
    Tool("trigger_history", ("tools.trigger_tools",), "triggers", "Trigger history", "📜"),
    Tool("pause_trigger", ("tools.trigger_tools",), "triggers", "Paused a trigger", "⏸️",
         writes=True),
    Tool("resume_trigger", ("tools.trigger_tools",), "triggers", "Resumed a trigger", "▶️",
         writes=True),
    Tool("create_trigger", ("tools.trigger_tools",), "triggers", "New trigger", "⚡",
         writes=True),
)
TOOL_NAMES = tuple(t.name for t in TOOLS)
_BY_NAME = {t.name: t for t in TOOLS}


def spec(name: str) -> Tool | None:
    """The registry entry of the tool `name` (None for a tool the registry does not know)."""
    return _BY_NAME.get(name)


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
    for tool in TOOLS:
        for module_name in tool.modules:
            module = _module(module_name)
            fn = getattr(module, tool.name, None) if module is not None else None
            if callable(fn):
                found.append(fn)
                break
    return found


# -- routing ------------------------------------------------------------------------------------
def group_keywords(group: str) -> tuple[str, ...]:
    """The group's own keywords and those of its tools."""
    own = GROUPS[group].keywords if group in GROUPS else ()
    return own + tuple(k for t in TOOLS if t.group == group for k in t.keywords)


def routed_groups() -> list[str]:
    """Every group that has tools, in registry order ("data" first)."""
    seen: dict[str, None] = {}
    for t in TOOLS:
        seen.setdefault(t.group, None)
    return list(seen)


def optional_groups() -> list[str]:
    """The groups sent only when a question needs them (or the model asks for them)."""
    return [g for g in routed_groups() if not (g in GROUPS and GROUPS[g].always)]


def tools_of(groups: Iterable[str]) -> list[str]:
    wanted = set(groups)
    return [t.name for t in TOOLS if t.group in wanted]
