"""What the filters of a question select, in words: 'active self-employed customers in Germany'.

`subject` names the customers (adjectives first), `predicate` turns a subgroup's filter into a
verb phrase for shares ('... hold a credit card'), `what` names the filters on transactions,
accounts, events and campaigns (' on travel made online').
"""

from __future__ import annotations

from assistant.planner.frame import Filter, Frame

NON_CUSTOMER = {"category", "tx_channel", "merchant", "direction", "international",
                "account_product", "account_status", "event_type", "event_product", "campaign",
                "campaign_channel",
                "campaign_product"}
_EMPLOYMENT_ADJ = {"employed": "employed", "self_employed": "self-employed",
                   "retired": "retired", "unemployed": "unemployed", "student": "student"}
_EMPLOYMENT_NOUN = {"employed": "employed", "self_employed": "self-employed",
                    "retired": "retired", "unemployed": "unemployed", "student": "students"}


def what(frame: Frame, fields=NON_CUSTOMER) -> str:
    """Labels of the filters on transactions/accounts/events: ' on travel made online'."""
    labels = [f.label for f in frame.filters if f.field in fields]
    return (" " + " ".join(labels)) if labels else ""


def subject(frame: Frame, base: str = "customers", extra: list[Filter] | None = None) -> str:
    """'active self-employed customers in Germany holding a credit card'."""
    pre, post, optins, optouts = [], [], [], []
    for f in frame.filters + (extra or []):
        if f.field in NON_CUSTOMER or f.field == "transacted":
            continue
        if f.field == "optin" and f.values != ("profiling",):
            (optouts if f.negate else optins).extend(f.values)
            continue
        if f.field in ("active", "churned") and f.label in ("active", "inactive", "churned",
                                                             "not churned"):
            pre.insert(0, f.label)      # "active self-employed customers"
        elif f.field == "dormant":      # never transacted (the model's "dormant" is not active)
            post.append("who never transacted" if not f.negate else "who have transacted")
        elif f.field == "gender" and not f.negate:
            pre.append(f.label)
        elif f.field == "employment_status" and not f.negate:
            pre.append(" or ".join(_EMPLOYMENT_ADJ[x] for x in f.values))
        else:
            post.append(f.label)
    # a window reads last: "customers in Germany who transacted in September 2026"
    post.sort(key=lambda text: text.startswith(("who transacted in ", "who did not transact in ")))
    held = [i for i, text in enumerate(post) if text.startswith("holding ")]
    if len(held) > 1:       # "holding a mortgage and a credit card"
        post[held[0]] = "holding " + " and ".join(post[i][8:] for i in held)
        post = [text for i, text in enumerate(post) if i not in held[1:]]
    if optins:
        names = [x.upper() if x == "sms" else x for x in optins]
        joined = " or ".join(names) if len(optins) > 1 and any(
            len(f.values) > 1 for f in frame.filters if f.field == "optin") else " and ".join(names)
        post.insert(0, f"opted in to {joined}")
    if optouts:     # each one not granted: none of them
        names = [x.upper() if x == "sms" else x for x in optouts]
        post.insert(len(post) if optins else 0, ("but " if optins else "") + "not opted in to " + (
            names[0] if len(names) == 1 else "any of " + ", ".join(names)))
    if frame.period is not None and frame.period.on == "signup":
        post.append(f"who signed up in {frame.period.label}")
    return " ".join(w for w in [*pre, base, *post] if w).strip()


def predicate(f: Filter) -> str:
    """The filter as a verb phrase, for shares: '... of customers in Germany hold a card'."""
    label = f.label
    if f.field == "active":
        return "are inactive" if f.negate else "are active"
    if f.field == "churned":
        return "have not churned" if f.negate else "have churned"
    if f.field == "dormant":
        return "have transacted" if f.negate else "have never transacted"
    if f.field == "reach":
        return "can be reached " + label.removeprefix("reachable ")
    if f.field == "product":
        return label.replace("holding", "hold").replace("without", "do not hold")
    if f.field in ("optin", "gender", "employment_status", "age", "country", "region", "city",
                   "segment", "kyc_status"):
        if f.field == "employment_status" and not f.negate:
            return "are " + " or ".join(_EMPLOYMENT_NOUN[x] for x in f.values)
        return "are " + label
    if f.field == "acquisition_channel":
        return "were " + label
    if f.field == "income_band":
        return "have " + label.removeprefix("with ")
    if f.field == "preferred_language":
        return label.replace("preferring", "prefer")
    if f.field == "platform":
        return label.replace("using", "use")
    return "are " + label


def plural(word: str) -> str:
    if word.endswith("y") and not word.endswith(("ay", "ey")):
        return word[:-1] + "ies"
    if word.endswith(("s", "x")):
        return word + "es" if word.endswith("x") else word
    return word + "s"


def of(subject_text: str) -> str:
    return "" if subject_text == "customers" else f" of {subject_text}"


def for_(subject_text: str) -> str:
    return "" if subject_text == "customers" else f" for {subject_text}"
