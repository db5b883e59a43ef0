"""A one-shot `assistant ask` loads only what it uses: no scikit-learn, scipy, skops, gradio,
plotly or openai client for an offline question (the start-up time is in bench/startup_bench.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("sklearn", "scipy", "skops", "gradio", "plotly", "openai", "langchain_openai")
PROBE = """
import json, sys
from assistant.cli import main
sys.argv = ["assistant", "ask", "How many customers live in Germany?", "--json", "--path", {path!r}]
try:
    main()
finally:
    loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({heavy!r}))
    sys.stderr.write("LOADED " + json.dumps(loaded) + "\\n")
"""


def test_an_offline_question_imports_no_heavy_library(writable_warehouse, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "OPENAI_"))}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(path=str(writable_warehouse), heavy=HEAVY)],
        capture_output=True, text=True, env=env | {"ASSISTANT_STATE_DIR": str(tmp_path)},
        cwd=tmp_path, timeout=300)
    assert json.loads(done.stdout)["answer"].startswith("There are 751 customers in Germany")
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    assert json.loads(line.removeprefix("LOADED ")) == []


def test_the_lazy_modules_still_work_when_used(rw):
    from tools import churn, segments

    assert churn.propensity.MODEL_NAMES            # loads scikit-learn on first use
    assert segments._clustering.Column("x").name == "x"
