"""A/B test design for campaign variants: sample size per arm, split and holdout.

The test compares conversion rates (two proportions) with a two-sided z-test. The sample size
per arm is the textbook formula with the pooled variance under the null hypothesis (Fleiss,
Statistical Methods for Rates and Proportions, without continuity correction):

    n = (z(1-a/2) * sqrt(2 p q) + z(1-b) * sqrt(p1 q1 + p2 q2))^2 / (p2 - p1)^2,  p = (p1+p2)/2

For p1 = 10% and p2 = 12% at a = 0.05 and power 0.8 this gives 3,841 per arm; the unpooled
variant gives 3,839 and Cohen's arcsine effect size (statsmodels' NormalIndPower) 3,835, so the
choice hardly matters at these rates. With more than two variants, every pair is compared and
the significance level is split between the pairs (Bonferroni). The holdout gets no message and
measures what the campaign adds at all.

The baseline is the channel's historical conversion rate from campaign_events, by the contract's
definition: distinct customers with a converted event over distinct customers with a sent event,
per campaign, pooled over the channel's campaigns.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from statistics import NormalDist
from typing import Literal

import pandas as pd

from tools.message_length import CHANNELS
from tools.result import TableResult, ToolContext, ToolResult
from warehouse.errors import EmptyResult, InvalidArgument

ALPHA = 0.05
POWER = 0.8
MIN_SEGMENT_SENDS = 1_000   # below this, a segment's own history is too thin: use the channel's
LETTERS = "ABCD"
_NORMAL = NormalDist()    # the standard normal (the stdlib's: no scipy import for two quantiles)


def sample_size_per_arm(p1: float, p2: float, *, alpha: float = ALPHA, power: float = POWER,
                        pooled: bool = True) -> int:
    """Customers per arm to tell conversion rate p1 from p2 (two-sided z-test)."""
    if not (0 < p1 < 1 and 0 < p2 < 1) or p1 == p2:
        raise InvalidArgument(f"conversion rates must be between 0 and 1 and differ, not "
                              f"{p1:g} and {p2:g}")
    za, zb = _NORMAL.inv_cdf(1 - alpha / 2), _NORMAL.inv_cdf(power)
    spread = p1 * (1 - p1) + p2 * (1 - p2)
    if pooled:
        p = (p1 + p2) / 2
        root = za * math.sqrt(2 * p * (1 - p)) + zb * math.sqrt(spread)
    else:
        root = (za + zb) * math.sqrt(spread)
    return math.ceil(root ** 2 / (p2 - p1) ** 2)


def power_of(p1: float, p2: float, n1: int, n2: int, *, alpha: float = ALPHA) -> float:
    """Power of the pooled two-sided z-test with n1 and n2 customers in the two groups."""
    if n1 <= 0 or n2 <= 0:
        return 0.0
    p = (n1 * p1 + n2 * p2) / (n1 + n2)
    null_sd = math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    alt_sd = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    return float(_NORMAL.cdf((abs(p2 - p1) - _NORMAL.inv_cdf(1 - alpha / 2) * null_sd) / alt_sd))


def detectable_lift(p1: float, n1: int, n2: int, *, alpha: float = ALPHA,
                    power: float = POWER) -> float | None:
    """Smallest relative lift over p1 detectable with these group sizes (None: none below
    the rate of 100%)."""
    hi = (1 - 1e-9) / p1 - 1
    if power_of(p1, p1 * (1 + hi), n1, n2, alpha=alpha) < power:
        return None
    lo = 0.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if power_of(p1, p1 * (1 + mid), n1, n2, alpha=alpha) >= power:
            hi = mid
        else:
            lo = mid
    return hi


@dataclass
class Baseline:
    rate: float
    source: str           # words: where the rate comes from
    campaigns: int = 0
    sends: int = 0
    sql: str = ""


def channel_baseline(ctx: ToolContext, channel: str, members_sql: str = "") -> Baseline:
    """The historical conversion rate of `channel` (among `members_sql`'s customers if given)."""
    members = f"AND e.customer_id IN ({members_sql})" if members_sql else ""
    sql = f"""SELECT count(DISTINCT c.campaign_id) AS campaigns,
       count(DISTINCT (e.campaign_id, e.customer_id)) FILTER (WHERE e.event = 'sent') AS sent,
       count(DISTINCT (e.campaign_id, e.customer_id)) FILTER (WHERE e.event = 'converted')
           AS converted
FROM campaign_events e JOIN campaigns c ON c.campaign_id = e.campaign_id
WHERE c.channel = '{channel}' {members}"""
    campaigns, sent, converted = ctx.wh.rows(sql)[0]
    if not sent:
        return Baseline(0.0, "", 0, 0, sql)
    among = " among this segment's customers" if members_sql else ""
    return Baseline(converted / sent, f"{converted:,} conversions from {sent:,} sends{among} "
                    f"in {campaigns} past {channel} campaign{'s' * (campaigns != 1)}",
                    int(campaigns), int(sent), sql)


@dataclass
class AbDesign:
    channel: str
    baseline: float
    baseline_source: str
    min_lift: float
    target: float
    variants: int
    holdout: float
    alpha: float
    power: float
    per_arm_needed: int
    audience: int | None
    per_arm_available: int | None
    holdout_size: int | None
    total_needed: int
    feasible: bool | None
    detectable_lift: float | None            # between variants, with this audience
    holdout_detectable_lift: float | None    # all variants vs the holdout
    notes: list[str] = field(default_factory=list)
    audience_label: str = ""                 # who the audience is, in words

    def to_dict(self) -> dict:
        return asdict(self)

    def split(self) -> pd.DataFrame:
        arms = [(f"Variant {LETTERS[i]}", (1 - self.holdout) / self.variants)
                for i in range(self.variants)]
        if self.holdout:
            arms.append(("Holdout (no message)", self.holdout))
        rows = []
        for name, share in arms:
            n = None
            if self.audience is not None:
                n = self.holdout_size if name.startswith("Holdout") else self.per_arm_available
            rows.append({"group": name, "share": f"{share:.1%}",
                         "customers": n if n is not None else "",
                         "needed": "" if name.startswith("Holdout") else self.per_arm_needed})
        return pd.DataFrame(rows)


def design(baseline: Baseline, *, channel: str, audience: int | None, min_lift: float = 0.2,
           variants: int = 2, holdout: float = 0.1) -> AbDesign:
    """The sample size, split and verdict for a variant test on `audience` customers."""
    if not 1 <= variants <= len(LETTERS):
        raise InvalidArgument(f"variants must be between 1 and {len(LETTERS)}, not {variants}")
    if not 0 < min_lift <= 10:
        raise InvalidArgument(f"min_lift is a relative lift such as 0.2 for +20%, not {min_lift}")
    if not 0 <= holdout < 0.5:
        raise InvalidArgument(f"holdout is a share below 0.5 such as 0.1, not {holdout}")
    if variants == 1 and not holdout:
        raise InvalidArgument("one variant and no holdout is not a test: add a variant or a "
                              "holdout")
    p1 = baseline.rate
    target = p1 * (1 + min_lift)
    if target >= 1:
        raise InvalidArgument(f"a {min_lift:.0%} lift on {p1:.1%} would exceed 100%")
    pairs = variants * (variants - 1) // 2
    alpha = ALPHA / pairs if pairs > 1 else ALPHA
    notes = []
    if pairs > 1:
        notes.append(f"{pairs} pairs of variants are compared, so each comparison uses a "
                     f"significance level of {alpha:.3f} (Bonferroni) to keep 5% overall")
    if variants >= 2:
        needed = sample_size_per_arm(p1, target, alpha=alpha)
    else:  # one variant against the holdout: the holdout comparison decides
        needed = sample_size_per_arm(p1, target)
    if variants >= 2:
        total = math.ceil(needed * variants / (1 - holdout))
    else:
        total = math.ceil(needed / holdout) if holdout else needed
    per_arm = hold = None
    feasible = lift = hold_lift = None
    if audience is not None:
        hold = round(audience * holdout)
        per_arm = (audience - hold) // variants
        feasible = per_arm >= needed if variants >= 2 else hold >= needed
        if variants >= 2:
            lift = detectable_lift(p1, per_arm, per_arm, alpha=alpha)
        if hold:
            hold_lift = detectable_lift(p1, audience - hold, hold)
        if hold and variants >= 2 and hold_lift is None:
            notes.append("the holdout is too small to measure the campaign's effect at all")
    if holdout:
        notes.append("the holdout's conversion rate is assumed equal to the baseline; without "
                     "a message it is usually lower, which makes the campaign easier to detect")
    return AbDesign(channel=channel, baseline=p1, baseline_source=baseline.source,
                    min_lift=min_lift, target=target, variants=variants, holdout=holdout,
                    alpha=alpha, power=POWER, per_arm_needed=needed, audience=audience,
                    per_arm_available=per_arm, holdout_size=hold, total_needed=total,
                    feasible=feasible, detectable_lift=lift, holdout_detectable_lift=hold_lift,
                    notes=notes)


def _pct(x: float | None) -> str:
    return "none below 100%" if x is None else f"{x:.0%}"


def describe(d: AbDesign) -> str:
    """The design in a few sentences, numbers rounded (no personal data involved)."""
    lines = [f"Baseline conversion rate for {d.channel}: {d.baseline:.2%} ({d.baseline_source})."]
    arms = f"{d.variants} variants" if d.variants > 1 else "the variant against the holdout"
    lines.append(f"To detect a {d.min_lift:.0%} relative lift ({d.baseline:.2%} -> "
                 f"{d.target:.2%}) between {arms} at 5% significance (two-sided) and 80% power, "
                 f"each group needs {d.per_arm_needed:,} customers: {d.total_needed:,} in total "
                 f"with a {d.holdout:.0%} holdout.")
    if d.audience is not None:
        split = (f"{d.per_arm_available:,} per variant" if d.variants > 1 else "")
        hold = f"{d.holdout_size:,} in the holdout" if d.holdout else "no holdout"
        who = f" ({d.audience_label})" if d.audience_label else ""
        lines.append(f"Audience: {d.audience:,} customers{who}; split: "
                     f"{', '.join(x for x in (split, hold) if x)}.")
        if d.feasible:
            lines.append("That is enough for the test.")
        else:
            what = (f"between variants only a lift of {_pct(d.detectable_lift)} or more can be "
                    "detected" if d.variants > 1 else
                    f"only a lift of {_pct(d.holdout_detectable_lift)} or more over the "
                    "holdout can be detected")
            lines.append(f"The audience is too small: {what}. Options: test on a larger "
                         f"audience, use fewer variants, a smaller holdout, or a bolder "
                         f"difference between the variants.")
        if d.holdout and d.variants > 1:
            lines.append(f"Campaign vs holdout: a lift of {_pct(d.holdout_detectable_lift)} "
                         "or more is detectable.")
    lines += [n[0].upper() + n[1:] + "." for n in d.notes]
    return " ".join(lines)


def design_ab_test(ctx: ToolContext, channel: Literal["email", "sms", "push", "in_app"],
                   audience_size: int | None = None,
                   segment_id: int | None = None, run_id: str | None = None,
                   baseline_rate: float | None = None, min_lift: float = 0.2,
                   variants: int = 2, holdout: float = 0.1) -> ToolResult:
    """Design an A/B test of campaign variants: customers needed per variant, the split and a
    holdout, and whether the audience is large enough.

    Use when the marketer asks how to test variants, how many customers a test needs, or
    whether a segment is big enough for an A/B test. The baseline is the channel's historical
    conversion rate from past campaigns unless one is given.

    Args:
        channel: "email", "sms", "push" or "in_app".
        audience_size: customers available for the test; omit to use the consented reach of the
            segment (or of all marketable customers).
        segment_id: the segment to test on; omit for the segment discussed last or all customers.
        run_id: the segmentation run of that segment; omit for the latest.
        baseline_rate: conversion rate to assume, e.g. 0.03 for 3%; omit to use history.
        min_lift: smallest relative improvement worth detecting, e.g. 0.2 for +20%.
        variants: number of variants compared (1 to 4; 1 means the variant vs the holdout).
        holdout: share of the audience that gets no message, e.g. 0.1 (0 for none).
    """
    channel = (channel or "").strip().lower().replace("-", "_")
    if channel not in CHANNELS:
        raise InvalidArgument(f"unknown channel {channel!r}; use one of {', '.join(CHANNELS)}")
    sql: list[str] = []
    card = None
    if audience_size is None or (baseline_rate is None and (
            segment_id is not None or ctx.state.get("last_segment_id") is not None)):
        from tools.draft_campaign import resolve_card

        card = resolve_card(ctx, segment_id, run_id)
    if audience_size is None and card is not None:
        from tools.draft_campaign import _audience

        audience_size, audience_sql = _audience(ctx, card, channel)
        sql += [audience_sql] if audience_sql else []
        if audience_size is None:
            audience_size = card.size
    if audience_size is not None and audience_size < 0:
        raise InvalidArgument("audience_size cannot be negative")
    baseline = _baseline(ctx, channel, baseline_rate, card, sql)
    result = design(baseline, channel=channel, audience=audience_size, min_lift=min_lift,
                    variants=variants, holdout=holdout)
    if card is not None:
        who = card.name.lower() if card.segment_id < 0 else \
            f"segment {card.segment_id}, {card.name}"
        result.audience_label = f"{who}, who may be contacted by {channel}"
    return ToolResult(summary=describe(result),
                      tables=[TableResult(f"A/B split for {channel}", result.split())],
                      sql=sql, data=result.to_dict())


def _baseline(ctx: ToolContext, channel: str, rate: float | None, card, sql: list[str]
              ) -> Baseline:
    if rate is not None:
        if not 0 < rate < 1:
            raise InvalidArgument(f"baseline_rate is a share between 0 and 1 such as 0.03, "
                                  f"not {rate}")
        return Baseline(rate, "as given")
    if card is not None and card.segment_id >= 0 and card.source_sql and card.run_id:
        # the card was loaded from a stored run, so its member SQL runs here
        own = channel_baseline(ctx, channel, card.source_sql)
        if own.sends >= MIN_SEGMENT_SENDS:
            sql.append(own.sql)
            return own
    overall = channel_baseline(ctx, channel)
    sql.append(overall.sql)
    if not overall.sends:
        raise EmptyResult(f"there are no past {channel} campaigns to take a conversion rate "
                          f"from; give baseline_rate (e.g. 0.02 for 2%)")
    if not overall.rate:
        raise EmptyResult(f"past {channel} campaigns converted nobody, so no lift can be "
                          "measured against them; give baseline_rate")
    return overall
