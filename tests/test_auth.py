"""Sign-in and roles for a shared deployment (issue 16, item 5): no open door beyond loopback,
passwords hashed, proxy headers believed only from the proxy, each tool's permission from its
registry entry at the tool boundary and on the MCP door, and every write audited with the user."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fakes import ScriptedChatModel, call
from typer.testing import CliRunner

from assistant import auth
from assistant.agent import Assistant
from assistant.cli import app as cli
from assistant.settings import Settings
from assistant.ui import mcp
from tools.registry import TOOLS, agent_tools
from tools.result import ToolContext
from warehouse.connection import Warehouse
from warehouse.errors import ConfigError


@pytest.mark.parametrize(("host", "ok"), [("127.0.0.1", True), ("::1", True),
                                          ("localhost", True), ("0.0.0.0", False),
                                          ("192.168.1.20", False), ("::", False)])
def test_no_sign_in_means_loopback_only(host, ok):
    access = auth.Access()
    if ok:
        access.check_listen(host)
    else:
        with pytest.raises(ConfigError, match="refusing to listen"):
            access.check_listen(host)
    auth.Access(mode="users").check_listen(host)          # with sign-in anything goes


def test_serve_refuses_a_public_address_without_sign_in(warehouse_path):
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--path",
                                      str(warehouse_path)])
    assert result.exit_code == 1 and "refusing to listen on 0.0.0.0" in result.output


def test_passwords_are_hashed_and_checked_in_constant_time():
    stored = auth.hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert auth.check_password("correct horse battery", stored)
    assert not auth.check_password("wrong", stored)
    assert not auth.check_password("x", "garbage")


def test_users_file_round_trip_and_login(tmp_path):
    path = tmp_path / "users.toml"
    runner = CliRunner()
    result = runner.invoke(cli, ["users", "add", "maria", "--role", "marketer",
                                 "--password-stdin", "--file", str(path)],
                           input="a long password\n")
    assert result.exit_code == 0, result.output
    assert runner.invoke(cli, ["users", "add", "eve", "--role", "root", "--password-stdin",
                               "--file", str(path)], input="a long password\n").exit_code == 1
    users = auth.load_users(path)
    assert users["maria"].roles == ("marketer",)
    access = auth.Access(mode="users", users=users)
    assert access.login("maria", "a long password")
    assert not access.login("maria", "a long passwor")
    assert not access.login("nobody", "a long password")
    assert access.roles("maria") == ("marketer",)
    assert access.roles(None) == ()
    assert auth.Access().roles(None) is None                 # no sign-in: the local operator


def _request(host: str, headers: dict):
    return SimpleNamespace(client=SimpleNamespace(host=host),
                           headers={k.lower(): v for k, v in headers.items()})


def test_proxy_headers_are_believed_only_from_the_proxy():
    access = auth.Access(mode="proxy", roles_header="x-roles", trusted=("10.0.0.0/8",))
    headers = {"X-Forwarded-User": "ana", "X-Roles": "analyst, approver, wizard"}
    assert access.proxy_user(_request("10.1.2.3", headers)) == "ana"
    assert access.proxy_user(_request("203.0.113.9", headers)) is None     # a client, not it
    assert access.proxy_user(_request("10.1.2.3", {})) is None
    assert access.roles("ana", _request("10.1.2.3", headers)) == ("analyst", "approver")


def test_every_tool_has_a_permission_and_writing_tools_are_never_open_by_default():
    for tool in TOOLS:
        assert tool.permission in ("ask", "draft", "approve", "export"), tool.name
    from tools.registry import Tool

    assert Tool("new_writer", (), "data", "x", writes=True).permission == "approve"
    assert Tool("new_reader", (), "data", "x").permission == "ask"
    by_name = {t.name: t.permission for t in TOOLS}
    assert by_name["build_audience"] == "export" and by_name["approve_draft"] == "approve"
    assert by_name["draft_campaign"] == "draft" and by_name["run_sql"] == "ask"


def test_roles_bind_at_the_tool_boundary_and_writes_are_audited_with_the_user(
        writable_warehouse):
    with Warehouse.open(writable_warehouse) as wh:
        fake = ScriptedChatModel(replies=[
            call("build_audience", channel="email"), "no",
            call("run_sql", sql="SELECT count(*) AS n FROM customers"), "3,000",
        ])
        assistant = Assistant(Settings(warehouse=writable_warehouse), wh, model=fake)
        conversation = assistant.conversation(user="maria", roles=("marketer",))
        refused = conversation.ask("export an email audience")
        allowed = conversation.ask("how many customers?")
        rows = wh.rows("SELECT kind, tool, user_name FROM assistant.audit_log "
                       "WHERE kind = 'tool_call' ORDER BY ts")
    failed = refused.tool_calls and refused.tool_calls[0]["name"] == "build_audience"
    assert failed and "maria (marketer) may not use build_audience" in "\n".join(fake.texts())
    assert not list((writable_warehouse.parent / "exports").glob("*.csv"))
    assert allowed.error is None
    assert rows == [("tool_call", "build_audience", "maria"), ("tool_call", "run_sql", "maria")]


def test_the_mcp_door_applies_its_role(writable_warehouse):
    settings = Settings(warehouse=writable_warehouse, provider="offline")
    with Warehouse.open(writable_warehouse) as wh:
        tools = {fn.__name__: fn for fn in agent_tools()}
        make = lambda: ToolContext(wh=wh, settings=settings)   # noqa: E731
        reader = mcp.mcp_function(tools["run_sql"], make, None, None, roles=("marketer",))
        approver = mcp.mcp_function(tools["approve_draft"], make, None, None,
                                    roles=("marketer",))
        assert "row" in reader("SELECT count(*) FROM customers")
        text = approver("d-1", "mallory")
        assert text.startswith("Error: MCP clients (marketer) may not use approve_draft")
