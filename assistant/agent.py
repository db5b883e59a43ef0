"""The agent: LangChain's create_agent with our tools, middleware, memory and streaming events.

One `Assistant` per process holds the warehouse handle, the chat model and the compiled agent;
each browser tab or CLI session gets its own `Conversation` (own memory thread, own tool state).

Middleware, outermost first:
- ModelFailure: an unreachable or failing model becomes a clear message naming the endpoint;
  the conversation goes on.
- ToolRouter (assistant/routing.py): each request carries only the tools the question can use,
  and the assistant's own tables only when needed (not for the offline planner, which pays no
  tokens and plans with every tool).
- StepLimit: at most `max_steps` tool calls per question; then one last model call without tools
  that must answer from what it has (or an honest "I stopped" note).
- ModelInputGuard: masks personal data in every message sent to the model (the last barrier).
- ModelRetry (assistant/retry.py): retries with exponential backoff on rate limits, server
  errors, timeouts and connection errors, waiting at least as long as Retry-After asks.
- ToolBoundary (assistant/toolkit.py): tool errors to the model as "Error: ...", events, audit.
- InvalidToolCalls: tool calls whose arguments are not valid JSON go back to the model as errors.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain.agents.middleware import AgentMiddleware, ModelResponse
from langchain.agents.middleware.types import hook_config
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.errors import GraphRecursionError

import prompts
from assistant import sessions
from assistant.audit import AuditLog
from assistant.events import Answer, Done, Event, TextDelta, ToolFinished, ToolStarted
from assistant.limits import ReplyLimit, question_problem
from assistant.llm import chat_model, explain_model_error, mode_label
from assistant.retry import ModelRetry, retryable
from assistant.routing import ToolRouter
from assistant.settings import Settings
from assistant.tool_calls import invalid_call_error, take_malformed_calls
from assistant.toolkit import RunContext, ToolBoundary, build_tools
from tools.describe import (
    definitions_line,
    metrics_overview,
    overview,
    own_tables_overview,
    tables_overview,
)
from tools.result import ToolContext
from warehouse.errors import AssistantError, log_unexpected
from warehouse.privacy import NameIndex, mask_text

log = logging.getLogger(__name__)

EMPTY_REPLY = (
    "The model sent an empty reply, so there is no answer to show. Ask again or rephrase the "
    "question; if it keeps happening, check the model (ASSISTANT_MODEL) and its endpoint."
)
STEP_LIMIT_NOTE = (
    "You have used all {n} tool calls allowed for this question. Do not call tools. Answer now "
    "from the tool results above; say plainly what you could not finish and suggest a narrower "
    "question."
)


def _turn(messages: list[BaseMessage]) -> list[BaseMessage]:
    """The messages of the current question: everything after the last human message."""
    for i in range(len(messages) - 1, -1, -1):
        if isinstance(messages[i], HumanMessage):
            return messages[i + 1:]
    return messages


def _ai(response: Any) -> AIMessage | None:
    if isinstance(response, AIMessage):
        return response
    if isinstance(response, ModelResponse):
        return next((m for m in response.result if isinstance(m, AIMessage)), None)
    return None


def _replace_ai(response: Any, new: AIMessage) -> Any:
    if isinstance(response, ModelResponse):
        return ModelResponse(result=[new if isinstance(m, AIMessage) else m
                                     for m in response.result],
                             structured_response=response.structured_response)
    return new


class ModelFailure(AgentMiddleware):
    """Turn model errors (unreachable, auth, exhausted retries) into a clear answer."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def wrap_model_call(self, request, handler):
        try:
            return handler(request)
        except Exception as exc:
            message = explain_model_error(exc, self.settings)
            if message is None:
                raise
            log.warning("model call failed: %s", type(exc).__name__)
            request.runtime.context.model_error = message
            return AIMessage(content=message, response_metadata={"assistant_error": True})


class StepLimit(AgentMiddleware):
    """At most `max_steps` tool calls per question, ending with an honest answer."""

    def __init__(self, max_steps: int) -> None:
        super().__init__()
        self.max_steps = max_steps

    def wrap_model_call(self, request, handler):
        used = sum(isinstance(m, ToolMessage) for m in _turn(request.messages))
        remaining = self.max_steps - used
        if remaining > 0:
            response = handler(request)
            ai = _ai(response)
            if ai is not None and len(ai.tool_calls) > remaining:
                ai = ai.model_copy(update={"tool_calls": ai.tool_calls[:remaining]})
                response = _replace_ai(response, ai)
            return response
        note = STEP_LIMIT_NOTE.format(n=self.max_steps)
        system = (request.system_message.text + "\n\n" if request.system_message else "") + note
        response = handler(request.override(tools=[], tool_choice=None,
                                            system_message=SystemMessage(system)))
        ai = _ai(response)
        if ai is not None and (ai.tool_calls or not ai.text.strip()):
            done = ", ".join(m.name or "tool" for m in _turn(request.messages)
                             if isinstance(m, ToolMessage))
            text = (f"I stopped after {self.max_steps} tool calls ({done}) without a complete "
                    "answer. Try a narrower question, or ask for one part at a time.")
            response = _replace_ai(response, AIMessage(content=text, id=ai.id))
        return response


class ModelInputGuard(AgentMiddleware):
    """Mask emails, phones and customer names in every message before it reaches the model."""

    def __init__(self, names: NameIndex | None) -> None:
        super().__init__()
        self.names = names

    def wrap_model_call(self, request, handler):
        masked = []
        for m in request.messages:
            if isinstance(m, HumanMessage | ToolMessage) and isinstance(m.content, str):
                text = mask_text(m.content, self.names)
                if text != m.content:
                    m = m.model_copy(update={"content": text})
            masked.append(m)
        return handler(request.override(messages=masked))


class InvalidToolCalls(AgentMiddleware):
    """Tool calls with arguments that are not valid JSON go back to the model as errors, never
    repaired: calls the client flagged as malformed (cut off, not JSON) are taken out of the
    reply before anything can run them (assistant/tool_calls.py)."""

    def wrap_model_call(self, request, handler):
        response = handler(request)
        ai = _ai(response)
        if ai is not None:
            checked = take_malformed_calls(ai)
            if checked is not ai:
                response = _replace_ai(response, checked)
        return response

    @hook_config(can_jump_to=["model"])
    def after_model(self, state, runtime):
        last = state["messages"][-1] if state.get("messages") else None
        if not isinstance(last, AIMessage) or not last.invalid_tool_calls:
            return None
        ctx: RunContext = runtime.context
        replies = []
        for call in last.invalid_tool_calls:
            name = call.get("name") or "the tool"
            error = invalid_call_error(call)
            call_id = call.get("id") or f"invalid-{uuid.uuid4().hex[:8]}"
            replies.append(ToolMessage(content=f"Error: {error}", tool_call_id=call_id,
                                       name=name, status="error"))
            ctx.calls.append(ToolFinished(call_id, name, {}, None, error, 0.0))
            runtime.stream_writer(ToolStarted(call_id, name, {}))
            runtime.stream_writer(ToolFinished(call_id, name, {}, None, error, 0.0))
        update: dict[str, Any] = {"messages": replies}
        if not last.tool_calls:
            update["jump_to"] = "model"
        return update


class Assistant:
    """The warehouse, the chat model and the compiled agent, shared by all conversations."""

    def __init__(self, settings: Settings, wh, *, model: BaseChatModel | None = None,
                 tools: list | None = None, writer: Any = None) -> None:
        self.settings = settings
        self.wh = wh
        self.writer = writer
        self.model = model if model is not None else chat_model(settings, wh)
        self.mode = mode_label(self.model, settings)
        self.names = NameIndex.from_warehouse(wh)
        self.audit = AuditLog(wh, self.names)
        self.tools = build_tools(tools)
        offline = self.mode == "offline"     # the planner reads no prompt and pays no tokens
        self.system_prompt = prompts.load("system").render(
            overview=overview(wh, own_tables=offline, definitions=offline, metrics=offline,
                              routed=not offline),
            max_steps=settings.max_steps)
        self.checkpointer = InMemorySaver()
        routing = [] if offline else [ToolRouter(self._context)]
        self.graph = create_agent(
            self.model,
            self.tools,
            system_prompt=self.system_prompt,
            middleware=[
                ModelFailure(settings),
                *routing,
                StepLimit(settings.max_steps),
                ModelInputGuard(self.names),
                ModelRetry(
                    max_retries=settings.max_retries, retry_on=retryable, on_failure="error",
                    initial_delay=settings.retry_delay, backoff_factor=2.0, max_delay=30.0),
                ToolBoundary(),
                InvalidToolCalls(),
                ReplyLimit(settings.max_reply_chars),
            ],
            context_schema=RunContext,
            checkpointer=self.checkpointer,
            name="marketing_assistant",
        )

    def _context(self, questions: list[str], groups: set[str], own_tables: bool) -> str:
        """What the system prompt of one request adds for its question (see ToolRouter)."""
        text = " ".join(questions)
        parts = [tables_overview(self.wh, text), definitions_line(text),
                 metrics_overview(self.wh, text)]
        if own_tables:
            parts.append(own_tables_overview(self.wh))
        return "\n".join(p for p in parts if p)

    def conversation(self, session: str | None = None, *, persist: bool = False,
                     user: str | None = None, roles: tuple[str, ...] | None = None
                     ) -> Conversation:
        """A new conversation of `user` (holding `roles`; None: no sign-in, may do
        everything); with `persist`, the named session is loaded from and saved to
        settings.state_dir after every turn."""
        if persist and session:
            saved = sessions.load(self.settings.state_dir, session)
            conversation = Conversation(self, session, history=saved.messages,
                                        state=saved.state, persist=True)
        else:
            conversation = Conversation(self, session)
        conversation.tool_ctx.user, conversation.tool_ctx.roles = user, roles
        return conversation


class Conversation:
    """One person's conversation: its own memory thread and tool state."""

    def __init__(self, assistant: Assistant, session: str | None = None, *,
                 history: list[BaseMessage] | None = None, state: dict | None = None,
                 persist: bool = False) -> None:
        self.assistant = assistant
        self.session = session or uuid.uuid4().hex[:12]
        self.persist = persist
        settings = assistant.settings
        self.tool_ctx = ToolContext(
            wh=assistant.wh, settings=settings, session=self.session, model=assistant.mode,
            output_dir=Path(settings.warehouse).parent / "exports", writer=assistant.writer,
            state=dict(state or {}), names=assistant.names)
        self._thread = uuid.uuid4().hex
        self._seed: list[BaseMessage] = list(history or [])

    @property
    def messages(self) -> list[BaseMessage]:
        """The conversation so far (without the system prompt)."""
        state = self.assistant.graph.get_state(self._config())
        return list(state.values.get("messages", [])) if state.values else list(self._seed)

    def _config(self) -> dict:
        return {"configurable": {"thread_id": self._thread},
                "recursion_limit": 10 * (self.assistant.settings.max_steps + 3)}

    def ask(self, question: str) -> Answer:
        """Answer `question` (no streaming)."""
        answer = None
        for event in self.stream(question):
            if isinstance(event, Done):
                answer = event.answer
        assert answer is not None
        return answer

    def stream(self, question: str) -> Iterator[Event]:
        """Run one question: ToolStarted/ToolFinished, TextDelta..., then Done(answer)."""
        a = self.assistant
        question = (question or "").strip()
        if not question:
            yield Done(Answer(question, a.mode, answer="Ask me a question about your customers, "
                              "for example: how many active customers do we have?"))
            return
        problem = question_problem(question, a.settings)
        if problem is not None:      # refused before anything looks at it (issue 16)
            shown = question[: a.settings.max_question_chars] + "…"
            a.audit.record("error", session=self.session, model=a.mode, question=shown,
                           detail=problem, user=self.tool_ctx.user)
            yield TextDelta(problem)
            yield Done(Answer(shown, a.mode, answer=problem, error=problem))
            return
        self.tool_ctx.question = question
        run = RunContext(tool=self.tool_ctx, audit=a.audit, names=a.names)
        audit = {"session": self.session, "model": a.mode, "question": question,
                 "user": self.tool_ctx.user}
        a.audit.record("question", **audit)
        started = time.perf_counter()
        before = self.messages
        inputs = {"messages": [*self._seed, HumanMessage(question)]}
        streamed: dict[str, str] = {}
        error: str | None = None
        try:
            for mode, chunk in a.graph.stream(inputs, self._config(), context=run,
                                              stream_mode=["messages", "custom"]):
                if mode == "custom":
                    if isinstance(chunk, ToolStarted | ToolFinished):
                        yield chunk
                    continue
                message, meta = chunk
                if (meta.get("langgraph_node") == "model" and
                        isinstance(message, AIMessage | AIMessageChunk) and message.text):
                    so_far = streamed.get(message.id or "", "")
                    room = a.settings.max_reply_chars - len(so_far)
                    if room <= 0:
                        continue     # past the reply limit: ReplyLimit replaces the answer
                    piece = message.text[:room]
                    streamed[message.id or ""] = so_far + piece
                    yield TextDelta(piece)
            self._seed = []
        except GeneratorExit:
            # The caller stopped listening (a closed browser tab, a cancelled request): keep the
            # conversation usable from its last good state.
            self._thread = uuid.uuid4().hex
            self._seed = [*before, HumanMessage(question), AIMessage("(stopped before the end)")]
            raise
        except GraphRecursionError:
            error = ("I went round in circles on this question and stopped. Try asking for one "
                     "part at a time.")
        except AssistantError as exc:
            error = str(exc)
        except Exception as exc:   # never a traceback for the person; the log has it
            log.exception("agent run failed")
            message = explain_model_error(exc, a.settings)
            if message is None:
                log_unexpected("agent turn", exc)
            error = message or (f"Something went wrong while answering ({type(exc).__name__}). "
                                "The conversation is kept; try again or rephrase.")
        text = ""
        if error is None:
            final = next((m for m in reversed(self.messages) if isinstance(m, AIMessage)), None)
            text = final.text if final is not None else ""
            if not text.strip():
                error = EMPTY_REPLY     # an empty or null message is not an answer
            elif not streamed.get(final.id or ""):
                yield TextDelta(text)
        if error is not None:
            # Start a fresh thread from the last good state, so a half-finished run (a tool
            # call without its result) never poisons the next question.
            self._thread = uuid.uuid4().hex
            self._seed = [*before, HumanMessage(question), AIMessage(error)]
            text = error
            yield TextDelta(error)
        answer = self._answer(question, text, run, error or run.model_error or
                              _tools_failed(run))
        a.audit.record("answer", detail=answer.answer, row_count=None,
                       duration_ms=(time.perf_counter() - started) * 1000, **audit)
        if answer.error:
            a.audit.record("error", detail=answer.error, **audit)
        if self.persist:
            sessions.save(a.settings.state_dir, sessions.Session(
                self.session, self.messages if error is None else self._seed,
                self.tool_ctx.state))
        yield Done(answer)

    def _answer(self, question: str, text: str, run: RunContext, error: str | None) -> Answer:
        answer = Answer(question=question, mode=self.assistant.mode, answer=text, error=error)
        for call in run.calls:
            answer.tool_calls.append({"name": call.name, "args": call.args})
            if call.result is None:
                continue
            answer.sql.extend(call.result.sql)
            if call.result.tables:      # the last call's first table is what was asked
                answer.first_shown = len(answer.tables)
            answer.tables.extend(call.result.tables)
            if call.result.chart is not None:
                answer.charts.append(call.result.chart)
            answer.files.extend(call.result.files)
        return answer

    def close(self) -> None:
        """Forget this conversation's memory thread."""
        self.assistant.checkpointer.delete_thread(self._thread)


def _tools_failed(run: RunContext) -> str | None:
    """The error of the last tool call when every tool call of the run failed (so the answer
    is a refusal, not data): `ask --json` and the audit log carry it as the answer's error."""
    if run.calls and all(c.error is not None for c in run.calls):
        return run.calls[-1].error
    return None

