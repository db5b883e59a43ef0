"""A scripted chat model for tests: a queue of replies, a record of everything it was sent.

Replies are AIMessages, plain strings, `call(name, **args)` tool calls, lists of tool calls,
exceptions (raised, to simulate a failing model) or callables `f(messages) -> reply`.
`bind_tools` returns the model itself and remembers the tool names it was given.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import ConfigDict, Field

_ids = itertools.count(1)


def call(name: str, **args: Any) -> dict:
    """A tool call for a scripted reply."""
    return {"name": name, "args": args, "id": f"call_{next(_ids)}", "type": "tool_call"}


class ScriptedChatModel(BaseChatModel):
    """Answers from a script and records every message list it receives."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    replies: list[Any] = Field(default_factory=list)
    seen: list[list[BaseMessage]] = Field(default_factory=list)
    bound_tools: list[list[str]] = Field(default_factory=list)
    bound: list[list[Any]] = Field(default_factory=list)   # the tools themselves, per request
    model_name: str = "scripted-fake"

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def bind_tools(self, tools, **kwargs):
        self.bound_tools.append([getattr(t, "name", None) or t.get("name", "?") for t in tools])
        self.bound.append(list(tools))
        return self

    def _reply(self, messages: list[BaseMessage]) -> AIMessage:
        if not self.replies:
            raise IndexError("the scripted model has no reply left")
        reply = self.replies.pop(0)
        if callable(reply) and not isinstance(reply, BaseMessage):
            reply = reply(messages)
        if isinstance(reply, BaseException):
            raise reply
        if isinstance(reply, AIMessage):
            return reply
        if isinstance(reply, str):
            return AIMessage(content=reply)
        if isinstance(reply, dict):
            return AIMessage(content="", tool_calls=[reply])
        if isinstance(reply, list):
            return AIMessage(content="", tool_calls=reply)
        raise TypeError(f"cannot reply with {reply!r}")

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.seen.append(list(messages))
        return ChatResult(generations=[ChatGeneration(message=self._reply(list(messages)))])

    # -- what tests assert on --------------------------------------------------------------
    def texts(self) -> list[str]:
        """Every text the model received, system prompt and tool schemas excluded."""
        out = []
        for messages in self.seen:
            for m in messages:
                out.append(m.text if hasattr(m, "text") else str(m.content))
        return out

    @property
    def calls(self) -> int:
        return len(self.seen)


def reply_with(fn: Callable[[list[BaseMessage]], Any]) -> Callable:
    """Mark a callable reply (for readability in scripts)."""
    return fn
