"""Agent benchmark: tokens per answered question, and the agent's own overhead per turn.

    python bench/agent_bench.py [--warehouse PATH] [--turns 200] [--only-tokens]

1. Tokens per answered question, every request counted: each typical question is answered
   through the real ChatOpenAI client against a scripted OpenAI-compatible server on 127.0.0.1
   (tests/openai_server.py) that replies with the tool calls a model would make and logs every
   request. Each request counts as the o200k_base tokens of its messages plus its tool schemas
   (json.dumps of each, as the baseline of issue 14 was measured); copy questions include the
   copywriter's requests. Printed beside the baseline of issue 14 where there is one. tiktoken
   downloads its encoding on first use; without network access the script rebuilds tiktoken's
   cache file from the ranks shipped in the npm package js-tiktoken (`npm pack`, checked against
   tiktoken's SHA-256), and otherwise prints an estimate (characters / 4) and says so. The first
   question is repeated on a warehouse with 60 extra imported tables.
2. The agent's own overhead per turn with a scripted model (zero model latency): wall time of a
   question that makes one tool call, minus the time inside the tool; p50 and p90 over many turns.
3. The offline planner's latency per question (parse, SQL, answer), over the fixture questions.

Without --warehouse the questions run on a generated 3,000-customer warehouse (seed 7, the one
of the test suite and of the issue's baseline) and the latencies on data/warehouse.duckdb (or a
generated 20,000-customer one). Warehouses are copied to a temporary folder first: the benchmark
never writes to yours.
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
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from fakes import ScriptedChatModel, call  # noqa: E402
from openai_server import ChatServer, text, tool_call  # noqa: E402

from assistant.agent import Assistant  # noqa: E402
from assistant.events import ToolFinished  # noqa: E402
from assistant.factory import build_assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from warehouse.connection import Warehouse  # noqa: E402

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
SPEND = ("SELECT category, sum(amount) AS spend FROM transactions WHERE direction = 'debit' "
         "AND category NOT IN ('transfer', 'investment', 'fees') GROUP BY category "
         "ORDER BY spend DESC")
SMS = {"text": "Grow your savings with us: open a savings account in minutes. Variable rate; "
               "conditions apply. Reply STOP to opt out"}


def _sql(sql: str, title: str) -> dict:
    return tool_call("run_sql", {"sql": sql, "title": title})


# (question, what the scripted model does, baseline of issue 14: (first request, all requests,
# the LangChain SQL agent's all requests); the goal is 0.75x the SQL agent)
QUESTIONS = [
    ("How many customers live in Germany?",
     [_sql("SELECT count(*) AS customers FROM customers WHERE country = 'DE'",
           "Customers in Germany"), text("378 customers live in Germany.")], (5206, 10530, 5840)),
    ("Total spend by category",
     [_sql(SPEND, "Spend by category"),
      text("Spend by category: rent leads, then travel and utilities.")], (5204, 10653, 4105)),
    ("How many active customers are in Germany?",
     [_sql("SELECT count(*) AS customers FROM customers c JOIN customer_status s USING "
           "(customer_id) WHERE c.country = 'DE' AND s.is_active", "Active customers in Germany"),
      text("There are 310 active customers in Germany.")], None),
    ("Email opt-in rate by country",
     [_sql("SELECT c.country, round(100.0 * avg(CASE WHEN k.granted THEN 1 ELSE 0 END), 1) AS "
           "opt_in_rate FROM customers c JOIN consents k USING (customer_id) WHERE k.purpose = "
           "'email' GROUP BY c.country ORDER BY opt_in_rate DESC", "Email opt-in rate"),
      text("The email opt-in rate ranges from 55% to 62% by country.")], None),
    ("Monthly spend on travel over the last 6 months",
     [_sql("SELECT date_trunc('month', t.ts) AS month, sum(t.amount) AS spend FROM "
           "transactions t, reference_period r WHERE t.direction = 'debit' AND t.category = "
           "'travel' AND t.ts > r.reference_ts - INTERVAL 6 MONTH GROUP BY month ORDER BY month",
           "Monthly travel spend"), text("Travel spend peaked in August.")], None),
    ("Segment my customers",
     [tool_call("segment_customers", {}), text("I found segments; the largest is listed first.")],
     None),
    ("Who is likely to churn?",
     [tool_call("predict_churn", {}), text("The 20 customers most at risk are listed.")], None),
    ("Build an email audience for Germany",
     [tool_call("build_audience", {"channel": "email", "country": "DE"}),
      text("The audience is ready to download.")], None),
    ("Write an SMS about our savings account",
     [tool_call("draft_campaign", {"channel": "sms", "product": "savings", "variants": 1}),
      text(json.dumps(SMS)), text("Here is the SMS draft, waiting for approval.")], None),
    ("How many customers do we need for an email A/B test?",
     [tool_call("design_ab_test", {"channel": "email"}), text("About 2,000 per variant.")], None),
    ("Which customers might stop banking with us?",       # no routing word: the model loads
     [tool_call("load_tools", {"groups": ["churn"]}), tool_call("predict_churn", {}, "call_2"),
      text("The customers most at risk are listed.")], None),
]


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


def request_tokens(body: dict, count) -> tuple[int, int, int]:
    """(messages, tool schemas, system prompt) tokens of one logged request."""
    messages = count(json.dumps(body["messages"]))
    tools = count(json.dumps(body["tools"])) if body.get("tools") else 0
    system = sum(count(m["content"]) for m in body["messages"] if m["role"] == "system")
    return messages, tools, system


def ask_through_server(path: Path, tmp: Path, question: str, script: list[dict]):
    """(answer, logged requests) of one question in a new conversation, over HTTP."""
    with ChatServer(script) as server:
        settings = Settings(warehouse=path, state_dir=tmp / "sessions", provider="openai",
                            base_url=server.url, ASSISTANT_API_KEY="sk-bench", model="bench",
                            max_retries=0)
        with Warehouse.open(path) as wh:
            answer = build_assistant(settings, wh).conversation().ask(question)
    return answer, server.requests


def report_tokens(path: Path, tmp: Path, count, questions=QUESTIONS, label: str = "") -> None:
    print(f"\nTokens per answered question{label}, all requests (o200k_base over messages + "
          "tool schemas):")
    print(f"  {'question':52} {'req':>3} {'first':>6} {'all':>7}   {'baseline first/all':>18}")
    for question, script, baseline in questions:
        answer, requests = ask_through_server(path, tmp, question, list(script))
        sizes = [sum(request_tokens(r, count)[:2]) for r in requests]
        flag = f"   ERROR: {answer.error}" if answer.error else ""
        base = (f"{baseline[0]:>8,} / {baseline[1]:>6,}  ({sum(sizes) / baseline[1]:.2f}x); "
                f"SQL agent {baseline[2]:,}, goal <= {0.75 * baseline[2]:,.0f} "
                f"({sum(sizes) / baseline[2]:.2f}x)" if baseline else "")
        print(f"  {question[:52]:52} {len(requests):>3} {sizes[0]:>6,} {sum(sizes):>7,}   "
              f"{base}{flag}")
        if question == questions[0][0]:
            m, t, s = request_tokens(requests[0], count)
            tools = [x["function"]["name"] for x in requests[0].get("tools", [])]
            first = (f"    first request: system prompt {s:,}, other messages {m - s:,}, "
                     f"{len(tools)} tool schemas {t:,} ({', '.join(tools)})")
    print(first)


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
    warnings.filterwarnings("ignore", message="Pydantic serializer warnings")   # structured copy
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", type=Path, default=None)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--only-tokens", action="store_true",
                        help="only the tokens per question, not the latencies")
    args = parser.parse_args()
    count, how = token_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        small = tmp / "questions.duckdb"
        if args.warehouse is not None:
            shutil.copy(args.warehouse, small)
            print(f"Warehouse for the questions: {args.warehouse}")
        else:
            from warehouse.generate import generate

            generate(small, customers_n=3_000, seed=7)
            print("Warehouse for the questions: a generated 3,000-customer warehouse (seed 7)")
        print(f"Token counts: {how}")
        report_tokens(small, tmp, count)
        _with_extra_tables(small)
        report_tokens(small, tmp, count, QUESTIONS[:1], ", 60 extra imported tables x 20 "
                      "columns")
        if args.only_tokens:
            return
        path = tmp / "bench.duckdb"
        warehouse = args.warehouse or ROOT / "data" / "warehouse.duckdb"
        if warehouse.exists():
            shutil.copy(warehouse, path)
            source = str(warehouse)
        else:
            from warehouse.generate import generate

            generate(path, customers_n=20_000, seed=42)
            source = "a generated 20,000-customer warehouse (seed 42)"
        settings = Settings(warehouse=path, state_dir=tmp / "sessions")
        with Warehouse.open(path) as wh:
            customers = wh.scalar("SELECT count(*) FROM customers")
            print(f"\nLatencies on {source} ({customers:,} customers)")
            report_overhead(wh, settings, args.turns)
            report_planner(wh, settings)


if __name__ == "__main__":
    main()
