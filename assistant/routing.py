"""Tool routing: each model request carries only the tools the question can use.

Every request pays for the tool schemas it carries, so the router sends the "data" group (always)
plus the groups of tools/registry.py that the conversation is about, decided from the messages
alone (cheap, deterministic, no model call):
- the group's keywords occur in the current question or the one before it;
- a tool of the group was called since the question before the current one (a follow-up such as
  "now with 5 segments" keeps the segmentation tools);
- the model asked for the group with `load_tools` earlier in the conversation.

`load_tools` is sent whenever some group was left out, with a description naming exactly the
groups it can load, so every tool stays reachable. A call to a tool that was not sent still runs
(the agent knows every tool); only what the model is offered changes.

The same goes for the system prompt: it leaves out the business definitions and the assistant's
own tables (segment runs, scores, audiences, drafts, audit log); a request gets the definitions
its question (or the one before) names, and the own tables when a group that uses them is routed
or the question names them. describe_warehouse() still returns everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from langchain.agents.middleware import AgentMiddleware
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from tools import registry
from tools.catalog import describe_groups

LOAD_TOOLS = "load_tools"
OWN_TABLE_WORDS = re.compile(r"(?<!\w)(audit\w*|assistant\.\w+|logs?|logged|history)(?!\w)",
                             re.I)
_MATCHERS: dict[tuple[str, ...], re.Pattern] = {}


def _pattern(keyword: str) -> str:
    word = re.escape(keyword.lower().rstrip("*"))
    tail = r"[\w'-]*" if keyword.endswith("*") else r"(?:s|es)?"
    return rf"(?<![\w/]){word}{tail}(?![\w/])"


def groups_named_in(text: str) -> set[str]:
    """The optional groups whose keywords occur in `text` (case-insensitive)."""
    text = (text or "").lower()
    found = set()
    for group in registry.optional_groups():
        words = registry.group_keywords(group)
        if not words:
            continue
        matcher = _MATCHERS.get(words)
        if matcher is None:
            matcher = _MATCHERS[words] = re.compile("|".join(_pattern(k) for k in words))
        if matcher.search(text):
            found.add(group)
    return found


def _loaded(messages: Iterable[BaseMessage]) -> set[str]:
    groups: set[str] = set()
    for m in messages:
        if isinstance(m, AIMessage):
            for call in m.tool_calls:
                if call.get("name") == LOAD_TOOLS:
                    asked = (call.get("args") or {}).get("groups") or []
                    groups.update(str(g).strip().lower() for g in asked
                                  if isinstance(asked, list))
    return groups


def route(messages: list[BaseMessage]) -> set[str]:
    """The groups to offer for the next model request of this conversation."""
    humans = [i for i, m in enumerate(messages) if isinstance(m, HumanMessage)]
    recent = humans[-2:]
    groups = {g for g in registry.GROUPS if registry.GROUPS[g].always}
    for i in recent:
        groups |= groups_named_in(messages[i].text)
    since = recent[0] if recent else 0
    for m in messages[since:]:
        if isinstance(m, AIMessage):
            for call in m.tool_calls:
                tool = registry.spec(call.get("name") or "")
                if tool is not None:
                    groups.add(tool.group)
    groups |= _loaded(messages)
    return groups & (set(registry.routed_groups()) | set(registry.GROUPS))


def wants_own_tables(messages: list[BaseMessage], groups: set[str]) -> bool:
    """Whether the request needs the assistant's own tables in the system prompt."""
    if groups - {g for g in registry.GROUPS if registry.GROUPS[g].always}:
        return True
    question = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
    return bool(OWN_TABLE_WORDS.search(question))


def recent_questions(messages: list[BaseMessage]) -> list[str]:
    """The current question and the one before it (a follow-up refines it)."""
    return [m.text for m in messages if isinstance(m, HumanMessage)][-2:]


class ToolRouter(AgentMiddleware):
    """Offer each model request only the routed tools, and end its system prompt with the
    context the question needs: `context(questions, groups)` (in the agent: the definitions
    the questions name, and the assistant's own tables when `wants_own_tables`)."""

    def __init__(self, context=None) -> None:
        super().__init__()
        self.context = context

    def wrap_model_call(self, request, handler):
        groups = route(request.messages)
        kept, load = [], None
        for tool in request.tools:
            name = getattr(tool, "name", None)
            spec = registry.spec(name or "")
            if name == LOAD_TOOLS:
                load = tool
            elif spec is None or spec.group in groups:
                kept.append(tool)      # tools the registry does not know are always offered
        offered = {getattr(t, "name", None) for t in request.tools}
        missing = [g for g in registry.optional_groups() if g not in groups
                   and any(n in offered for n in registry.tools_of([g]))]
        if load is not None and missing:
            kept.append(load.model_copy(update={
                "description": f"Load more tools: {describe_groups(missing)}."}))
        update: dict = {"tools": kept}
        if self.context is not None and request.system_message is not None:
            extra = self.context(recent_questions(request.messages), groups,
                                 wants_own_tables(request.messages, groups))
            if extra:
                update["system_message"] = SystemMessage(
                    request.system_message.text.rstrip("\n") + "\n" + extra)
        return handler(request.override(**update))
