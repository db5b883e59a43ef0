"""Campaign copy from the command line: `assistant draft`, `assistant drafts ...`, `assistant
abtest`. Registered on the main app when assistant.cli imports this module."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from assistant.cli import PathOption, app, err, friendly, out
from assistant.settings import Settings, get_settings
from warehouse.errors import InvalidArgument

drafts_app = typer.Typer(
    name="drafts", no_args_is_help=True, rich_markup_mode="markdown",
    help="List, show, approve and export saved campaign drafts (each with its receipt).",
)
app.add_typer(drafts_app)

FORMAT_ALIASES = {"md": "markdown", "markdown": "markdown", "json": "json", "csv": "csv"}


def _context(settings: Settings, wh, *, writer=None):
    from tools.result import ToolContext

    return ToolContext(wh=wh, settings=settings, question="assistant " + shlex.join(sys.argv[1:]),
                       output_dir=Path(settings.warehouse).parent / "exports", writer=writer,
                       model=writer.name if writer else "offline")


def _writer(settings: Settings, wh):
    """The copywriter for the configured model; None (templates) when offline."""
    if settings.uses_offline_planner:
        return None
    from assistant.llm import chat_model
    from assistant.writer import writer_for

    return writer_for(chat_model(settings, wh), settings.model)


def _print_drafts(records: list[dict]) -> None:
    from tools.drafts import FIELD_LABELS

    for d in records:
        body = Text()
        for name, text in d["content"].items():
            body.append(f"{FIELD_LABELS.get(name, name)}: ", style="bold")
            body.append(("\n" if "\n" in text else "") + text + "\n")
        status = "passed" if d["passed"] else "BLOCKED"
        for f in d["findings"]:
            style = "red" if f["severity"] == "blocking" else "yellow"
            body.append(f"\n[{f['severity']}] {f['rule']} in {f['field']}: {f['message']}",
                        style=style)
        for r in d["repairs"]:
            body.append(f"\nrepaired: {r}", style="dim")
        title = (f"{d['draft_id']}  variant {d['variant']} ({d['angle'].replace('_', ' ')})  "
                 f"{d['channel']}, {d['language']}  compliance {status}"
                 + (f"  approved by {d['approved_by']}" if d.get("approved_by") else ""))
        out.print(Panel(body, title=title, title_align="left",
                        border_style="green" if d["passed"] else "red"))


@app.command()
@friendly
def draft(
    channel: Annotated[str, typer.Option("--channel", "-c", help="email, sms, push or in_app.")],
    segment: Annotated[int | None, typer.Option(
        "--segment", "-s", help="Segment id from `assistant segment`; omit for all marketable "
        "customers.")] = None,
    run: Annotated[str | None, typer.Option(help="Segmentation run [default: latest].")] = None,
    goal: Annotated[str | None, typer.Option(
        help="What the campaign should do, e.g. \"win back lapsed customers\".")] = None,
    product: Annotated[str | None, typer.Option(
        help="checking, savings, credit_card, personal_loan, mortgage, investment or crypto "
        "[default: from the goal or the segment].")] = None,
    intent: Annotated[str | None, typer.Option(
        help="winback, welcome, cross_sell, upsell, reactivation or event_triggered (with "
        "--event) [default: from the goal, else cross_sell].")] = None,
    event: Annotated[str | None, typer.Option(
        help="For event_triggered copy: card_payment_abroad, salary_received, large_deposit, "
        "application_started, product_viewed, account_opened or back_after_break.")] = None,
    language: Annotated[str | None, typer.Option(
        "--language", "-l", help="en, de, fr, es, it or nl, or all (one version per language "
        "of the audience) [default: the segment's main language].")] = None,
    tone: Annotated[str | None, typer.Option(
        help="warm, playful, formal, reassuring or urgent (urgent without pressure) "
        "[default: warm].")] = None,
    at_risk: Annotated[float | None, typer.Option(
        "--at-risk", help="Only customers with at least this churn risk (0-1) in the saved "
        "churn scores, e.g. 0.5; never re-runs the churn model.")] = None,
    variants: Annotated[int, typer.Option("--variants", "-n", min=1, max=4,
                                          help="A/B variants, each with its own angle.")] = 2,
    card: Annotated[Path | None, typer.Option(
        help="Write for a segment card saved as JSON instead of a stored segment.",
        exists=True, dir_okay=False)] = None,
    path: PathOption = None,
) -> None:
    """Write campaign copy for a segment: A/B variants, compliance-checked, saved as drafts.

    Offline (no API key) the copy comes from the template library in six languages; with a
    model configured the model writes it from the segment card, never from personal data.
    Every variant is checked (forbidden claims, disclosures, unsubscribe and sender lines,
    opt-out, lock-screen privacy, length, protected attributes) and saved with its receipt.
    Examples:

        assistant draft --segment 3 --channel email
        assistant draft -s 2 -c sms --product savings --language de --variants 3
        assistant draft -c sms --intent winback --at-risk 0.5 --tone reassuring
        assistant draft -c push --intent event_triggered --event card_payment_abroad
    """
    import json

    from tools.draft_campaign import draft_campaign, draft_for_card
    from tools.segment_card import SegmentCard

    settings = get_settings(warehouse=path)
    with settings.open_warehouse() as wh:
        ctx = _context(settings, wh, writer=_writer(settings, wh))
        kwargs = {"channel": channel, "goal": goal, "product": product, "tone": tone,
                  "intent": intent, "event": event, "language": language,
                  "min_churn_risk": at_risk, "variants": variants}
        if card is not None:
            try:
                loaded = SegmentCard.from_dict(json.loads(card.read_text("utf-8")))
            except (ValueError, TypeError, KeyError) as exc:
                raise InvalidArgument(f"{card} is not a segment card: {exc}") from None
            result = draft_for_card(ctx, loaded, **kwargs)
        else:
            result = draft_campaign(ctx, segment_id=segment, run_id=run, **kwargs)
    head, *rest = result.summary.splitlines()
    out.print(head, highlight=False)
    _print_drafts(result.data)
    for line in rest:
        if line.startswith("Saved as"):
            batch = result.data[0]["batch_id"]
            line = (f"Saved as {', '.join(d['draft_id'] for d in result.data)}. Approve with "
                    f"`assistant drafts approve {batch} --by NAME` (or one variant's id).")
        if line.startswith(("Saved as", "Not saved", "Notes", "Written offline", "Some copy")):
            out.print(line, highlight=False, markup=False)
    for f in result.files:
        err.print(f"Review document: {f}", style="dim", highlight=False)


def _open(path: Path | None, *, write: bool = False):
    settings = get_settings(warehouse=path)
    return settings, settings.open_warehouse(read_only=not write)


@drafts_app.command("list")
@friendly
def list_(
    status: Annotated[str | None, typer.Option(help="draft or approved.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Most drafts to list.")] = 20,
    path: PathOption = None,
) -> None:
    """List saved drafts, newest first."""
    from tools.drafts import list_saved

    _, wh = _open(path)
    with wh:
        records = list_saved(wh, status=status, limit=limit)
    if not records:
        out.print(f"No {status + ' ' if status else ''}drafts saved yet.")
        return
    for d in records:
        status = d.status + (f" by {d.approved_by}" if d.approved_by else "")
        style = "green" if d.passed else "red"
        out.print(f"[bold]{d.draft_id}[/]  {d.channel} {d.language}  "
                  f"{d.angle.replace('_', ' ')}  [{style}]{d.compliance}[/]  {status}  "
                  f"[dim]{d.created_at:%Y-%m-%d %H:%M}[/]", highlight=False)
        out.print(Text(f"    {d.segment_name}: \"{d.headline}\"", style="dim"))


@drafts_app.command()
@friendly
def show(
    draft_id: Annotated[str, typer.Argument(help="Draft id (d3f9a1-a) or batch id (d3f9a1).")],
    path: PathOption = None,
) -> None:
    """Show a draft's copy, compliance findings and receipt."""
    from tools.drafts import get, receipt

    _, wh = _open(path)
    with wh:
        records = get(wh, draft_id)
    _print_drafts([d.to_dict() for d in records])
    for d in records:
        out.print(f"[bold]Receipt of {d.draft_id}[/]", highlight=False)
        for key, value in receipt(d).items():
            out.print(Text(f"  {key}: ", style="bold") + Text(value))
        for note in d.notes:
            out.print(Text(f"  Note: {note}", style="dim"))
        if d.segment_sql:
            out.print(Text(f"  Segment SQL: {d.segment_sql}", style="dim"))


@drafts_app.command()
@friendly
def approve(
    draft_id: Annotated[str, typer.Argument(help="Draft id, or a batch id for all variants.")],
    by: Annotated[str, typer.Option("--by", help="Who approves (recorded in the receipt).")],
    path: PathOption = None,
) -> None:
    """Approve a draft for sending; refused while a compliance finding blocks it."""
    from tools.drafts import approve as approve_drafts

    _, wh = _open(path, write=True)
    with wh:
        records = approve_drafts(wh, draft_id, by)
    for d in records:
        out.print(f"Approved {d.draft_id} by {d.approved_by} on {d.approved_at:%Y-%m-%d %H:%M}.",
                  highlight=False)


@drafts_app.command()
@friendly
def export(
    ids: Annotated[list[str] | None, typer.Argument(
        help="Draft or batch ids [default: the 20 newest drafts].")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="md, json or csv.")] = "md",
    out_dir: Annotated[Path | None, typer.Option(
        "--out", help="Folder for the file [default: exports/ beside the warehouse].")] = None,
    path: PathOption = None,
) -> None:
    """Export drafts with their receipts as Markdown, JSON or CSV."""
    from tools.drafts import export as export_drafts
    from tools.drafts import get, list_saved

    fmt_name = FORMAT_ALIASES.get(fmt.lower())
    if fmt_name is None:
        raise InvalidArgument(f"unknown format {fmt!r}; use md, json or csv")
    settings, wh = _open(path)
    with wh:
        records = get(wh, ids) if ids else list_saved(wh, limit=20)
    if not records:
        raise InvalidArgument("there are no saved drafts to export yet")
    target = export_drafts(records, fmt_name, out_dir or Path(settings.warehouse).parent /
                           "exports")
    out.print(f"Exported {len(records)} draft{'s' * (len(records) != 1)} to {target}",
              highlight=False)


@app.command()
@friendly
def abtest(
    channel: Annotated[str, typer.Option("--channel", "-c", help="email, sms, push or in_app.")],
    segment: Annotated[int | None, typer.Option(
        "--segment", "-s", help="Segment to test on [default: all marketable customers].")
    ] = None,
    run: Annotated[str | None, typer.Option(help="Segmentation run [default: latest].")] = None,
    audience: Annotated[int | None, typer.Option(
        help="Customers available [default: the consented reach].")] = None,
    baseline: Annotated[float | None, typer.Option(
        help="Conversion rate to assume, e.g. 0.03 [default: the channel's history].")] = None,
    lift: Annotated[float, typer.Option(help="Smallest relative lift worth detecting, "
                                             "0.2 = +20%.")] = 0.2,
    variants: Annotated[int, typer.Option("--variants", "-n", help="Variants compared.")] = 2,
    holdout: Annotated[float, typer.Option(help="Share that gets no message.")] = 0.1,
    path: PathOption = None,
) -> None:
    """Design an A/B test: customers needed per variant, the split and a holdout.

    Uses the channel's historical conversion rate from past campaigns (distinct converted /
    distinct sent), a two-sided test at 5% significance and 80% power, and says when the
    audience is too small and which lift it could detect. Example:

        assistant abtest --channel email --segment 3
    """
    from tools.ab_design import design_ab_test

    settings, wh = _open(path)
    with wh:
        ctx = _context(settings, wh)
        result = design_ab_test(ctx, channel=channel, audience_size=audience, segment_id=segment,
                                run_id=run, baseline_rate=baseline, min_lift=lift,
                                variants=variants, holdout=holdout)
    out.print(result.summary, highlight=False)
    df = result.tables[0].df
    table = Table(header_style="bold")
    for col in df.columns:
        table.add_column(col, justify="right" if col != "group" else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    out.print(table)
