"""Agent benchmark: tokens in the first model request, and the agent's own overhead per turn.

    python bench/agent_bench.py [--warehouse PATH] [--turns 200]

1. Tokens sent in the first model request for a simple question (system prompt with the
   warehouse overview + tool schemas + the question), counted with tiktoken's o200k_base. tiktoken
   downloads its encoding on first use; without network access the script rebuilds tiktoken's
   cache file from the ranks shipped in the npm package js-tiktoken (`npm pack`, checked against
   tiktoken's SHA-256), and otherwise prints an estimate (characters / 4) and says so. The same
   count is repeated on a warehouse with 60 extra imported tables, to show the prompt stays small.
2. The agent's own overhead per turn with a scripted model (zero model latency): wall time of a
   question that makes one tool call, minus the time inside the tool; p50 and p90 over many turns.
3. The offline planner's latency per question (parse, SQL, answer), over the fixture questions.

The warehouse is copied to a temporary file first: the benchmark never writes to yours. Without
--warehouse it uses data/warehouse.duckdb, or builds a 20,000-customer one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes import ScriptedChatModel, call  # noqa: E402
from langchain_core.messages import HumanMessage  # noqa: E402
from langchain_core.utils.function_calling import convert_to_openai_tool  # noqa: E402

from assistant.agent import Assistant  # noqa: E402
from assistant.events import ToolFinished  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from warehouse.connection import Warehouse  # noqa: E402

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
QUESTION = "How many active customers are in Germany?"


# -- tokens ------------------------------------------------------------------------------------
def _cache_path() -> Path:
    cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR") or \
        os.path.join(tempfile.gettempdir(), "data-gym-cache")
    return Path(cache) / hashlib.sha1(O200K_URL.encode()).hexdigest()


def _rebuild_from_js_tiktoken() -> str:
    """Write tiktoken's o200k_base cache file from js-tiktoken's ranks; return what happened."""
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(["npm", "pack", "js-tiktoken", "--silent"], cwd=tmp,
                              capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            raise RuntimeError(f"npm pack js-tiktoken failed: {done.stderr.strip()[:200]}")
        tarball = next(Path(tmp).glob("js-tiktoken-*.tgz"))
        subprocess.run(["tar", "-xzf", tarball.name, "package/dist/ranks/o200k_base.js"],
                       cwd=tmp, check=True)
        source = (Path(tmp) / "package/dist/ranks/o200k_base.js").read_text()
    data = json.loads(source[source.index("{"): source.rindex("}") + 1])
    ranks: dict[str, int] = {}
    for line in data["bpe_ranks"].split("\n"):
        if line:
            _, offset, *tokens = line.split(" ")
            for i, token in enumerate(tokens):
                ranks[token] = int(offset) + i
    content = "".join(f"{t} {r}\n" for t, r in sorted(ranks.items(), key=lambda kv: kv[1]))
    raw = content.encode()
    if hashlib.sha256(raw).hexdigest() != O200K_SHA256:
        raise RuntimeError("the rebuilt o200k_base does not match tiktoken's SHA-256")
    path = _cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw)
    return f"rebuilt from js-tiktoken {tarball.name.removeprefix('js-tiktoken-')[:-4]} " \
           f"(SHA-256 matches tiktoken's)"


def token_counter():
    """(count(text) -> int, how the count is made)."""
    try:
        import tiktoken
    except ImportError:
        return (lambda text: len(text) // 4), "ESTIMATE (tiktoken not installed): chars / 4"
    try:
        encoding = tiktoken.get_encoding("o200k_base")
        how = "tiktoken o200k_base"
    except Exception:
        try:
            note = _rebuild_from_js_tiktoken()
            encoding = tiktoken.get_encoding("o200k_base")
            how = f"tiktoken o200k_base, {note}"
        except Exception as exc:
            return (lambda text: len(text) // 4), f"ESTIMATE (chars / 4): {exc}"
    return (lambda text: len(encoding.encode(text))), how


def first_request(wh, settings) -> tuple[str, list[dict], str]:
    """(system prompt, tool schemas as sent to OpenAI, question) of the first model call."""
    fake = ScriptedChatModel(replies=["ok"])
    assistant = Assistant(settings, wh, model=fake)
    assistant.conversation().ask(QUESTION)
    system = fake.seen[0][0].text
    tools = [convert_to_openai_tool(t) for t in assistant.tools]
    question = next(m.text for m in fake.seen[0] if isinstance(m, HumanMessage))
    return system, tools, question


def report_tokens(wh, settings, count, label: str) -> None:
    system, tools, question = first_request(wh, settings)
    tool_tokens = {t["function"]["name"]: count(json.dumps(t)) for t in tools}
    total = count(system) + sum(tool_tokens.values()) + count(question)
    print(f"\nFirst request, {label}:")
    print(f"  system prompt (incl. warehouse overview) {count(system):>6,} tokens "
          f"({len(system):,} characters)")
    schemas = sum(tool_tokens.values())
    print(f"  tool schemas ({len(tools)} tools)              {schemas:>6,} tokens: "
          + ", ".join(f"{k} {v}" for k, v in tool_tokens.items()))
    print(f"  question                                {count(question):>6,} tokens")
    print(f"  TOTAL                                   {total:>6,} tokens")


# -- overhead ----------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report_overhead(wh, settings, turns: int) -> None:
    replies = []
    for _ in range(turns + 5):
        replies += [call("run_sql", sql="SELECT 1 AS one"), "One."]
    fake = ScriptedChatModel(replies=replies)
    conversation = Assistant(settings, wh, model=fake).conversation()
    totals, overheads = [], []
    for i in range(turns + 5):
        started = time.perf_counter()
        inside = 0.0
        for event in conversation.stream(f"Question {i}"):
            if isinstance(event, ToolFinished):
                inside += event.seconds
        elapsed = time.perf_counter() - started
        if i >= 5:                                  # warm-up turns are not counted
            totals.append(elapsed * 1000)
            overheads.append((elapsed - inside) * 1000)
        if (i + 1) % 50 == 0:                       # keep the memory thread short, as the UI does
            conversation.close()
            conversation = Assistant(settings, wh, model=fake).conversation()
    print(f"\nAgent overhead per turn (scripted model, one run_sql call + answer, {turns} turns):")
    print(f"  whole turn            p50 {statistics.median(totals):6.1f} ms   "
          f"p90 {_pct(totals, 90):6.1f} ms")
    print(f"  agent only (no tool)  p50 {statistics.median(overheads):6.1f} ms   "
          f"p90 {_pct(overheads, 90):6.1f} ms")


def report_planner(wh, settings) -> None:
    from assistant.planner import OfflinePlanner

    cases = tomllib.loads((ROOT / "tests/fixtures/planner_cases.toml").read_text())
    questions = [q for c in cases["case"] for q in c["questions"]]
    planner = OfflinePlanner.for_warehouse(wh)
    conversation = Assistant(settings, wh, model=planner).conversation()
    times, answered = [], 0
    for q in questions:
        started = time.perf_counter()
        answer = conversation.ask(q)
        times.append((time.perf_counter() - started) * 1000)
        answered += bool(answer.sql)
        conversation.close()
        conversation = conversation.assistant.conversation()
    print(f"\nOffline planner, {len(questions)} fixture questions through the agent "
          f"(SQL included): p50 {statistics.median(times):.1f} ms, p90 {_pct(times, 90):.1f} ms; "
          f"{answered} ran a query")


def _with_extra_tables(path: Path, n: int = 60) -> None:
    with Warehouse.open(path) as wh:
        for i in range(n):
            cols = ", ".join(f"customer_id AS c{j}" for j in range(20))
            wh.execute(f"CREATE TABLE imported_{i:02d} AS SELECT {cols} FROM customers LIMIT 1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=ROOT / "data" / "warehouse.duckdb")
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.duckdb"
        if args.warehouse.exists():
            shutil.copy(args.warehouse, path)
            source = str(args.warehouse)
        else:
            from warehouse.generate import generate

            generate(path, customers_n=20_000, seed=42)
            source = "a generated 20,000-customer warehouse (seed 42)"
        settings = Settings(warehouse=path, state_dir=Path(tmp) / "sessions")
        count, how = token_counter()
        print(f"Warehouse: {source}\nToken counts: {how}")
        with Warehouse.open(path) as wh:
            customers = wh.scalar("SELECT count(*) FROM customers")
            print(f"{customers:,} customers")
            report_tokens(wh, settings, count, "simple question")
            report_overhead(wh, settings, args.turns)
            report_planner(wh, settings)
        _with_extra_tables(path)
        with Warehouse.open(path) as wh:
            report_tokens(wh, settings, count, "same question, 60 extra imported tables "
                          "x 20 columns")


if __name__ == "__main__":
    main()
