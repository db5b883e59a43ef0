"""The `assistant` command line: build, import, query and serve the marketing warehouse."""

from __future__ import annotations

import functools
import importlib
import json
import re
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from assistant.settings import Settings, get_settings
from warehouse.errors import AssistantError, QueryError, log_unexpected

app = typer.Typer(
    name="assistant",
    help="A marketing assistant for fintech teams: ask questions about your customers, find "
    "segments, predict churn and draft compliant campaign copy, all from your own warehouse.\n\n"
    "Start with `assistant serve` (builds a demo warehouse on first run and opens the chat "
    "page), or `assistant init` to build the demo warehouse only.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)
out = Console()
err = Console(stderr=True, soft_wrap=True)

PathOption = Annotated[
    Path | None,
    typer.Option("--path", "-p", help="Warehouse file [env: ASSISTANT_WAREHOUSE; default "
                 "data/warehouse.duckdb]."),
]


def friendly(fn):
    """Print AssistantErrors as one clear line and exit 1 instead of a traceback; anything
    unexpected (a bug) is one line too, exit 2, with the traceback in a file for the report."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AssistantError as exc:
            err.print(f"[bold red]Error:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, click.exceptions.Exit, click.exceptions.Abort,
                click.ClickException):
            raise
        except Exception as exc:     # the last line of defence: no traceback reaches a person
            log_unexpected(f"assistant {fn.__name__}", exc)
            where = _crash_report(exc)
            err.print(f"[bold red]Error:[/] something went wrong that the assistant did not "
                      f"expect ({type(exc).__name__}) and stopped (writes are atomic: nothing "
                      f"half-written is kept). This is a bug: the details for a "
                      f"report are in {where}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper


def _crash_report(exc: BaseException) -> str:
    """Write the traceback to a private file in the temp folder and return its path."""
    import os
    import tempfile
    import traceback
    from datetime import datetime

    text = "".join(traceback.format_exception(exc))
    try:
        fd, path = tempfile.mkstemp(prefix=f"assistant-error-{datetime.now():%Y%m%d-%H%M%S}-",
                                    suffix=".txt")
        with os.fdopen(fd, "w") as f:
            f.write(" ".join(sys.argv[:2]) + "\n\n" + text)
        return path
    except OSError:
        return "(no file could be written)"


def _progress() -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("customers"), TimeElapsedColumn(), console=err,
                    transient=False, disable=not err.is_terminal)


def build_warehouse(settings: Settings, *, customers: int, seed: int, force: bool,
                    end_date: str | None = None) -> None:
    """Generate the synthetic warehouse with a progress bar and a one-line summary."""
    from warehouse.generate import DEFAULT_END_DATE, generate

    with _progress() as bar:
        task = bar.add_task(f"Building {settings.warehouse}", total=customers)
        report = generate(settings.warehouse, customers_n=customers, seed=seed, force=force,
                          end_date=end_date or DEFAULT_END_DATE,
                          progress=lambda done, total: bar.update(task, completed=done))
    err.print(
        f"Built {report.path}: {report.customers:,} customers, "
        f"{report.rows['transactions']:,} transactions, {report.total_rows:,} rows in "
        f"{report.seconds:.1f} s (seed {report.seed}).", highlight=False,
    )


@app.command()
@friendly
def init(
    path: PathOption = None,
    customers: Annotated[int | None, typer.Option(
        "--customers", "-n", min=1, help="How many customers to generate [default 20,000].",
    )] = None,
    seed: Annotated[int | None, typer.Option(
        help="Random seed; the same seed gives the same warehouse [default 42].")] = None,
    end_date: Annotated[str | None, typer.Option(
        help="Last day of the 18 months of history, YYYY-MM-DD [default 2026-10-31].")] = None,
    force: Annotated[bool, typer.Option(
        "--force", "-f", help="Replace an existing warehouse (its data is lost).")] = False,
    empty: Annotated[bool, typer.Option(
        "--empty", help="Create an empty warehouse for your own data (the tables, no demo "
        "rows); then `assistant import`.")] = False,
) -> None:
    """Build the demo warehouse (a synthetic, reproducible fintech customer base), or with
    `--empty` an empty one for your own data.

    Customers, accounts, ~18 months of transactions, app events, consents and past campaigns,
    drawn from hidden customer personas. Large builds (e.g. `-n 1000000`) run in chunks.
    """
    settings = get_settings(warehouse=path, customers=customers, seed=seed)
    if empty:
        if customers is not None or seed is not None or end_date is not None:
            raise AssistantError("--empty makes a warehouse without demo data: --customers, "
                                 "--seed and --end-date do not apply")
        from warehouse.generate import create_empty

        made = create_empty(settings.warehouse, force=force)
        err.print(f"Created an empty warehouse at {made} (the tables, no rows). Load your data "
                  f"with `assistant import --mapping FILE --path {made}` (or `assistant import "
                  "FILE...`); `assistant import --draft-mapping FILES` drafts a mapping for "
                  "you to check.", highlight=False)
        return
    build_warehouse(settings, customers=settings.customers, seed=settings.seed, force=force,
                    end_date=end_date)


@app.command("import")
@friendly
def import_(
    files: Annotated[list[Path] | None, typer.Argument(
        help="CSV or Parquet files, each read exactly as named (no wildcards unless --glob). "
        "The table is taken from the file name (customers.csv -> customers) unless --table "
        "is given.")] = None,
    table: Annotated[str | None, typer.Option(
        "--table", "-t", help="Target table for all the files given.")] = None,
    mapping: Annotated[list[str] | None, typer.Option(
        "--map", "-m", help="Rename file columns: 'cust_id=customer_id,mail=email' (repeatable)."
    )] = None,
    mode: Annotated[str, typer.Option(
        help="append: add rows; replace: empty the target tables first.")] = "append",
    delimiter: Annotated[str | None, typer.Option(
        help="CSV delimiter (detected when not given).")] = None,
    max_rejects: Annotated[int, typer.Option(
        help="Skip up to this many bad rows (written to <file>.rejects.csv) instead of failing "
        "on the first.")] = 0,
    ignore_extra: Annotated[bool, typer.Option(
        help="Ignore file columns that are not in the table instead of failing.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    as_name: Annotated[str | None, typer.Option(
        "--as", help="Load ONE file as a table of its own with this name (any columns, types "
        "inferred), to segment or score it: `assistant segment --table NAME`.")] = None,
    use_glob: Annotated[bool, typer.Option(
        "--glob", help="Treat the file names as patterns (* ? [..]) and import every match, "
        "in name order.")] = False,
    mapping_file: Annotated[Path | None, typer.Option(
        "--mapping", help="Import with a mapping file (TOML): the source files, their formats "
        "and how their columns become the warehouse's. See the README, 'Mapping files'.")] = None,
    remove_demo: Annotated[bool, typer.Option(
        "--remove-demo", help="The warehouse holds generated demo data: delete all of it (and "
        "the segments, scores and models built on it) before importing.")] = False,
    draft_mapping: Annotated[bool, typer.Option(
        "--draft-mapping", help="Do not import: write a first mapping file for FILES from "
        "their profiles (to --out, default mapping.toml beside the first file) for you to "
        "check, then `assistant import --mapping`.")] = False,
    out_file: Annotated[Path | None, typer.Option(
        "--out", help="Where --draft-mapping writes the mapping.")] = None,
    path: PathOption = None,
) -> None:
    """Load your own CSV or Parquet files into the warehouse tables, all or nothing.

    Every value is checked against the table's type and allowed values; keys must be unique and
    refer to existing customers/accounts. If anything is wrong the warehouse is left unchanged
    and the error names the file, column and row. A warehouse holding generated demo data is
    never mixed with your rows: start with `assistant init --empty`, or pass --remove-demo.
    """
    from warehouse.connection import Warehouse
    from warehouse.importer import ImportSpec, import_files, parse_mapping

    files = expand_files(list(files or []), use_glob)
    if draft_mapping:
        from warehouse.mapping.draft import write_draft

        if not files or mapping_file is not None or as_name is not None:
            raise AssistantError("--draft-mapping profiles the FILES given (and imports "
                                 "nothing): leave out --mapping and --as")
        target, _ = write_draft(files, out_file)
        err.print(f"Wrote a draft mapping to {target}: check every line marked CHECK, then "
                  f"`assistant import --mapping {target}`.", highlight=False)
        return
    if as_name is not None:  # a user table of its own: assistant/cli_analytics.py
        from assistant.cli_analytics import import_as

        return import_as(files, as_name, mode=mode, delimiter=delimiter, path=path,
                         as_json=as_json)
    if mode not in ("append", "replace"):
        raise AssistantError(f"--mode must be append or replace, not {mode!r}")
    settings = get_settings(warehouse=path)
    if mapping_file is not None:
        if files or table or mapping or delimiter or ignore_extra:
            raise AssistantError("with --mapping, the files and how to read them come from the "
                                 "mapping file: leave out FILES, --table, --map, --delimiter "
                                 "and --ignore-extra")
    elif not files:
        raise AssistantError("give the files to import (or --mapping FILE)")
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    with Warehouse.open(settings.warehouse, must_exist=False) as wh:
        from tools.reset import after_import

        if mapping_file is not None:
            from warehouse.mapping import import_mapping

            report = import_mapping(wh, mapping_file, mode=mode, max_rejects=max_rejects,
                                    remove_demo=remove_demo, after=after_import(wh))
        else:
            cols = parse_mapping(",".join(mapping or []))
            specs = [ImportSpec(path=f, table=table, mapping=cols, delimiter=delimiter,
                                ignore_extra=ignore_extra) for f in files]
            report = import_files(wh, specs, mode=mode, max_rejects=max_rejects,
                                  remove_demo=remove_demo, after=after_import(wh))
    if as_json:
        out.print_json(json.dumps(report.to_dict(), default=str))
    else:
        out.print(report.to_text(), highlight=False)
    if settings.engine == "spark":
        err.print(f"Imported into the DuckDB warehouse {settings.warehouse}; the Spark engine "
                  f"reads {settings.spark_tables or 'the Spark catalog'}: `assistant export "
                  "--format parquet DIR` writes the update for it.", highlight=False)


@app.command()
@friendly
def export(
    folder: Annotated[Path, typer.Argument(help="Folder to write: one dataset per table "
                                                "(DIR/customers/, DIR/transactions/, ...).")],
    format_: Annotated[str, typer.Option(
        "--format", help="parquet: one Parquet dataset per table, for Spark or a lakehouse.")
    ] = "parquet",
    path: PathOption = None,
) -> None:
    """Export the warehouse's tables (contract and your own) for the Spark engine.

    Then run the assistant on Spark over the copy:

        ASSISTANT_ENGINE=spark ASSISTANT_SPARK_TABLES=DIR assistant serve

    Views are not exported (Spark recreates them from their definitions), nor are the
    assistant's own tables (runs, drafts, audit log).
    """
    from warehouse.export import FORMATS, export_parquet

    if format_ not in FORMATS:
        raise AssistantError(f"--format must be one of {', '.join(FORMATS)}, not {format_!r}")
    settings = get_settings(warehouse=path)
    if not settings.warehouse.exists():
        raise AssistantError(f"no warehouse at {settings.warehouse}; build one with `assistant "
                             "init` or give --path")
    report = export_parquet(settings.warehouse, folder,
                            progress=lambda msg: err.print(msg, style="dim", highlight=False))
    out.print(report.to_text(), highlight=False)
    out.print(f"Run on Spark: ASSISTANT_ENGINE=spark ASSISTANT_SPARK_TABLES={folder} "
              "assistant serve", highlight=False)


def expand_files(files: list[Path], use_glob: bool) -> list[Path]:
    """The files to import: each name literally (it must exist), or with --glob every match of
    each pattern (a pattern matching nothing is an error)."""
    import glob

    found: list[Path] = []
    for f in files:
        if use_glob:
            matches = sorted(glob.glob(str(f)))
            if not matches:
                raise AssistantError(f"no file matches the pattern {f}")
            found += [Path(m) for m in matches]
        elif not f.is_file():
            hint = (" (to import every file matching a pattern, pass --glob)"
                    if any(c in str(f) for c in "*?[") else "")
            raise AssistantError(f"file {f} does not exist or is not a file{hint}")
        else:
            found.append(f)
    return found


def _cell(value) -> str:
    if value is None:
        return "[dim]NULL[/]"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 and abs(value) < 10**12 else str(value)
    return str(value)


@app.command()
@friendly
def sql(
    query: Annotated[str, typer.Argument(help="One SELECT query, e.g. \"SELECT country, "
                                               "count(*) FROM customers GROUP BY ALL\".")],
    limit: Annotated[int | None, typer.Option(help="Most rows to show [default: row cap, "
                                                   "ASSISTANT_ROW_CAP].")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON.")] = False,
    path: PathOption = None,
) -> None:
    """Run a read-only SQL query on the warehouse and print the result as a table.

    The same guard and limits as the assistant's own queries: one SELECT over the warehouse
    tables (files, the system catalog and the audit log are off limits), a time, memory, row and
    cell limit, on a handle opened read-only with file and network access switched off.
    Table and column meanings: `assistant schema`.
    """
    import time

    from tools.sql import Limits, guarded_query

    settings = get_settings(warehouse=path)
    limits = Limits.of(settings)
    if limit:
        limits = Limits(**{**limits.__dict__, "rows": limit})
    with settings.open_warehouse(read_only=True) as wh:
        started = time.monotonic()
        try:
            _, _, fetched = guarded_query(wh, query, limits, started + limits.seconds)
        except QueryError as exc:
            # the guard's words are written for the language model's tools; a person at the
            # shell has `assistant schema` instead
            raise type(exc)(re.sub(r"\b(?:call |by )?describe_warehouse(?:\(\))?( to)?",
                                   lambda m: "run `assistant schema`" + (m.group(1) or "")
                                   if m.group(0).startswith("call") else
                                   "by `assistant schema`" if m.group(0).startswith("by")
                                   else "`assistant schema`", str(exc))) from None
    columns, rows, truncated, cap = fetched.columns, fetched.rows, fetched.truncated, fetched.cap
    if as_json:
        from assistant.events import jsonable

        out.print_json(json.dumps({"columns": columns, "rows": jsonable(rows),
                                   "truncated": truncated}))
        return
    table = Table(show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*(_cell(v) for v in r))
    out.print(table)
    note = f"{len(rows):,} row{'s' if len(rows) != 1 else ''}"
    if truncated:
        note += f" (stopped at {cap:,}; use --limit to see more)"
    err.print(note, style="dim")


@app.command()
@friendly
def schema(
    path: PathOption = None,
    ddl: Annotated[bool, typer.Option("--ddl", help="Print the DDL instead.")] = False,
) -> None:
    """Show the warehouse tables, row counts and what each column means."""
    from warehouse import schema as schema_mod
    from warehouse.contract import TABLES
    from warehouse.semantic import bank_model

    if ddl:
        out.print(schema_mod.render(), highlight=False, markup=False)
        return
    settings = get_settings(warehouse=path)
    with settings.open_warehouse(read_only=True) as wh:
        counts = wh.table_counts()
        period = wh.reference_period()
        own = _own_tables(wh)
    for t in TABLES:
        out.print(f"[bold]{t.name}[/] ({counts.get(t.name, 0):,} rows): {t.comment}",
                  highlight=False)
        for c in t.columns:
            out.print(f"  [cyan]{c.name}[/] {c.type}: {c.comment}", highlight=False)
    if own:
        out.print("\n[bold]Your imported tables[/] (ask about them by name, e.g. \"how many "
                  f"customers in {own[0][0]}?\")")
        for name, rows, words in own:
            out.print(f"[bold]{name}[/] ({rows:,} rows): {words}", highlight=False)
    out.print("\n[bold]Business definitions[/]")
    for term, text in bank_model().definitions().items():
        meaning = text.split(" = ", 1)[-1]
        out.print(f"  [cyan]{term}[/]: {meaning}", highlight=False)
    out.print(f"\nReference date: {period['reference_date']}; data from "
              f"{period['data_start']:%Y-%m-%d}. {schema_mod.reference_note(period)}".rstrip()
              if period["data_start"] else "\nNo dated data yet.", highlight=False)


def _own_tables(wh) -> list[tuple[str, int, str]]:
    """(name, rows, what its drafted model knows) of each table imported with --as."""
    from tools.table_features import quote_ident, user_tables
    from warehouse.schema import VIEW_NAMES
    from warehouse.semantic.models import stored_models, user_models

    models, stored = user_models(wh), stored_models(wh)
    found = []
    for name in user_tables(wh):
        if name in VIEW_NAMES:
            continue
        rows = int(wh.scalar(f"SELECT count(*) FROM {quote_ident(name)}") or 0)
        model = models.get(name)
        if model is None:
            words = (f"its semantic model does not parse; fix it with `assistant model edit "
                     f"{name}`" if name in stored else f"no semantic model yet; write one with "
                     f"`assistant model edit {name}`")
        else:
            measures = ", ".join(m.label for n, m in model.measures.items() if n != "rows")
            splits = ", ".join(d.label for d in model.all_dimensions
                               if d.kind != "number" or d.ordered)
            rates = ", ".join(m.label for m in model.metrics.values())
            words = (f"measures {measures or 'none'}; splits and filters {splits or 'none'}"
                     + (f"; rates {rates}" if rates else "")
                     + f" (`assistant model show {name}`)")
        found.append((name, rows, words))
    return found


@app.command()
@friendly
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on [env: ASSISTANT_HOST; "
                                                   "default 127.0.0.1].")] = None,
    port: Annotated[int | None, typer.Option(help="Port [env: ASSISTANT_PORT; default "
                                                  "7860].")] = None,
    path: PathOption = None,
) -> None:
    """Open the chat page in your browser's reach (http://127.0.0.1:7860 by default).

    Builds the demo warehouse first if there is none at the warehouse path.
    """
    settings = get_settings(warehouse=path, host=host, port=port)
    if settings.engine == "duckdb" and not settings.warehouse.exists():
        err.print(f"No warehouse at {settings.warehouse} yet: building the demo warehouse "
                  f"({settings.customers:,} customers, seed {settings.seed}).", highlight=False)
        build_warehouse(settings, customers=settings.customers, seed=settings.seed, force=False)
    from assistant.app import serve as serve_app

    serve_app(settings)


def _register_command_modules() -> None:
    """Command modules of each area add their commands to `app` when imported."""
    for name in ("cli_analytics", "cli_agent", "cli_copy", "cli_realtime", "cli_models",
                 "cli_users", "cli_model"):
        try:
            importlib.import_module(f"assistant.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assistant.{name}":
                raise


_register_command_modules()


def main() -> None:  # pragma: no cover - console entry point
    # `python -m assistant.cli` runs this file as __main__: the commands of the other modules
    # registered themselves on the `app` of the module `assistant.cli`, so run that one.
    from assistant import cli

    cli.app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
