"""Copy requests in six languages, read by the offline planner (assistant/planner/
copy_request.py): the draft_campaign call, or an explained refusal in the request's language."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from assistant.planner import OfflinePlanner
from assistant.planner.parse import parse
from assistant.planner.vocabulary import Vocabulary
from tools.copy_library import supported_languages, text
from tools.copy_words import ForbiddenRequest, detect_language, forbidden_request, refusal
from tools.registry import TOOL_NAMES

CASES = tomllib.loads((Path(__file__).parent / "fixtures" / "copy_requests.toml")
                      .read_text("utf-8"))
VOCAB = Vocabulary()


class Bound:
    def __init__(self, name: str) -> None:
        self.name = name


PLANNER = OfflinePlanner(vocab=VOCAB).bind_tools([Bound(n) for n in TOOL_NAMES])


@pytest.mark.parametrize("case", CASES["draft"], ids=[c["question"] for c in CASES["draft"]])
def test_copy_requests_become_the_right_draft_call(case):
    reply = PLANNER.respond([HumanMessage(case["question"])])
    assert reply.tool_calls, reply.text
    call = reply.tool_calls[0]
    assert (call["name"], call["args"]) == ("draft_campaign", case["args"])


@pytest.mark.parametrize("case", CASES["refuse"], ids=[c["question"] for c in CASES["refuse"]])
def test_forbidden_claims_are_refused_with_the_rule_and_an_alternative(case):
    reply = PLANNER.respond([HumanMessage(case["question"])])
    assert not reply.tool_calls
    assert reply.text.startswith(case["lead"]), reply.text
    assert case["rule"] in reply.text
    assert re.search(r'["«“].+["»”]\s*$', reply.text)   # an example request that works


@pytest.mark.parametrize("language", supported_languages())
@pytest.mark.parametrize("rule", ["guaranteed_returns", "no_risk_claim", "credit_pressure",
                                  "misleading_urgency", "free_money", "protected_attribute"])
def test_every_refusal_offers_an_example_that_the_planner_drafts(language, rule):
    """The alternative a refusal suggests is itself a request that works, in that language."""
    said = refusal(ForbiddenRequest(rule, "", language), segment=2)
    assert said.startswith(text(language, "refusals", "lead"))
    example = re.search(r'["«“]\s*([^"«»“”]+?)\s*["»”]\s*$', said).group(1)
    assert detect_language(example) == language, example
    parsed = parse(example, VOCAB)
    assert parsed.kind == "tool" and parsed.tool.tool == "draft_campaign", (example, parsed)
    assert parsed.tool.args.get("segment_id") == 2
    assert forbidden_request(example) is None


@pytest.mark.parametrize("question", [
    "write a calm email about savings, no guaranteed returns and nothing risk-free",
    "an email about the personal loan with no pressure at all",
    "a push for segment 2 about crypto that avoids saying it is risk-free",
    "SMS for customers at risk of churning",
])
def test_negated_or_harmless_mentions_are_not_refused(question):
    assert forbidden_request(question) is None


@pytest.mark.parametrize("question", [
    "How many email subscribers do we have?", "open rate of our email campaigns",
    "build an SMS audience from segment 2", "design an A/B test for segment 2 by email",
    "How big a sample do we need to detect a 10% lift on SMS?", "show my drafts",
    "Wie viele Kunden haben E-Mails abonniert?", "which push triggers fired today?",
    "how many SMS were skipped by the travel rule this week?",
    "create a push trigger for card payments abroad",
    "Do customers in segment 2 prefer SMS or email?",
    "When a customer in the frequent travellers segment makes their first card payment abroad, "
    "send the travel card push",
    "Welche Kunden in Segment 3 haben Push aktiviert?",
    "Which SMS campaign converted best?", "which push campaign had the most conversions?",
    "Welche E-Mail-Kampagne hatte die beste Klickrate?",
])
def test_questions_about_channels_are_not_copy_requests(question):
    parsed = parse(question, VOCAB)
    assert not (parsed.kind == "tool" and parsed.tool.tool == "draft_campaign"), parsed


def test_follow_ups_change_the_draft_in_place():
    first = "write an email for segment 2 about savings"
    messages = [HumanMessage(first), AIMessage("Drafted ...")]
    for follow_up, change in [("now in French", {"language": "fr"}),
                              ("make it more playful", {"tone": "playful"}),
                              ("and as an SMS", {"channel": "sms"}),
                              ("same in their languages", {"language": "all"})]:
        reply = PLANNER.respond([*messages, HumanMessage(follow_up)])
        assert reply.tool_calls, (follow_up, reply.text)
        args = reply.tool_calls[0]["args"]
        assert args == {"channel": "email", "segment_id": 2, "product": "savings"} | change


def test_the_planner_writes_copy_without_re_running_churn():
    """'A win-back SMS for customers at risk of churning' drafts copy; it never calls
    predict_churn first (the draft says whether a churn run was used)."""
    reply = PLANNER.respond([HumanMessage("draft a win-back SMS for customers at risk of "
                                          "churning")])
    assert [c["name"] for c in reply.tool_calls] == ["draft_campaign"]
    done = PLANNER.respond([HumanMessage("draft a win-back SMS for customers at risk of "
                                         "churning"), reply,
                            ToolMessage("Drafted 2 sms variants ...", name="draft_campaign",
                                        tool_call_id=reply.tool_calls[0]["id"])])
    assert done.text.startswith("Drafted 2 sms variants")
