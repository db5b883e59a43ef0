"""`assistant draft`, `drafts ...` and `abtest`, as a campaign writer uses them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from assistant import cli

runner = CliRunner()
CARDS = json.loads((Path(__file__).parent / "fixtures" / "segment_cards.json").read_text("utf-8"))


def invoke(*args):
    return runner.invoke(cli.app, [str(a) for a in args], env={"COLUMNS": "120"})


def _card_file(tmp_path: Path, index: int) -> Path:
    path = tmp_path / "card.json"
    path.write_text(json.dumps(CARDS[index]), "utf-8")
    return path


def test_draft_prints_variants_with_compliance_and_saves_them(writable_warehouse, tmp_path):
    result = invoke("draft", "--card", _card_file(tmp_path, 0), "--channel", "sms",
                    "--language", "de", "--variants", "3", "--path", writable_warehouse)
    assert result.exit_code == 0, result.output
    assert "Drafted 3 sms variants in German" in result.output
    assert result.output.count("compliance passed") == 3
    assert "Abmelden: STOP an 12345" in result.output
    ids = re.findall(r"\b(d[0-9a-f]{6}-[a-c])\b", result.output)
    assert len(set(ids)) == 3
    batch = ids[0][:-2]
    assert f"assistant drafts approve {batch} --by NAME" in result.output

    listed = invoke("drafts", "list", "--path", writable_warehouse)
    assert listed.exit_code == 0 and all(i in listed.output for i in set(ids))
    shown = invoke("drafts", "show", ids[0], "--path", writable_warehouse)
    assert "Receipt of" in shown.output and "offline-templates" in shown.output
    assert "segment 1 of run r-sample" in shown.output

    approved = invoke("drafts", "approve", batch, "--by", "Jana Weber", "--path",
                      writable_warehouse)
    assert approved.exit_code == 0 and approved.output.count("Approved") == 3
    assert "approved by Jana Weber" in invoke("drafts", "list", "--status", "approved",
                                              "--path", writable_warehouse).output

    out = tmp_path / "out"
    exported = invoke("drafts", "export", batch, "--format", "csv", "--out", out, "--path",
                      writable_warehouse)
    assert exported.exit_code == 0, exported.output
    assert len(list(out.glob("drafts-*.csv"))) == 1


def test_draft_for_all_customers_and_errors_without_tracebacks(writable_warehouse):
    result = invoke("draft", "-c", "push", "--goal", "win back customers at risk of churning",
                    "--path", writable_warehouse)
    assert result.exit_code == 0, result.output
    assert "for all marketable customers" in result.output
    assert "Intent: win-back" in " ".join(result.output.split())
    bad = invoke("draft", "-c", "fax", "--path", writable_warehouse)
    assert bad.exit_code == 1 and "unknown channel 'fax'" in bad.output
    assert "Traceback" not in bad.output
    missing = invoke("drafts", "show", "d000000-a", "--path", writable_warehouse)
    assert missing.exit_code == 1 and "Error:" in missing.output


def test_abtest_explains_the_design(warehouse_path):
    result = invoke("abtest", "--channel", "email", "--audience", 2000, "--path", warehouse_path)
    assert result.exit_code == 0, result.output
    assert "Baseline conversion rate for email" in result.output
    assert "Variant A" in result.output and "Holdout" in result.output
    assert "too small" in result.output
    assert "--segment" in invoke("abtest", "--help").output
