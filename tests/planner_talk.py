"""A conversation with the offline planner over a warehouse file, its tool calls run through
query_metrics: the shared driver of the tests on imported and sparse tables."""

from __future__ import annotations

from langchain_core.messages import HumanMessage, ToolMessage

from assistant.planner import OfflinePlanner
from assistant.settings import Settings
from tools.metrics import query_metrics
from tools.registry import TOOL_NAMES
from tools.result import ToolContext
from warehouse.connection import Warehouse


class Bound:
    """A tool the planner can call: name only (what bind_tools reads)."""

    def __init__(self, name: str) -> None:
        self.name = name


def converse(path, questions: list[str]) -> tuple[list, list[str], list]:
    """The questions as one conversation: (messages, each turn's answer, the last turn's
    (arguments, result) of every query_metrics call)."""
    with Warehouse.open(path, read_only=True) as wh:
        planner = OfflinePlanner.for_warehouse(wh).bind_tools([Bound(n) for n in TOOL_NAMES])
        ctx = ToolContext(wh=wh, settings=Settings())
        messages, answers, results = [], [], []
        for question in questions:
            messages.append(HumanMessage(question))
            results = []
            for _ in range(4):
                reply = planner.respond(messages)
                messages.append(reply)
                if not reply.tool_calls:
                    break
                call = reply.tool_calls[0]
                assert call["name"] == "query_metrics", call
                result = query_metrics(ctx, **call["args"])
                results.append((call["args"], result))
                messages.append(ToolMessage(result.summary, tool_call_id=call["id"],
                                            name=call["name"]))
            answers.append(messages[-1].text)
        return messages, answers, results
