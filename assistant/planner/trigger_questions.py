"""Questions about event-triggered campaigns, for the offline planner's tool-intent layer.

"what fired today?", "how many travel offers were skipped for consent this week?", "why were
sends skipped yesterday?", "pause the travel rule", "resume the travel trigger", "which
triggers do we have?" -> trigger_history / pause_trigger / resume_trigger / list_triggers.
"""

from __future__ import annotations

import re

from assistant.planner.frame import Reply, ToolIntent
from assistant.planner.text import Text

_PERIODS = (("last 7 days", r"last (?:7|seven) days|past week"),
            ("last 30 days", r"last (?:30|thirty) days|past month"),
            ("this week", r"this week|since monday"), ("this month", r"this month"),
            ("yesterday", r"yesterday"), ("today", r"today|so far today|this morning"),
            ("all", r"ever|so far|all time|in total"))
_DECISIONS = (("fired", r"fired|fire|sent|triggered|went out"),
              ("skipped", r"skipped|skip|not sent|blocked|suppressed"),
              ("deferred", r"deferred|held back|delayed"),
              ("cancelled", r"cancell?ed"))
_REASONS = (("consent", r"consent|opt(?:ed)? ?out|unsubscrib\w*|permission"),
            ("quiet hours", r"quiet hours?|at night"),
            ("cap", r"caps?|capped|frequency"), ("kyc", r"kyc"),
            ("re-entry", r"re ?entry"), ("conditions", r"conditions?"),
            ("account", r"closed accounts?|no open account|frozen"),
            ("contact", r"no (?:contact|address|email|phone)"),
            ("paused", r"paused"), ("draft", r"draft not approved|unapproved"))
_RULE = r"(?:rule|trigger|flow|automation|journey)s?"
_TOPIC = r"\b(?:triggers?|triggered|offers?|rules?|automations?|flows?|real ?time)\b"
# words that only ever mean a trigger decision here ("sent" alone is a campaign event)
_OWN = r"\b(?:fired|skipped|deferred)\b"


_STOP = frozenset({
    "the", "our", "my", "a", "an", "all", "many", "how", "were", "was", "which", "what", "by",
    "for", "of", "from", "with", "to", "in", "on", "at", "this", "that", "these", "those",
    "sent", "fired", "skipped", "deferred", "cancelled", "customers", "did", "any", "are",
    "is", "be", "been", "offer", "offers", "rule", "rules", "trigger", "triggers", "why",
    "who", "much"})


def _name(s: str, before: str) -> str | None:
    """The word(s) naming a trigger right before `before` ('by the travel rule' -> travel)."""
    m = re.search(rf"^(.*?)\b{before}\b", s)
    if not m:
        return None
    words = []
    for word in reversed(m.group(1).split()):
        if word in _STOP or len(words) == 2:
            break
        words.insert(0, word)
    return " ".join(words) or None


CREATE_REPLY = (
    "Offline planner: I can't turn a sentence into a trigger rule reliably without a language "
    "model, and a wrong rule would message the wrong customers. Declare it in a TOML file and "
    "add it with `assistant triggers add rules.toml` (the README's *Real time* section has a "
    "complete example: event, conditions, segment, the approved draft, delay, caps, quiet "
    "hours); with a model configured, describe it here and name the approved draft's id. "
    "Then ask \"which triggers do we have?\" or \"what fired today?\".")


def intent(text: Text) -> ToolIntent | Reply | None:
    s = text.s
    if re.search(r"^\s*(?:please |can you |could you )?(?:when(?:ever)?|each time|every time|if)"
                 r"\b(?! (?:did|was|were|is|are|do|does|will|has|have|had)\b)"
                 r".{3,160}\b(?:send|push|email|text|message|offer)\b", s) and \
            re.search(r"\b(?:send|trigger|fire)\b", s):
        return Reply(CREATE_REPLY)
    m = re.search(rf"\b(pause|stop|suspend|halt|switch off|turn off|disable|resume|restart"
                  rf"|unpause|reactivate|switch on|turn on|enable)\b (?:the |our )?(.+?) "
                  rf"{_RULE}\b", s)
    if m:
        name = m.group(2).strip()
        pause = m.group(1) in ("pause", "stop", "suspend", "halt", "switch off", "turn off",
                               "disable")
        tool = "pause_trigger" if pause else "resume_trigger"
        return ToolIntent(tool, {"trigger": name}, label=f"{m.group(1)} {name}")
    if re.search(rf"\b(?:which|what|list|show)\b.{{0,20}}\b{_RULE}\b.{{0,30}}"
                 r"(?:have|are|running|active|set up|exist|there)?\s*$", s) and \
            not re.search(r"\b(fired|skipped|sent|deferred|cancell?ed)\b", s):
        return ToolIntent("list_triggers", {}, label="triggers")
    decision = next((d for d, rx in _DECISIONS if re.search(rf"\b(?:{rx})\b", s)), None)
    if decision is None or not (re.search(_TOPIC, s) or re.search(_OWN, s)):
        return None
    args: dict = {"decision": decision}
    period = next((p for p, rx in _PERIODS if re.search(rf"\b(?:{rx})\b", s)), "all")
    args["period"] = period
    reason = next((r for r, rx in _REASONS if re.search(rf"\b(?:{rx})\b", s)), None)
    if reason and decision in ("skipped", "cancelled", "deferred"):
        args["reason"] = reason
    elif reason == "consent":
        args["decision"], args["reason"] = "skipped", "consent"
    name = _name(s, r"(?:offers?|rules?|triggers?|flows?|automations?|journeys?)")
    if name:
        args["trigger"] = name
    return ToolIntent("trigger_history", args, label=f"trigger history {period}")
