"""The assistant's tools as MCP tools (Gradio's built-in MCP server), for other assistants.

Each registry tool `fn(ctx, **args) -> ToolResult` becomes an API endpoint with the same name,
arguments and docstring, returning the tool's model-facing summary: another assistant is a model,
so it gets what our model gets (short, PII-masked), never the raw tables. Which tools are
exposed is said once, in tools/registry.py.
"""

from __future__ import annotations

import functools
import inspect
import time
import typing
from collections.abc import Callable
from pathlib import Path

import gradio as gr

from assistant import auth
from assistant.audit import AuditLog
from assistant.toolkit import arguments_problem, clip_text, json_text
from tools.registry import agent_tools, spec
from tools.result import ToolContext, ToolResult
from warehouse.errors import AssistantError, InvalidArgument, log_unexpected
from warehouse.privacy import NameIndex, mask_text


def mcp_function(fn: Callable[..., ToolResult], make_ctx: Callable[[], ToolContext],
                 names: NameIndex | None, audit: AuditLog | None,
                 roles: tuple[str, ...] | None = None) -> Callable[..., str]:
    """A plain function with fn's arguments (no ctx) returning the PII-masked summary; run
    only when `roles` (the MCP clients' role) allow the tool."""
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())[1:]
    hints = typing.get_type_hints(fn)
    tool = spec(fn.__name__)
    settings = make_ctx().settings
    limit = getattr(settings, "max_tool_args_chars", 50_000)

    @functools.wraps(fn)
    def call(*args, **kwargs) -> str:
        ctx = make_ctx()
        started = time.perf_counter()
        arguments: dict = {}
        try:
            bound = inspect.Signature(params).bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            problem = arguments_problem(fn.__name__, arguments, limit) or auth.refusal(
                fn.__name__, tool.permission if tool else "approve", "MCP clients", roles)
            if problem is not None:
                raise InvalidArgument(problem)
            result = fn(ctx, **arguments)
            text = result.summary if isinstance(result, ToolResult) else str(result)
            error = None
        except AssistantError as exc:
            text, error = f"Error: {exc}", str(exc)
        except TypeError as exc:           # arguments that do not fit the tool's signature
            text = error = f"Error: the arguments do not fit {fn.__name__} ({type(exc).__name__})"
        except Exception as exc:           # never a traceback (or a data value) to the client
            log_unexpected(f"mcp {fn.__name__}", exc)
            text = error = f"Error: {fn.__name__} failed unexpectedly ({type(exc).__name__})"
        text = mask_text(clip_text(text, 100_000), names)
        if audit is not None:
            audit.record("tool_call", session="mcp", tool=fn.__name__,
                         arguments=arguments if len(json_text(arguments)) <= limit else
                         {"arguments": "(too long to keep)"}, model="mcp-client",
                         duration_ms=(time.perf_counter() - started) * 1000,
                         detail=mask_text(clip_text(error or "", 1_000), names), user="mcp")
        return text

    call.__signature__ = inspect.Signature(params, return_annotation=str)
    call.__annotations__ = {p.name: hints.get(p.name, typing.Any) for p in params} | {
        "return": str}
    del call.__wrapped__  # gradio must see the ctx-less signature, not fn's
    return call


def register(demo: gr.Blocks, wh, settings, names: NameIndex | None = None,
             roles: tuple[str, ...] | None = None) -> list[str]:
    """Add the tools the registry exposes (`Tool.exposed`: by default those that do not write)
    to `demo` as API endpoints, and so as MCP tools."""
    names = names if names is not None else NameIndex.from_warehouse(wh)
    audit = AuditLog(wh, names)

    def make_ctx() -> ToolContext:
        return ToolContext(wh=wh, settings=settings, session="mcp", model="mcp-client",
                           output_dir=Path(settings.warehouse).parent / "exports", names=names)

    exposed = []
    with demo:
        for fn in agent_tools():
            tool = spec(fn.__name__)
            if tool is None or not tool.exposed:
                continue
            gr.api(mcp_function(fn, make_ctx, names, audit, roles), api_name=fn.__name__)
            exposed.append(fn.__name__)
    return exposed
