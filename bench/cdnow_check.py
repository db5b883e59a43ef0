"""The CLV model on the CDNOW sample, against the published parameters and holdout fit.

CDNOW (a CD retailer's log, 2,357 customers of the 1997 Q1 cohort, January 1997 to June 1998)
ships with the archived `lifetimes` package. Its licence is not ours to pass on, so the data is
fetched into a cache folder here (`pip download lifetimes --no-deps`, an sdist from PyPI) and
never committed; the tests use data simulated from the model instead.

The published fits, on the 39-week calibration period (to 1997-09-30), time in weeks:
BG/NBD r=0.243, alpha=4.414, a=0.793, b=2.426 (Fader, Hardie & Lee 2005); Gamma-Gamma
p=6.25, q=3.74, gamma=15.44 (Fader & Hardie, "The Gamma-Gamma model of monetary value").
This script imports the raw transaction log as a user table (as a user would), fits with
`tools.clv.fit_clv`, prints our parameters beside the published ones and the holdout error of
our fit beside the holdout error of the published parameters on the same customers.

    python bench/cdnow_check.py [--cache DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools import clv_model as cm
from tools.clv import fit_clv, holdout_report
from warehouse import schema
from warehouse.connection import Warehouse
from warehouse.user_tables import import_user_table

PUBLISHED_BG = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cdnow_sample(cache: Path) -> Path:
    """CDNOW_sample.txt from the lifetimes sdist, downloaded once into `cache`."""
    target = cache / "CDNOW_sample.txt"
    if target.exists():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "lifetimes==0.11.3", "--no-deps",
                    "--no-binary", ":all:", "-d", str(cache), "-q"], check=True)
    sdist = next(cache.glob("[Ll]ifetimes-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("CDNOW_sample.txt"))
        target.write_bytes(tar.extractfile(member).read())
    return target


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "cdnow-cache")
    args = ap.parse_args()
    raw = pd.read_csv(cdnow_sample(args.cache), sep=r"\s+", header=None,
                      names=["master_id", "customer", "date", "cds", "dollars"])
    raw["date"] = pd.to_datetime(raw["date"].astype(str), format="%Y%m%d").dt.date
    work = Path(tempfile.mkdtemp())
    csv = work / "cdnow.csv"
    raw[["customer", "date", "cds", "dollars"]].to_csv(csv, index=False)
    print(f"CDNOW sample: {len(raw):,} transactions of {raw['customer'].nunique():,} customers, "
          f"{raw['date'].min()} to {raw['date'].max()}")
    with Warehouse.open(work / "w.duckdb", must_exist=False) as wh:
        schema.apply(wh.cursor())
        import_user_table(wh, csv, "cdnow")
        t0 = time.perf_counter()
        res = fit_clv(wh, table="cdnow", calibration_end="1997-09-30", unit="weeks",
                      horizon_months=12)
        seconds = time.perf_counter() - t0
    cal = res.calibration
    print(f"\nfit_clv (calibration fit, holdout, refit on all data, save): {seconds:.2f} s")
    print(f"calibration summary: {len(cal.summary):,} customers, "
          f"{int((cal.summary['frequency'] > 0).sum()):,} with repeat purchases")
    print("\nparameter     ours    published   difference")
    ours = cal.bg.to_dict() | cal.gg.to_dict()
    worst = 0.0
    for name, pub in (PUBLISHED_BG | PUBLISHED_GG).items():
        diff = (ours[name] - pub) / pub
        worst = max(worst, abs(diff))
        print(f"{name:10s} {ours[name]:8.4f} {pub:10.3f}   {diff:+7.2%}")
    print(f"largest difference: {worst:.2%} (goal: within 2%); BG/NBD log-likelihood "
          f"{cal.bg.log_likelihood:.1f} (published -9582.4)")
    holdout = res.holdout["holdout_days"] / 7
    published = cm.BGNBD(**PUBLISHED_BG)
    pub_fit = type(cal)(published, cm.GammaGamma(**PUBLISHED_GG), cal.summary)
    theirs, their_table = holdout_report(pub_fit, holdout)
    print(f"\nholdout ({res.holdout['holdout_days']} days = {holdout:.1f} weeks), same "
          f"{len(cal.summary):,} customers:")
    print("                               ours   published params")
    for key in ("actual_purchases", "predicted_purchases", "purchases_error_pct",
                "mae_purchases", "rmse_purchases", "correlation", "predicted_spend",
                "actual_spend", "spend_error_pct", "mae_spend"):
        print(f"{key:26s} {res.holdout[key]:>10} {theirs[key]:>12}")
    table = res.by_frequency.merge(their_table[["calibration repeat purchases", "predicted"]],
                                   on="calibration repeat purchases",
                                   suffixes=("", " (published)"))
    print("\nmean holdout repeat purchases by calibration repeat purchases:")
    print(table.to_string(index=False))
    ours_err = np.abs(table["predicted"] - table["actual"]).mean()
    their_err = np.abs(table["predicted (published)"] - table["actual"]).mean()
    print(f"mean absolute gap over the bins: ours {ours_err:.4f}, published {their_err:.4f}")


if __name__ == "__main__":
    main()
