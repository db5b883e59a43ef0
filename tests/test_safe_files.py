"""Safe files (issue 16, item 4): literal import names, spreadsheet-safe exports, wide and binary
files refused at once with the line, the warehouse unchanged by every failed import, and init's
temporary files cleaned on any exit."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from typer.testing import CliRunner

from assistant.cli import app as cli
from warehouse.files import spreadsheet_safe, spreadsheet_text
from warehouse.generate import remove_stale_builds

HEADER = ("customer_id,first_name,last_name,email,phone,birth_date,gender,country,region,city,"
          "signup_date,acquisition_channel,income_band,employment_status,preferred_language,"
          "kyc_status")


def _row(i: int, city: str = "Berlin") -> str:
    return (f"{900000 + i},Ann,Lee,a{i}@example.com,,1990-01-01,female,DE,,{city},2024-01-01,"
            "organic,<25k,employed,de,verified")


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _import(*args) -> object:
    return CliRunner().invoke(cli, ["import", *map(str, args)])


def test_a_name_with_pattern_characters_is_one_file_not_a_glob(empty_warehouse, tmp_path):
    writable_warehouse = empty_warehouse
    (tmp_path / "customers1.csv").write_text(HEADER + "\n" + _row(1, "Glob") + "\n")
    (tmp_path / "customers2.csv").write_text(HEADER + "\n" + _row(2, "Glob") + "\n")
    literal = tmp_path / "customers[12].csv"
    literal.write_text(HEADER + "\n" + _row(3, "Literal") + "\n")
    result = _import(literal, "--table", "customers", "--path", writable_warehouse)
    assert result.exit_code == 0, result.output
    from warehouse.connection import Warehouse

    with Warehouse.open(writable_warehouse, read_only=True) as wh:
        cities = {r[0] for r in wh.rows("SELECT city FROM customers WHERE customer_id > 900000")}
    assert cities == {"Literal"}


def test_glob_only_when_asked(empty_warehouse, tmp_path):
    writable_warehouse = empty_warehouse
    for i in (1, 2):
        (tmp_path / f"part{i}.csv").write_text(HEADER + "\n" + _row(i) + "\n")
    pattern = tmp_path / "part*.csv"
    refused = _import(pattern, "--table", "customers", "--path", writable_warehouse)
    assert refused.exit_code == 1 and "pass --glob" in refused.output
    loaded = _import(pattern, "--glob", "--table", "customers", "--path", writable_warehouse)
    assert (loaded.exit_code == 0 and "2 files" in loaded.output) or "part2" in loaded.output


@pytest.mark.parametrize(("name", "content", "message"), [
    ("wide.csv", ",".join(f"c{i}" for i in range(20_000)) + "\n" + "1," * 19_999 + "1\n",
     ("line 1 (the header) has 20,000 columns",)),
    ("long_header.csv", "a" * 70_000 + ",b\n1,2\n",
     ("line 1 (the header), column 1: a column name of 70,000 characters",)),
    ("huge_header.csv", "a" * 1_100_000 + "\n", ("line 1 (the header) is longer than",)),
    ("binary.csv", HEADER + "\n" + _row(1) + "\n" + "x" * 70_000 + "\0\n",
     ("NUL byte on line 3, character 70,001",)),
    ("nul_early.csv", HEADER + "\n" + _row(1) + "\n9\0\n", ("NUL byte on line 3, character 2",)),
])
@pytest.mark.parametrize("as_table", [False, True])
def test_wide_and_binary_files_fail_fast_with_the_line_and_leave_the_warehouse_unchanged(
        empty_warehouse, tmp_path, name, content, message, as_table):
    writable_warehouse = empty_warehouse  # demo data would refuse the import before reading
    path = tmp_path / name
    path.write_bytes(content.encode())
    before = _digest(writable_warehouse)
    started = time.monotonic()
    extra = ["--as", "mine"] if as_table else ["--table", "customers"]
    result = _import(path, *extra, "--path", writable_warehouse)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    assert any(m in text for m in message), text[:500]
    assert time.monotonic() - started < 30
    assert _digest(writable_warehouse) == before


@pytest.mark.parametrize(("value", "safe"), [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+SUM(1,2)", "'+SUM(1,2)"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\tx", "'\tx"),
    ("\rx", "'\rx"),
    ("+491590936287", "+491590936287"),       # a phone as stored stays importable
    ("-12.5", "-12.5"),
    ("plain", "plain"),
])
def test_spreadsheet_cells_are_escaped(value, safe):
    assert spreadsheet_text(value) == safe


def test_exported_audiences_escape_formulas(rw, tmp_path):
    from tools.audience import export_audience

    rw.execute("UPDATE customers SET first_name = '=HYPERLINK(\"http://evil\",\"x\")', "
               "last_name = '+SUM(1,2)' WHERE customer_id IN (SELECT customer_id FROM customers "
               "LIMIT 500)")
    aud = export_audience(rw, "email", out=tmp_path / "aud.csv")
    df = pd.read_csv(aud.path, dtype=str)
    text = df[["first_name", "last_name"]].stack()
    assert not text.str.match(r"^[=+\-@\t\r]").any()
    assert text.str.startswith("'=HYPERLINK").any()
    frame = spreadsheet_safe(pd.DataFrame({"=x": ["=1+1"], "n": [-5]}))
    assert list(frame.columns) == ["'=x", "n"] and frame.iloc[0, 0] == "'=1+1"


def test_init_cleans_its_temporary_files_on_sigterm_and_after_a_kill(tmp_path):
    target = tmp_path / "w.duckdb"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    code = ("import sys; from warehouse.generate import generate; "
            f"generate({str(target)!r}, customers_n=400_000, seed=1)")
    proc = subprocess.Popen([sys.executable, "-c", code], env=env)
    deadline = time.time() + 120
    while not list(tmp_path.glob(".w.duckdb.building-*")) and time.time() < deadline:
        time.sleep(0.2)
    assert list(tmp_path.glob(".w.duckdb.building-*")), "the build never started"
    proc.terminate()
    proc.wait(timeout=60)
    assert not list(tmp_path.glob(".w.duckdb*")), list(tmp_path.iterdir())
    # a killed build leaves its files; the next init (any process) removes them
    stale = tmp_path / ".w.duckdb.building-999999"
    stale.write_text("x")
    (tmp_path / ".w.duckdb.building-999999.wal").write_text("x")
    assert len(remove_stale_builds(target)) == 2
    assert not list(tmp_path.glob(".w.duckdb*"))
