"""Benchmark the warehouse generator: rows per second and peak memory per population size.

    python bench/generate_bench.py                   # 100k and 1M customers, one run each
    python bench/generate_bench.py --sizes 20000 100000 --runs 3

Each build runs in a fresh child process so that its peak resident memory (ru_maxrss) is its own.
Prints one line per run and the median per size. Builds go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
from warehouse.generate import generate
t0 = time.perf_counter()
r = generate(sys.argv[1], customers_n=int(sys.argv[2]), seed=42, force=True)
print(json.dumps({"seconds": time.perf_counter() - t0, "rows": r.rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_once(size: int, folder: Path) -> dict:
    path = folder / f"bench_{size}.duckdb"
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(size)], check=True,
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["file_mb"] = path.stat().st_size / 2**20
    path.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(f"{'customers':>10} {'run':>3} {'seconds':>8} {'transactions':>13} {'all rows':>12} "
          f"{'rows/s':>10} {'tx rows/s':>10} {'peak MB':>8} {'file MB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            results = []
            for run in range(1, args.runs + 1):
                r = run_once(size, Path(tmp))
                total = sum(r["rows"].values())
                r.update(total=total, rate=total / r["seconds"],
                         tx_rate=r["rows"]["transactions"] / r["seconds"])
                results.append(r)
                print(f"{size:>10,} {run:>3} {r['seconds']:>8.1f} "
                      f"{r['rows']['transactions']:>13,} {total:>12,} {r['rate']:>10,.0f} "
                      f"{r['tx_rate']:>10,.0f} {r['peak_mb']:>8,.0f} {r['file_mb']:>8,.0f}",
                      flush=True)
            if args.runs > 1:
                med = {k: statistics.median(x[k] for x in results)
                       for k in ("seconds", "rate", "tx_rate", "peak_mb")}
                print(f"{size:>10,} med {med['seconds']:>8.1f} {'':>13} {'':>12} "
                      f"{med['rate']:>10,.0f} {med['tx_rate']:>10,.0f} {med['peak_mb']:>8,.0f}")


if __name__ == "__main__":
    main()
