"""CLI commands for models that keep learning: `assistant clv`, `assistant models`.

They call the same functions as the agent's tools (tools/clv.py, tools/model_registry.py,
tools/champions.py) and print the results for a person.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich.panel import Panel

from assistant.cli import PathOption, app, friendly, out


def _df_table(df: pd.DataFrame, **kwargs):
    # imported when used: assistant.cli imports this module while cli_analytics may still be
    # half-imported
    from assistant.cli_analytics import _df_table as table

    return table(df, **kwargs)


def _open(path):
    from assistant.cli_analytics import _open as open_

    return open_(path)


def _steps():
    from assistant.cli_analytics import _steps as steps

    return steps()

models_app = typer.Typer(
    help="The model registry: every segmentation, churn, propensity and CLV model with its "
    "status (`assistant models`), its history (`assistant models history`), and approving a "
    "challenger (`assistant models approve MODEL --by NAME`).",
    invoke_without_command=True, no_args_is_help=False, rich_markup_mode="markdown",
)
app.add_typer(models_app, name="models")


@app.command()
@friendly
def clv(
    horizon: Annotated[int, typer.Option("--months", "-m", min=1, max=120,
                                         help="Months ahead to predict.")] = 12,
    top: Annotated[int, typer.Option("--top", "-n", min=1, max=1000,
                                     help="How many most valuable customers to list.")] = 20,
    table: Annotated[str | None, typer.Option(
        help="An imported transaction log (one row per purchase) instead of the warehouse "
        "(`assistant import orders.csv --as orders`).")] = None,
    customer: Annotated[str | None, typer.Option(
        help="The table's customer key column (found by name if not given).")] = None,
    date_column: Annotated[str | None, typer.Option(
        "--date", help="The table's purchase date column (the date or timestamp column if "
        "there is one).")] = None,
    amount: Annotated[str | None, typer.Option(
        help="The table's purchase amount column (found by name if not given).")] = None,
    calibration_end: Annotated[str | None, typer.Option(
        help="Last day (YYYY-MM-DD) of the fitting period of the holdout check [default: the "
        "middle of the data, at most a year before its end].")] = None,
    unit: Annotated[str, typer.Option(help="Time unit of the model: weeks or days.")] = "weeks",
    no_holdout: Annotated[bool, typer.Option(
        "--no-holdout", help="Skip the holdout check (fit on all data only).")] = False,
    path: PathOption = None,
) -> None:
    """Predict lifetime value: P(alive), expected purchases and spend per customer.

    BG/NBD (repeat purchases: a purchase is a day with spend) and Gamma-Gamma (spend per
    purchase), fitted by maximum likelihood. The models are first fitted up to the calibration
    end and checked on the holdout after it (predicted vs actual), then refitted on all data to
    forecast the next months; predictions go to `assistant.clv_scores` and the model to the
    registry.
    """
    from tools.clv import fit_clv, summary

    with _open(path) as wh, _steps() as step:
        res = fit_clv(wh, table=table, customer=customer, date_column=date_column,
                      amount=amount, calibration_end=calibration_end, unit=unit,
                      horizon_months=horizon, holdout=not no_holdout, top_n=top,
                      question="assistant clv", progress=step)
    out.print(Panel(summary(res), title="Lifetime value", title_align="left"), highlight=False)
    if not res.by_frequency.empty:
        out.print("[bold]Holdout check[/]: mean repeat purchases per customer in the holdout, "
                  "by repeat purchases in the fitting period")
        out.print(_df_table(res.by_frequency))
    out.print(f"[bold]Most valuable customers[/] over the next {horizon} months "
              f"({len(res.top)} shown)")
    out.print(_df_table(res.top))


@models_app.callback()
@friendly
def models_list(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(
        help="Only segmentation, churn, propensity or clv models.")] = None,
    path: PathOption = None,
) -> None:
    """List the registered models, newest first, with their status and lineage."""
    if ctx.invoked_subcommand is not None:
        return
    from tools.model_registry import list_models

    with _open(path) as wh:
        table = list_models(wh, kind)
    if table.empty:
        out.print("No models yet: `assistant segment`, `assistant churn` or `assistant clv` "
                  "train the first ones.")
        return
    table["created_at"] = pd.to_datetime(table["created_at"]).dt.strftime("%Y-%m-%d %H:%M")
    out.print(_df_table(table.drop(columns=["train_to"]), max_width=40))


@models_app.command("history")
@friendly
def models_history(
    kind: Annotated[str | None, typer.Option(help="Only this kind of model.")] = None,
    path: PathOption = None,
) -> None:
    """Every registration, comparison, promotion, approval and retirement, newest first."""
    from tools.model_registry import history

    with _open(path) as wh:
        table = history(wh, kind)
    table["event_at"] = pd.to_datetime(table["event_at"]).dt.strftime("%Y-%m-%d %H:%M")
    out.print(_df_table(table, max_width=70))


@models_app.command("approve")
@friendly
def models_approve(
    model_id: Annotated[str, typer.Argument(help="The challenger to promote.")],
    by: Annotated[str, typer.Option("--by", help="Your name, recorded with the approval.")],
    path: PathOption = None,
) -> None:
    """Promote a challenger to champion by a person's decision (recorded with the name)."""
    from tools.champions import approve

    with _open(path) as wh:
        rec = approve(wh, model_id, approver=by)
    out.print(f"{rec.model_id} is now the {rec.kind} champion for {rec.scope} (replacing "
              f"{rec.replaces or 'none'}), approved by {by}.", highlight=False)


@app.command()
@friendly
def refresh(
    only: Annotated[list[str] | None, typer.Option(
        "--only", help="Refresh only these kinds: segmentation, churn, clv (repeatable).")
    ] = None,
    path: PathOption = None,
) -> None:
    """Let the models learn from new data, keeping what people rely on.

    Segmentations are refitted from the champion's centres and matched to its segments, so
    ids and names carry over where membership mostly stayed (what changed is said); a churn
    challenger is trained on the latest split and promoted only if it beats the champion on
    the same held-out customers; lifetime value is refitted. Everything is recorded
    (`assistant models history`).
    """
    from tools.refresh import KINDS
    from tools.refresh import refresh as run_refresh

    kinds = tuple(only) if only else KINDS
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        from warehouse.errors import InvalidArgument

        raise InvalidArgument(f"--only takes {', '.join(KINDS)}, not {', '.join(unknown)}")
    with _open(path) as wh, _steps() as step:
        done = run_refresh(wh, kinds, progress=step)
    for r in done:
        title = f"{r.kind} ({r.scope})"
        body = f"[red]Not refreshed:[/] {r.error}" if r.error else "\n".join(r.sentences)
        out.print(Panel(body, title=title, title_align="left"), highlight=False)
