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
