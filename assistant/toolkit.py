"""Tool functions from `tools.registry`, wrapped as LangChain tools; the one tool-error boundary.

A tool function `fn(ctx: ToolContext, **args) -> ToolResult` becomes a StructuredTool whose
arguments are validated against its signature (ctx left out: the model never sees it). What the
model is sent is compact, because every request pays for it: the docstring's first paragraph,
the first clause of each "Args:" entry, and a JSON schema without `anyOf [T, null]` unions or
`"default": null` (an omitted optional argument means its default; an explicit null is still
accepted). At run time the ToolContext comes from the agent's run context (LangGraph injects it;
one compiled agent serves every conversation).

`ToolBoundary` is the single place where tool exceptions are caught: the model gets
`Error: <message>`, the person gets the message in a ToolFinished event, nothing crashes. It also
masks personal data in every summary, keeps the full ToolResult for the person, writes the audit
log and emits the ToolStarted / ToolFinished events.
"""

from __future__ import annotations

import inspect
import json
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

from assistant import auth
from assistant.audit import AuditLog
from assistant.events import ToolFinished, ToolStarted
from tools.registry import agent_tools, spec
from tools.result import ToolContext, ToolResult
from warehouse.errors import AssistantError, log_unexpected
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


def first_paragraph(text: str) -> str:
    """The text up to its first blank line, on one line."""
    return " ".join(inspect.cleandoc(text or "").split("\n\n")[0].split())


_CLAUSE_END = re.compile(r";\s|(?<!e\.g)(?<!i\.e)\.(?:\s|$)|,? \(?e\.g\.")


def first_clause(text: str, enum: list | None = None) -> str:
    """The argument description up to its first ';', full stop or example; empty when it only
    repeats the allowed values."""
    text = " ".join((text or "").split())
    cut = _CLAUSE_END.search(text)
    clause = text[: cut.start()].strip() if cut and cut.start() > 0 else text.rstrip(".")
    clause += ")" * (clause.count("(") - clause.count(")"))
    if enum:
        words = set(re.findall(r"[\w-]+", clause.lower())) - {"or", "and"}
        if words <= {str(v).lower() for v in enum}:
            return ""
    return clause


def _compact_property(prop: dict) -> dict:
    union = prop.get("anyOf")
    if union:
        kept = [s for s in union if s.get("type") != "null"]
        if len(kept) == 1:
            prop = {**{k: v for k, v in prop.items() if k != "anyOf"}, **kept[0]}
    prop = {k: v for k, v in prop.items() if k != "title"}
    if "default" in prop and (prop["default"] is None or prop["default"] is False
                              or prop["default"] == ""):
        del prop["default"]   # what an omitted argument means anyway
    if "items" in prop and isinstance(prop["items"], dict):
        prop["items"] = {k: v for k, v in prop["items"].items() if k != "title"}
    description = first_clause(prop.pop("description", ""), prop.get("enum"))
    if "default" in prop:
        description = re.sub(r"\s*\(default [^)]*\)", "", description)
    return ({"description": description} if description else {}) | prop


def compact_schema(args_schema: type, hidden: tuple[str, ...] = ("runtime",)) -> dict:
    """The JSON schema the model is sent for a pydantic arguments model (see the module doc)."""
    full = args_schema.model_json_schema()
    props = {name: _compact_property(prop) for name, prop in full.get("properties", {}).items()
             if name not in hidden}
    schema: dict[str, Any] = {"type": "object", "properties": props}
    required = [n for n in full.get("required", []) if n in props]
    if required:
        schema["required"] = required
    if "$defs" in full:
        schema["$defs"] = full["$defs"]
    return schema


class CompactTool(StructuredTool):
    """A StructuredTool that validates with its full arguments model but is described to the
    model with `compact` (see `compact_schema`)."""

    compact: dict = Field(default_factory=dict)

    @property
    def tool_call_schema(self) -> dict:   # what bind_tools converts for the model
        return self.compact


def as_tool(fn: Callable[..., ToolResult]) -> StructuredTool:
    """A LangChain tool for `fn(ctx, **args)`; ctx comes at run time, hidden from the model."""
    _, arg_docs = parse_docstring(fn.__doc__ or fn.__name__)
    description = first_paragraph(fn.__doc__ or fn.__name__)
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
    return CompactTool(name=fn.__name__, description=description, args_schema=schema,
                       func=run, response_format="content_and_artifact",
                       compact=compact_schema(schema))


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
        name, args, call_id = call["name"], call.get("args") or {}, call.get("id") or ""
        args = dict(args) if isinstance(args, dict) else {"arguments": args}
        runtime = request.runtime
        ctx: RunContext = runtime.context
        write = runtime.stream_writer
        settings = ctx.tool.settings
        refusal = arguments_problem(name, args, getattr(settings, "max_tool_args_chars", 50_000))
        if refusal is not None:
            args = {"arguments": f"({len(json_text(args)):,} characters, not shown)"}
        else:
            tool = spec(name)
            refusal = auth.refusal(name, tool.permission if tool else "approve",
                                   ctx.tool.user, ctx.tool.roles)
        write(ToolStarted(call_id, name, args))
        started = time.perf_counter()
        result: ToolResult | None = None
        error: str | None = refusal
        message = None
        try:
            if refusal is None:
                message = handler(request)
        except GraphBubbleUp:
            raise
        except AssistantError as exc:
            error = str(exc)
            message = None
        except Exception as exc:   # a bug in a tool: the model and the person get one line
            # its text may carry data values (a pandas error quoting a cell): only the type
            log_unexpected(f"tool {name}", exc)
            log.debug("tool %s failed", name, exc_info=True)
            error = (f"{name} failed unexpectedly ({type(exc).__name__}); try other arguments "
                     "or another way to answer")
            message = None
        if message is not None and not isinstance(message, ToolMessage):
            return message      # a Command from a tool that steers the graph: pass it on
        if message is not None:
            if isinstance(message.artifact, ToolResult):
                result = message.artifact
            if message.status == "error":
                error = message.text
        # the result, or ToolNode's own note on bad arguments, or our one-line error; masked
        # for the model and the person alike, and never longer than a summary should be
        if error is not None:
            error = mask_text(clip_text(error, 1_000), ctx.names)
        content = message.text if message is not None and message.status != "error" else \
            f"Error: {error}"
        content = mask_text(content, ctx.names)
        seconds = time.perf_counter() - started
        record = ToolFinished(call_id, name, args, result, error, seconds)
        ctx.calls.append(record)
        _audit_call(ctx, record)
        write(record)
        return ToolMessage(content=content, tool_call_id=call_id, name=name,
                           status="error" if error else "success")


def json_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def clip_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def arguments_problem(name: str, args: dict, limit: int) -> str | None:
    size = len(json_text(args))
    if size > limit:
        return (f"the arguments of {name} are {size:,} characters long; at most {limit:,} are "
                "allowed (ASSISTANT_MAX_TOOL_ARGS_CHARS): send shorter arguments")
    return None


def _audit_call(ctx: RunContext, record: ToolFinished) -> None:
    if ctx.audit is None:
        return
    tool = ctx.tool
    base = {"session": tool.session, "model": tool.model, "question": tool.question,
            "user": tool.user}
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
