"""The customer state: per-customer counters the behavioural features need, kept up to date
event by event instead of re-scanning every transaction.

`assistant.customer_state` (a view) gives one row per customer with exactly the counters of
`tools.features.TX_COUNTERS` and `EV_COUNTERS` (counts, sums, first and last timestamps, and the
30/90/180-day figures) as of the reference timestamp in `assistant.state_meta`. The features read
it (`feature_sql(state=...)`) and give the same values as from the raw tables; a test holds them
to it. `assistant.state_totals` holds the population sums of the counters (what the smoothed
shares' priors need), so that the features of a micro-batch's customers need no pass over
everyone's state.

Layout: the view is `customer_state_base` (one row per customer) plus the per-batch increments
appended to `customer_state_delta`. Updating a million-row table in place cost every micro-batch
0.5-0.7 s at 1M customers (DuckDB updates column by column, and the commit writes every touched
vector); an append costs milliseconds. `fold` adds the increments into the base and empties the
delta: when the writer is idle, before the windows slide, and when the delta passes
`FOLD_ROWS`.

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
from warehouse.contract import ASSISTANT_SCHEMA, PLATFORMS

S = ASSISTANT_SCHEMA
STATE = f"{S}.customer_state"            # the view read by the features: base + increments
BASE = f"{S}.customer_state_base"
DELTA = f"{S}.customer_state_delta"
TOTALS = f"{S}.state_totals"
META = f"{S}.state_meta"
PENDING = f"{S}.state_pending"
# Counted over every app event whatever its time (not windowed: never slid, never pending): the
# inputs of the contact rules that read app events, so that the segment cards' reach reads the
# state instead of every app event (`RULES`).
MOBILE = ("ios", "android")
EV_ALL_TIME: tuple[Counter, ...] = (
    Counter("n_mobile_events", "e",
            f"e.plat IN ({', '.join(str(PLATFORMS.index(p) + 1) for p in MOBILE)})"),
)
COUNTERS = TX_COUNTERS + EV_COUNTERS + EV_ALL_TIME
SUMS = tuple(c for c in COUNTERS if c.agg == "sum")
# the layout (version 2: base + delta + totals) and the counters held; another means a rebuild
SIGNATURE = "2:" + ",".join(c.name for c in COUNTERS)
FOLD_ROWS = 1_000_000
# Conditions of the semantic model's `marketable` rules (warehouse/semantic/bank.toml), by their
# exact text, that the state answers (alias c: a customers row): what `reach_sql(state=...)`
# reads instead. A changed rule text no longer matches and is evaluated on the raw tables again;
# a test holds each answer equal to its rule.
_MOBILE_LIST = ", ".join(f"'{p}'" for p in MOBILE)
RULES = {
    "EXISTS (SELECT 1 FROM app_events e WHERE e.customer_id = c.customer_id AND e.platform IN "
    f"({_MOBILE_LIST}))":
        f"EXISTS (SELECT 1 FROM {STATE} s WHERE s.customer_id = c.customer_id "
        "AND s.n_mobile_events > 0)",
}


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
    cte = {c.name: "txc" if c.of == "t" else "evc" for c in COUNTERS}
    cte.update({c.name: "allc" for c in EV_ALL_TIME})
    cols = ",\n       ".join(
        _zero(c, f"{cte[c.name]}.{c.name}") + f"::{_type(c)} AS {c.name}" for c in COUNTERS)
    _drop_state(cur)
    cur.execute(f"""CREATE OR REPLACE TABLE {BASE} AS
WITH txc AS (
SELECT t.customer_id,
       {_aggregates(TX_COUNTERS, lit)}
FROM {_relation('t', 'transactions', lit)} t GROUP BY t.customer_id),
evc AS (
SELECT e.customer_id,
       {_aggregates(EV_COUNTERS, lit)}
FROM {_relation('e', 'app_events', lit)} e GROUP BY e.customer_id),
allc AS (
SELECT e.customer_id,
       {_aggregates(EV_ALL_TIME, lit)}
FROM ({coded_sql('e', 'app_events')}) e GROUP BY e.customer_id)
SELECT c.customer_id,
       {cols}
FROM customers c
LEFT JOIN txc ON txc.customer_id = c.customer_id
LEFT JOIN evc ON evc.customer_id = c.customer_id
LEFT JOIN allc ON allc.customer_id = c.customer_id
ORDER BY c.customer_id""")
    typed = ", ".join(f"{c.name} {_type(c)}" for c in COUNTERS)
    cur.execute(f"CREATE OR REPLACE TABLE {DELTA} (customer_id BIGINT, {typed})")
    cur.execute(f"CREATE OR REPLACE TABLE {TOTALS} AS SELECT " + ", ".join(
        f"coalesce(sum({c.name}), 0)::{_type(c)} AS {c.name}" for c in SUMS) + f" FROM {BASE}")
    cur.execute(f"CREATE VIEW {STATE} AS {_view_sql()}")
    cur.execute(f"COMMENT ON VIEW {STATE} IS 'Per-customer counters behind the behavioural "
                "features (counts, sums, first and last timestamps, 30/90/180-day figures), "
                "kept up to date by the event writer; as of assistant.state_meta.reference_ts.'")
    cur.execute(f"COMMENT ON TABLE {BASE} IS 'The customer state as of its last fold "
                "(assistant.customer_state adds the increments since).'")
    cur.execute(f"COMMENT ON TABLE {DELTA} IS 'Increments of the customer state appended by "
                "the event writer since the last fold, one row per customer and batch.'")
    cur.execute(f"COMMENT ON TABLE {TOTALS} IS 'Sums of the customer state counters over all "
                "customers (the population shares the smoothed features shrink towards).'")
    for table in (STATE, BASE, DELTA):
        _comment_columns(cur, table)
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


def _drop_state(cur) -> None:
    """Drop the state view (or the table it was before the base/delta layout)."""
    kind = cur.execute("SELECT 'VIEW' FROM duckdb_views() WHERE schema_name = ? AND view_name = "
                       "'customer_state' UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE "
                       "schema_name = ? AND table_name = 'customer_state'", [S, S]).fetchall()
    for (k,) in kind:
        cur.execute(f"DROP {k} {STATE}")


def _view_sql(only: str | None = None) -> str:
    """The state as the base plus the increments not folded yet (every customer with an
    increment has a base row: `_add_delta` makes it); with `only` (a relation of customer_id),
    for those customers alone, each table narrowed before the join."""
    outer, inner = [], []
    for c in COUNTERS:
        if c.agg == "sum":
            inner.append(f"sum({c.name}) AS {c.name}")
            outer.append(f"(b.{c.name} + coalesce(d.{c.name}, 0))::{_type(c)} AS {c.name}")
        else:
            inner.append(f"{c.agg}({c.name}) AS {c.name}")
            pick = "least" if c.agg == "min" else "greatest"
            outer.append(f"{pick}(b.{c.name}, d.{c.name}) AS {c.name}")
    where = f" WHERE customer_id IN (SELECT customer_id FROM {only})" if only else ""
    base = f"(SELECT * FROM {BASE}{where})" if only else BASE
    return (f"SELECT b.customer_id, {', '.join(outer)}\nFROM {base} b\nLEFT JOIN (SELECT "
            f"customer_id, {', '.join(inner)} FROM {DELTA}{where} GROUP BY customer_id) d "
            "ON d.customer_id = b.customer_id")


def rows_of(only: str) -> str:
    """The state of the customers in `only` (a relation of customer_id), as a parenthesised
    query to read instead of the view (cheaper than filtering the whole view)."""
    return "(" + _view_sql(only).replace("\n", " ") + ")"


def _comment_columns(cur, table: str) -> None:
    """Every column says what it holds (the model and people read the comments)."""
    for c in COUNTERS:
        rows = "transactions" if c.of == "t" else "app events"
        what = {"min": f"First {rows[:-1]} time", "max": f"Last {rows[:-1]} time"}.get(
            c.agg, f"{'Sum of amount of' if c.value else 'Count of'} {rows}")
        test = f" where {c.test}" if c.test else ""
        when = "ever (any time)" if c in EV_ALL_TIME else _WINDOW_WORDS[c.window]
        text = f"{what} {when}{test} (coded as in the feature SQL)."
        cur.execute(f"COMMENT ON COLUMN {table}.{c.name} IS {_quote(text)}")
    cur.execute(f"COMMENT ON COLUMN {table}.customer_id IS 'Customer, references "
                "customers.customer_id.'")
    if table != STATE:
        return
    for meta_table, cols in _META_COMMENTS.items():
        for col, text in cols.items():
            cur.execute(f"COMMENT ON COLUMN {meta_table}.{col} IS {_quote(text)}")


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
        fold(cur)           # the windows slide on the base
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
            cur.execute(f"UPDATE {BASE} s SET {sets} FROM __slide d "
                        "WHERE s.customer_id = d.customer_id")
            _add_totals(cur, "__slide", counters)
            # first timestamps that left the lookback window: the earliest one still in it
            cur.execute(f"""UPDATE {BASE} s SET {first} = f.first
FROM (SELECT s.customer_id, (SELECT min(x.ts) FROM {table} x WHERE x.customer_id = s.customer_id
             AND x.ts >= {new['since']} AND x.ts <= {old['as_of']}) AS first
      FROM {BASE} s WHERE s.{first} < {new['since']}) f
WHERE s.customer_id = f.customer_id""")
            if of == "t":
                cur.execute(f"UPDATE {BASE} SET last_ts = NULL WHERE last_ts < {new['since']}")
        cur.execute("DROP TABLE IF EXISTS __slide")
    # app events that waited for a transaction at or after them
    cur.execute(f"""CREATE OR REPLACE TEMP TABLE __entering AS
SELECT customer_id, ts, kind, plat FROM {PENDING}
WHERE ts <= {new['as_of']}""")
    if cur.execute("SELECT count(*) FROM __entering").fetchall()[0][0]:
        cur.execute(f"DELETE FROM {PENDING} WHERE ts <= {new['as_of']}")
        _add_delta(cur, EV_COUNTERS,
                   f"(SELECT * FROM __entering e WHERE e.ts >= {new['since']})", "e", new)
    cur.execute("DROP TABLE IF EXISTS __entering")


def add(cur, new_ref: datetime, transactions: str | None, app_events: str | None) -> None:
    """Add the batch rows (relations shaped like the contract tables) at `new_ref`."""
    lit = _literals(new_ref, LOOKBACK_DAYS)
    if transactions:
        _add_delta(cur, TX_COUNTERS, _relation("t", transactions, lit), "t", lit)
    if app_events:
        _add_delta(cur, EV_COUNTERS, _relation("e", app_events, lit), "e", lit)
        # whatever their time: counted at once (never pending, never slid)
        _add_delta(cur, EV_ALL_TIME, f"({coded_sql('e', app_events)})", "e", lit)
        cur.execute(f"INSERT INTO {PENDING} SELECT customer_id, ts, kind, plat FROM "
                    f"({coded_sql('e', app_events)}) WHERE ts > {lit['as_of']}")


def _add_delta(cur, counters: tuple[Counter, ...], relation: str, of: str,
               lit: dict[str, str]) -> None:
    """Append the counters of the coded rows in `relation` as increments (customers without a
    base row get one, at zero), and add them to the totals."""
    cur.execute(f"""CREATE OR REPLACE TEMP TABLE __add AS
SELECT {of}.customer_id,
       {_aggregates(counters, lit)}
FROM {relation} {of} GROUP BY {of}.customer_id""")
    zeros = ", ".join("NULL" if _type(c) == "TIMESTAMP" else "0" for c in COUNTERS)
    cur.execute(f"INSERT INTO {BASE} (customer_id, {', '.join(c.name for c in COUNTERS)}) "
                f"SELECT customer_id, {zeros} FROM __add WHERE customer_id NOT IN "
                f"(SELECT customer_id FROM {BASE} WHERE customer_id IN "
                "(SELECT customer_id FROM __add))")
    names = ", ".join(c.name for c in counters)
    cur.execute(f"INSERT INTO {DELTA} (customer_id, {names}) SELECT customer_id, {names} "
                "FROM __add")
    _add_totals(cur, "__add", counters)
    cur.execute("DROP TABLE __add")


def _add_totals(cur, relation: str, counters: tuple[Counter, ...]) -> None:
    """Add the column sums of `relation` (increments per customer) to the population totals."""
    sums = [c for c in counters if c.agg == "sum"]
    sets = ", ".join(f"{c.name} = t.{c.name} + a.{c.name}" for c in sums)
    cur.execute(f"UPDATE {TOTALS} t SET {sets} FROM (SELECT " + ", ".join(
        f"coalesce(sum({c.name}), 0) AS {c.name}" for c in sums) + f" FROM {relation}) a")


def fold(cur) -> int:
    """Add the increments into the base and empty the delta; returns the rows folded."""
    n = cur.execute(f"SELECT count(*) FROM {DELTA}").fetchall()[0][0]
    if not n:
        return 0
    aggs = ", ".join(f"{'sum' if c.agg == 'sum' else c.agg}({c.name}) AS {c.name}"
                     for c in COUNTERS)
    sets = []
    for c in COUNTERS:
        if c.agg == "sum":
            sets.append(f"{c.name} = s.{c.name} + coalesce(f.{c.name}, 0)")
        else:
            pick = "least" if c.agg == "min" else "greatest"
            sets.append(f"{c.name} = {pick}(s.{c.name}, f.{c.name})")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE __fold AS SELECT customer_id, {aggs} "
                f"FROM {DELTA} GROUP BY customer_id")
    cur.execute(f"UPDATE {BASE} s SET {', '.join(sets)} FROM __fold f "
                "WHERE s.customer_id = f.customer_id")
    cur.execute(f"DELETE FROM {DELTA}")
    cur.execute("DROP TABLE __fold")
    return int(n)


def fold_if_large(cur) -> int:
    """Fold when the delta passes FOLD_ROWS (reading it stays cheap)."""
    n = cur.execute(f"SELECT count(*) FROM {DELTA}").fetchall()[0][0]
    return fold(cur) if n >= FOLD_ROWS else 0


def finish(cur, new_ref: datetime | None) -> None:
    """Record that the state is exact at `new_ref` with the tables as they are now."""
    _write_meta(cur, new_ref)
