"""High-value dormant customers: how many, and what they did before they went quiet.

"How big is the high-value dormant group and what do they do?" gets one query and one short
profile. Dormant is what it is everywhere in the planner: no transaction in the activity window.
High value = spend in the 12 months up to the customer's last transaction in the top 20% of all
customers who have transacted, so a customer who went quiet months ago is judged on the year
before, not on the empty months since. (RFM's "At risk" and "Can't lose them" rank recency
relatively: most of them transacted within the window, so they are not dormant in this sense.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistant.planner.clauses import (
    ACTIVE_WINDOW_DAYS,
    SPEND_WHERE,
    Ctx,
    Query,
    Unsupported,
    base_from,
    split_filters,
    subject,
    where_clause,
)
from assistant.planner.frame import Frame
from assistant.planner.text import Text

if TYPE_CHECKING:
    from assistant.planner.answer import Table

TOP_SHARE = 20       # high value: the top 20% by 12-month spend

_VALUE = (r"\b(?:high(?:est)?|top|big(?:gest)?|large(?:st)?|heavy|heaviest|best|premium|key)"
          r" (?:value|spend(?:ing)?|spenders?|(?:value )?(?:customers?|clients?) by spend)\b"
          r"|\b(?:most )?valuable\b|\bvips?\b")
_QUIET = (r"\b(?:dormant|inactive|lapsed|(?:no longer|not) active|(?:have |has |who )?(?:gone"
          r"|went|go|gone) (?:quiet|silent|dormant|inactive)|(?:have |has |who )?(?:stopped"
          r"|quit|ceased) (?:transacting|spending|paying|buying|using (?:us|their (?:accounts?"
          r"|cards?)))|(?:no longer|not) (?:transacting|spending))\b")
_GROUP = r"\b(?:group|segment|cohort|population|pool|bunch)\b"


def take_lapsed(text: Text) -> bool:
    """Consume a question about high-value dormant customers ('lapsed high spenders',
    'valuable customers who have gone quiet'); both parts must be there."""
    if not (text.peek(_VALUE) and text.peek(_QUIET)):
        return False
    text.take(_VALUE)
    text.take(_QUIET)
    text.take_all(_GROUP)
    return True


def _top_shares(label: str, weight: str, source: str, total: str, n: int) -> str:
    """A subquery listing the `n` largest rows of `source` as 'label 38%, label 12%, ...'."""
    pct = f"CAST(round(100.0 * {weight} / {total}) AS INTEGER)"
    return (f"(SELECT string_agg({label} || ' ' || {pct} || '%', ', ' ORDER BY {weight} DESC, "
            f"{label}) FROM (SELECT * FROM {source} ORDER BY {weight} DESC, {label} LIMIT {n}))")


def lapsed_query(frame: Frame, ctx: Ctx) -> Query:
    if frame.period is not None or frame.group or frame.top:
        raise Unsupported("lapsed_shape")
    conds, _ = split_filters(frame, ctx)
    ctx.define("active")
    ctx.define("spend")
    in_year = "t.ts > s.last_transaction_at - INTERVAL 12 MONTH"
    dormant = where_clause(["NOT s.is_active", *conds])
    sql = f"""WITH value AS (
  SELECT s.customer_id, s.last_transaction_at, coalesce(sum(t.amount), 0) AS spend_12m
  FROM customer_status s
  LEFT JOIN transactions t ON t.customer_id = s.customer_id AND {SPEND_WHERE}
    AND {in_year}
  WHERE s.last_transaction_at IS NOT NULL
  GROUP BY ALL),
cut AS (SELECT quantile_cont(spend_12m, {1 - TOP_SHARE / 100}) AS min_spend FROM value),
dormant AS (SELECT c.customer_id, s.products_held, s.days_since_last_transaction
  {base_from(ctx)}
  {dormant}),
lapsed AS (SELECT d.*, v.spend_12m, v.last_transaction_at FROM dormant d
  JOIN value v ON v.customer_id = d.customer_id
  WHERE v.spend_12m >= (SELECT min_spend FROM cut)),
categories AS (SELECT t.category, sum(t.amount) AS spend FROM lapsed s
  JOIN transactions t ON t.customer_id = s.customer_id AND {SPEND_WHERE} AND {in_year}
  GROUP BY ALL),
held AS (SELECT product, count(*) AS holders FROM (SELECT unnest(products_held) AS product
  FROM lapsed) GROUP BY ALL)
SELECT (SELECT count(*) FROM lapsed) AS customers,
  (SELECT count(*) FROM dormant) AS dormant,
  (SELECT round(min_spend, 2) FROM cut) AS min_spend_12m,
  (SELECT round(avg(spend_12m), 2) FROM lapsed) AS avg_spend_12m,
  (SELECT median(days_since_last_transaction) FROM lapsed) AS median_days_quiet,
  {_top_shares("category", "spend", "categories", "(SELECT sum(spend) FROM categories)", 3)}
    AS top_categories,
  {_top_shares("replace(product, '_', ' ')", "holders", "held", "(SELECT count(*) FROM lapsed)",
               3)} AS products_held,
  (SELECT count(*) FROM lapsed WHERE len(products_held) > 0) AS with_open_account,
  (SELECT count(*) FROM lapsed l WHERE EXISTS (SELECT 1 FROM consents k WHERE
    k.customer_id = l.customer_id AND k.purpose = 'email' AND k.granted)) AS email_opted_in"""
    ref = ctx.vocab.reference_date
    ctx.defs.append(f"high value = spend in the 12 months up to the last transaction in the "
                    f"top {TOP_SHARE}% of all customers who have transacted")
    return Query(sql, "High-value dormant customers", "customers", [],
                 subject(frame, "dormant customers"), "lapsed",
                 extra={"ref": f"{ref.day} {ref:%b %Y}"})


def lapsed_answer(query: Query, frame: Frame, table: Table) -> str:
    row = table.rows[0]

    def get(name: str) -> str:
        return table.get(row, name)

    n = get("customers")
    if n == "0":
        return (f"There are no high-value {query.subject} (no transaction in the "
                f"{ACTIVE_WINDOW_DAYS} days to {query.extra['ref']}, and 12-month spend before "
                f"that of at least {get('min_spend_12m')}).")
    count = int(n.replace(",", ""))
    share = 100 * count / max(int(get("dormant").replace(",", "")), 1)
    held = "none" if get("products_held") in ("", "NULL") else get("products_held")
    return "\n".join([
        f"High-value {query.subject}: {n} ({share:.1f}% of the {get('dormant')} {query.subject}"
        f"). They made no transaction in the {ACTIVE_WINDOW_DAYS} days to {query.extra['ref']}, "
        f"and in the 12 months up to their last transaction they spent at least "
        f"{get('min_spend_12m')} (the top {TOP_SHARE}% of all customers who have transacted).",
        "What they do:",
        f"- before going quiet: {get('avg_spend_12m')} spend on average over those 12 months, "
        f"mostly {get('top_categories')}",
        f"- quiet for a median of {get('median_days_quiet')} days since their last transaction",
        f"- products still held: {held}; {get('with_open_account')} still have an open account",
        f"- reachable for a win-back: {get('email_opted_in')} opted in to email",
        "RFM gives a relative view of the same idea (the \"At risk\" and \"Can't lose them\" "
        "segments: low recency score, high frequency and spend): ask \"RFM segments\".",
    ])
