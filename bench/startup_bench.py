"""Start-up benchmark: how long a one-shot `assistant ask` takes, and what it imports.

    python bench/startup_bench.py [--runs 7] [--source DIR] [--warehouse PATH]

Runs `assistant ask "How many customers live in Germany?" --json` (offline planner, a fresh
process each time) `--runs` times and prints the median, min and max wall time, then one run
under `python -X importtime`: the total import time, the slowest top-level imports and whether
the heavy libraries a one-shot question does not need (scikit-learn, scipy, skops, gradio,
plotly, openai) were loaded. `--source DIR` runs the code in DIR instead of this checkout (for
a before/after comparison: `git archive COMMIT | tar -x -C DIR`). The warehouse (default: a
generated 3,000-customer one, seed 7) is copied to a temporary folder first.

Figures on a shared machine move with its load: compare medians taken at the same time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "How many customers live in Germany?"
HEAVY = ("sklearn", "scipy", "skops", "gradio", "plotly", "openai", "langchain_openai")
CODE = ("import sys; sys.path.insert(0, {src!r}); from assistant.cli import main; "
        "sys.argv = ['assistant', 'ask', {q!r}, '--json', '--path', {path!r}]; main()")


def _env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    return env | {"ASSISTANT_STATE_DIR": str(tmp / "sessions"), "PYTHONDONTWRITEBYTECODE": "1"}


def _run(source: Path, path: Path, tmp: Path, *flags: str) -> subprocess.CompletedProcess:
    code = CODE.format(src=str(source), q=QUESTION, path=str(path))
    return subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True,
                          cwd=tmp, env=_env(tmp), timeout=300)


def _imports(stderr: str) -> list[tuple[int, int, str]]:
    """(cumulative µs, depth, module) of every import in `-X importtime` output."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        rows.append((int(cumulative), depth, name.strip()))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--source", type=Path, default=ROOT)
    parser.add_argument("--warehouse", type=Path, default=None)
    args = parser.parse_args()
    source = args.source.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        path = tmp / "startup.duckdb"
        if args.warehouse:
            shutil.copy(args.warehouse, path)
        else:
            sys.path.insert(0, str(ROOT))
            from warehouse.generate import generate

            generate(path, customers_n=3_000, seed=7)
        first = _run(source, path, tmp)               # warms the OS file cache
        if first.returncode != 0:
            raise SystemExit(f"assistant ask failed: {first.stderr[-500:]}")
        walls = []
        for _ in range(args.runs):
            started = time.perf_counter()
            done = _run(source, path, tmp)
            walls.append(time.perf_counter() - started)
            assert done.returncode == 0, done.stderr[-500:]
        traced = _run(source, path, tmp, "-X", "importtime")
        rows = _imports(traced.stderr)
    top = sorted((r for r in rows if r[1] == 0), reverse=True)
    loaded = {name.split(".")[0] for _, _, name in rows}
    load = os.getloadavg()[0]
    print(f"Code: {source}\nQuestion: assistant ask {QUESTION!r} --json (offline planner)")
    print(f"Load average while measuring: {load:.1f} on {os.cpu_count()} cores")
    print(f"Wall time over {args.runs} runs: median {statistics.median(walls):.2f} s "
          f"(min {min(walls):.2f}, max {max(walls):.2f})")
    print(f"Imports (one run, -X importtime): {sum(r[0] for r in top) / 1e6:.2f} s; slowest: "
          + ", ".join(f"{name} {us / 1e6:.2f} s" for us, _, name in top[:6]))
    print("Heavy libraries loaded: "
          + (", ".join(h for h in HEAVY if h in loaded) or "none of " + ", ".join(HEAVY)))


if __name__ == "__main__":
    main()
