"""`assistant users ...`: who may sign in to a shared deployment (ASSISTANT_AUTH=users) and with
which roles. Registered on the main app when assistant.cli imports this module."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli import app, err, friendly, out
from assistant.settings import get_settings
from warehouse.errors import InvalidArgument

users_app = typer.Typer(
    name="users", no_args_is_help=True, rich_markup_mode="markdown",
    help="Who may sign in to the page when ASSISTANT_AUTH=users, and their roles (marketer, "
    "approver, analyst, admin). Passwords are stored as scrypt hashes.",
)
app.add_typer(users_app)

FileOption = Annotated[Path | None, typer.Option(
    "--file", help="Users file [env: ASSISTANT_USERS_FILE; default data/users.toml].")]


def _file(path: Path | None) -> Path:
    return path or get_settings().users_file or Path("data/users.toml")


@users_app.command("add")
@friendly
def add(
    name: Annotated[str, typer.Argument(help="The user's sign-in name.")],
    role: Annotated[list[str], typer.Option(
        "--role", "-r", help="marketer, approver, analyst or admin (repeatable).")],
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input (for scripts).")] = False,
    file: FileOption = None,
) -> None:
    """Add a user (or change their roles and password)."""
    from assistant import auth

    name = name.strip()
    if not name or any(c in name for c in "\n\r\"\\"):
        raise InvalidArgument("the name must be one line without quotes or backslashes")
    unknown = [r for r in role if r not in auth.ROLES]
    if unknown:
        raise InvalidArgument(f"unknown role(s) {', '.join(unknown)}; the roles are "
                              f"{', '.join(auth.ROLES)}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise InvalidArgument("the password must have at least 10 characters")
    path = _file(file)
    users = auth.load_users(path) if path.exists() else {}
    users[name] = auth.User(name, tuple(dict.fromkeys(role)), auth.hash_password(password))
    auth.write_users(path, users)
    out.print(f"{name} can sign in with roles {', '.join(users[name].roles)} ({path}; set "
              f"ASSISTANT_AUTH=users and ASSISTANT_USERS_FILE={path}).", highlight=False)


@users_app.command("list")
@friendly
def list_(file: FileOption = None) -> None:
    """List the users and their roles."""
    from assistant import auth

    for user in auth.load_users(_file(file)).values():
        out.print(f"{user.name}: {', '.join(user.roles) or '(no role: may ask only)'}",
                  highlight=False)


@users_app.command("remove")
@friendly
def remove(name: str, file: FileOption = None) -> None:
    """Remove a user."""
    from assistant import auth

    path = _file(file)
    users = auth.load_users(path)
    if users.pop(name, None) is None:
        raise InvalidArgument(f"no user {name} in {path}")
    auth.write_users(path, users)
    err.print(f"Removed {name}.", highlight=False)
