"""The LangChain copywriter: structured output, one retry with the errors, clear failures."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from assistant.writer import LangChainWriter, writer_for
from tools.message_length import PushCopy, SmsCopy
from warehouse.errors import ModelReplyInvalid, ModelUnavailable


class ScriptedChatModel(BaseChatModel):
    """Answers each call with the next scripted tool call (or raises a scripted error)."""

    model_name: str = "scripted-copywriter"
    replies: list[Any] = Field(default_factory=list)
    seen: list[list] = Field(default_factory=list)
    tool: str = ""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools, **kwargs):
        self.tool = tools[0].__name__
        return self

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        self.seen.append(list(messages))
        reply = self.replies.pop(0)
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, str):
            message = AIMessage(content=reply)
        else:
            message = AIMessage(content="", tool_calls=[
                {"name": self.tool, "args": reply, "id": f"call_{len(self.seen)}"}])
        return ChatResult(generations=[ChatGeneration(message=message)])


GOOD = {"title": "Heading abroad soon?", "body": "Pay abroad with no foreign transaction fees."}


def test_a_valid_reply_is_returned_as_the_schema_object():
    model = ScriptedChatModel(replies=[GOOD])
    writer = LangChainWriter(model)
    copy = writer.generate("You write copy.", "Write a push.", PushCopy)
    assert isinstance(copy, PushCopy) and copy.title == GOOD["title"]
    assert writer.name == "scripted-copywriter"
    assert [m.type for m in model.seen[0]] == ["system", "human"]


def test_an_invalid_reply_is_retried_once_with_the_validation_errors():
    model = ScriptedChatModel(replies=[{"title": "T" * 55, "body": "ok"}, GOOD])
    copy = LangChainWriter(model).generate("sys", "Write a push.", PushCopy)
    assert copy.title == GOOD["title"]
    retry = model.seen[1][-1].content
    assert "title is 55 characters long, the limit is 40" in retry
    assert '"title": "' + "T" * 55 in retry          # its own reply is shown back
    assert model.seen[1][1].content == "Write a push."  # the original request is kept


def test_two_invalid_replies_raise_with_what_the_model_last_sent():
    bad = {"text": "Finch: Hi {{last_name}}, save now. STOP to 12345"}
    model = ScriptedChatModel(replies=[bad, bad])
    with pytest.raises(ModelReplyInvalid, match="broke the SmsCopy rules twice") as info:
        LangChainWriter(model).generate("sys", "Write an SMS.", SmsCopy)
    assert info.value.last_reply == bad
    assert "only the merge fields" in str(info.value)


def test_a_reply_without_a_tool_call_counts_as_invalid():
    model = ScriptedChatModel(replies=["Sure! Here is your copy: ...", "still prose"])
    with pytest.raises(ModelReplyInvalid) as info:
        LangChainWriter(model).generate("sys", "Write a push.", PushCopy)
    assert info.value.last_reply is None


def test_provider_errors_become_model_unavailable():
    model = ScriptedChatModel(replies=[ConnectionError("connection refused")])
    with pytest.raises(ModelUnavailable, match="could not be reached: connection refused"):
        LangChainWriter(model, name="gpt-test").generate("sys", "Write a push.", PushCopy)


def test_writer_for_the_offline_planner_is_none():
    assert writer_for(None) is None
    assert isinstance(writer_for(ScriptedChatModel()), LangChainWriter)


def test_draft_campaign_through_a_langchain_model(writable_warehouse, tmp_path):
    """The whole path: chat model -> LangChainWriter -> checks -> repair -> saved draft."""
    import json
    from pathlib import Path

    from tools.draft_campaign import draft_for_card
    from tools.result import ToolContext
    from tools.segment_card import SegmentCard
    from warehouse.connection import Warehouse

    card = SegmentCard.from_dict(json.loads(
        (Path(__file__).parent / "fixtures" / "segment_cards.json").read_text("utf-8"))[0])
    card.countries = {"GB": 1.0}         # one market: one English version
    too_long = {"title": "Pay abroad without foreign transaction fees, ever again",
                "body": "Pay like a local wherever you land."}
    model = ScriptedChatModel(replies=[too_long, too_long])
    with Warehouse.open(writable_warehouse) as wh:
        ctx = ToolContext(wh=wh, settings=None, output_dir=tmp_path,
                          writer=LangChainWriter(model))
        result = draft_for_card(ctx, card, channel="push", product="credit_card",
                                language="en", variants=1)
    draft = result.data[0]
    assert len(model.seen) == 2                       # the writer's own retry, nothing more
    assert draft["model"] == "scripted-copywriter" and draft["passed"]
    assert draft["content"]["title"] == "Pay abroad without foreign transaction"
    assert "cut between words: check that it still reads well" in draft["repairs"][-1]
    assert draft["content"]["body"].endswith("Representative 19.9% APR (variable).")


def test_the_model_writes_once_per_language_unless_its_copy_states_amounts(writable_warehouse,
                                                                          tmp_path):
    """One version per market only where markets differ: copy with no amount or currency is
    asked for once and used for every market of its language; copy with an amount is asked for
    again in each market's currency."""
    import json
    from pathlib import Path

    from tools.draft_campaign import draft_for_card
    from tools.result import ToolContext
    from tools.segment_card import SegmentCard
    from warehouse.connection import Warehouse

    card = SegmentCard.from_dict(json.loads(
        (Path(__file__).parent / "fixtures" / "segment_cards.json").read_text("utf-8"))[0])
    card.languages = {"en": 1.0}      # English speakers bank in £, $ and €
    plain = {"title": "Your savings, growing",
             "body": "Open a savings account in minutes. Variable rate; conditions apply."}
    pounds = {"title": "2.75% AER up to £100,000",
              "body": "Open a savings account in minutes. Variable rate; conditions apply."}
    dollars = {"title": "2.75% AER up to $100,000", "body": pounds["body"]}
    euros = {"title": "2.75% AER up to €100,000", "body": pounds["body"]}
    with Warehouse.open(writable_warehouse) as wh:
        neutral = ScriptedChatModel(replies=[plain])
        ctx = ToolContext(wh=wh, settings=None, output_dir=tmp_path,
                          writer=LangChainWriter(neutral))
        one = draft_for_card(ctx, card, channel="push", product="savings", language="en",
                             variants=1)
        priced = ScriptedChatModel(replies=[pounds, dollars, euros])
        ctx.writer = LangChainWriter(priced)
        three = draft_for_card(ctx, card, channel="push", product="savings", language="en",
                               variants=1)
    assert len(neutral.seen) == 1 and len(one.data) == 1
    assert one.data[0]["model"] == "scripted-copywriter" and one.data[0]["market"] == []
    assert len(priced.seen) == 3
    assert [(d["currency"], d["content"]["title"][16]) for d in three.data] == [
        ("£", "£"), ("$", "$"), ("€", "€")]
    assert all(d["market"] for d in three.data)
