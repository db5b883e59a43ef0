"""Consent-safe campaign audiences: who may be contacted on a channel, and who may not and why.

The rule is the semantic model's filter `marketable` (warehouse/semantic/bank.toml): a customer
may be contacted on a channel when every one of its rules holds, checked in order; a customer who
fails is counted once, under the first rule they fail:

1. `no_channel_consent`: their consent for the channel (email, sms, push) is granted (a missing
   row counts as no consent);
2. `objected_to_profiling`: their profiling consent is granted (a segment is profiling; a
   missing row counts as an objection);
3. `kyc_not_verified`: kyc_status = 'verified' (pending and rejected customers are never
   marketed to);
4. `no_open_account`: at least one open account (churned customers whose accounts are all
   closed, and customers with only frozen accounts, are left out);
5. `no_contact_address`: an email address (email), a phone number (sms), or use of the mobile app
   on iOS or Android (push; the warehouse holds no device tokens, so app use stands in).

`eligibility_sql()` renders the rules from the model; segment cards (reach), audience counts and
exports, and the chat's "how many can we reach" all use that one rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd

from tools.result import TableResult, ToolContext, ToolResult
from tools.runs import get_run, new_id, save_audience
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA, CONTACT_CHANNELS
from warehouse.errors import EmptyResult, InvalidArgument, RunNotFound
from warehouse.files import atomic_path, file_stem, spreadsheet_safe
from warehouse.semantic.model import bank_model, fill

Channel = Literal["email", "sms", "push"]


def _rules():
    return bank_model().filters["marketable"].rules


REASONS = tuple(r.reason for r in _rules())
REASON_WORDS = {r.reason: r.label for r in _rules()}
# Columns of the CSV export, per channel; stable so email/SMS tools can map them once.
EXPORT_COLUMNS = {
    "email": ("customer_id", "first_name", "last_name", "email", "preferred_language", "country",
              "segment_id", "run_id", "consent_updated_at"),
    "sms": ("customer_id", "first_name", "last_name", "phone", "preferred_language", "country",
            "segment_id", "run_id", "consent_updated_at"),
    "push": ("customer_id", "preferred_language", "country", "segment_id", "run_id",
             "consent_updated_at"),
}


def check_channel(channel: str) -> str:
    channel = (channel or "").strip().lower()
    if channel not in CONTACT_CHANNELS:
        raise InvalidArgument(f"unknown channel {channel!r}; audiences can be built for "
                              f"{', '.join(CONTACT_CHANNELS)}")
    return channel


def _eligibility(channels: tuple[str, ...], *, updated: bool = True,
                 customers: str = "customers", answers: dict[str, str] | None = None) -> str:
    """One row per customer of `customers` (a relation shaped like the customers table; the
    real-time send checks pass the few customers about to be contacted): `<channel>_exclusion`
    (NULL = may be contacted; otherwise the first rule of the model's `marketable` filter that
    fails) and, with `updated`, `<channel>_updated_at` (when that consent last changed) for
    each channel asked for. Each distinct rule condition is evaluated once per customer.
    `answers` maps a rule condition (its exact text) to an equivalent one to evaluate instead
    (the customer state's, tools.realtime.state.RULES)."""
    conditions: dict[str, str] = {}
    cases = []
    for ch in channels:
        whens = []
        for rule in _rules():
            sql = fill(rule.sql(ch), channel=ch)
            sql = (answers or {}).get(sql, sql)
            name = conditions.setdefault(sql, f"rule_{len(conditions) + 1}")
            whens.append(f"WHEN NOT {name} THEN '{rule.reason}'")
        cases.append(f"       CASE {' '.join(whens)} END AS {ch}_exclusion")
        if updated:
            cases.append(f"       (SELECT max(u.updated_at) FROM consents u WHERE u.customer_id"
                         f" = r.customer_id AND u.purpose = '{ch}') AS {ch}_updated_at")
    tests = ",\n".join(f"       coalesce(({sql}), false) AS {name}"
                        for sql, name in conditions.items())
    return ("SELECT r.customer_id,\n" + ",\n".join(cases)
            + f"\nFROM (SELECT c.customer_id,\n{tests}\n      FROM {customers} c) r")


def missing_inputs(wh: Warehouse, channel: str) -> list[str]:
    """The inputs of the contact rules that this warehouse does not hold at all (an import of
    a customer table and a transaction log has no consents, say), in words. The rules still
    apply: without a consent nobody is contacted; this says what to import."""
    c = "customers"
    checks = [
        ("consents", "SELECT count(*) FROM (SELECT 1 FROM consents LIMIT 1)",
         "no consents (table consents: the channel and profiling permissions)"),
        ("kyc", f"SELECT count(kyc_status) FROM {c}", "no KYC status (customers.kyc_status)"),
        ("accounts", "SELECT count(*) FROM (SELECT 1 FROM accounts LIMIT 1)",
         "no accounts (the open-account rule)"),
        ("email", f"SELECT count(email) FROM {c}", "no email addresses (customers.email)"),
        ("sms", f"SELECT count(phone) FROM {c}", "no phone numbers (customers.phone)"),
        ("push", "SELECT count(*) FROM (SELECT 1 FROM app_events LIMIT 1)",
         "no app events (push reach is app use on iOS or Android)"),
    ]
    out = []
    for what, sql, words in checks:
        if what in CONTACT_CHANNELS and what != channel:
            continue
        if not wh.scalar(sql):
            out.append(words)
    return out


def eligibility_sql(channel: str, customers: str = "customers") -> str:
    """One row per customer (of `customers`, default all): customer_id, exclusion (NULL = may
    be contacted on `channel`), consent_updated_at of the channel consent. The rules are in the
    module docstring."""
    channel = check_channel(channel)
    return (f"SELECT customer_id, {channel}_exclusion AS exclusion, {channel}_updated_at AS "
            f"consent_updated_at FROM (\n{_eligibility((channel,), customers=customers)})")


def reach_sql(members: str, group: str = "segment_id",
              answers: dict[str, str] | None = None) -> str:
    """Consented reach per channel for each `group` of the relation `members` (customer_id,
    group): one pass over the consent rules for all channels (`answers`: see _eligibility)."""
    counts = ", ".join(f"count(*) FILTER (WHERE e.{ch}_exclusion IS NULL) AS {ch}"
                       for ch in CONTACT_CHANNELS)
    rules = _eligibility(CONTACT_CHANNELS, updated=False, answers=answers)
    return (f"SELECT m.{group}, {counts}\nFROM {members} m\nJOIN (\n"
            f"{rules}) e ON e.customer_id = m.customer_id\n"
            f"GROUP BY m.{group} ORDER BY m.{group}")


@dataclass
class Selection:
    """Which customers an audience starts from, before the consent rules."""

    run_id: str | None = None
    segment_id: int | None = None
    country: str | None = None
    min_churn_risk: float | None = None
    churn_run_id: str | None = None
    top_value_share: float | None = None       # top share of customers by predicted value
    clv_run_id: str | None = None
    sql_where: list[str] = field(default_factory=list)

    def describe(self) -> str:
        parts = []
        if self.segment_id is not None:
            parts.append(f"segment {self.segment_id} of run {self.run_id}")
        if self.country:
            parts.append(f"living in {self.country}")
        if self.min_churn_risk is not None:
            parts.append(f"churn risk >= {self.min_churn_risk:.0%}")
        if self.top_value_share is not None:
            parts.append(f"top {self.top_value_share:.0%} by predicted value")
        return ", ".join(parts) or "all customers"


def _selection_sql(sel: Selection, channel: str) -> str:
    s = ASSISTANT_SCHEMA
    joins, where = [], []
    seg_col = "CAST(NULL AS INTEGER)"
    run_col = "CAST(NULL AS VARCHAR)"
    if sel.segment_id is not None:
        joins.append(f"JOIN {s}.segment_members m ON m.customer_id = c.customer_id "
                     f"AND m.run_id = '{sel.run_id}' AND m.segment_id = {int(sel.segment_id)}")
        seg_col, run_col = "m.segment_id", "m.run_id"
    if sel.min_churn_risk is not None:
        joins.append(f"JOIN {s}.scores sc ON sc.customer_id = c.customer_id "
                     f"AND sc.run_id = '{sel.churn_run_id}'")
        where.append(f"sc.score >= {float(sel.min_churn_risk)}")
    if sel.top_value_share is not None:
        # the top share of the lifetime-value run's customers by expected spend (before the
        # consent rules: "the top 10% who may be emailed", not "10% of the emailable")
        joins.append(f"""JOIN (
    SELECT customer_id FROM {s}.clv_scores WHERE run_id = '{sel.clv_run_id}'
    QUALIFY row_number() OVER (ORDER BY expected_spend DESC, customer_id)
            <= ceil({float(sel.top_value_share)} * count(*) OVER ())
) v ON v.customer_id = c.customer_id""")
    if sel.country:
        where.append(f"c.country = '{sel.country}'")
    where_sql = ("WHERE " + " AND ".join(where)) if where else ""
    return f"""WITH eligibility AS (
{eligibility_sql(channel)})
SELECT c.customer_id, c.first_name, c.last_name, c.email, c.phone, c.preferred_language,
       c.country, {seg_col} AS segment_id, {run_col} AS run_id, e.exclusion,
       e.consent_updated_at
FROM customers c
JOIN eligibility e ON e.customer_id = c.customer_id
{chr(10).join(joins)}
{where_sql}
ORDER BY c.customer_id"""


def resolve_selection(wh: Warehouse, *, segment_id: int | None = None, run_id: str | None = None,
                      country: str | None = None, min_churn_risk: float | None = None,
                      top_value_share: float | None = None, state: dict | None = None
                      ) -> Selection:
    """Validate the filters and find the runs they refer to."""
    from tools.features import check_filters

    sel = Selection(country=check_filters(wh, country=country)[0] if country else None)
    if segment_id is not None:
        if run_id is None and state and state.get("last_segment_run"):
            run_id = state["last_segment_run"]
        run = get_run(wh, run_id, kinds=("segmentation", "rfm"))
        if run["source_table"] != "customers":
            raise InvalidArgument(f"run {run['run_id']} segmented the user table "
                                  f"{run['source_table']!r}, not the warehouse customers; "
                                  "audiences need warehouse customers")
        known = [r[0] for r in wh.rows(
            f"SELECT segment_id FROM {ASSISTANT_SCHEMA}.segments WHERE run_id = ? "
            "ORDER BY 1", [run["run_id"]])]
        if segment_id not in known:
            raise InvalidArgument(f"run {run['run_id']} has no segment {segment_id}; its "
                                  f"segments are {', '.join(map(str, known))}")
        sel.run_id, sel.segment_id = run["run_id"], int(segment_id)
    elif run_id is not None:
        raise InvalidArgument("run_id needs a segment_id too (which segment of that run?)")
    if min_churn_risk is not None:
        if not 0 <= min_churn_risk <= 1:
            raise InvalidArgument(f"min_churn_risk is a probability between 0 and 1, not "
                                  f"{min_churn_risk}")
        churn = get_run(wh, None, kinds=("churn",))
        sel.min_churn_risk, sel.churn_run_id = float(min_churn_risk), churn["run_id"]
    if top_value_share is not None:
        from tools.clv import latest_clv_run

        if not 0 < top_value_share <= 1:
            raise InvalidArgument(f"top_value_share is a share between 0 and 1 (0.1 = the top "
                                  f"10%), not {top_value_share}")
        clv_run = latest_clv_run(wh)
        if clv_run is None:
            raise RunNotFound("there is no lifetime-value prediction yet; predict lifetime "
                              "value first (\"who are our most valuable customers?\")")
        sel.top_value_share, sel.clv_run_id = float(top_value_share), clv_run
    return sel


@dataclass
class AudienceCounts:
    channel: str
    selected: int                 # customers matching the selection
    eligible: int                 # ... who may be contacted
    excluded: dict[str, int]      # reason -> customers, in rule order
    sql: str


def _select(wh: Warehouse, sel: Selection, channel: str) -> tuple[pd.DataFrame, str]:
    sql = _selection_sql(sel, channel)
    return wh.df(sql), sql


def audience_counts(wh: Warehouse, channel: str, *, segment_id: int | None = None,
                    run_id: str | None = None, country: str | None = None,
                    min_churn_risk: float | None = None,
                    top_value_share: float | None = None) -> AudienceCounts:
    """How many customers of the selection may be contacted on `channel`, and why not the rest."""
    channel = check_channel(channel)
    sel = resolve_selection(wh, segment_id=segment_id, run_id=run_id, country=country,
                            min_churn_risk=min_churn_risk, top_value_share=top_value_share)
    sql = _selection_sql(sel, channel)
    reasons = ", ".join(f"count(*) FILTER (WHERE exclusion = '{r}') AS {r}" for r in REASONS)
    row = wh.rows(f"SELECT count(*), count(*) FILTER (WHERE exclusion IS NULL), {reasons} "
                  f"FROM ({sql})")[0]
    return AudienceCounts(channel, int(row[0]), int(row[1]),
                          {r: int(n) for r, n in zip(REASONS, row[2:], strict=True)}, sql)


def write_csv_atomic(df: pd.DataFrame, target: Path) -> Path:
    """Write `df` as CSV atomically, text cells escaped so no spreadsheet runs them."""
    with atomic_path(target) as tmp:
        spreadsheet_safe(df).to_csv(tmp, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    return Path(target)


@dataclass
class Audience:
    audience_id: str
    name: str
    channel: str
    selection: Selection
    members: pd.DataFrame          # the export rows (personal data: for the person only)
    counts: AudienceCounts
    path: Path | None
    sql: str


def export_audience(wh: Warehouse, channel: str, *, segment_id: int | None = None,
                    run_id: str | None = None, country: str | None = None,
                    min_churn_risk: float | None = None, name: str | None = None,
                    top_value_share: float | None = None,
                    out: Path | None = None, output_dir: Path = Path("data/exports"),
                    state: dict | None = None, session: str = "", question: str = "",
                    save: bool = True) -> Audience:
    """Select, check consent, write the CSV (atomically) and record the audience."""
    channel = check_channel(channel)
    sel = resolve_selection(wh, segment_id=segment_id, run_id=run_id, country=country,
                            min_churn_risk=min_churn_risk, top_value_share=top_value_share,
                            state=state)
    if hasattr(wh, "write_csv"):   # Spark writes the file; the rows stay out of the driver
        return _export_in_engine(wh, sel, channel, name=name, out=out, output_dir=output_dir,
                                 session=session, question=question, save=save)
    rows, sql = _select(wh, sel, channel)
    if rows.empty:
        raise EmptyResult(f"no customers match the selection ({sel.describe()})")
    by = rows["exclusion"].value_counts(dropna=False)
    excluded = {r: int(by.get(r, 0)) for r in REASONS}
    members = rows[rows["exclusion"].isna()]
    counts = AudienceCounts(channel, len(rows), len(members), excluded, sql)
    audience_id = new_id("aud")
    name = name or f"{channel} {sel.describe()}"
    members = members.loc[:, list(EXPORT_COLUMNS[channel])].reset_index(drop=True)
    path = None
    if len(members):
        stem = f"{file_stem(name, 'audience')}-{audience_id}"
        path = Path(out) if out else Path(output_dir) / f"{stem}.csv"
        write_csv_atomic(members, path)
    _record(wh, save, audience_id, name, sel, channel, len(members), excluded, path, sql,
            session, question)
    return Audience(audience_id, name, channel, sel, members, counts, path, sql)


def _record(wh: Warehouse, save: bool, audience_id: str, name: str, sel: Selection,
            channel: str, size: int, excluded: dict[str, int], path: Path | None, sql: str,
            session: str, question: str) -> None:
    if not save or wh.read_only:
        return
    try:
        save_audience(wh, {
            "audience_id": audience_id, "created_at": datetime.now().replace(microsecond=0),
            "name": name, "run_id": sel.run_id, "segment_id": sel.segment_id,
            "channel": channel,
            "filters": {"country": sel.country, "min_churn_risk": sel.min_churn_risk,
                        "churn_run_id": sel.churn_run_id,
                        "top_value_share": sel.top_value_share,
                        "clv_run_id": sel.clv_run_id},
            "size": size, "exclusions": excluded,
            "file_path": str(path) if path else None, "selection_sql": sql,
            "session": session, "question": question})
    except BaseException:
        if path is not None:
            path.unlink(missing_ok=True)
        raise


def _export_in_engine(wh, sel: Selection, channel: str, *, name: str | None, out: Path | None,
                      output_dir: Path, session: str, question: str, save: bool) -> Audience:
    """export_audience on Spark: the counts computed there, the CSV written by Spark."""
    sql = _selection_sql(sel, channel)
    reasons = ", ".join(f"count(*) FILTER (WHERE exclusion = '{r}') AS {r}" for r in REASONS)
    row = wh.rows(f"SELECT count(*), count(*) FILTER (WHERE exclusion IS NULL), {reasons} "
                  f"FROM ({sql})")[0]
    if not row[0]:
        raise EmptyResult(f"no customers match the selection ({sel.describe()})")
    excluded = {r: int(n) for r, n in zip(REASONS, row[2:], strict=True)}
    counts = AudienceCounts(channel, int(row[0]), int(row[1]), excluded, sql)
    audience_id = new_id("aud")
    name = name or f"{channel} {sel.describe()}"
    columns = list(EXPORT_COLUMNS[channel])
    path = None
    if counts.eligible:
        stem = f"{file_stem(name, 'audience')}-{audience_id}"
        path = Path(out) if out else Path(output_dir) / f"{stem}.csv"
        wh.write_csv(f"SELECT {', '.join(columns)} FROM ({sql}) WHERE exclusion IS NULL "
                     "ORDER BY customer_id", path)
    _record(wh, save, audience_id, name, sel, channel, counts.eligible, excluded, path, sql,
            session, question)
    members = pd.DataFrame(columns=columns)   # written by Spark, not brought to the driver
    return Audience(audience_id, name, channel, sel, members, counts, path, sql)


def exclusion_table(counts: AudienceCounts) -> pd.DataFrame:
    rows = [{"reason": REASON_WORDS[r], "customers": n} for r, n in counts.excluded.items()]
    rows.append({"reason": "eligible (in the export)", "customers": counts.eligible})
    return pd.DataFrame(rows)


def build_audience(ctx: ToolContext, channel: Channel, segment_id: int | None = None,
                   run_id: str | None = None, country: str | None = None,
                   min_churn_risk: float | None = None, name: str | None = None,
                   top_value_share: float | None = None) -> ToolResult:
    """Build a consent-safe campaign audience for one channel and export it as CSV.

    Use this when the marketer wants a list of customers to contact (a segment, a country,
    customers at risk of churning). Only customers who granted the channel, did not object to
    profiling, are KYC-verified, hold an open account and have a contact address are included;
    the rest are counted by reason. The CSV (with contact details) goes to the person only.

    Args:
        channel: email, sms or push.
        segment_id: a segment of the latest segmentation run of this conversation (or of
            `run_id`); leave empty for a plain filter.
        run_id: the segmentation run the segment belongs to; default the latest.
        country: ISO-2 country of residence, e.g. "DE".
        min_churn_risk: keep customers whose latest churn score is at least this (0-1).
        name: a name for the audience.
        top_value_share: keep the top share of customers by predicted lifetime value, e.g.
            0.1 for "the top 10% predicted value" (uses the latest lifetime-value run).
    """
    aud = export_audience(ctx.wh, channel, segment_id=segment_id, run_id=run_id,
                          country=country, min_churn_risk=min_churn_risk, name=name,
                          top_value_share=top_value_share,
                          output_dir=ctx.output_dir, state=ctx.state, session=ctx.session,
                          question=ctx.question)
    c = aud.counts
    reasons = ", ".join(f"{n:,} {REASON_WORDS[r]}" for r, n in c.excluded.items() if n)
    summary = (f"Audience {aud.audience_id} for {aud.channel} ({aud.selection.describe()}): "
               f"{c.eligible:,} of {c.selected:,} customers may be contacted "
               f"({c.eligible / c.selected:.0%}). Excluded: {reasons or 'none'}. ")
    summary += ("The CSV is ready to download (not shown here: it holds contact details)."
                if aud.path else "Nobody may be contacted, so no file was written.")
    missing = missing_inputs(ctx.wh, aud.channel)
    if missing and c.eligible < c.selected:
        summary += (" The warehouse lacks what some rules check, so nobody passes them until it "
                    "is imported: " + "; ".join(missing) + ".")
    ctx.state["last_audience"] = aud.audience_id
    return ToolResult(
        summary=summary,
        tables=[TableResult("Who was left out and why", exclusion_table(c))],
        sql=[aud.sql],
        files=[aud.path] if aud.path else [],
        data={"audience_id": aud.audience_id, "eligible": c.eligible, "selected": c.selected,
              "excluded": c.excluded, "channel": aud.channel},
    )
