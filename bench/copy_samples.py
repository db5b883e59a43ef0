"""Print offline campaign drafts as a campaign writer would read them, and how long they take.

    python bench/copy_samples.py                      # travellers, students, investors; EN+DE
    python bench/copy_samples.py --segments 1,4,9 --channels email,sms,push
    python bench/copy_samples.py --tones warm,playful --intents winback --languages fr,es
    python bench/copy_samples.py --warehouse data/warehouse.duckdb   # latest segmentation run,
                                                      # plus timings of drafts on that warehouse

Without --warehouse the segment cards come from tests/fixtures/segment_cards.json (hand-built,
realistic cards for the eight demo personas and a lapsing segment). Every sample goes through
the same compliance check as a saved draft; findings are printed under it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools import copy_brief, copy_offline  # noqa: E402
from tools.compliance import check  # noqa: E402
from tools.copy_library import supported_languages  # noqa: E402
from tools.message_length import sms_count  # noqa: E402
from tools.segment_card import SegmentCard  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "segment_cards.json"


def cards_from(warehouse: str | None) -> tuple[dict[int, SegmentCard], dict[str, int]]:
    if not warehouse:
        cards = [SegmentCard.from_dict(d) for d in json.loads(FIXTURE.read_text("utf-8"))]
        return {c.segment_id: c for c in cards}, {}
    from tools.draft_campaign import recent_openers
    from tools.result import ToolContext
    from tools.runs import load_cards
    from warehouse.connection import Warehouse
    from warehouse.errors import RunNotFound

    with Warehouse.open(warehouse, read_only=True) as wh:
        openers, _ = recent_openers(ToolContext(wh=wh, settings=None))
        try:
            cards = load_cards(wh, None)
        except RunNotFound:
            print(f"{warehouse} has no segmentation run yet: using the sample cards")
            cards = [SegmentCard.from_dict(d) for d in json.loads(FIXTURE.read_text("utf-8"))]
    return {c.segment_id: c for c in cards}, openers


def show(card: SegmentCard, channel: str, language: str, variants: int,
         openers: dict[str, int], tone: str | None = None, intent: str | None = None) -> None:
    brief = copy_brief.plan(card, channel=channel, language=language, variants=variants,
                            openers=openers, tone=tone, intent=intent)
    print(f"\n{'=' * 100}\n{card.name} | {channel} | {brief.language_name} | {brief.intent} "
          f"| {brief.tone} | product {brief.product} | theme {brief.theme} | {brief.currency}")
    for note in brief.notes:
        print(f"  note: {note}")
    for letter, angle in zip("ABCD", brief.angles, strict=False):
        fields = copy_offline.write(brief, angle)
        report = check(fields, channel=channel, language=brief.language, product=brief.product)
        print(f"\n--- {letter} ({angle.replace('_', ' ')}) compliance: {report.status()}")
        for name, text in fields.items():
            extra = f"   [{sms_count(text).describe()}]" if channel == "sms" else ""
            if "\n" in text:
                print(f"{name}:\n    " + text.replace("\n", "\n    "))
            else:
                print(f"{name}: {text}{extra}")
        for finding in report.findings:
            print(f"  ! {finding.describe()}")


def timing(cards: dict[int, SegmentCard], repeats: int = 5) -> None:
    """Median milliseconds to plan and write one variant offline (no warehouse involved)."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        n = 0
        for card in cards.values():
            for channel in ("email", "sms", "push", "in_app"):
                for language in supported_languages():
                    brief = copy_brief.plan(card, channel=channel, language=language,
                                            variants=2)
                    for angle in brief.angles:
                        copy_offline.write(brief, angle)
                        n += 1
        runs.append((time.perf_counter() - start) * 1000 / n)
    print(f"\nOffline writing: median {statistics.median(runs):.2f} ms per variant "
          f"(plan + template + compliance check; {n} variants x {repeats} runs)")


def warehouse_timing(warehouse: str, repeats: int = 3) -> None:
    """Median seconds of a full draft (read-only: not saved) and an A/B design on `warehouse`."""
    import tempfile

    from tools.ab_design import design_ab_test
    from tools.draft_campaign import draft_campaign
    from tools.result import ToolContext
    from warehouse.connection import Warehouse

    with Warehouse.open(warehouse, read_only=True) as wh, \
            tempfile.TemporaryDirectory() as tmp:
        ctx = ToolContext(wh=wh, settings=None, output_dir=Path(tmp))
        for label, run in (
            ("draft_campaign, push, all marketable customers",
             lambda: draft_campaign(ctx, channel="push")),
            ("design_ab_test, email, all marketable customers",
             lambda: design_ab_test(ctx, channel="email")),
        ):
            seconds = []
            for _ in range(repeats):
                start = time.perf_counter()
                run()
                seconds.append(time.perf_counter() - start)
            print(f"{warehouse}: {label}: median {statistics.median(seconds):.2f} s "
                  f"({repeats} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warehouse", help="use the latest segmentation run of this warehouse")
    parser.add_argument("--segments", default="1,2,3", help="segment ids (default 1,2,3)")
    parser.add_argument("--channels", default="email,sms")
    parser.add_argument("--languages", default="en,de")
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--tones", default="", help="e.g. warm,playful (default: brand voice)")
    parser.add_argument("--intents", default="", help="e.g. winback,welcome (default: inferred)")
    args = parser.parse_args()
    cards, openers = cards_from(args.warehouse)
    for sid in (int(s) for s in args.segments.split(",")):
        if sid not in cards:
            sys.exit(f"no segment {sid}; segments: {', '.join(map(str, sorted(cards)))}")
        for channel in args.channels.split(","):
            for language in args.languages.split(","):
                for tone in args.tones.split(",") if args.tones else [None]:
                    for intent in args.intents.split(",") if args.intents else [None]:
                        show(cards[sid], channel, language, args.variants, openers, tone,
                             intent)
    timing(cards)
    if args.warehouse:
        warehouse_timing(args.warehouse)


if __name__ == "__main__":
    main()
