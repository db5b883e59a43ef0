"""Tool functions from `tools.registry`, wrapped as LangChain tools; the one tool-error boundary.

A tool function `fn(ctx: ToolContext, **args) -> ToolResult` becomes a StructuredTool whose schema
comes from the signature (ctx left out: the model never sees it) and whose description is the
docstring; the "Args:" section becomes the argument descriptions. At run time the ToolContext
comes from the agent's run context (LangGraph injects it; one compiled agent serves every
conversation).

`ToolBoundary` is the single place where tool exceptions are caught: the model gets
`Error: <message>`, the person gets the message in a ToolFinished event, nothing crashes. It also
masks personal data in every summary, keeps the full ToolResult for the person, writes the audit
log and emits the ToolStarted / ToolFinished events.
"""

from __future__ import annotations

import inspect
import logging
import re
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from langchain.agents.middleware import AgentMiddleware
from langchain.tools import ToolRuntime
from langchain_core.messages import ToolMessage
from langchain_core.tools import InjectedToolArg, StructuredTool
from langgraph.errors import GraphBubbleUp
from pydantic import Field, create_model

from assistant.audit import AuditLog
from assistant.events import ToolFinished, ToolStarted
from tools.registry import agent_tools
from tools.result import ToolContext, ToolResult
from warehouse.errors import AssistantError
from warehouse.privacy import NameIndex, mask_text

log = logging.getLogger(__name__)

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters):\s*$", re.M)
_ARG_LINE = re.compile(r"^\s{0,8}(\w+)(?:\s*\([^)]*\))?:\s*(.*)$")


@dataclass
class RunContext:
    """Per-turn context handed to the agent run: what tools and middleware may use."""

    tool: ToolContext
    audit: AuditLog | None = None
    names: NameIndex | None = None
    calls: list[ToolFinished] = field(default_factory=list)  # this turn's tool calls
    model_error: str | None = None


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """(description, {arg: description}) from a Google-style docstring; tolerant of wrapping."""
    doc = inspect.cleandoc(doc or "")
    m = _ARGS_HEADER.search(doc)
    if not m:
        return doc, {}
    description = doc[: m.start()].strip()
    args: dict[str, str] = {}
    current = None
    for line in doc[m.end():].splitlines():
        if not line.strip():
            continue
        hit = _ARG_LINE.match(line)
        indent = len(line) - len(line.lstrip())
        if hit and indent <= 8 and (current is None or indent <= 4):
            current = hit.group(1)
            args[current] = hit.group(2).strip()
        elif current is not None and indent > 0:
            args[current] = (args[current] + " " + line.strip()).strip()
        else:   # text after the Args section (Returns:, notes) is not an argument
            if re.match(r"^\s*\w+:\s*$", line):
                current = None
            continue
    return description, args


def as_tool(fn: Callable[..., ToolResult]) -> StructuredTool:
    """A LangChain tool for `fn(ctx, **args)`; ctx comes at run time, hidden from the model."""
    description, arg_docs = parse_docstring(fn.__doc__ or fn.__name__)
    hints = typing.get_type_hints(fn)
    fields: dict[str, Any] = {}
    params = list(inspect.signature(fn).parameters.values())[1:]   # drop ctx
    for p in params:
        annotation = hints.get(p.name, Any)
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (annotation, Field(default, description=arg_docs.get(p.name)))
    # The run context comes in as `runtime` (LangGraph injects it; the model never sees it).
    fields["runtime"] = (Annotated[Any, InjectedToolArg], Field(None))
    schema = create_model(f"{fn.__name__}_args", **fields)

    def run(runtime: ToolRuntime, **kwargs: Any) -> tuple[str, ToolResult]:
        result = fn(runtime.context.tool, **kwargs)
        if not isinstance(result, ToolResult):
            result = ToolResult(summary=str(result))
        return result.summary, result

    run.__name__ = fn.__name__
    return StructuredTool(name=fn.__name__, description=description, args_schema=schema,
                          func=run, response_format="content_and_artifact")


def build_tools(functions: list[Callable] | None = None) -> list[StructuredTool]:
    """LangChain tools for `functions` (default: every installed tool in the registry)."""
    return [as_tool(fn) for fn in (functions if functions is not None else agent_tools())]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ToolBoundary(AgentMiddleware):
    """Runs every tool call: events, error capture, PII masking of summaries, audit log."""

    def wrap_tool_call(self, request, handler):
        call = request.tool_call
        name, args, call_id = call["name"], dict(call.get("args") or {}), call.get("id") or ""
        runtime = request.runtime
        ctx: RunContext = runtime.context
        write = runtime.stream_writer
        write(ToolStarted(call_id, name, args))
        started = time.perf_counter()
        result: ToolResult | None = None
        error: str | None = None
        try:
            message = handler(request)
        except GraphBubbleUp:
            raise
        except AssistantError as exc:
            error = str(exc)
            message = None
        except Exception as exc:   # a bug in a tool: the model and the person get one line
            log.exception("tool %s failed", name)
            error = (f"{name} failed unexpectedly ({type(exc).__name__}: {_first_line(exc)}); "
                     "try other arguments or another way to answer")
            message = None
        if message is not None and not isinstance(message, ToolMessage):
            return message      # a Command from a tool that steers the graph: pass it on
        if message is not None:
            if isinstance(message.artifact, ToolResult):
                result = message.artifact
            if message.status == "error":
                error = message.text
        # the result, or ToolNode's own note on bad arguments, or our one-line error
        content = message.text if message is not None else f"Error: {error}"
        content = mask_text(content, ctx.names)
        seconds = time.perf_counter() - started
        record = ToolFinished(call_id, name, args, result, error, seconds)
        ctx.calls.append(record)
        _audit_call(ctx, record)
        write(record)
        return ToolMessage(content=content, tool_call_id=call_id, name=name,
                           status="error" if error else "success")


def _audit_call(ctx: RunContext, record: ToolFinished) -> None:
    if ctx.audit is None:
        return
    tool = ctx.tool
    base = {"session": tool.session, "model": tool.model, "question": tool.question}
    rows = None
    if record.result is not None and record.result.tables:
        rows = sum(len(t.df) for t in record.result.tables)
    ctx.audit.record("tool_call", tool=record.name, arguments=record.args, row_count=rows,
                     duration_ms=record.seconds * 1000, detail=record.error, **base)
    if record.result is not None:
        for statement in record.result.sql:
            ctx.audit.record("sql", tool=record.name, sql=statement, row_count=rows, **base)
    if record.error:
        ctx.audit.record("error", tool=record.name, detail=record.error, **base)
