"""Tool-call arguments are checked, never repaired: what is wrong with a call's argument text.

The model's reply may carry calls whose argument text is cut off or not JSON. Such a call must
not run with guessed arguments; it goes back to the model as an error that names the problem
(assistant/agent.py `InvalidToolCalls`). `StrictChatOpenAI` (assistant/openai_model.py) flags
streamed calls in `response_metadata[MALFORMED]`; `take_malformed_calls` moves them out of the
reply's `tool_calls`.
"""

from __future__ import annotations

import json

from langchain_core.messages import AIMessage

MALFORMED = "malformed_tool_calls"


def argument_error(raw: str, *, cut_off: bool = False) -> str | None:
    """What is wrong with the argument text `raw`, as it reads after "the arguments of X ..."
    (None when it is a JSON object). Empty text means no arguments, as some OpenAI-compatible
    servers send it."""
    if not raw.strip():
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        why = "were cut off before the end" if cut_off else "are not valid JSON"
        return f"{why} ({exc})"
    if not isinstance(value, dict):
        kind = {list: "a list", str: "a string", int: "a number", float: "a number",
                bool: "true/false"}.get(type(value), "null")
        return f"are {kind}, not a JSON object of named arguments"
    return None


def take_malformed_calls(message: AIMessage) -> AIMessage:
    """`message` with the calls flagged in its metadata moved from `tool_calls` to
    `invalid_tool_calls` (raw text and reason kept), so that none of them runs."""
    bad = (message.response_metadata or {}).get(MALFORMED)
    if not bad:
        return message
    ids = {b["id"] for b in bad if b.get("id")}
    positions = {b["position"] for b in bad if not b.get("id")}
    kept = [c for i, c in enumerate(message.tool_calls)
            if c.get("id") not in ids and i not in positions]
    reasons = {b["id"]: b["error"] for b in bad if b.get("id")}
    invalid = [c | {"error": reasons.pop(c["id"])} if c.get("id") in reasons else c
               for c in message.invalid_tool_calls]   # already invalid: say why exactly
    invalid += [{"type": "invalid_tool_call", "id": b.get("id"), "name": b.get("name"),
                 "args": b.get("args"), "error": b["error"]}
                for b in bad if not b.get("id") or b["id"] in reasons]
    metadata = {k: v for k, v in message.response_metadata.items() if k != MALFORMED}
    return message.model_copy(update={"tool_calls": kept, "invalid_tool_calls": invalid,
                                      "response_metadata": metadata})


def invalid_call_error(call: dict) -> str:
    """The error the model and the person get for an invalid tool call."""
    name = call.get("name") or "the tool"
    raw = call.get("args")
    reason = call.get("error") if _ours(call.get("error")) else None
    if reason is None and isinstance(raw, str):
        reason = argument_error(raw)
    reason = reason or "could not be read"
    return (f"the arguments of {name} {reason}; nothing ran. Call {name} again with all its "
            "arguments as one complete JSON object")


def _ours(error) -> bool:
    return isinstance(error, str) and error.startswith(("were ", "are "))
