"""'Email reach of segment 4' asks a number: the typo corrector read 'reach' as 'each', which made
it 'email each of segment 4', a copy request, and the planner drafted eight emails."""

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
