"""Red-team figures (issue 16): attacks held per door, how long each limit takes to bind, masking
speed on hostile text, and how long another client waits while oversized requests are refused.

    python bench/redteam_bench.py [--customers 3000] [--server]

Builds a private demo warehouse in a temporary folder, runs every case of
tests/fixtures/redteam.toml through run_sql (the model's door, with its summary or error scanned
for every personal value of the warehouse), times each limit, and with --server starts
`assistant serve` and pings /healthz every 50 ms while oversized requests go in.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from redteam import personal_values  # noqa: E402

from assistant.settings import Settings  # noqa: E402
from tools.result import ToolContext  # noqa: E402
from tools.sql import run_sql  # noqa: E402
from warehouse.connection import Warehouse  # noqa: E402
from warehouse.errors import AssistantError  # noqa: E402
from warehouse.generate import generate  # noqa: E402
from warehouse.privacy import NameIndex, mask_text  # noqa: E402

CASES = tomllib.loads((ROOT / "tests" / "fixtures" / "redteam.toml").read_text())


def _text(ctx, sql: str) -> tuple[str, float]:
    started = time.monotonic()
    try:
        out = run_sql(ctx, sql).summary
    except AssistantError as exc:
        out = f"Error: {exc}"
    return out, time.monotonic() - started


def model_door(wh, names, personal) -> None:
    ctx = ToolContext(wh=wh, settings=Settings(query_timeout=20), names=names)
    for kind in ("leak", "error"):
        held = refused = 0
        leaked = []
        for case in CASES[kind]:
            text, _ = _text(ctx, case["sql"])
            if personal.leaks(text):
                leaked.append(case["sql"])
            elif text.startswith("Error"):
                refused += 1
            else:
                held += 1
        print(f"{kind:6} {len(CASES[kind]):4} attacks: {held} answered without personal data, "
              f"{refused} refused, {len(leaked)} leaked")
        for sql in leaked:
            print(f"    LEAK {sql[:100]}")


def limits(wh, names) -> None:
    print("limit                                                         seconds  held")
    for case in CASES["limit"]:
        settings = Settings(query_timeout=case.get("timeout", 30), max_cell_chars=1_000)
        if case.get("memory"):            # its own copy: one configuration per file
            copy = Path(wh.path).with_name("memory.duckdb")
            shutil.copy(wh.path, copy)
            with Warehouse.open(copy, read_only=True, memory_limit=case["memory"]) as own:
                text, seconds = _text(ToolContext(wh=own, settings=settings, names=names),
                                      case["sql"])
        else:
            text, seconds = _text(ToolContext(wh=wh, settings=settings, names=names),
                                  case["sql"])
        held = case["message"] in text
        print(f"  {case['what'][:58]:58} {seconds:7.2f}  {'yes' if held else 'NO'}")


def masking(names) -> None:
    for label, text in (("300,000 x 'a'", "a" * 300_000), ("150,000 x 'a@'", "a@" * 150_000),
                        ("100,000 names", "Anna " * 100_000), ("question 4,000 chars",
                                                                 "Is Anna Meyer born? " * 200)):
        runs = []
        for _ in range(3):
            started = time.monotonic()
            mask_text(text, names)
            runs.append(time.monotonic() - started)
        print(f"  mask {label:22} median {statistics.median(runs):.3f} s")


def server(path: Path) -> None:
    from gradio_client import Client
    from test_redteam_server import OVERSIZED, Pinger
    from ui_server import running_app

    with tempfile.TemporaryDirectory() as tmp, running_app(path, Path(tmp)) as url:
        client = Client(url, verbose=False)
        pinger = Pinger(url)
        pinger.start()
        time.sleep(1)
        for api, payload, message in OVERSIZED:
            started = time.monotonic()
            out = client.predict(payload, api_name=f"/{api}")
            print(f"  {api:8} {payload[:40]!r:44} refused={message in str(out)} "
                  f"in {time.monotonic() - started:.2f} s")
        pinger.stop.set()
        pinger.join(timeout=15)
        lat = sorted(pinger.latencies)
        print(f"  another client: {len(lat)} pings, median {statistics.median(lat) * 1000:.0f} "
              f"ms, p95 {lat[int(0.95 * (len(lat) - 1))] * 1000:.0f} ms, worst "
              f"{lat[-1] * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=3_000)
    parser.add_argument("--server", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "redteam.duckdb"
        generate(path, customers_n=args.customers, seed=7)
        with Warehouse.open(path, read_only=True) as wh:
            names = NameIndex.from_warehouse(wh)
            personal = personal_values(wh)
            print(f"warehouse: {args.customers:,} customers, {len(personal.values):,} personal "
                  "values scanned for")
            model_door(wh, names, personal)
            limits(wh, names)
            masking(names)
        if args.server:
            server(path)


if __name__ == "__main__":
    main()
