"""Questions that are not what they look like: 'email reach of segment 4' asks a number (the typo
corrector read 'reach' as 'each', a copy request, and drafted eight emails); one customer's email
is personal data, not an unknown word."""

import pytest
from langchain_core.messages import HumanMessage
from planner_talk import Bound

from assistant.planner import OfflinePlanner
from assistant.planner.text import correct_typos
from tools.registry import TOOL_NAMES
from warehouse.connection import Warehouse


@pytest.fixture(scope="module")
def planner(warehouse_path):
    with Warehouse.open(warehouse_path, read_only=True) as wh:
        yield OfflinePlanner.for_warehouse(wh)


def test_reach_is_a_word_not_a_typo_of_each(planner):
    known = planner.vocab.known_words()
    assert correct_typos("email reach of segment 4", ["reach"], known) == \
        "email reach of segment 4"


@pytest.mark.parametrize("question", ["email reach of segment 4", "sms reach in segment 2",
                                      "reach of segment 4 for email"])
def test_a_question_about_reach_never_drafts_copy(planner, question):
    bound = planner.bind_tools([Bound(n) for n in TOOL_NAMES])
    reply = bound.respond([HumanMessage(question)])
    assert "draft_campaign" not in [c["name"] for c in reply.tool_calls], reply.tool_calls


@pytest.mark.parametrize("question", ["what is customer 1234's email?",
                                      "show me the email address of customer 77",
                                      "phone number for client #12", "customer 5 date of birth"])
def test_one_persons_contact_data_is_refused_as_personal_data(planner, question):
    from assistant.planner.intents import PII_REFUSAL

    reply = planner.respond([HumanMessage(question)])
    assert not reply.tool_calls and reply.text == PII_REFUSAL
