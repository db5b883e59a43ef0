"""Deterministic names and descriptions for segments, from their distinguishing traits.

A name is a head ("Frequent travellers") from the strongest trait that has one, followed by one
or two details ("with card payments abroad and high balances") from the next traits. Phrases for
the warehouse features live in `PHRASES`; features of user tables fall back to "high <label>" /
"low <label>". Protected attributes never name a segment unless the run was asked to use them.
Names are unique within a run.
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.segment_card import Trait

# feature -> ((head, detail) when the segment is high, (head, detail) when it is low).
# A None head means the trait can only be a detail; None for a direction means "say nothing".
Phrase = tuple[str | None, str] | None
PHRASES: dict[str, tuple[Phrase, Phrase]] = {
    "share_groceries": (("Grocery-focused households", "grocery-heavy spending"),
                        (None, "little grocery spending")),
    "share_dining": (("Diners-out", "frequent dining out"), (None, "rare dining out")),
    "share_travel": (("Frequent travellers", "frequent travel"), None),
    "share_shopping": (("Shoppers", "lots of shopping"), None),
    "share_entertainment": (("Entertainment fans", "entertainment spending"), None),
    "share_cash": (("Cash-heavy customers", "cash-heavy habits"), None),
    "share_crypto": (("Crypto traders", "frequent crypto purchases"), None),
    "share_international": (("International spenders", "card payments abroad"),
                            (None, "domestic card use")),
    "share_online": (("Online shoppers", "online payments"), (None, "in-store payments")),
    "share_p2p": (("P2P payers", "many person-to-person transfers"), None),
    "everyday_per_month": (("Frequent card users", "frequent card use"),
                           ("Light users", "few payments")),
    "avg_ticket": (("Big-ticket spenders", "big-ticket purchases"),
                   ("Small-ticket spenders", "small purchases")),
    "spend_per_month": (("High spenders", "high card spend"), ("Low spenders", "low spend")),
    "spend_12m": (("High spenders", "high spend"), ("Low spenders", "low spend")),
    "payments_12m": (("Frequent payers", "frequent payments"), ("Light users", "few payments")),
    "card_utilisation": ((None, "high card utilisation"), (None, "low card utilisation")),
    "income_credits_per_month": (("Gig earners", "irregular gig income"),
                                 (None, "no regular income")),
    "income_per_month": (("High earners", "high income"), (None, "low income")),
    "p2p_in_per_month": (("Family-supported customers", "money from family or friends"), None),
    "investing_per_month": (("Regular investors", "monthly investing"), None),
    "share_months_rent": (("Renters", "monthly rent"), (None, "no rent payments")),
    "logins_per_month": (("Heavy app users", "daily app use"), (None, "low app use")),
    "share_web": (("Web bankers", "web banking"), (None, "mobile-first banking")),
    "share_android": ((None, "Android phones"), (None, "iPhones or web")),
    "support_per_month": ((None, "frequent support chats"), None),
    "product_views_per_month": ((None, "product browsing"), None),
    "holds_savings": (("Savers", "savings accounts"), None),
    "holds_credit_card": (("Credit card holders", "credit cards"), (None, "no credit card")),
    "holds_personal_loan": (("Borrowers", "personal loans"), None),
    "holds_mortgage": (("Homeowners", "mortgages"), None),
    "holds_investment": (("Investors", "investment accounts"), None),
    "holds_crypto": (("Crypto holders", "crypto wallets"), None),
    "products_held": (("Multi-product customers", "many products"), None),
    "deposits": (("Affluent savers", "high balances"), (None, "low balances")),
    "tenure_days": (("Long-standing customers", "long tenure"), ("New customers", "recent signup")),
    "days_since_last_transaction": (("Lapsed customers", "no recent transactions"), None),
    "campaign_open_rate": (("Campaign responders", "high campaign response"),
                           (None, "low campaign response")),
    "age": (("Older customers", "older age"), ("Younger customers", "younger age")),
    "gender_female": ((None, "mostly women"), (None, "mostly men")),
}
# Features that describe a concept another feature already names (avoid "crypto ... crypto").
CONCEPT = {"share_crypto": "crypto", "holds_crypto": "crypto",
           "share_international": "travel", "share_travel": "travel",
           "holds_investment": "investing", "investing_per_month": "investing",
           "spend_per_month": "spend", "spend_12m": "spend", "avg_ticket": "spend",
           "everyday_per_month": "activity", "payments_12m": "activity",
           "income_per_month": "income", "income_credits_per_month": "income",
           "deposits": "wealth", "holds_savings": "savings"}
MIN_EFFECT = 0.3  # weaker traits do not name a segment

# Columns of tables users import (credit-card and bank-churn exports and the like), recognised
# by the words of the column name: (all of these words, none of these, concept, phrase when the
# segment is high, phrase when low). The first match wins, so specific entries come first.
TableConcept = tuple[frozenset[str], frozenset[str], str, Phrase, Phrase]
TABLE_CONCEPTS: list[TableConcept] = [(frozenset(a.split()), frozenset(n.split()), c, hi, lo)
                                      for a, n, c, hi, lo in (
    ("cash advance", "", "cash advance", ("Cash-advance users", "cash advances"),
     (None, "no cash advances")),
    ("installments", "", "instalments", ("Instalment buyers", "instalment purchases"),
     (None, "no instalment purchases")),
    ("instalments", "", "instalments", ("Instalment buyers", "instalment purchases"),
     (None, "no instalment purchases")),
    ("oneoff", "", "one-off", ("Big one-off purchasers", "large one-off purchases"),
     (None, "few one-off purchases")),
    ("full payment", "", "full payment", (None, "balances paid in full"),
     (None, "balances rarely paid in full")),
    ("minimum payments", "", "minimum payments", (None, "high minimum payments"), None),
    ("credit limit", "", "credit limit", (None, "high credit limits"),
     (None, "low credit limits")),
    ("credit score", "", "credit score", (None, "high credit scores"),
     (None, "low credit scores")),
    ("purchases", "", "purchases", ("Active card shoppers", "frequent purchases"),
     ("Rare card users", "few purchases")),
    ("payments", "", "payments", (None, "large payments"), (None, "small payments")),
    ("balance", "frequency", "balance", ("High-balance customers", "high balances"),
     ("Low-balance customers", "low balances")),
    ("tenure", "", "tenure", ("Long-standing customers", "long tenure"),
     ("Newer customers", "short tenure")),
    ("products", "", "products", ("Multi-product customers", "several products"),
     ("Single-product customers", "a single product")),
    ("active", "", "active", (None, "active members"), ("Inactive members", "little activity")),
    ("salary", "", "income", ("High earners", "high income"), (None, "low income")),
    ("income", "", "income", ("High earners", "high income"), (None, "low income")),
    ("card", "", "card", (None, "credit cards"), (None, "no credit card")),
)]


def _column_words(feature: str) -> set[str]:
    from tools.table_features import words

    return set(words(feature.split("=", 1)[0]))  # "Geography=Germany" is a level of Geography


def _table_concept(feature: str) -> TableConcept | None:
    if feature in PHRASES or "=" in feature:
        return None
    found = _column_words(feature)
    return next((c for c in TABLE_CONCEPTS if c[0] <= found and not c[1] & found), None)


def concept(feature: str) -> str:
    """What a feature is about, so a name does not say the same thing twice."""
    if feature in CONCEPT:
        return CONCEPT[feature]
    known = _table_concept(feature)
    return known[2] if known else feature


def _phrase(trait: Trait) -> tuple[str | None, str] | None:
    high = trait.effect_size > 0
    if trait.feature in PHRASES:
        return PHRASES[trait.feature][0 if high else 1]
    known = _table_concept(trait.feature)
    if known is not None:
        return known[3] if high else known[4]
    label = trait.label
    if "=" in trait.feature and " is " in label:   # a level of a category: "geography is Spain"
        column, level = label.split(" is ", 1)
        return (None, f"{column} mostly {level}") if high else (None, f"{column} rarely {level}")
    if trait.unit == "%":                          # a yes/no column: "has mobile app"
        return (None, f"more often {label}") if high else (None, f"less often {label}")
    return (None, f"high {label}") if high else (None, f"low {label}")


def _usable(traits: Sequence[Trait], protected: set[str]) -> list[tuple[Trait, tuple]]:
    out = []
    for t in traits:
        if t.feature in protected or abs(t.effect_size) < MIN_EFFECT:
            continue
        phrase = _phrase(t)
        if phrase is not None:
            out.append((t, phrase))
    return out


def segment_name(traits: Sequence[Trait], *, protected: set[str] = frozenset(),
                 details: int = 2) -> str:
    """A short name from the strongest traits (sorted strongest first by the caller)."""
    usable = _usable(traits, protected)
    if not usable:
        return "Typical customers"
    head_i = next((i for i, (_, p) in enumerate(usable[:3]) if p[0]), None)
    if head_i is None:
        head = "Customers"
        rest = usable
    else:
        head = usable[head_i][1][0]
        rest = usable[:head_i] + usable[head_i + 1:]
    seen = {concept(usable[head_i][0].feature)} if head_i is not None else set()
    labels: list[str] = [usable[head_i][0].label] if head_i is not None else []
    picked = []
    for t, (_, detail) in rest:
        about = concept(t.feature)
        # "one-off purchases frequency" says little more after "one-off purchases"
        if about in seen or any(a in t.label or t.label in a for a in labels):
            continue
        seen.add(about)
        labels.append(t.label)
        picked.append(detail)
        if len(picked) == details:
            break
    if not picked:
        return head
    return f"{head} with {' and '.join(picked)}"


def unique_names(names: list[str], traits: list[Sequence[Trait]], *,
                 protected: set[str] = frozenset()) -> list[str]:
    """Make names unique within a run: add a detail, then a number, to repeated names."""
    out = list(names)
    for _ in range(2):
        seen: dict[str, list[int]] = {}
        for i, n in enumerate(out):
            seen.setdefault(n, []).append(i)
        dups = [idx for idx in seen.values() if len(idx) > 1]
        if not dups:
            return out
        for idx in dups:
            for i in idx:
                out[i] = segment_name(traits[i], protected=protected, details=3)
    counts: dict[str, int] = {}
    for i, n in enumerate(out):
        if out.count(n) > 1:
            counts[n] = counts.get(n, 0) + 1
            out[i] = f"{n} ({counts[n]})"
    return out


def fmt_value(value: float | None, unit: str) -> str:
    """A number in words for a card: 41%, 3.2 per month, 1,250, 120 days."""
    if value is None or value != value:  # NaN
        return "n/a"
    if value == 0:
        return "0%" if unit == "%" else "0"
    if unit == "%":
        pct = value * 100
        return f"{pct:.0f}%" if pct >= 1 or pct == 0 else f"{pct:.1f}%"
    if unit == "x":
        return f"{value:.2f}x"
    if unit == "per month":  # the label already says "per month"
        unit = ""
    if unit == "days":
        return f"{value:,.0f} day{'s' if round(value) != 1 else ''}"
    if abs(value) >= 100 or float(value).is_integer():
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.0f}"
    elif abs(value) >= 1:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}".strip() if unit not in ("",) else text


def compare(trait: Trait) -> str:
    """'41% vs 9% overall' or '3.1x the typical 420' style comparison for one trait."""
    seg, pop = trait.segment_mean, trait.population_mean
    if trait.unit in ("%", "x") or not pop or pop <= 0 or seg < 0:
        return f"{fmt_value(seg, trait.unit)} vs {fmt_value(pop, trait.unit)} overall"
    ratio = seg / pop
    if ratio >= 1.5 or 0.1 <= ratio <= 0.67:
        what = "average" if trait.statistic == "mean" else "typical"
        return (f"{fmt_value(seg, trait.unit)}, {ratio:.1f}x the {what} "
                f"{fmt_value(pop, trait.unit)}")
    return f"{fmt_value(seg, trait.unit)} vs {fmt_value(pop, trait.unit)} overall"


def pct(share: float) -> str:
    return f"{share:.0%}" if share >= 0.01 or share == 0 else f"{share:.1%}"


def describe(name: str, size: int, share: float, traits: Sequence[Trait], *,
             population: str = "the customers segmented", protected: set[str] = frozenset(),
             lead: str = "", extra: str = "") -> str:
    """Two or three sentences with numbers: who, what sets them apart, one more fact."""
    strong = [t for t in traits if t.feature not in protected and abs(t.effect_size) >= 0.2]
    first = f"{lead + ' ' if lead else ''}{size:,} customers ({pct(share)} of {population})."
    if strong:
        parts = [f"{t.label} {compare(t)}" for t in strong[:3]]
        second = "What sets them apart: " + "; ".join(parts) + "."
    else:
        second = "No behaviour sets them clearly apart from the other customers."
    return " ".join(s for s in (first, second, extra) if s)
