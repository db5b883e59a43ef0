"""How well behavioural segments recover the generator's hidden personas (adjusted Rand index).

    python bench/segment_quality.py [WAREHOUSE.duckdb ...]   (default /tmp/wh/w20k, w100k)

For each warehouse: the segmentation the tools make (automatic k, and k=8 = the number of
personas), scored against `<warehouse>.truth.parquet`, which only evaluation scripts may read.
ARI is reported over all customers segmented and over the active ones. The warehouse is opened
read-only and nothing is saved.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import adjusted_rand_score

from tools.segments import run_segmentation
from warehouse.connection import Warehouse
from warehouse.generate import truth_path

DEFAULT = ("/tmp/wh/w20k.duckdb", "/tmp/wh/w100k.duckdb")


def evaluate(path: str, k: int | None, active_only: bool = False) -> dict:
    truth = pd.read_parquet(truth_path(path), columns=["customer_id", "persona"])
    with Warehouse.open(path, read_only=True) as wh:
        started = time.perf_counter()
        seg = run_segmentation(wh, k=k, active_only=active_only, save=False)
        seconds = time.perf_counter() - started
        status = wh.df("SELECT customer_id, is_active FROM customer_status")
    rows = seg.members.merge(truth, on="customer_id").merge(status, on="customer_id")
    active = rows[rows["is_active"]]
    return {
        "warehouse": Path(path).name, "population": "active" if active_only else "transacting",
        "k asked": k or "auto", "k": seg.run.metrics["k"], "customers": len(rows),
        "ARI": round(adjusted_rand_score(rows["persona"], rows["segment_id"]), 3),
        "ARI (active only)": round(adjusted_rand_score(active["persona"],
                                                       active["segment_id"]), 3),
        "seconds": round(seconds, 1),
    }


def main(paths: list[str]) -> None:
    results = []
    for path in paths:
        for k in (None, 8):
            results.append(evaluate(path, k))
        results.append(evaluate(path, None, active_only=True))
        print(pd.DataFrame(results).to_string(index=False), flush=True)
        print()


if __name__ == "__main__":
    main(sys.argv[1:] or list(DEFAULT))
