"""New data arriving, with or without a shift: scenarios for refresh and drift tests and benches.

`hold_back(path, days)` moves the last `days` of transactions and app events of a generated
warehouse into schema `holdback` (the warehouse then looks as it did `days` ago: train models on
it); `release(path, shift=...)` puts them back, as new data arriving, optionally changed first:
- "abroad": a seeded SHARE of the customers make every card payment of the new period online
  and abroad (a behaviour shift a travel segment and the international-share feature feel);
- None: the data as generated (no shift beyond what the generator itself does over time).
Opens its own unsandboxed handle; never used by the assistant itself.
"""

from __future__ import annotations

from pathlib import Path

from warehouse.connection import Warehouse

HELD = ("transactions", "app_events")
SHARE = 0.4


def hold_back(path: str | Path, days: int) -> str:
    """Move the last `days` of activity aside; returns the new reference timestamp."""
    with Warehouse.open(path, sandboxed=False) as wh, wh.transaction() as cur:
        cur.execute("CREATE SCHEMA IF NOT EXISTS holdback")
        end = cur.execute("SELECT max(ts) FROM transactions").fetchall()[0][0]
        cutoff = f"TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}' - INTERVAL {int(days)} DAY"
        for table in HELD:
            cur.execute(f"CREATE OR REPLACE TABLE holdback.{table} AS SELECT * FROM {table} "
                        f"WHERE ts > {cutoff}")
            cur.execute(f"DELETE FROM {table} WHERE ts > {cutoff}")
        new_end = cur.execute("SELECT max(ts) FROM transactions").fetchall()[0][0]
    return str(new_end)


def release(path: str | Path, *, shift: str | None = None, share: float = SHARE,
            seed: int = 1) -> int:
    """Put the held-back activity back (changed by `shift`); returns the rows released."""
    if shift not in (None, "abroad"):
        raise ValueError(f"unknown shift {shift!r}")
    with Warehouse.open(path, sandboxed=False) as wh, wh.transaction() as cur:
        if shift == "abroad":
            cur.execute(f"""UPDATE holdback.transactions SET is_international = true,
                                channel = 'online'
                            WHERE channel IN ('card_present', 'online')
                              AND hash(customer_id + {int(seed)}) % 1000 < {int(share * 1000)}""")
        released = 0
        for table in HELD:
            released += cur.execute(f"SELECT count(*) FROM holdback.{table}").fetchall()[0][0]
            cur.execute(f"INSERT INTO {table} SELECT * FROM holdback.{table}")
            cur.execute(f"DROP TABLE holdback.{table}")
        cur.execute("DROP SCHEMA holdback")
    return int(released)
