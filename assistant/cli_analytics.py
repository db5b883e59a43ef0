"""CLI commands for segments, churn and audiences: `assistant segment`, `runs`, `churn`,
`audience`. They call the same functions the agent's tools do (tools/segments.py, churn.py,
audience.py) and print the results for a person; personal data is only ever written to the
audience CSV file, never printed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.panel import Panel
from rich.table import Table

from assistant.cli import PathOption, app, err, friendly, out
from assistant.settings import get_settings
from tools.naming import fmt_value
from tools.segment_card import SegmentCard
from warehouse.errors import InvalidArgument

runs_app = typer.Typer(
    help="Saved segmentation and scoring runs: list them (`assistant runs`), show the segments "
    "of one (`assistant runs show RUN`), compare two (`assistant runs compare A B`).",
    invoke_without_command=True, no_args_is_help=False, rich_markup_mode="markdown",
)
app.add_typer(runs_app, name="runs")


def _open(path: Path | None):
    return get_settings(warehouse=path).open_warehouse()


@contextmanager
def _steps() -> Iterator:
    """A spinner showing the current step; each finished step is printed with its time."""
    state = {"msg": None, "t": 0.0}
    with err.status("Starting...", spinner="dots") as status:
        def step(msg: str) -> None:
            if state["msg"]:
                err.print(f"[green]✓[/] {state['msg']} [dim]({time.perf_counter() - state['t']:.1f}"
                          " s)[/]", highlight=False)
            state["msg"], state["t"] = msg, time.perf_counter()
            status.update(f"{msg}...")
        yield step
        if state["msg"]:
            err.print(f"[green]✓[/] {state['msg']} [dim]({time.perf_counter() - state['t']:.1f} s)"
                      "[/]", highlight=False)


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def print_card(card: SegmentCard) -> None:
    """One segment card as a panel: description, traits with effect sizes, products, reach."""
    traits = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    traits.add_column("what sets them apart")
    traits.add_column("segment", justify="right")
    traits.add_column("everyone", justify="right")
    traits.add_column("effect (d)", justify="right")
    for t in card.traits[:6]:
        colour = "green" if t.effect_size > 0 else "red"
        traits.add_row(t.label, fmt_value(t.segment_mean, t.unit),
                       fmt_value(t.population_mean, t.unit),
                       f"[{colour}]{t.effect_size:+.1f}[/]")
    body = Table.grid()
    # the name heads the body, not the border, where a long one would be cut off
    body.add_row(f"[bold]{card.name}[/]\n{card.description_beside_facts()}\n")
    body.add_row(traits)
    facts = []
    if card.products:
        top = sorted(card.products.items(), key=lambda kv: -kv[1])[:4]
        facts.append("Products: " + ", ".join(f"{p.replace('_', ' ')} {v:.0%}" for p, v in top))
    if card.reach:
        facts.append("Consented reach: " + ", ".join(f"{ch} {n:,}" for ch, n in card.reach.items()))
    if card.countries:
        top = sorted(card.countries.items(), key=lambda kv: -kv[1])[:4]
        facts.append("Countries: " + ", ".join(f"{c} {v:.0%}" for c, v in top))
    if facts:
        body.add_row("\n" + "\n".join(facts))
    out.print(Panel(body, title=f"[bold]Segment {card.segment_id}[/]", title_align="left",
                    subtitle=f"{card.size:,} customers · {card.share:.0%}",
                    subtitle_align="right"))


@app.command()
@friendly
def segment(
    k: Annotated[int | None, typer.Option(
        "--k", "-k", help="Number of segments [default: chosen automatically, 3-10].")] = None,
    method: Annotated[str, typer.Option(
        help="behaviour: clusters on spending, channels, app use and products; rfm: the "
        "classic recency-frequency-monetary segments (Champions, At risk, ...).")] = "behaviour",
    active_only: Annotated[bool, typer.Option(
        "--active-only", help="Only customers with a transaction in the last 90 days.")] = False,
    country: Annotated[str | None, typer.Option(
        help="Only customers living in this country (ISO-2, e.g. DE).")] = None,
    product: Annotated[str | None, typer.Option(
        help="Only customers holding this product (e.g. credit_card).")] = None,
    table: Annotated[str | None, typer.Option(
        help="Segment a table you imported with `assistant import FILE --as NAME` instead of "
        "the warehouse customers.")] = None,
    columns: Annotated[str | None, typer.Option(
        help="Comma-separated columns (of --table) or features to cluster on [default: all "
        "usable ones].")] = None,
    include_protected: Annotated[bool, typer.Option(
        "--include-protected", help="Also use protected attributes (gender, age). Recorded in "
        "the run; only with a good reason.")] = False,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same segments.")] = 42,
    window_days: Annotated[int | None, typer.Option(
        "--window-days", help="RFM only: score purchases and spend of the last N days "
        "[default: all history]; lapsed customers are scored either way.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the cards as JSON.")] = False,
    path: PathOption = None,
) -> None:
    """Segment your customers and describe each segment in plain language.

    Every segment gets a name, its size, the traits that set it apart (with effect sizes:
    d = +1.0 means one standard deviation above the other customers), the products it holds
    and how many of its customers may be contacted per channel. The run is saved in the
    warehouse (schema `assistant`), so you can query it with `assistant sql`, compare it with
    `assistant runs compare` and target a segment with `assistant audience`.

    Examples: `assistant segment`, `assistant segment --k 6 --active-only`,
    `assistant segment --method rfm`, `assistant segment --table cc_customers`.
    """
    from tools.segments import run_segmentation

    with _open(path) as wh, _steps() as step:
        seg = run_segmentation(wh, k=k, method=method, active_only=active_only,
                               country=country, product=product, table=table,
                               columns=_columns(columns), include_protected=include_protected,
                               seed=seed, question="assistant segment", progress=step,
                               window_days=window_days)
    if as_json:
        out.print_json(json.dumps([c.to_dict() for c in seg.cards], default=str))
        return
    for card in seg.cards:
        print_card(card)
    run, m = seg.run, seg.run.metrics
    how = (f"RFM scores; frequency in {m.get('frequency_scoring', 'quintiles')}"
           if run.kind == "rfm" else f"k={m['k']}, {m['k_reason']}")
    out.print(f"[bold]Run {run.run_id}[/]: {run.row_count:,} "
              f"{'customers' if run.source_table == 'customers' else 'rows of ' + run.source_table}"
              f" in {len(seg.cards)} segments ({how}).", highlight=False)
    if run.kind != "rfm" and m.get("silhouette") is not None:
        from tools.segments import silhouette_words

        out.print(silhouette_words(m["silhouette"]), highlight=False)
    for note in seg.notes:
        out.print(note, highlight=False)
    out.print("Protected attributes [bold red]were used[/] (recorded in the run)." if
              run.protected_attributes_used else
              "Protected attributes (gender, age) were not used.", highlight=False)
    out.print(f"[dim]Members: SELECT * FROM assistant.segment_members WHERE run_id = "
              f"'{run.run_id}'[/]", highlight=False)


def _runs_table(df: pd.DataFrame) -> Table:
    table = Table(header_style="bold")
    table.add_column("run", no_wrap=True)
    for col in ("kind", "created", "source", "rows", "segments", "protected", "result"):
        table.add_column(col)
    for r in df.itertuples():
        metrics = json.loads(r.metrics) if r.metrics else {}
        if r.kind in ("churn", "propensity"):
            result = (f"ROC AUC {metrics.get('roc_auc', float('nan')):.2f}, top-decile "
                      f"precision {metrics.get('precision_top_decile', float('nan')):.0%}")
        elif r.kind == "segmentation":
            result = f"k={metrics.get('k')}, silhouette {metrics.get('silhouette', 0):.2f}"
        else:
            result = ""
        table.add_row(r.run_id, r.kind, f"{r.created_at:%Y-%m-%d %H:%M}", r.source_table,
                      f"{r.row_count:,}", str(r.segments or ""),
                      "yes" if r.protected_attributes_used else "no", result)
    return table


@runs_app.callback()
@friendly
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many runs to list.")] = 20,
    kind: Annotated[str | None, typer.Option(
        help="Only runs of this kind: segmentation, rfm, churn, propensity.")] = None,
    path: PathOption = None,
) -> None:
    """List saved segmentation and scoring runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from tools.runs import KINDS, list_runs

    if kind is not None and kind not in KINDS:
        raise InvalidArgument(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    with _open(path) as wh:
        df = list_runs(wh, kinds=(kind,) if kind else KINDS, limit=limit)
    if df.empty:
        out.print("No runs saved yet. Try `assistant segment` or `assistant churn`.")
        return
    out.print(_runs_table(df))


@runs_app.command("show")
@friendly
def runs_show(
    run_id: Annotated[str | None, typer.Argument(help="Run id [default: the latest "
                                                      "segmentation].")] = None,
    segment_id: Annotated[int | None, typer.Option("--segment", help="Only this segment.")] = None,
    path: PathOption = None,
) -> None:
    """Print the segment cards of a saved segmentation run."""
    from tools.runs import load_cards
    from tools.segment_card import load_card

    with _open(path) as wh:
        cards = ([load_card(wh, run_id, segment_id)] if segment_id is not None
                 else load_cards(wh, run_id))
    for card in cards:
        print_card(card)


@runs_app.command("compare")
@friendly
def runs_compare(
    run_a: Annotated[str | None, typer.Argument(help="Earlier run [default: second latest].")
                     ] = None,
    run_b: Annotated[str | None, typer.Argument(help="Later run [default: latest].")] = None,
    path: PathOption = None,
) -> None:
    """Compare two segmentation runs: segment sizes and where customers moved."""
    from tools.result import ToolContext
    from tools.segments import compare_segment_runs

    with _open(path) as wh:
        res = compare_segment_runs(ToolContext(wh=wh, settings=None), run_a, run_b)
    out.print(res.summary, highlight=False)
    for t in res.tables:
        out.print(f"\n[bold]{t.title}[/]")
        df = t.df.drop(columns=["run_id"], errors="ignore")
        out.print(_df_table(df, max_width=70))


def _df_table(df: pd.DataFrame, *, max_width: int | None = None, key: str | None = None
              ) -> Table:
    table = Table(header_style="bold")
    for col in df.columns:
        table.add_column(str(col), overflow="fold", max_width=max_width)
    keys = {c for c in df.columns if str(c).endswith(("_id", "id", "ID", "Id")) or c == "row"
            or c == key}
    for row in df.itertuples(index=False):
        table.add_row(*(_cell(v, key=col in keys) for col, v in zip(df.columns, row,
                                                                    strict=True)))
    return table


def _cell(value, *, key: bool = False) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if key or isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@app.command()
@friendly
def churn(
    top: Annotated[int, typer.Option("--top", "-n", min=1, max=1000,
                                     help="How many highest-risk customers to list.")] = 20,
    table: Annotated[str | None, typer.Option(
        help="Model an imported table instead (needs --target).")] = None,
    target: Annotated[str | None, typer.Option(
        help="The table's yes/no column to predict, e.g. Exited.")] = None,
    include_protected: Annotated[bool, typer.Option(
        "--include-protected", help="Also use protected attributes (gender, age). Recorded in "
        "the run.")] = False,
    retrain: Annotated[bool, typer.Option(
        "--retrain", help="Train a challenger on the latest data; it replaces the champion "
        "model only if it beats it on the same held-out customers.")] = False,
    columns: Annotated[str | None, typer.Option(
        help="Comma-separated features (or columns of --table) to train on [default: all "
        "usable ones].")] = None,
    exclude: Annotated[str | None, typer.Option(
        help="Comma-separated features (or columns of --table) to leave out, e.g. one known "
        "only after the outcome: --exclude duration.")] = None,
    positive: Annotated[str | None, typer.Option(
        help="The --target value to predict, e.g. 'Attrited Customer' [default: the one that "
        "says churned, attrited, yes or 1].")] = None,
    path: PathOption = None,
) -> None:
    """Predict who is likely to churn, with how well the model does on held-out customers.

    On the warehouse: features as of 90 days before the reference date, label = churned in the
    90 days after (the contract's definition); the better of gradient boosting and logistic
    regression on validation data is kept; scores for every active customer are saved to
    `assistant.scores`. The first model becomes the champion (`assistant models`); later runs
    score with it, and `--retrain` (or `assistant refresh`) trains a challenger. With
    `--table T --target C` the same model predicts column C of an
    imported table (e.g. `assistant churn --table bank_churn --target Exited`).
    """
    from tools.churn import score_churn, score_table
    from tools.churn import summary as churn_summary

    if (table is None) != (target is None):
        raise InvalidArgument("--table and --target go together (the yes/no column to predict)")
    if positive is not None and table is None:
        raise InvalidArgument("--positive goes with --table and --target (the value to predict)")
    with _open(path) as wh, _steps() as step:
        if table is None:
            res = score_churn(wh, top_n=top, include_protected=include_protected,
                              retrain=retrain, question="assistant churn", progress=step,
                              columns=_columns(columns), exclude=_columns(exclude))
        else:
            res = score_table(wh, table, target, top_n=top, include_protected=include_protected,
                              question="assistant churn", progress=step,
                              columns=_columns(columns), exclude=_columns(exclude),
                              positive=positive)
    m = res.run["metrics"]
    out.print(Panel(churn_summary(res, table=table, target=target), title="Model",
                    title_align="left"), highlight=False)
    out.print("[bold]Calibration on held-out rows[/] (score deciles, low to high)")
    out.print(_df_table(pd.DataFrame(m["calibration"])))
    out.print("[bold]Top drivers[/] (drop in ROC AUC when the feature is shuffled)")
    out.print(_df_table(pd.DataFrame(m["drivers"])[["label", "importance", "direction"]]))
    out.print(f"[bold]Highest risk[/] ({len(res.at_risk)} shown)")
    out.print(_df_table(res.at_risk, max_width=60, key=res.run["params"].get("key")))


@app.command()
@friendly
def audience(
    channel: Annotated[str, typer.Option(help="email, sms or push.")],
    segment_id: Annotated[int | None, typer.Option(
        "--segment", help="A segment of the latest segmentation run (or of --run).")] = None,
    run_id: Annotated[str | None, typer.Option("--run", help="Segmentation run id.")] = None,
    country: Annotated[str | None, typer.Option(help="Only customers in this country.")] = None,
    min_churn_risk: Annotated[float | None, typer.Option(
        help="Only customers whose latest churn score is at least this (0-1).")] = None,
    top_value: Annotated[float | None, typer.Option(
        help="Only the top share of customers by predicted lifetime value (0.1 = top 10%; "
        "uses the latest `assistant clv` run).")] = None,
    name: Annotated[str | None, typer.Option(help="A name for the audience.")] = None,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="CSV file to write [default: data/exports/<name>.csv].")] = None,
    path: PathOption = None,
) -> None:
    """Export a consent-safe campaign audience as CSV and say who was left out and why.

    Only customers who granted the channel, did not object to profiling, are KYC-verified,
    hold an open account and have a contact address for the channel are exported. The CSV
    columns are stable (customer_id, first_name, last_name, email or phone, preferred_language,
    country, segment_id, run_id, consent_updated_at) so email and SMS tools can import it.
    """
    from tools.audience import REASON_WORDS, export_audience

    with _open(path) as wh:
        aud = export_audience(wh, channel, segment_id=segment_id, run_id=run_id,
                              country=country, min_churn_risk=min_churn_risk, name=name,
                              top_value_share=top_value, out=out_file,
                              question="assistant audience")
    c = aud.counts
    table = Table(header_style="bold")
    table.add_column("customers")
    table.add_column("count", justify="right")
    table.add_row(f"selected ({aud.selection.describe()})", f"{c.selected:,}")
    for reason, n in c.excluded.items():
        table.add_row(f"  excluded: {REASON_WORDS[reason]}", f"{n:,}")
    table.add_row(f"[bold]in the {aud.channel} audience[/]", f"[bold]{c.eligible:,}[/]")
    out.print(table)
    if aud.path:
        out.print(f"Wrote {aud.path} ({c.eligible:,} rows; contains personal data, handle with "
                  f"care). Audience {aud.audience_id} is recorded in assistant.audiences.",
                  highlight=False)
    else:
        out.print("Nobody in the selection may be contacted on this channel; no file written.")


def _draft_model(wh, table: str, source: str) -> str:
    """Draft, store and describe the semantic model of a freshly imported table."""
    from tools.table_model import MERGED, SENTINEL, draft_model
    from warehouse.semantic.models import save_model

    try:
        text = draft_model(wh, table, source)
        model = save_model(wh, table, text)
    except InvalidArgument as exc:
        return (f"No semantic model was drafted ({exc}); questions about {table} need one: "
                f"write it with `assistant model edit {table}`.")
    measures = ", ".join(m.label for n, m in model.measures.items() if n != "rows")
    splits = ", ".join(d.label for d in model.all_dimensions
                       if d.kind != "number" or d.ordered)
    rates = ", ".join(m.label for m in model.metrics.values())
    merged = [line[len(MERGED):] for line in text.splitlines() if line.startswith(MERGED)]
    sentinels = [line[len("# " + SENTINEL):] for line in text.splitlines()
                 if line.startswith("# " + SENTINEL)]
    merged_text = (" Values that differ only by case or spaces are counted as one: "
                   + "; ".join(merged) + f"; edit with `assistant model edit {table}`."
                   if merged else "")
    merged_text += "".join(f" Read as none: {note}." for note in sentinels)
    return (f"Semantic model drafted: measures {measures or 'none'}; splits and filters "
            f"{splits or 'none'}{f'; rates {rates}' if rates else ''}.{merged_text} Ask e.g. "
            f"\"how many customers in {table}?\"; see it with `assistant model show {table}`, "
            f"change it with `assistant model edit {table}`.")


def import_as(files: list[Path], name: str, *, mode: str, delimiter: str | None,
              path: Path | None, as_json: bool) -> None:
    """`assistant import FILE --as NAME`: load one file as a user table and say what it holds."""
    from tools.table_features import profile_table
    from warehouse.user_tables import import_user_table

    if len(files) != 1:
        raise InvalidArgument(f"--as loads one file as one table; {len(files)} files were given")
    if mode not in ("append", "replace"):
        raise InvalidArgument(f"--mode must be append or replace, not {mode!r}")
    with _open(path) as wh:
        report = import_user_table(wh, files[0], name,
                                   mode="replace" if mode == "replace" else "create",
                                   delimiter=delimiter)
        try:
            profile = profile_table(wh, report.table).describe()
        except InvalidArgument as exc:
            profile = str(exc)
        model = _draft_model(wh, report.table, files[0].name)
    if as_json:
        out.print_json(json.dumps({"table": report.table, "rows": report.rows,
                                   "columns": report.columns, "replaced": report.replaced,
                                   "profile": profile, "model": model}, default=str))
        return
    out.print(report.to_text(), highlight=False)
    out.print(f"Detected: {profile}.", highlight=False)
    out.print(model, highlight=False)
    out.print(f"Next: `assistant segment --table {report.table}`, or `assistant churn --table "
              f"{report.table} --target COLUMN` to model a yes/no column.", highlight=False)
