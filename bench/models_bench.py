"""Time the models that keep learning at 100k and 1M customers: refresh and the CLV fit.

    python bench/models_bench.py [--sizes 100000 1000000] [--repeats 3] [--dir /tmp/wh]

For each size, a generated warehouse (built once into --dir, seed 42) is copied, its last 90
days are held back (warehouse.synth.scenarios), the first models are trained on what is left
(segmentation k=8, churn), and the 90 days are released as new data. Then, each timed
`--repeats` times on a fresh copy of that state (the median is printed, with min and max):
- refresh segmentation: features + warm-started refit + identity matching + cards + save;
- refresh churn: challenger trained on the latest split, compared with the champion on the same
  held-out customers, active customers scored with the champion, saved;
- CLV fit: purchase summaries in SQL (calibration and forecast), two BG/NBD + Gamma-Gamma
  fits, holdout report, per-customer forecast saved (its SQL and fitting parts apart);
- drift: PSI, sizes, migration and a warm-started refit of the segmentation champion.
It also prints how many segment ids the refresh kept and the segmentation drift verdict.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import clv as clv_mod
from tools import clv_model as cm
from tools import drift
from tools.churn import score_churn
from tools.refresh import refresh_churn, refresh_segmentation
from tools.segments import run_segmentation
from warehouse.connection import Warehouse
from warehouse.generate import generate
from warehouse.synth.scenarios import hold_back, release


def warehouse(directory: Path, n: int) -> Path:
    path = directory / f"w{n // 1000}k.duckdb" if n < 1_000_000 else \
        directory / f"w{n // 1_000_000}m.duckdb"
    if not path.exists():
        print(f"building {path} ({n:,} customers)...", flush=True)
        directory.mkdir(parents=True, exist_ok=True)
        generate(path, customers_n=n, seed=42)
    return path


def prepared(source: Path, work: Path) -> Path:
    """A copy with first models trained before the last 90 days arrived."""
    state = work / "state.duckdb"
    shutil.copy(source, state)
    hold_back(state, 90)
    with Warehouse.open(state) as wh:
        run_segmentation(wh, k=8, seed=42)
        score_churn(wh)
    release(state)
    return state


def fresh(state: Path, work: Path, i: int) -> Path:
    path = work / f"run{i}.duckdb"
    shutil.copy(state, path)
    models = state.with_name(state.stem + ".models")
    target = path.with_name(path.stem + ".models")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(models, target)
    return path


def timed(label: str, times: list[float], extra: str = "") -> None:
    print(f"  {label:28s} median {statistics.median(times):7.2f} s  (min {min(times):.2f}, "
          f"max {max(times):.2f}, {len(times)} runs){extra}", flush=True)


def bench(n: int, directory: Path, repeats: int) -> None:
    source = warehouse(directory, n)
    work = Path(tempfile.mkdtemp(prefix="models-bench-", dir=directory))
    try:
        t0 = time.perf_counter()
        state = prepared(source, work)
        print(f"{n:,} customers: first models trained before the last 90 days in "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
        seg_t, churn_t, clv_t, sql_t, fit_t, drift_t = [], [], [], [], [], []
        kept = verdict = None
        for i in range(repeats):
            path = fresh(state, work, i)
            with Warehouse.open(path) as wh:
                t = time.perf_counter()
                r = drift.segmentation_drift(wh)
                drift_t.append(time.perf_counter() - t)
                verdict = r.verdict
                t = time.perf_counter()
                done = refresh_segmentation(wh)
                seg_t.append(time.perf_counter() - t)
                kept = done.sentences[1] if len(done.sentences) > 1 else ""
                t = time.perf_counter()
                refresh_churn(wh)
                churn_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                res = clv_mod.fit_clv(wh, reuse=False)
                clv_t.append(time.perf_counter() - t)
                # the parts: one summary query, one fit of both models
                _, end = clv_mod._period(wh, clv_mod.Source())
                t = time.perf_counter()
                summary = wh.df(clv_mod.summary_sql(clv_mod.Source(), end, end, "weeks"))
                sql_t.append(time.perf_counter() - t)
                t = time.perf_counter()
                cm.fit_bgnbd(summary["frequency"], summary["recency"], summary["T"])
                rep = summary[summary["frequency"] > 0]
                cm.fit_gamma_gamma(rep["frequency"], rep["monetary"])
                fit_t.append(time.perf_counter() - t)
            for p in (path, path.with_name(path.stem + ".models")):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(
                    missing_ok=True)
        timed("refresh segmentation", seg_t)
        print(f"    {kept}")
        timed("refresh churn (challenger)", churn_t)
        timed("CLV fit (all of it)", clv_t, f"; {res.run['row_count']:,} customers")
        timed("  CLV summary SQL (one)", sql_t)
        timed("  BG/NBD + Gamma-Gamma fit", fit_t)
        timed("drift check", drift_t, f"; verdict {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/wh"))
    args = ap.parse_args()
    for n in args.sizes:
        bench(n, args.dir, args.repeats)


if __name__ == "__main__":
    main()
