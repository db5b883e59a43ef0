"""The one way to build an Assistant from settings: the chat page and `assistant ask` share it.

The same chat model answers questions and writes campaign copy (structured output); with the
offline planner the copy comes from the template library.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.agent import Assistant
    from assistant.settings import Settings


def build_assistant(settings: Settings, wh) -> Assistant:
    """An Assistant over `wh` with the configured chat model, also as its copywriter."""
    from assistant.agent import Assistant
    from assistant.llm import chat_model
    from assistant.writer import writer_for

    model = chat_model(settings, wh)
    return Assistant(settings, wh, model=model, writer=writer_for(model, settings.model))


def make_assistant_factory(wh) -> Callable[[Settings], Assistant]:
    """settings -> Assistant, sharing the warehouse handle (one per process; the page builds one
    per browser session's settings)."""

    def make(settings: Settings) -> Assistant:
        return build_assistant(settings, wh)

    return make
