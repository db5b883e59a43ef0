"""Grade campaign-copy requests as a reader would check them first, through `assistant ask`.

    assistant init --customers 5000 --path /tmp/copy.duckdb
    assistant ask "segment my customers" --path /tmp/copy.duckdb
    assistant ask "who is likely to churn?" --path /tmp/copy.duckdb   # win-back: the at-risk
    python bench/copy_blind.py --warehouse /tmp/copy.duckdb

Each request goes through the CLI (`assistant ask --json`, offline unless a model is
configured) and its saved drafts are read back from the warehouse. A request is graded OK when
it produced copy (or, for a forbidden claim, a refusal naming the rule) and every draft passed
compliance, has the asked tone (recognisable by one of the tone's signals in its language, legal
lines left out), intent and language, an email carries the unsubscribe and sender merge fields,
and no amount is in a currency other than the draft's own. Prints one line per request and the
count. The requests are phrased unlike the test fixtures, in the six contract languages.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from tools.copy_library import text  # noqa: E402
from tools.copy_offline import product_facts  # noqa: E402

# question, what it must show (tone/intent/lang; lang=all: 3+ languages; refuse=rule)
REQUESTS = [
    ("Need a cheeky push for segment 8 about the credit card", "tone=playful lang=en"),
    ("Bitte eine beruhigende Mail an Kunden mit Abwanderungsrisiko",
     "tone=reassuring intent=winback lang=de"),
    ("Un SMS formel pour le segment 7 sur l'investissement", "tone=formal lang=fr"),
    ("Email de bienvenida para los clientes nuevos, tono cálido",
     "tone=warm intent=welcome lang=es"),
    ("Messaggio in-app per il segmento 1 per riattivare i clienti inattivi",
     "intent=reactivation lang=it"),
    ("Stuur segment 4 een vriendelijke e-mail over sparen", "tone=warm lang=nl"),
    ("upsell email for the savers in segment 6 to save more, timely",
     "intent=upsell tone=urgent"),
    ("write an email telling segment 5 our crypto is risk-free", "refuse=no_risk_claim"),
    ("SMS for customers who just received their salary, in their languages",
     "intent=event_triggered lang=all"),
    ("Write an email for segment 2 in their languages, playful", "tone=playful lang=all"),
    ("Could you draft an SMS nudging segment 3 to open a savings pot? Friendly please.",
     "tone=warm lang=en"),
    ("Schreib eine Push-Nachricht für Segment 6, förmlich, zur Kreditkarte",
     "tone=formal lang=de"),
    ("Mail de réactivation pour les clients inactifs, ton rassurant",
     "tone=reassuring intent=reactivation lang=fr"),
    ("Un push divertido para el segmento 8 sobre la cuenta de ahorro", "tone=playful lang=es"),
    ("Email formale per il segmento 7 sugli investimenti", "tone=formal lang=it"),
    ("Pushbericht voor klanten die net hun salaris hebben ontvangen",
     "intent=event_triggered lang=nl"),
    ("win-back email for customers at risk of churning, warm, in their languages",
     "intent=winback tone=warm lang=all"),
    ("write an SMS for segment 4 saying they are pre-approved for a loan",
     "refuse=credit_pressure"),
    ("email for segment 7: bitcoin can't lose value", "refuse=no_risk_claim"),
    ("An in-app message welcoming new customers, playful, in German",
     "intent=welcome tone=playful lang=de"),
]
DRAFT_ID = re.compile(r"\bd[0-9a-f]{6}-[a-d]\b")


def _plain(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", value.lower())
                   if unicodedata.category(c) != "Mn")


def shows_tone(fields: dict[str, str], lang: str, tone: str, product: str, cur: str) -> bool:
    facts = product_facts(product, lang, (cur or "€").split("/")[0])
    legal = text(lang, "legal")
    whole = "\n".join(fields.values())
    for part in (facts["disclosure"], facts["disclosure_short"], legal["opt_out"],
                 legal["footer"]):
        if part:
            whole = whole.replace(part, "")
    return any(re.search(_plain(p), _plain(whole)) for p in text(lang, "tones", tone)["signals"])


def grade(db: str, question: str, want: dict[str, str], answer: str) -> list[str]:
    ids = DRAFT_ID.findall(answer)
    if want.get("refuse"):
        return [] if not ids and want["refuse"] in answer else [f"not refused ({answer[:80]})"]
    if not ids:
        return [f"no copy: {answer[:160]}"]
    con = duckdb.connect(db, read_only=True)
    rows = con.execute(
        "SELECT draft_id, channel, language, tone, intent, currency, content, passed, product "
        f"FROM assistant.campaign_drafts WHERE draft_id IN ({', '.join('?' * len(ids))})",
        ids).fetchall()
    con.close()
    problems, langs = [], set()
    for did, channel, lang, tone, intent, cur, content, passed, product in rows:
        fields = json.loads(content) if isinstance(content, str) else content
        body = "\n".join(fields.values())
        langs.add(lang)
        if not passed:
            problems.append(f"{did} failed compliance")
        if want.get("tone") not in (None, tone):
            problems.append(f"{did} tone {tone}")
        if not shows_tone(fields, lang, tone, product, cur):
            problems.append(f"{did} {tone} not recognisable")
        if want.get("intent") not in (None, intent):
            problems.append(f"{did} intent {intent}")
        if want.get("lang") not in (None, "all", lang):
            problems.append(f"{did} language {lang}")
        if channel == "email" and not ("{{unsubscribe_url}}" in body
                                       and "{{sender_address}}" in body):
            problems.append(f"{did} email without unsubscribe or sender")
        found = set(re.findall(r"C\$|[£$€]", body)) - set((cur or "").split("/"))
        if found:
            problems.append(f"{did} {''.join(found)} in a {cur} draft")
    if want.get("lang") == "all" and len(langs) < 3:
        problems.append(f"languages {sorted(langs)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warehouse", required=True, help="a warehouse from assistant init")
    parser.add_argument("--assistant", default=str(ROOT / ".venv" / "bin" / "assistant"))
    args = parser.parse_args()
    ok = 0
    for question, wanted in REQUESTS:
        want = dict(kv.split("=") for kv in wanted.split())
        out = subprocess.run([args.assistant, "ask", question, "--json", "--path",
                              args.warehouse], capture_output=True, text=True)
        try:
            answer = json.loads(out.stdout)["answer"]
        except (json.JSONDecodeError, KeyError):
            answer = ""
        problems = grade(args.warehouse, question, want, answer)
        ok += not problems
        print(("OK  " if not problems else "BAD ") + question
              + ("" if not problems else " | " + "; ".join(problems)))
    print(f"{ok}/{len(REQUESTS)} requests graded OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
