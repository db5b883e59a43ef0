"""One micro-batch of events, written in ONE transaction: all of it is committed or none of it.

`Pipeline.commit(events, source)` runs on the writer thread (tools/realtime/writer.py), the only
thread that writes events:

1. a messageId already in the event log is a duplicate (a re-delivery changes nothing); then
   the checks that need the warehouse: the customer exists, a given account is theirs, a given
   campaign exists, an explicit transaction_id is not taken; timestamps become the customer's
   local time; a timestamp more than a day in the future is refused;
2. the customer state moves to the new reference timestamp, the rows go to the contract tables
   (consents only change when the event is newer than what is stored, so late events cannot undo
   newer ones), and the state adds them;
3. the customers touched are re-assigned to a segment and re-scored (tools/realtime/scoring.py),
   then triggers decide (tools/realtime/triggers.py), writing the outbox in the same transaction;
4. last, the event log takes each messageId once (`INSERT ... ON CONFLICT DO NOTHING`, its key),
   stamped `committed_at` just before the COMMIT.

Nothing is acknowledged before the commit, so a crash at any point loses nothing that was
acknowledged and re-delivery after it doubles nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Protocol

import pandas as pd

from tools.realtime import state, tables
from tools.realtime.clock import Clock, naive_utc
from tools.realtime.localtime import local
from tools.realtime.mapping import Event, Rejection, log_json, stable_id
from warehouse.connection import Warehouse
from warehouse.contract import TABLES_BY_NAME

FUTURE_TOLERANCE = timedelta(days=1)


@dataclass
class BatchResult:
    """What became of the events of one submission."""

    accepted: list[str] = field(default_factory=list)       # messageIds committed now
    duplicates: list[str] = field(default_factory=list)     # seen before: nothing changed
    rejected: list[Rejection] = field(default_factory=list)
    fired: int = 0
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": len(self.accepted), "duplicates": len(self.duplicates),
                "rejected": [r.to_dict() for r in self.rejected]}


class BatchHook(Protocol):
    """Something that acts on a committed-to-be batch inside its transaction."""

    def on_batch(self, cur, events: list[Event], now: datetime) -> dict[str, int]: ...


class Pipeline:
    """The writer's work on one batch. Keeps the reference timestamp the state is exact at."""

    def __init__(self, wh: Warehouse, *, clock: Clock | None = None,
                 hooks: Sequence[BatchHook] = ()) -> None:
        self.wh = wh
        self.clock = clock or Clock()
        self.hooks = list(hooks)
        self.state_ok = False
        self.reference: datetime | None = None
        self._early: list[tuple[str, Rejection]] = []
        self.timings: dict[str, float] = {}   # seconds per step of the last batch

    # -- start -------------------------------------------------------------------------------
    def prepare(self, *, rebuild_stale: bool = True) -> None:
        """Create the tables; (re)build the customer state if it is missing or stale."""
        with self.wh.transaction() as cur:
            tables.ensure(cur)
        if state.current(self.wh) is None and rebuild_stale:
            state.build(self.wh)
        self.state_ok = state.current(self.wh) is not None
        m = state.meta(self.wh)
        self.reference = m["reference_ts"] if m and self.state_ok else self.wh.scalar(
            "SELECT max(ts) FROM transactions")

    def idle(self) -> None:
        """Between bursts (the writer calls it when nothing is queued): fold the state's
        increments into its base, so that reads stay cheap and no batch pays for it."""
        if self.state_ok:
            with self.wh.transaction() as cur:
                state.fold(cur)

    # -- one batch ---------------------------------------------------------------------------
    def commit(self, events: list[Event], source: str, received_at: datetime | None = None,
               rejected_early: list[tuple[str, Rejection]] = ()) -> BatchResult:
        """Write the events in one transaction (see the module docstring); `rejected_early`
        (source, rejection) are events refused before the writer, logged with the batch."""
        result = BatchResult()
        self._early = list(rejected_early)
        now = self.clock.now()
        received = naive_utc(received_at or now)
        seen: set[str] = set()
        unique = []
        for ev in events:   # the same messageId twice in one batch: the first counts
            if ev.message_id in seen:
                result.duplicates.append(ev.message_id)
            else:
                seen.add(ev.message_id)
                unique.append(ev)
        if not unique and not self._early:
            return result
        reference_before = self.reference
        try:
            self._commit(unique, source, received, now, result)
        except BaseException:
            self.reference = reference_before   # nothing was written
            raise
        return result

    def _commit(self, unique: list[Event], source: str, received: datetime, now: datetime,
                result: BatchResult) -> None:
        clock = time.perf_counter
        t = {"start": clock()}

        def lap(name: str) -> None:
            t[name] = clock()

        with self.wh.transaction() as cur:
            # re-deliveries first: a repeat is a duplicate, whatever else it would fail
            known = {r[0] for r in cur.execute(
                f"SELECT message_id FROM {tables.EVENTS} WHERE message_id IN "
                "(SELECT unnest(?))", [[e.message_id for e in unique]]).fetchall()}
            result.duplicates += [e.message_id for e in unique if e.message_id in known]
            unique = [e for e in unique if e.message_id not in known]
            fresh = self._check(cur, unique, now, result) if unique else []
            lap("check")
            if fresh:
                self._write(cur, fresh)
                lap("write")
                for hook in self.hooks:
                    counts = hook.on_batch(cur, fresh, now)
                    result.fired += counts.get("fired", 0)
                    result.skipped += counts.get("skipped", 0)
                    lap(type(hook).__name__)
            refused = [(source, r) for r in result.rejected] + self._early
            if refused:
                tables.insert_rows(cur, tables.REJECTS, [
                    [received, src, r.message_id, None, r.reason[:300]] for src, r in refused])
            # the event log last, stamped just before COMMIT: `committed_at` is when the batch's
            # rows, scores and decisions become visible, not when the batch started
            new = self._log(cur, fresh, source, received, naive_utc(self.clock.now()))
            if len(new) != len(fresh):   # the one writer filtered repeats above: never here
                raise RuntimeError("the event log refused messageIds the writer had not seen")
            lap("log")
            result.accepted = [e.message_id for e in fresh]
        lap("commit")
        names = list(t)
        self.timings = {b: round(t[b] - t[a], 4) for a, b in pairwise(names)}

    def _check(self, cur, events: list[Event], now: datetime, result: BatchResult
               ) -> list[Event]:
        ids = sorted({e.customer_id for e in events})
        found = dict(cur.execute("SELECT customer_id, country FROM customers WHERE "
                                 "customer_id IN (SELECT unnest(?))", [ids]).fetchall())
        accounts = sorted({e.row["account_id"] for e in events
                           if e.table == "transactions" and e.row.get("account_id")})
        owners = dict(cur.execute("SELECT account_id, customer_id FROM accounts WHERE "
                                  "account_id IN (SELECT unnest(?))", [accounts]).fetchall()
                      ) if accounts else {}
        campaigns = sorted({e.row["campaign_id"] for e in events
                            if e.table == "campaign_events"})
        channels = dict(cur.execute("SELECT campaign_id, channel FROM campaigns WHERE "
                                    "campaign_id IN (SELECT unnest(?))", [campaigns]).fetchall()
                        ) if campaigns else {}
        given = sorted({e.row["transaction_id"] for e in events
                        if e.table == "transactions" and e.row.get("transaction_id")})
        taken = {r[0] for r in cur.execute(
            "SELECT transaction_id FROM transactions WHERE transaction_id IN "
            "(SELECT unnest(?))", [given]).fetchall()} if given else set()
        valid = []
        latest: dict[str | None, datetime] = {}   # per country: the latest event time allowed
        for e in events:
            reason = None
            if e.customer_id not in found:
                reason = f"unknown customer {e.customer_id}: import the customer first"
            elif e.table == "transactions" and e.row.get("account_id") and \
                    owners.get(e.row["account_id"]) != e.customer_id:
                reason = (f"account {e.row['account_id']} does not exist" if
                          e.row["account_id"] not in owners else
                          f"account {e.row['account_id']} belongs to another customer")
            elif e.table == "campaign_events" and e.row["campaign_id"] not in channels:
                reason = f"unknown campaign {e.row['campaign_id']}"
            elif e.table == "transactions" and e.row.get("transaction_id") in taken:
                reason = (f"transaction_id {e.row['transaction_id']} is already in the "
                          "warehouse (from another messageId)")
            if reason is None:
                country = found[e.customer_id]
                if e.ts is None:
                    e.ts = local(now, country)
                elif e.aware:
                    e.ts = local(e.ts, country)
                    e.aware = False
                limit = latest.get(country)
                if limit is None:
                    limit = latest[country] = local(now, country) + FUTURE_TOLERANCE
                if e.ts > limit:
                    reason = f"timestamp {e.ts:%Y-%m-%d %H:%M} is in the future"
            if reason is not None:
                result.rejected.append(Rejection(e.index, e.message_id, reason, e.tag))
                continue
            e.properties.setdefault("_country", found[e.customer_id])
            if e.table == "campaign_events":
                e.properties["_channel"] = channels[e.row["campaign_id"]]
            valid.append(e)
        return valid

    def _log(self, cur, events: list[Event], source: str, received: datetime,
             committed: datetime) -> set[str]:
        if not events:
            return set()
        frame = pd.DataFrame({
            "message_id": [e.message_id for e in events],
            "received_at": received, "committed_at": committed,
            "ts": [e.ts for e in events],
            "customer_id": pd.array([e.customer_id for e in events], dtype="int64"),
            "event": [e.name for e in events], "target": [e.table for e in events],
            "source": [e.source or source for e in events],
            "properties": [e.logged if e.logged is not None else
                           log_json({k: v for k, v in e.properties.items()
                                     if not k.startswith("_")})
                           for e in events],
        })
        cur.register("__log", frame)
        try:
            rows = cur.execute(
                f"INSERT INTO {tables.EVENTS} SELECT message_id, received_at, committed_at, "
                "ts, customer_id, event, target, source, properties::JSON FROM __log "
                "ON CONFLICT DO NOTHING RETURNING message_id").fetchall()
        finally:
            cur.unregister("__log")
        return {r[0] for r in rows}

    def _write(self, cur, events: list[Event]) -> None:
        by_table: dict[str, list[Event]] = {}
        for e in events:
            by_table.setdefault(e.table, []).append(e)
        tx = by_table.get("transactions", [])
        old = self.reference
        new = max([old, *(e.ts for e in tx)] if old else [e.ts for e in tx], default=None)
        if self.state_ok and new is not None:
            state.slide(cur, old, new)
        staged = {}
        for name, key in (("transactions", "transaction_id"), ("app_events", "event_id"),
                          ("campaign_events", None)):
            rows = by_table.get(name, [])
            # staging tables shaped like the contract tables, one set per writer cursor
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS __b_{name} AS "
                        f"SELECT * FROM {name} LIMIT 0")
            cur.execute(f"DELETE FROM __b_{name}")
            staged[name] = bool(rows)
            if not rows:
                continue
            self._stage(cur, name, key, rows)
            cur.execute(f"INSERT INTO {name} SELECT * FROM __b_{name}")
        consents = by_table.get("consents", [])
        unsubscribes = [e for e in by_table.get("campaign_events", [])
                        if e.row["event"] == "unsubscribed" and
                        e.properties.get("_channel") in ("email", "sms", "push")]
        if consents or unsubscribes:
            self._consents(cur, consents, unsubscribes)
        if self.state_ok and new is not None:
            state.add(cur, new, "__b_transactions" if staged["transactions"] else None,
                      "__b_app_events" if staged["app_events"] else None)
            state.fold_if_large(cur)
            state.finish(cur, new)
        elif self.state_ok and staged["app_events"]:
            # no transaction yet: the app events wait for the first one
            state.add(cur, datetime(1970, 1, 1), None, "__b_app_events")
            state.finish(cur, None)
        self.reference = new

    def _stage(self, cur, name: str, key: str | None, rows: list[Event]) -> None:
        columns = TABLES_BY_NAME[name].column_names
        data: dict[str, list] = {}
        for c in columns:    # column by column (a dict per row cost more than the insert)
            if c == "customer_id":
                data[c] = [e.customer_id for e in rows]
            elif c == "ts":
                data[c] = [e.ts for e in rows]
            elif c == key:
                data[c] = [e.row.get(c) or stable_id(e.message_id) for e in rows]
            else:
                data[c] = [e.row.get(c) for e in rows]
        frame = pd.DataFrame(data)
        if "amount" in frame:
            frame["amount"] = frame["amount"].astype(str)
        cur.register("__rows", frame)
        try:
            cols = ", ".join(columns)
            cur.execute(f"INSERT INTO __b_{name} ({cols}) SELECT {cols} FROM __rows")
        finally:
            cur.unregister("__rows")

    def _consents(self, cur, consents: list[Event], unsubscribes: list[Event]) -> None:
        latest: dict[tuple[int, str], tuple] = {}
        for e in consents:
            row = (e.customer_id, e.row["purpose"], e.row["granted"], e.ts, e.row["source"],
                   e.row.get("jurisdiction") or jurisdiction(e.properties.get("_country")))
            key = row[:2]
            if key not in latest or latest[key][3] <= e.ts:
                latest[key] = row
        for e in unsubscribes:
            key = (e.customer_id, e.properties["_channel"])
            if key not in latest or latest[key][3] <= e.ts:
                latest[key] = (*key, False, e.ts, "unsubscribe_link",
                               jurisdiction(e.properties.get("_country")))
        frame = pd.DataFrame(list(latest.values()), columns=[
            "customer_id", "purpose", "granted", "updated_at", "source", "jurisdiction"])
        cur.register("__consents", frame)
        try:
            cur.execute("""UPDATE consents SET granted = n.granted, updated_at = n.updated_at,
                               source = n.source,
                               jurisdiction = coalesce(n.jurisdiction, consents.jurisdiction)
                           FROM __consents n
                           WHERE consents.customer_id = n.customer_id
                             AND consents.purpose = n.purpose
                             AND (consents.updated_at IS NULL
                                  OR consents.updated_at <= n.updated_at)""")
            cur.execute("""INSERT INTO consents (customer_id, purpose, granted, updated_at, source,
                                                 jurisdiction)
                           SELECT n.customer_id, n.purpose, n.granted, n.updated_at, n.source,
                                  n.jurisdiction
                           FROM __consents n
                           WHERE NOT EXISTS (SELECT 1 FROM consents k
                                             WHERE k.customer_id = n.customer_id
                                               AND k.purpose = n.purpose)""")
        finally:
            cur.unregister("__consents")


_GDPR = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU",
         "IE", "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI",
         "SK"}


def jurisdiction(country: str | None) -> str:
    """The privacy law of a new consent row when the event does not say (EEA and UK: GDPR;
    US: CCPA, the strictest state law the contract names)."""
    country = (country or "").upper()
    return "GDPR" if country in _GDPR else "CCPA" if country == "US" else "OTHER"
