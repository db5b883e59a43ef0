"""OfflinePlanner: a LangChain chat model that plans tool calls without a language model.

It reads the conversation like any chat model: the last human message is the question, earlier
human messages give the context for follow-ups, tool messages of the current turn are the results
of its own calls. Each call returns the next tool call of the plan, or the final answer.
Deterministic: same conversation, same reply.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field

from assistant.planner import answer, tables
from assistant.planner.followups import RESTATE, refers_back
from assistant.planner.frame import Parsed, ToolIntent
from assistant.planner.parse import parse
from assistant.planner.periods import fmt_date
from assistant.planner.plan import Plan, Unsupported, plan
from assistant.planner.vocabulary import Vocabulary
from tools.metrics import compile_for, read_summary
from warehouse.errors import InvalidArgument
from warehouse.semantic import Query, bank_model
from warehouse.semantic.models import segment_run

OFFLINE = "Offline planner"
DEMO_NOTE = ("Note: this warehouse holds generated demo data, not your bank's; load your own "
             "with `assistant import` (`--as NAME` for a table of your own).")


def has_churn_run(wh) -> bool:
    """Whether churn has been scored (a churn run is saved)."""
    if wh is None or not wh.has_table("runs", "assistant"):
        return False
    return bool(wh.rows("SELECT 1 FROM assistant.runs WHERE kind = 'churn' LIMIT 1"))


def _call_id(question: str, step: int) -> str:
    digest = hashlib.sha1(f"{question}\x00{step}".encode()).hexdigest()[:16]
    return f"call_{digest}"


class OfflinePlanner(BaseChatModel):
    """Maps marketers' questions to tool calls and writes the answers from the results."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vocab: Vocabulary = Field(default_factory=Vocabulary)
    wh: Any = Field(default=None, exclude=True)
    tool_names: tuple[str, ...] = ()
    model_name: str = "offline-planner"

    @classmethod
    def for_warehouse(cls, wh) -> OfflinePlanner:
        return cls(vocab=Vocabulary.from_warehouse(wh), wh=wh)

    @property
    def _llm_type(self) -> str:
        return "offline-planner"

    def bind_tools(self, tools, **kwargs) -> OfflinePlanner:
        names = tuple(getattr(t, "name", None) or t.get("name") or
                      t.get("function", {}).get("name") for t in tools)
        return self.model_copy(update={"tool_names": names})

    # -- the plan --------------------------------------------------------------------------
    def understand(self, messages: list[BaseMessage]) -> Parsed:
        """Parse the last question in the light of the earlier ones. After a question that was
        not understood, one that refers back ("and the click rate?") is not attached to an
        older question: the planner asks for it in full."""
        turns: list[tuple[str, dict | None]] = []     # (question, first row of its result)
        for m in messages:
            if isinstance(m, HumanMessage):
                turns.append((m.text, None))
            elif isinstance(m, ToolMessage) and m.name == "query_metrics" and turns:
                body = read_summary(m.text)
                if body and body["rows"]:
                    turns[-1] = (turns[-1][0], dict(zip(body["columns"], body["rows"][0],
                                                        strict=False)))
        turns = turns or [("", None)]
        prev, refused, row = None, False, None
        for question, first_row in turns:
            if refused and refers_back(question):
                parsed = Parsed("reply", reply=RESTATE)
            else:
                parsed = parse(question, self.vocab, None if refused else prev, first_row=row)
            row = first_row
            if parsed.kind in ("frame", "table", "tool"):
                prev = parsed
            refused = parsed.kind == "reply" and parsed.reply.refused
            if refused and prev is not None and prev.kind == "table" and \
                    tables.is_follow_up(question):
                # a refused refinement of a table question ('and by poutcome?') leaves that
                # question the one the next refinement builds on ('ok, then by job')
                refused = False
        return parsed

    def respond(self, messages: list[BaseMessage]) -> AIMessage:
        parsed = self.understand(messages)
        last_human = max((i for i, m in enumerate(messages) if isinstance(m, HumanMessage)),
                         default=-1)
        turn = messages[last_human + 1:]
        results = [m for m in turn if isinstance(m, ToolMessage)]
        question = messages[last_human].text if last_human >= 0 else ""
        if parsed.kind == "reply":
            return AIMessage(content=parsed.reply.text)
        failed = next((m for m in results if m.status == "error" or
                       m.text.startswith("Error:")), None)
        if failed is not None:
            error = failed.text.removeprefix("Error:").strip()
            return AIMessage(content=f"{OFFLINE}: {error[:1].upper()}{error[1:]}"
                             f"{'' if error.endswith('.') else '.'}")
        steps, planned, problem = self._plan(parsed, {m.name for m in results})
        if problem:
            return AIMessage(content=problem)
        pending = steps[len(results):]
        if pending and self.tool_names:
            step = pending[0]
            if step.tool not in self.tool_names:
                return AIMessage(content=f"{OFFLINE}: answering this needs the {step.tool} "
                                 "tool, which is not installed in this version yet.")
            return AIMessage(content="", tool_calls=[{
                "name": step.tool, "args": step.args, "id": _call_id(question, len(results)),
                "type": "tool_call"}])
        if pending:
            return AIMessage(content=f"{OFFLINE}: I ran out of steps before finishing this "
                             "question; try a narrower one.")
        text = self._final(parsed, planned, results)
        if parsed.kind == "frame" and self.vocab.demo and not any(
                isinstance(m, AIMessage) and DEMO_NOTE in m.text for m in messages):
            text += f"\n\n{DEMO_NOTE}"       # said once per conversation
        return AIMessage(content=text)

    def _plan(self, parsed: Parsed, ran: set[str] = frozenset()
              ) -> tuple[list[ToolIntent], Plan | None, str | None]:
        """The tool calls that answer `parsed`; a preparing step (scoring churn, segmenting)
        stays in the plan once it ran this turn (`ran`), so the steps keep their places."""
        if parsed.kind == "tool":
            intent = parsed.tool
            problem = _check_tool_args(intent)
            steps = [intent]
            if intent.tool == "build_audience" and "min_churn_risk" in intent.args and \
                    ("predict_churn" in ran or not has_churn_run(self.wh)):
                # the audience filters on the latest churn scores: score churn first
                steps.insert(0, ToolIntent("predict_churn", {}, label="churn risk"))
            per_segment = intent.tool in ("predict_churn", "predict_clv") and \
                intent.args.get("by_segment")
            if per_segment and self._segment_first(ran) and \
                    "segment_customers" in self.tool_names:
                # risk or value by segment reads the latest segmentation: segment first
                steps.insert(0, ToolIntent("segment_customers", {}, label="segmentation"))
            return steps, None, problem
        if parsed.kind == "table":
            ask = parsed.table
            try:
                compile_for(self.wh, ask.query, ask.table)
            except InvalidArgument as exc:
                return [], None, f"{OFFLINE}: I can't answer that from {ask.table}: {exc}."
            return [ToolIntent("query_metrics", {"query": metrics_args(ask.query),
                                                 "table": ask.table, "title": ask.label},
                               label=ask.label)], None, None
        try:
            planned = plan(parsed.frame)
            for step in planned.steps:     # never a call that cannot be compiled
                compile_for(self.wh, step.query, planned.table, run_id="pending")
        except Unsupported as exc:
            return [], None, _unsupported(str(exc))
        except InvalidArgument as exc:
            return [], None, f"{OFFLINE}: I can't answer that from the semantic model: {exc}."
        steps: list[ToolIntent] = []
        if any(_uses_segments(s.query) for s in planned.steps) and self._segment_first(ran):
            if "segment_customers" not in self.tool_names:
                return [], None, (f"{OFFLINE}: there is no segmentation yet, and the "
                                  "segmentation tool is not installed in this version.")
            steps.append(ToolIntent("segment_customers", {}, label="segmentation"))
        for step in planned.steps:
            args = {"query": metrics_args(step.query), "title": step.title}
            if planned.table:
                args["table"] = planned.table
            steps.append(ToolIntent("query_metrics", args, label=step.title))
        return steps, planned, None

    def _segment_first(self, ran) -> bool:
        """Whether a question that reads the latest segmentation must segment first: there is
        none yet, or this turn already segmented (the step keeps its place in the plan)."""
        return "segment_customers" in ran or segment_run(self.wh) is None

    def _final(self, parsed: Parsed, planned: Plan | None, results: list[ToolMessage]) -> str:
        if parsed.kind == "tool":
            summary = results[-1].text if results else ""
            return answer.tool_answer(parsed.tool, summary)
        metric_results = [m for m in results if m.name == "query_metrics"]
        if parsed.kind == "table":
            body = read_summary(metric_results[-1].text) if metric_results else None
            if body is None:
                return f"{OFFLINE}: I have no result to answer from."
            compiled = compile_for(self.wh, parsed.table.query, parsed.table.table)
            text = answer.table_answer(parsed.table, compiled, body)
            return f"{text}\n\n{parsed.table.note}" if parsed.table.note else text
        if planned is None or len(metric_results) != len(planned.steps):
            return f"{OFFLINE}: I have no result to answer from."
        pairs = []
        for step, message in zip(planned.steps, metric_results, strict=True):
            body = read_summary(message.text)
            if body is None:
                return f"{OFFLINE}: I could not read the result of the query."
            pairs.append((compile_for(self.wh, step.query, planned.table), body))
        if planned.kind == "snapshot" and self.vocab.coverage is not None:   # any consent row?
            planned.extra["consents"] = self.vocab.coverage.measure_gap(
                self.vocab.coverage.model.measures["opted_in"]) is None
        text = answer.compose(planned, pairs, ref=fmt_date(self.vocab.reference_date),
                              all_data=_all_data(self.vocab))
        if self.vocab.tables:       # several customer tables: say which one was counted
            text += "\n\n" + _counted_from(planned, list(self.vocab.tables))
        note = self.vocab.reference_note
        return f"{text}\n\n{note}" if note else text

    # -- the chat-model interface ---------------------------------------------------------
    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.respond(list(messages)))])

    def _stream(self, messages, stop=None, run_manager=None, **kwargs
                ) -> Iterator[ChatGenerationChunk]:
        message = self.respond(list(messages))
        if message.tool_calls:
            chunks = [{"name": c["name"], "args": _json(c["args"]), "id": c["id"], "index": i,
                       "type": "tool_call_chunk"} for i, c in enumerate(message.tool_calls)]
            yield ChatGenerationChunk(message=AIMessageChunk(content="", tool_call_chunks=chunks))
            return
        pieces = re.findall(r"\S+\s*|\s+", message.text) or [""]
        for piece in pieces:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


def metrics_args(query: Query) -> dict:
    """The query as query_metrics arguments: only what differs from the defaults, metrics
    without options by name."""
    args = query.model_dump(mode="json", exclude_defaults=True)
    args["metrics"] = [m["name"] if set(m) == {"name"} else m for m in args["metrics"]]
    return args


def _counted_from(planned: Plan, user_tables: list[str]) -> str:
    """'From the warehouse's customers table (not your imported tables bank_churn, ...).'"""
    model = bank_model()
    used = []
    for step in planned.steps:
        for ref in step.query.metrics:
            names = [ref.name]
            if ref.name in model.metrics:
                names = [model.metrics[ref.name].numerator.measure]
            for name in names:
                if name in model.measures:
                    table = model.entities[model.measures[name].entity].table or ""
                    if table and table not in used and not table.startswith("assistant."):
                        used.append(table)
    what = " and ".join(used) or "contract"
    listed = ", ".join(user_tables)
    return (f"From the warehouse's {what} table{'s' if len(used) > 1 else ''} (not your "
            f"imported table{'s' if len(user_tables) > 1 else ''} {listed}; name one to ask "
            "about it).")


def _uses_segments(query: Query) -> bool:
    fields = [c.field for c in [*query.filters, *query.subgroup]]
    return any(x.startswith("segments.") or x == "segment" for x in [*query.dimensions, *fields])


def _all_data(vocab: Vocabulary) -> str:
    if vocab.data_start:
        return (f"all data ({fmt_date(vocab.data_start)} to "
                f"{fmt_date(vocab.reference_date)})")
    return "all data"


def _json(args: dict) -> str:
    import json

    return json.dumps(args, ensure_ascii=False)


def _check_tool_args(intent: ToolIntent) -> str | None:
    if intent.tool == "describe_segment" and intent.args.get("segment_id") is None:
        return f"{OFFLINE}: which segment? Say e.g. \"describe segment 2\"."
    if intent.tool == "build_audience" and "channel" not in intent.args:
        return (f"{OFFLINE}: for which channel should the audience be: email, SMS or push? "
                "For example \"build an audience for SMS from segment 3\".")
    if intent.tool in ("approve_draft", "show_draft") and not intent.args.get("draft_id"):
        return (f"{OFFLINE}: which draft? Give its id, e.g. \"approve draft 3f9a1c-a as Maria "
                "Lopez\" (list them with \"show my drafts\").")
    if intent.tool == "approve_draft" and not intent.args.get("approver"):
        return (f"{OFFLINE}: who approves draft {intent.args['draft_id']}? Say e.g. \"approve "
                f"draft {intent.args['draft_id']} as Maria Lopez\"; the name goes in the "
                "receipt.")
    if intent.tool == "draft_campaign" and "channel" not in intent.args:
        intent.args["channel"] = "email"
    return None


def _unsupported(reason: str) -> str:
    texts = {
        "needs_period": "which period do you mean? For example \"new customers in the last 3 "
                        "months\", \"signups in 2025\" or \"signups by month\".",
        "churned_in_period": "churn is known only as of the reference date (churned = no "
                             "transaction in the last 90 days, or all accounts closed), not per "
                             "period. Ask \"how many customers have churned?\", or \"how many "
                             "customers did not transact in the last 90 days?\".",
        "customers_in_period": "do you mean customers who transacted in that period (\"active "
                               "customers last month\") or customers who signed up then "
                               "(\"new customers last month\")?",
        "customers_by_month": "do you mean new customers per month (\"signups by month\") or "
                              "customers who transacted each month (\"active customers by "
                              "month\")?",
        "share_without_condition": "a share of customers with what? For example \"what share "
                                   "of customers are active?\"",
        "share_by_month": "shares per month are not something I can compute offline; ask for "
                          "one period at a time.",
        "no_segment_run": "there is no segmentation yet: ask \"segment my customers\" first.",
        "accounts_status_in_period": "I count accounts by their status now (open, frozen, "
                                     "closed), not by when they were closed or frozen. Ask "
                                     "\"how many frozen accounts\", \"closed accounts by "
                                     "product\" or \"accounts opened in 2026\".",
        "lapsed_shape": "for high-value dormant customers I give the size and a profile at the "
                        "reference date, for one group at a time: add a filter (\"in Germany\") "
                        "rather than a breakdown or a period.",
        "overview_period": "the overview is a snapshot at the reference date; for a period, "
                           "ask for one measure, e.g. \"spend last month\" or \"new customers "
                           "last month\".",
    }
    if reason == "filter:optin_not_all":
        return (f"{OFFLINE}: \"not opted in to every channel\" (fewer than all three) is not a "
                "condition I can count offline. Ask \"how many customers are opted in to all "
                "channels?\" or \"... not opted in to any channel?\", or name the channels, "
                "e.g. \"opted in to email but not SMS\".")
    if reason == "filter:opened_product":
        return (f"{OFFLINE}: for accounts opened I can count one product or several (any of "
                "them), e.g. \"savings accounts opened in 2026\", not a combination or an "
                "exclusion.")
    if reason.startswith("filter:"):
        what = reason.split(":", 1)[1].replace("_", " ")
        return (f"{OFFLINE}: I can't combine a {what} filter with that measure. Ask for the "
                "measure without it, or split the question.")
    if reason.startswith("statistic:"):
        word = {"median": "median", "max": "maximum", "min": "minimum"}[reason.split(":")[1]]
        return (f"{OFFLINE}: I can't compute the {word} of that measure offline, and I would "
                "rather not give another statistic instead. The median, maximum and minimum "
                "work for spend, transaction amounts, balances and age (and the median for "
                "tenure); for this measure ask for the average or the total.")
    text = texts.get(reason)
    if text is None:
        return (f"{OFFLINE}: I can't break that measure down by {reason.replace('_', ' ')}. "
                "Try another breakdown (country, product, income band, month, ...).")
    return f"{OFFLINE}: {text}"


__all__ = ["OfflinePlanner"]
