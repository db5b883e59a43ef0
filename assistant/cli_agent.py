"""`assistant ask`: one question through the same agent as the chat page.

`--json` prints exactly one JSON object on stdout (question, mode, answer, tool_calls, sql,
tables, error) and nothing else; progress and logs go to stderr. `--session NAME` keeps the
conversation on disk so follow-up questions work across separate invocations.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.markdown import Markdown
from rich.table import Table

from assistant.cli import PathOption, _cell, app, err, friendly, out
from assistant.events import Answer, Done, TextDelta, ToolFinished, ToolStarted
from assistant.settings import get_settings
from warehouse.errors import AssistantError

SHOWN_ROWS = 20


def _mode(settings) -> str:
    return "offline" if settings.uses_offline_planner else settings.model


def _print_tables(answer: Answer) -> None:
    for table in answer.tables:
        df = table.df
        grid = Table(title=table.title, title_justify="left", header_style="bold")
        for column in df.columns:
            grid.add_column(str(column), overflow="fold")
        for row in df.head(SHOWN_ROWS).itertuples(index=False, name=None):
            grid.add_row(*(_cell(None if _missing(v) else v) for v in row))
        out.print(grid)
        if len(df) > SHOWN_ROWS:
            err.print(f"{len(df) - SHOWN_ROWS:,} more rows (use --json to get them all)",
                      style="dim")
    for path in answer.files:
        out.print(f"File: {path}", highlight=False)


def _missing(value) -> bool:
    try:
        return value != value  # NaN / NaT
    except (TypeError, ValueError):
        return False


@app.command()
@friendly
def ask(
    question: Annotated[str, typer.Argument(help="Your question, e.g. \"How many active "
                                                 "customers are in Germany?\"")],
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one JSON object (question, mode, answer, tool_calls, sql, tables, "
        "error) on stdout and nothing else.")] = False,
    session: Annotated[str | None, typer.Option(
        "--session", "-s", help="Continue the named conversation (kept in ASSISTANT_STATE_DIR, "
        "default data/sessions), so follow-ups like \"now only for Germany\" work.")] = None,
    show_sql: Annotated[bool, typer.Option(
        "--sql", help="Also print the SQL that ran.")] = False,
    path: PathOption = None,
) -> None:
    """Ask the assistant one question about your customers and print the answer.

    Uses the language model configured in the settings, or the offline planner when there is
    no API key. Tables are printed below the answer; `--json` gives everything as data.
    """
    settings = get_settings(warehouse=path)
    try:
        answer = _run(settings, question, session, live=not as_json)
    except AssistantError as exc:
        if not as_json:
            raise
        answer = Answer(question=question, mode=_mode(settings), error=str(exc))
    if as_json:
        sys.stdout.write(json.dumps(answer.to_json(), ensure_ascii=False) + "\n")
        sys.stdout.flush()
        if answer.error:
            raise typer.Exit(1)
        return
    out.print()
    _print_tables(answer)
    if show_sql and answer.sql:
        for statement in answer.sql:
            out.print(Markdown(f"```sql\n{statement}\n```"))
    if answer.error:
        raise typer.Exit(1)


def _run(settings, question: str, session: str | None, *, live: bool) -> Answer:
    from assistant.factory import build_assistant

    with settings.open_warehouse() as wh:
        assistant = build_assistant(settings, wh)   # the same assistant as the chat page
        conversation = assistant.conversation(session, persist=session is not None)
        answer = None
        for event in conversation.stream(question):
            if isinstance(event, ToolStarted):
                err.print(f"→ {event.name}", style="dim", highlight=False)
            elif isinstance(event, ToolFinished):
                note = f"failed: {event.error}" if event.error else f"{event.seconds:.2f} s"
                err.print(f"  {event.name} {note}", style="dim", highlight=False)
            elif isinstance(event, TextDelta) and live:
                out.print(event.text, end="", highlight=False, markup=False, soft_wrap=True)
            elif isinstance(event, Done):
                answer = event.answer
        if live:
            out.print()
        assert answer is not None
        return answer
