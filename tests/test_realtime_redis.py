"""The broker door against a real redis-server (Debian's, started here on a free 127.0.0.1 port
and stopped after): a consumer group reads the stream, acknowledges only after the commit, and a
failure before the commit or before the acknowledgement loses nothing and doubles nothing."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest
from realtime_support import tx
from ui_server import free_port

from tools.realtime.brokers import Consumer, RedisStreamSource
from tools.realtime.service import Config, RealTime


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    assert binary, "redis-server is missing: `make test` installs Debian's redis-server"
    port = free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(workdir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    import redis

    client = redis.Redis(port=port)
    deadline = time.time() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.time() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def live(rw, tmp_path):
    realtime = RealTime(rw, Config(outbox_file=tmp_path / "outbox.jsonl"), deliver=False)
    realtime.start(wait=True)
    yield realtime
    realtime.stop()


def _publish(url: str, stream: str, payloads: list[str]) -> None:
    import redis

    client = redis.Redis.from_url(url)
    for p in payloads:
        client.xadd(stream, {"event": p})


def _drain(consumer: Consumer, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not consumer.run_once():
            return


def test_the_running_consumer_keeps_reads_in_flight_and_acknowledges_each_after_its_commit(
        redis_url, live):
    events = [json.dumps(tx(1 + i % 50, f"p{i}", amount=3 + i)) for i in range(400)]
    _publish(redis_url, "s0", events + events[:30])              # 30 re-deliveries
    source = RedisStreamSource(redis_url, "s0", "g0")
    consumer = Consumer(source, live.writer, batch=40, block_ms=50, in_flight=3).start()
    deadline = time.time() + 60
    while consumer.acked < 430 and time.time() < deadline:
        time.sleep(0.05)
    consumer.stop()
    wh = live.wh
    assert wh.scalar("SELECT count(*) FROM assistant.events WHERE message_id LIKE 'p%'") == 400
    assert consumer.acked == 430 and consumer.failures == 0
    assert live.writer.stats.duplicates == 30
    assert RedisStreamSource(redis_url, "s0", "g0").pending() == 0


def test_the_stream_is_consumed_and_acknowledged_after_the_commit(redis_url, live):
    events = [json.dumps(tx(1 + i % 50, f"r{i}", amount=5 + i)) for i in range(120)]
    events += [events[3], "not json", json.dumps({"userId": 1, "event": "Nope"})]
    _publish(redis_url, "s1", events)
    source = RedisStreamSource(redis_url, "s1", "g1")
    consumer = Consumer(source, live.writer, batch=50, block_ms=50)
    _drain(consumer)
    wh = live.wh
    assert wh.scalar("SELECT count(*) FROM assistant.events WHERE source = 'redis'") == 120
    assert wh.scalar("SELECT count(*) FROM assistant.event_rejects WHERE source = 'redis'") == 2
    assert source.pending() == 0 and consumer.acked == len(events)


def test_a_failed_commit_is_not_acknowledged_and_comes_again(redis_url, live):
    _publish(redis_url, "s2", [json.dumps(tx(2, f"f{i}")) for i in range(30)])
    source = RedisStreamSource(redis_url, "s2", "g2", consumer="c1")
    consumer = Consumer(source, live.writer, batch=100, block_ms=50)
    real_commit = live.pipeline.commit

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    live.pipeline.commit = crash
    with pytest.raises(Exception, match="could not be stored"):
        consumer.run_once()
    assert source.pending() == 30                       # nothing acknowledged
    live.pipeline.commit = real_commit
    restarted = Consumer(RedisStreamSource(redis_url, "s2", "g2", consumer="c1"), live.writer,
                         batch=100, block_ms=50)
    _drain(restarted)
    assert live.wh.scalar("SELECT count(*) FROM assistant.events WHERE message_id LIKE 'f%'") \
        == 30
    assert source.pending() == 0


def test_a_crash_after_the_commit_before_the_ack_doubles_nothing(redis_url, live):
    _publish(redis_url, "s3", [json.dumps(tx(3, f"a{i}", amount=7)) for i in range(25)])
    before = live.wh.scalar("SELECT count(*) FROM transactions")
    source = RedisStreamSource(redis_url, "s3", "g3", consumer="dead", claim_idle_ms=0)

    def lost_ack(messages):
        raise ConnectionError("the process died before XACK")

    source.ack = lost_ack
    consumer = Consumer(source, live.writer, batch=100, block_ms=50)
    with pytest.raises(ConnectionError):
        consumer.run_once()                             # committed, never acknowledged
    # another consumer of the group takes the idle messages over; the writer drops repeats
    heir = Consumer(RedisStreamSource(redis_url, "s3", "g3", consumer="heir", claim_idle_ms=0),
                    live.writer, batch=100, block_ms=50)
    _drain(heir)
    assert live.wh.scalar("SELECT count(*) FROM transactions") == before + 25
    assert heir.source.pending() == 0
    assert live.writer.stats.duplicates >= 25
