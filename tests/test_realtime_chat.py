"""Trigger questions in the chat (offline planner): "what fired today?", "how many travel offers
were skipped for consent this week?", "pause the travel rule"; answers from the real log."""

from __future__ import annotations

import pytest
from realtime_support import approved_draft, consent, marketable, tx

from assistant.agent import Assistant
from assistant.planner import OfflinePlanner
from assistant.planner.text import Text
from assistant.planner.trigger_questions import intent
from assistant.settings import Settings
from tools.realtime import rules
from tools.realtime.service import Config, RealTime


@pytest.mark.parametrize(("question", "tool", "args"), [
    ("what fired today?", "trigger_history", {"decision": "fired", "period": "today"}),
    ("How many travel offers were skipped for consent this week?", "trigger_history",
     {"decision": "skipped", "reason": "consent", "period": "this week", "trigger": "travel"}),
    ("why were sends skipped yesterday?", "trigger_history",
     {"decision": "skipped", "period": "yesterday"}),
    ("pause the travel rule", "pause_trigger", {"trigger": "travel"}),
    ("resume the travel trigger", "resume_trigger", {"trigger": "travel"}),
    ("which triggers do we have?", "list_triggers", {}),
])
def test_trigger_questions_become_tool_calls(question, tool, args):
    found = intent(Text(question))
    assert (found.tool, found.args) == (tool, args)


def test_a_rule_in_words_gets_an_honest_pointer_offline():
    reply = intent(Text("When a customer in the frequent travellers segment makes their first "
                        "card payment abroad, send the travel card push"))
    assert "assistant triggers add rules.toml" in reply.text


@pytest.mark.parametrize("question", [
    "when did we send the last campaign?", "when was the last email sent",
    "how many messages were sent in October?", "open rate of our email campaigns",
    "how many customers are active?", "segment my customers", "stop"])
def test_other_questions_are_left_alone(question):
    assert intent(Text(question)) is None


def test_the_chat_answers_from_the_trigger_log_and_pauses_a_rule(rw, tmp_path):
    realtime = RealTime(rw, Config(outbox_file=tmp_path / "o.jsonl"), deliver=False)
    realtime.start(wait=True)
    try:
        draft = approved_draft(rw, "email")
        realtime.add_rules([rules.parse_rule({
            "name": "travel offer", "event": "Transaction", "where": {"category": "travel"},
            "draft": draft, "quiet_hours": None})])
        a, b, c = marketable(rw, "email", 3)
        realtime.writer.ingest([consent(b, "q0", "email", False), tx(a, "q1"), tx(b, "q2"),
                                tx(c, "q3")], "test")
        assistant = Assistant(Settings(warehouse=rw.path), rw,
                              model=OfflinePlanner.for_warehouse(rw))
        chat = assistant.conversation()
        fired = chat.ask("what fired today?")
        assert "2 fired" in fired.answer, fired.answer
        skipped = chat.ask("How many travel offers were skipped for consent this week?")
        assert "1 skipped" in skipped.answer and "consent" in skipped.answer, skipped.answer
        assert "1 customer\n" in skipped.answer + "\n" and "1 customers" not in skipped.answer
        paused = chat.ask("pause the travel rule")
        assert "Paused the trigger 'travel offer'" in paused.answer, paused.answer
        realtime.writer.ingest([tx(c, "q4")], "test")
        assert rw.scalar("SELECT count(*) FROM assistant.outbox") == 2
        assert rw.scalar("SELECT count(*) FROM assistant.trigger_log WHERE reason = "
                         "'paused'") == 0          # paused rules let nobody enter
    finally:
        realtime.stop()
