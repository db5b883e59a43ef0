"""`assistant model`: show and edit the semantic model of an imported table (or the warehouse's).

`assistant model show NAME` prints the model as TOML; `assistant model edit NAME` opens it in
$EDITOR (or takes `--file model.toml`), validates it and stores it only when it is valid, so a
broken edit never replaces a working model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli import PathOption, app, err, friendly, out
from assistant.settings import get_settings
from warehouse.errors import InvalidArgument

# `model` (singular) is the semantic model: what business words mean. It is not `models`
# (plural), the registry of fitted segmentation/churn/CLV models; the two names mean different
# things, so both stay, and each help line says which is which.
model_app = typer.Typer(help="The semantic model (what each business word means) of the "
                        "warehouse or an imported table: show and edit it. Fitted ML models "
                        "are `assistant models`.", no_args_is_help=True)
app.add_typer(model_app, name="model")


def _open(path: Path | None, read_only: bool = False):
    from warehouse.connection import Warehouse

    return Warehouse.open(get_settings(warehouse=path).warehouse, read_only=read_only)


@model_app.command("show")
@friendly
def show(name: Annotated[str, typer.Argument(help="An imported table, or 'warehouse'.")],
         path: PathOption = None) -> None:
    """Print the semantic model of an imported table (TOML), or the warehouse's own."""
    from warehouse.semantic.model import BANK_MODEL
    from warehouse.semantic.models import stored_models

    if name in ("warehouse", "bank"):
        sys.stdout.write(BANK_MODEL.read_text(encoding="utf-8"))
        return
    with _open(path, read_only=True) as wh:
        models = stored_models(wh)
    if name not in models:
        raise InvalidArgument(f"no model for a table {name!r}; tables with a model: "
                              f"{', '.join(models) or 'none yet'} (import one with `assistant "
                              "import FILE --as NAME`)")
    sys.stdout.write(models[name])      # as stored: no wrapping, so it can be saved and edited


@model_app.command("edit")
@friendly
def edit(name: Annotated[str, typer.Argument(help="An imported table.")],
         file: Annotated[Path | None, typer.Option("--file", help="Store this TOML file as the "
                                                   "model instead of opening an editor.")] = None,
         path: PathOption = None) -> None:
    """Change the semantic model of an imported table: validated before it is stored."""
    from warehouse.semantic.models import save_model, stored_models

    with _open(path) as wh:
        models = stored_models(wh)
        if name not in models:
            raise InvalidArgument(f"no model for a table {name!r}; tables with a model: "
                                  f"{', '.join(models) or 'none yet'}")
        if file is not None:
            text = Path(file).read_text(encoding="utf-8")
        else:
            editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
            if not editor:
                raise InvalidArgument("no editor set: set $EDITOR, or save the model with "
                                      f"`assistant model show {name} > model.toml`, edit the "
                                      f"file and store it with `assistant model edit {name} "
                                      "--file model.toml`")
            with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as tmp:
                tmp.write(models[name])
            try:
                subprocess.run([*editor.split(), tmp.name], check=False)
                text = Path(tmp.name).read_text(encoding="utf-8")
            finally:
                os.unlink(tmp.name)
        if text == models[name]:
            err.print("No change.")
            return
        model = save_model(wh, name, text)
    out.print(f"Stored the model of {name}: {len(model.measures)} measures, "
              f"{len(model.metrics)} metrics, {len(model.all_dimensions)} dimensions.",
              highlight=False)
