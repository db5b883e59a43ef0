"""The outbox delivery loop never sends a row again from a read older than its last outcome."""
from concurrent.futures import Future

from tools.realtime.outbox import Delivery


class _Adapter:
    def __init__(self):
        self.sent = []

    def deliver(self, payload, outbox_id):
        self.sent.append(outbox_id)
        raise RuntimeError("503 from the webhook")


class _Writer:
    def __init__(self):
        self.pending: list[Future] = []

    def call(self, fn):
        future: Future = Future()
        self.pending.append(future)
        return future


class _Warehouse:
    """Every read returns the row as it was before any outcome was written (attempts 0);
    `during_read` runs while the read is in flight, as a commit on the writer thread can."""

    def __init__(self):
        self.during_read = None

    def has_table(self, name, schema):
        return True

    def rows(self, sql, params):
        if self.during_read:
            self.during_read()
        return [("o1", "{}", 0)]


def test_an_outcome_committed_during_the_read_does_not_resend_the_stale_row():
    wh, writer, adapter = _Warehouse(), _Writer(), _Adapter()
    delivery = Delivery(wh, writer, adapter)
    assert delivery.run_once() == 1 and adapter.sent == ["o1"]
    # the failure is committed while the next read is running: that read saw the old row
    wh.during_read = lambda: writer.pending[0].set_result(None)
    assert delivery.run_once() == 0
    assert adapter.sent == ["o1"]


def test_a_row_whose_outcome_was_committed_before_the_read_is_due_again():
    wh, writer, adapter = _Warehouse(), _Writer(), _Adapter()
    delivery = Delivery(wh, writer, adapter)
    delivery.run_once()
    writer.pending[0].set_result(None)
    assert delivery.run_once() == 1 and adapter.sent == ["o1", "o1"]


def test_outcomes_are_written_for_every_row_at_once():
    """Delivered, retried later (backoff from the attempts so far) and dead after the last
    attempt, in one call; rows without an outcome are left as they were."""
    from datetime import datetime, timedelta

    import duckdb

    from tools.realtime import tables
    from tools.realtime.clock import FakeClock
    from tools.realtime.outbox import Outcome

    cur = duckdb.connect()
    tables.ensure(cur)
    due = datetime(2026, 11, 1, 9, 0)
    for i, attempts in enumerate((0, 1, 4, 0)):
        cur.execute(f"INSERT INTO {tables.OUTBOX} VALUES (?, ?, 't', ?, 1, 'email', 'd', '{{}}',"
                    " 'pending', ?, ?, NULL, NULL)", [f"o{i}", due, f"o{i}", attempts, due])
    now = datetime(2026, 11, 1, 10, 0)
    delivery = Delivery(None, None, None, clock=FakeClock(now), max_attempts=5, backoff=1.0)
    delivery.record(cur, [(Outcome("o0", True), 0), (Outcome("o1", False, "503"), 1),
                          (Outcome("o2", False, "timeout"), 4)])
    rows = {r[0]: r[1:] for r in cur.execute(
        f"SELECT outbox_id, status, attempts, delivered_at, last_error, next_attempt_at "
        f"FROM {tables.OUTBOX}").fetchall()}
    assert rows["o0"] == ("delivered", 1, now, None, due)
    assert rows["o1"] == ("pending", 2, None, "503", now + timedelta(seconds=2))
    assert rows["o2"] == ("dead", 5, None, "timeout", due)
    assert rows["o3"] == ("pending", 0, None, None, due)
