"""Build the default warehouse: a seeded synthetic fintech population, written chunk by chunk.

The file is built under a temporary name and moved into place only when complete, so a failed or
interrupted build never leaves a half-written warehouse. The hidden persona of each customer goes
to a separate ground-truth Parquet file that no tool reads.
"""

from __future__ import annotations

import glob
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse import origin, schema
from warehouse.connection import Warehouse
from warehouse.contract import PRODUCTS, TABLES
from warehouse.errors import AssistantError
from warehouse.personas import PERSONA_KEYS
from warehouse.synth import accounts, customers, events, marketing, transactions
from warehouse.synth.common import NEVER, Calendar

DEFAULT_END_DATE = "2026-10-31"
DEFAULT_MONTHS = 18
CHUNK_SIZE = 25_000  # customers per chunk; fixed, because the output depends on it

_INSERT_CUSTOMERS = """
INSERT INTO customers
SELECT customer_id, first_name, last_name,
       lower(regexp_replace(strip_accents(first_name), '[^A-Za-z]', '', 'g')) || '.' ||
       lower(regexp_replace(strip_accents(last_name), '[^A-Za-z]', '', 'g')) ||
       CAST(customer_id AS VARCHAR) || '@' || email_domain AS email,
       CASE WHEN phone_number IS NOT NULL
            THEN phone_prefix || CAST(phone_number AS VARCHAR) END AS phone,
       birth_date, gender, country, region, city, signup_date, acquisition_channel,
       income_band, employment_status, preferred_language, kyc_status
FROM chunk
"""


def truth_path(warehouse_path: str | Path) -> Path:
    """Where the ground truth of a generated warehouse is kept (next to it, not inside it)."""
    return origin.truth_file(warehouse_path)


@dataclass
class GenerationReport:
    path: Path
    customers: int
    seed: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _insert(wh: Warehouse, table: str, data: pa.Table, sql: str | None = None) -> None:
    wh.register("chunk", data)
    try:
        wh.execute(sql or f"INSERT INTO {table} BY NAME SELECT * FROM chunk")
    finally:
        wh.unregister("chunk")


def _check_target(path: Path, force: bool) -> None:
    if path.exists():
        if not force:
            raise AssistantError(
                f"a warehouse already exists at {path}; pass --force to replace it (its data, "
                "imports and saved segment runs are lost)"
            )
        Warehouse.open(path, sandboxed=False).close()  # raises WarehouseBusy if in use


def create_empty(path: str | Path, *, force: bool = False) -> Path:
    """An empty warehouse at `path`: the contract's tables and views, no rows, marked as the
    user's own (imports go straight in). Built under a temporary name, moved into place."""
    path = Path(path)
    _check_target(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.building-{os.getpid()}")
    for leftover in (tmp, Path(str(tmp) + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        with Warehouse.open(tmp, sandboxed=False, must_exist=False) as wh:
            schema.apply(wh.cursor())
            origin.record(wh.cursor(), "own", created="empty")
            wh.execute("CHECKPOINT")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    truth_path(path).unlink(missing_ok=True)   # a demo's ground truth must not outlive it
    os.replace(tmp, path)
    return path


def generate(path: str | Path, *, customers_n: int = 20_000, seed: int = 42,
             end_date: str = DEFAULT_END_DATE, months: int = DEFAULT_MONTHS, force: bool = False,
             progress: Callable[[int, int], None] | None = None) -> GenerationReport:
    """Generate a warehouse of `customers_n` customers at `path`; same seed, same data."""
    if customers_n < 1:
        raise AssistantError("the number of customers must be at least 1")
    path = Path(path)
    _check_target(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_builds(path)
    tmp = path.with_name(f".{path.name}.building-{os.getpid()}")
    truth_tmp = truth_path(path).with_name(f".{truth_path(path).name}.building-{os.getpid()}")
    temporary = (tmp, Path(str(tmp) + ".wal"), truth_tmp)
    for leftover in temporary:
        leftover.unlink(missing_ok=True)
    with _cleaned_on_any_exit(temporary):
        return _build(path, tmp, truth_tmp, customers_n=customers_n, seed=seed,
                      end_date=end_date, months=months, progress=progress)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_builds(path: Path) -> list[Path]:
    """Remove the temporary files of builds of `path` whose process is gone (a killed init)."""
    removed = []
    pattern = re.compile(r"\.building-(\d+)(\.wal)?$")
    for name in (path.name, truth_path(path).name):
        for leftover in path.parent.glob(f".{glob.escape(name)}.building-*"):
            m = pattern.search(leftover.name)
            if m and int(m.group(1)) != os.getpid() and not _pid_alive(int(m.group(1))):
                leftover.unlink(missing_ok=True)
                removed.append(leftover)
    return removed


@contextmanager
def _cleaned_on_any_exit(paths: tuple[Path, ...]) -> Iterator[None]:
    """Remove `paths` when the block fails or the process is asked to stop (SIGTERM, Ctrl-C);
    a SIGKILL cannot be caught: `remove_stale_builds` clears those on the next run."""
    previous = None
    if threading.current_thread() is threading.main_thread():
        def stop(signum, frame):
            raise SystemExit(128 + signum)
        previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except BaseException:
        for p in paths:
            p.unlink(missing_ok=True)
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _build(path: Path, tmp: Path, truth_tmp: Path, *, customers_n: int, seed: int,
           end_date: str, months: int, progress) -> GenerationReport:

    started = time.perf_counter()
    cal = Calendar.ending(np.datetime64(end_date), months)
    camps = marketing.campaigns(cal)
    truth: list[pa.Table] = []
    wh = Warehouse.open(tmp, sandboxed=False, must_exist=False)
    try:
        schema.apply(wh.cursor())
        _insert(wh, "campaigns", marketing.campaigns_table(camps))
        tx_next, ev_next = 1, 1
        done = 0
        for k, first in enumerate(range(0, customers_n, CHUNK_SIZE)):
            n = min(CHUNK_SIZE, customers_n - first)
            rng = np.random.default_rng([seed, k])
            ch = customers.draw(rng, first + 1, n, cal)
            _insert(wh, "customers", customers.table(rng, ch), _INSERT_CUSTOMERS)
            hold, acc = accounts.draw(rng, ch, cal)
            _insert(wh, "accounts", acc)
            tx = transactions.draw(rng, ch, hold, cal, tx_next)
            tx_next += tx.num_rows
            _insert(wh, "transactions", tx)
            del tx
            checking = PRODUCTS.index("checking")
            active_end = np.minimum(np.minimum(ch.churn_at, hold.closed[:, checking]), cal.end)
            active_end = np.where(ch.dormant, ch.start, active_end)
            cons = marketing.draw_consents(rng, ch, cal)
            ce, push_rows, push_t = marketing.draw_campaign_events(rng, ch, hold, cons, camps,
                                                                   active_end)
            _insert(wh, "campaign_events", ce)
            _insert(wh, "consents", marketing.consents_table(ch, cons, cal))
            ev = events.draw(rng, ch, hold, cal, active_end, (push_rows, push_t),
                             cons.at("push", cal.end), ev_next)
            ev_next += ev.num_rows
            _insert(wh, "app_events", ev)
            truth.append(pa.table({
                "customer_id": ch.ids,
                "persona": pa.array(np.array(PERSONA_KEYS, dtype=object)[ch.persona]),
                "churn_at": pa.array(ch.churn_at.astype("datetime64[s]"),
                                     mask=ch.churn_at >= NEVER),
                "dormant": ch.dormant,
            }))
            done += n
            if progress:
                progress(done, customers_n)
        origin.record(wh.cursor(), "demo", seed=seed, customers=customers_n, end_date=end_date)
        wh.execute("CHECKPOINT")
        rows = {t.name: int(wh.scalar(f"SELECT count(*) FROM {t.name}")) for t in TABLES}
    finally:
        wh.close()

    truth_file = truth_path(path)
    pq.write_table(pa.concat_tables(truth), truth_tmp)
    os.replace(tmp, path)
    os.replace(truth_tmp, truth_file)
    return GenerationReport(path=path, customers=customers_n, seed=seed, rows=rows,
                            seconds=time.perf_counter() - started)
