"""The customer state: per-customer counters the behavioural features need, kept up to date
event by event instead of re-scanning every transaction.

`assistant.customer_state` holds one row per customer with exactly the counters of
`tools.features.TX_COUNTERS` and `EV_COUNTERS` (counts, sums, first and last timestamps, and the
30/90/180-day figures) as of the reference timestamp in `assistant.state_meta`. The features read
it (`feature_sql(state=...)`) and give the same values as from the raw tables; a test holds them
to it.

How it stays exact:
- `build` computes it in one pass (after `init` or an import);
- for a micro-batch, `slide` first moves the windows to the new reference timestamp (only when
  the reference *date* changes: windows are whole days; it subtracts the days that left each
  window, read from the raw tables, and re-reads first timestamps that fell out), then the batch
  rows are added with `add` (an app event later than the latest transaction waits in
  `assistant.state_pending` until a transaction catches up, as the raw features ignore it until
  then);
- `current` says whether the state matches the warehouse (reference timestamp and row counts);
  anything written past the writer (an import) makes it stale, and features fall back to the raw
  tables until it is rebuilt: a stale state is never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tools.features import (
    EV_COUNTERS,
    LOOKBACK_DAYS,
    TX_COUNTERS,
    Counter,
    _literals,
    coded_sql,
    counter_sql,
    counter_test,
)
from warehouse.connection import Warehouse
from warehouse.contract import ASSISTANT_SCHEMA

S = ASSISTANT_SCHEMA
STATE = f"{S}.customer_state"
META = f"{S}.state_meta"
PENDING = f"{S}.state_pending"
SIGNATURE = ",".join(c.name for c in TX_COUNTERS + EV_COUNTERS)


def _type(c: Counter) -> str:
    if c.agg in ("min", "max"):
        return "TIMESTAMP"
    return "DECIMAL(38,2)" if c.value else "BIGINT"


def _zero(c: Counter, expr: str) -> str:
    return expr if c.agg in ("min", "max") else f"coalesce({expr}, 0)"


def _aggregates(counters: tuple[Counter, ...], lit: dict[str, str]) -> str:
    return ",\n       ".join(f"{counter_sql(c).format(**lit)} AS {c.name}" for c in counters)


def _relation(of: str, source: str, lit: dict[str, str], upper: bool = True) -> str:
    bound = f" AND {of}.ts <= {lit['as_of']}" if upper else ""
    return f"({coded_sql(of, source)} WHERE {of}.ts >= {lit['since']}{bound})"


@dataclass
class StateInfo:
    reference_ts: datetime | None
    customers: int
    seconds: float = 0.0


def _meta_ddl(cur) -> None:
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {S}")
    cur.execute(f"""CREATE TABLE IF NOT EXISTS {META} (
        reference_ts TIMESTAMP, lookback_days INTEGER, transactions BIGINT, app_events BIGINT,
        signature VARCHAR, built_at TIMESTAMP, updated_at TIMESTAMP)""")
    cur.execute(f"""CREATE TABLE IF NOT EXISTS {PENDING} (
        customer_id BIGINT, ts TIMESTAMP, kind INTEGER, plat INTEGER)""")


def build(wh: Warehouse, cur=None) -> StateInfo:
    """(Re)build the customer state from the raw tables in one pass, atomically."""
    import time

    started = time.perf_counter()
    if cur is None:
        with wh.transaction() as tx_cur:
            return build(wh, tx_cur)
    _meta_ddl(cur)
    ref = cur.execute("SELECT max(ts) FROM transactions").fetchall()[0][0]
    # no transactions yet: an empty window (nothing is read before the first transaction)
    lit = _literals(ref or datetime(1970, 1, 1), LOOKBACK_DAYS)
    cols = ",\n       ".join(
        _zero(c, f"{'txc' if c.of == 't' else 'evc'}.{c.name}") + f"::{_type(c)} AS {c.name}"
        for c in TX_COUNTERS + EV_COUNTERS)
    cur.execute(f"""CREATE OR REPLACE TABLE {STATE} AS
WITH txc AS (
SELECT t.customer_id,
       {_aggregates(TX_COUNTERS, lit)}
FROM {_relation('t', 'transactions', lit)} t GROUP BY t.customer_id),
evc AS (
SELECT e.customer_id,
       {_aggregates(EV_COUNTERS, lit)}
FROM {_relation('e', 'app_events', lit)} e GROUP BY e.customer_id)
SELECT c.customer_id,
       {cols}
FROM customers c
LEFT JOIN txc ON txc.customer_id = c.customer_id
LEFT JOIN evc ON evc.customer_id = c.customer_id
ORDER BY c.customer_id""")
    cur.execute(f"COMMENT ON TABLE {STATE} IS 'Per-customer counters behind the behavioural "
                "features (counts, sums, first and last timestamps, 30/90/180-day figures), "
                "kept up to date by the event writer; as of assistant.state_meta.reference_ts.'")
    _comment_columns(cur)
    cur.execute(f"DELETE FROM {PENDING}")
    if ref is not None:
        cur.execute(f"INSERT INTO {PENDING} SELECT customer_id, ts, kind, plat FROM "
                    f"({coded_sql('e', 'app_events')}) WHERE ts > {lit['as_of']}")
    _write_meta(cur, ref, built=True)
    n = cur.execute(f"SELECT count(*) FROM {STATE}").fetchall()[0][0]
    return StateInfo(ref, int(n), time.perf_counter() - started)


_WINDOW_WORDS = {"year": "in the lookback window (the reference date and the 364 days before)",
                 "w30": "in the last 30 days", "w90": "in the last 90 days",
                 "prev90": "in the 90 days before the last 90",
                 "w90_30": "between 90 and 30 days ago"}
_META_COMMENTS = {
    META: {"reference_ts": "The reference timestamp the state is exact at.",
           "lookback_days": "Days in the lookback window.",
           "transactions": "Rows in transactions when the state was last updated.",
           "app_events": "Rows in app_events when the state was last updated.",
           "signature": "The counters held (a changed list means a rebuild).",
           "built_at": "When it was last built in one pass.",
           "updated_at": "When the writer last updated it."},
    PENDING: {"customer_id": "Customer.", "ts": "Event time (after the latest transaction).",
              "kind": "Event type code (see the feature SQL's legend).",
              "plat": "Platform code (see the feature SQL's legend)."},
}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _comment_columns(cur) -> None:
    """Every column says what it holds (the model and people read the comments)."""
    for c in TX_COUNTERS + EV_COUNTERS:
        rows = "transactions" if c.of == "t" else "app events"
        what = {"min": f"First {rows[:-1]} time", "max": f"Last {rows[:-1]} time"}.get(
            c.agg, f"{'Sum of amount of' if c.value else 'Count of'} {rows}")
        test = f" where {c.test}" if c.test else ""
        text = f"{what} {_WINDOW_WORDS[c.window]}{test} (coded as in the feature SQL)."
        cur.execute(f"COMMENT ON COLUMN {STATE}.{c.name} IS {_quote(text)}")
    cur.execute(f"COMMENT ON COLUMN {STATE}.customer_id IS 'Customer, references "
                "customers.customer_id.'")
    for table, cols in _META_COMMENTS.items():
        for col, text in cols.items():
            cur.execute(f"COMMENT ON COLUMN {table}.{col} IS {_quote(text)}")


def _write_meta(cur, ref: datetime | None, *, built: bool = False) -> None:
    counts = cur.execute("SELECT (SELECT count(*) FROM transactions), "
                         "(SELECT count(*) FROM app_events)").fetchall()[0]
    now = datetime.now().replace(microsecond=0)
    if built:
        cur.execute(f"DELETE FROM {META}")
        cur.execute(f"INSERT INTO {META} VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [ref, LOOKBACK_DAYS, counts[0], counts[1], SIGNATURE, now, now])
    else:
        cur.execute(f"UPDATE {META} SET reference_ts = ?, transactions = ?, app_events = ?, "
                    "updated_at = ?", [ref, counts[0], counts[1], now])


def meta(wh: Warehouse, cur=None) -> dict | None:
    """The state's meta row, or None when there is no state."""
    if not wh.has_table("state_meta", S):
        return None
    run = cur.execute if cur is not None else wh.execute
    rows = run(f"SELECT reference_ts, lookback_days, transactions, app_events, signature, "
               f"built_at, updated_at FROM {META}").fetchall()
    if not rows:
        return None
    keys = ("reference_ts", "lookback_days", "transactions", "app_events", "signature",
            "built_at", "updated_at")
    return dict(zip(keys, rows[0], strict=True))


def current(wh: Warehouse) -> str | None:
    """The state table when it matches the warehouse as it is now, else None (read the raw
    tables)."""
    m = meta(wh)
    if m is None or m["signature"] != SIGNATURE or m["lookback_days"] != LOOKBACK_DAYS:
        return None
    now = wh.rows("SELECT (SELECT max(ts) FROM transactions), (SELECT count(*) FROM "
                  "transactions), (SELECT count(*) FROM app_events)")[0]
    if (now[0], now[1], now[2]) != (m["reference_ts"], m["transactions"], m["app_events"]):
        return None
    return STATE


# -- per micro-batch -----------------------------------------------------------------------------
def _delta(counters: tuple[Counter, ...], old: dict[str, str], new: dict[str, str]) -> str:
    """Per counter: its value over the rows at the new reference minus at the old one."""
    out = []
    for c in counters:
        if c.agg in ("min", "max"):
            continue
        tests = []
        for lit in (new, old):
            inner = counter_test(c).format(**lit)
            tests.append(f"{c.of}.ts >= {lit['since']}" + (f" AND {inner}" if inner else ""))
        if c.value:
            out.append(f"sum(if({tests[0]}, {c.of}.{c.value}, 0)) - "
                       f"sum(if({tests[1]}, {c.of}.{c.value}, 0)) AS {c.name}")
        else:
            out.append(f"count_if({tests[0]}) - count_if({tests[1]}) AS {c.name}")
    return ",\n       ".join(out)


def slide(cur, old_ref: datetime | None, new_ref: datetime) -> None:
    """Move the windows from `old_ref` to `new_ref` (call before the batch's raw rows are
    written): days that left a window are subtracted, waiting app events that are no longer
    later than the reference are added."""
    if old_ref is None:
        return
    new = _literals(new_ref, LOOKBACK_DAYS)
    if new_ref.date() > old_ref.date():
        old = _literals(old_ref, LOOKBACK_DAYS)
        for of, table, counters, first in (("t", "transactions", TX_COUNTERS, "first_ts"),
                                           ("e", "app_events", EV_COUNTERS, "first_event_ts")):
            slices = " OR ".join(f"({of}.ts >= {old[k]} AND {of}.ts < {new[k]})"
                                 for k in ("since", "w30", "w90", "w180"))
            cols = [c.name for c in counters if c.agg == "sum"]
            cur.execute(f"""CREATE OR REPLACE TEMP TABLE __slide AS
SELECT {of}.customer_id,
       {_delta(counters, old, new)}
FROM ({coded_sql(of, table)} WHERE {of}.ts <= {old['as_of']}) {of}
WHERE {slices}
GROUP BY {of}.customer_id""")
            sets = ", ".join(f"{n} = s.{n} + d.{n}" for n in cols)
            cur.execute(f"UPDATE {STATE} s SET {sets} FROM __slide d "
                        "WHERE s.customer_id = d.customer_id")
            # first timestamps that left the lookback window: the earliest one still in it
            cur.execute(f"""UPDATE {STATE} s SET {first} = f.first
FROM (SELECT s.customer_id, (SELECT min(x.ts) FROM {table} x WHERE x.customer_id = s.customer_id
             AND x.ts >= {new['since']} AND x.ts <= {old['as_of']}) AS first
      FROM {STATE} s WHERE s.{first} < {new['since']}) f
WHERE s.customer_id = f.customer_id""")
            if of == "t":
                cur.execute(f"UPDATE {STATE} SET last_ts = NULL WHERE last_ts < {new['since']}")
        cur.execute("DROP TABLE IF EXISTS __slide")
    # app events that waited for a transaction at or after them
    cur.execute(f"""CREATE OR REPLACE TEMP TABLE __entering AS
SELECT customer_id, ts, kind, plat FROM {PENDING}
WHERE ts <= {new['as_of']}""")
    if cur.execute("SELECT count(*) FROM __entering").fetchall()[0][0]:
        cur.execute(f"DELETE FROM {PENDING} WHERE ts <= {new['as_of']}")
        _merge(cur, EV_COUNTERS, f"(SELECT * FROM __entering e WHERE e.ts >= {new['since']})",
               "e", new)
    cur.execute("DROP TABLE IF EXISTS __entering")


def add(cur, new_ref: datetime, transactions: str | None, app_events: str | None) -> None:
    """Add the batch rows (relations shaped like the contract tables) at `new_ref`."""
    lit = _literals(new_ref, LOOKBACK_DAYS)
    if transactions:
        _merge(cur, TX_COUNTERS, _relation("t", transactions, lit), "t", lit)
    if app_events:
        _merge(cur, EV_COUNTERS, _relation("e", app_events, lit), "e", lit)
        cur.execute(f"INSERT INTO {PENDING} SELECT customer_id, ts, kind, plat FROM "
                    f"({coded_sql('e', app_events)}) WHERE ts > {lit['as_of']}")


def _merge(cur, counters: tuple[Counter, ...], relation: str, of: str,
           lit: dict[str, str]) -> None:
    """Add the counters of the coded rows in `relation` to the state (new customers get a
    row)."""
    names = [c.name for c in TX_COUNTERS + EV_COUNTERS]
    mine = {c.name: c for c in counters}
    sets = []
    for c in counters:
        if c.agg == "min":
            sets.append(f"{c.name} = least(s.{c.name}, d.{c.name})")
        elif c.agg == "max":
            sets.append(f"{c.name} = greatest(s.{c.name}, d.{c.name})")
        else:
            sets.append(f"{c.name} = s.{c.name} + d.{c.name}")
    inserted = ", ".join(
        f"d.{n}" if n in mine else ("NULL" if _type(c) == "TIMESTAMP" else "0")
        for n, c in zip(names, TX_COUNTERS + EV_COUNTERS, strict=True))
    cur.execute(f"""MERGE INTO {STATE} s
USING (SELECT {of}.customer_id,
       {_aggregates(counters, lit)}
       FROM {relation} {of} GROUP BY {of}.customer_id) d
ON s.customer_id = d.customer_id
WHEN MATCHED THEN UPDATE SET {', '.join(sets)}
WHEN NOT MATCHED THEN INSERT (customer_id, {', '.join(names)})
     VALUES (d.customer_id, {inserted})""")


def finish(cur, new_ref: datetime | None) -> None:
    """Record that the state is exact at `new_ref` with the tables as they are now."""
    _write_meta(cur, new_ref)
