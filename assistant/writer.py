"""The copywriter over a LangChain chat model: `StructuredWriter` for tools/draft_campaign.py.

`LangChainWriter(model).generate(system, prompt, schema)` asks the model for a `schema` object
(`with_structured_output(..., include_raw=True)`, so any chat model that supports tool calling or
structured output works). A reply that fails validation (a field too long, a merge field that is
not allowed) is asked for once more with the validation errors given back; if that reply fails
too, `ModelReplyInvalid` carries what the model last sent so the caller can repair or replace
it. Connection and provider errors become `ModelUnavailable`.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, ValidationError

import prompts
from warehouse.errors import AssistantError, ModelReplyInvalid, ModelUnavailable

M = TypeVar("M", bound=BaseModel)


def _model_name(model: BaseChatModel) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(model, attr, None)
        if isinstance(value, str) and value:
            return value
    return type(model).__name__


def _raw_reply(raw: Any) -> dict | None:
    """The arguments the model sent (tool call or JSON content), when readable."""
    calls = getattr(raw, "tool_calls", None) or []
    if calls:
        args = calls[0].get("args")
        return args if isinstance(args, dict) else None
    content = getattr(raw, "content", None)
    if isinstance(content, str) and content.strip().startswith("{"):
        try:
            value = json.loads(content)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
    return None


def _errors(exc: BaseException | None) -> str:
    if isinstance(exc, ValidationError):
        return "\n".join(f"- {'.'.join(map(str, e['loc'])) or 'reply'}: {e['msg']}"
                         for e in exc.errors())
    cause = getattr(exc, "__cause__", None)
    if isinstance(cause, ValidationError):
        return _errors(cause)
    if exc is None:
        return "- the reply did not contain the requested fields"
    return "- " + str(exc).split("\nFor troubleshooting")[0].strip()


class LangChainWriter:
    """A `StructuredWriter` over any LangChain chat model."""

    def __init__(self, model: BaseChatModel, name: str | None = None) -> None:
        self.model = model
        self.name = name or _model_name(model)

    def _invoke(self, schema: type[M], messages: list) -> dict:
        try:
            runnable = self.model.with_structured_output(schema, include_raw=True)
            return runnable.invoke(messages)
        except NotImplementedError as exc:
            raise ModelUnavailable(f"the model {self.name} cannot return structured output; "
                                   "use a model with tool calling") from exc
        except AssistantError:
            raise
        except Exception as exc:  # provider errors of any client library
            raise ModelUnavailable(f"the model {self.name} could not be reached: "
                                   f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                                   ) from exc

    def generate(self, system: str, prompt: str, schema: type[M]) -> M:
        """A validated `schema` object; one retry with the validation errors given back."""
        messages = [SystemMessage(system), HumanMessage(prompt)]
        result = self._invoke(schema, messages)
        if result.get("parsed") is not None and result.get("parsing_error") is None:
            return result["parsed"]
        last = _raw_reply(result.get("raw"))
        problems = _errors(result.get("parsing_error"))
        repair = prompts.load("copy/repair").render(
            problems=problems, previous=json.dumps(last, ensure_ascii=False) if last else "(none)",
            channel=schema.__name__.removesuffix("Copy").lower() or "requested")
        result = self._invoke(schema, [*messages, HumanMessage(repair)])
        if result.get("parsed") is not None and result.get("parsing_error") is None:
            return result["parsed"]
        last = _raw_reply(result.get("raw")) or last
        raise ModelReplyInvalid(
            f"the model's reply broke the {schema.__name__} rules twice: "
            f"{_errors(result.get('parsing_error')).replace(chr(10), ' ')}",
            last_reply={k: str(v) for k, v in last.items()} if last else None)


def writer_for(model: BaseChatModel | None, name: str | None = None) -> LangChainWriter | None:
    """The copywriter for a chat model; None (offline templates) for the offline planner."""
    from assistant.planner import OfflinePlanner

    if model is None or isinstance(model, OfflinePlanner):
        return None
    return LangChainWriter(model, name)
