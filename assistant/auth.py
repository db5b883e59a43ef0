"""Who may use a shared deployment, and what each person may do.

Three ways to run the page, set with ASSISTANT_AUTH:
- `none` (the default): no sign-in. Only allowed on a loopback address (127.0.0.1, ::1): the
  one person at this machine may do everything. `assistant serve --host 0.0.0.0` refuses to start
  without one of the two modes below.
- `users`: Gradio's sign-in page, checked against a users file (ASSISTANT_USERS_FILE, TOML) of
  names, roles and scrypt password hashes, written by `assistant users add NAME --role ROLE`.
- `proxy`: behind a reverse proxy that signs people in (OIDC through oauth2-proxy, Authelia,
  a corporate SSO gateway). The proxy sends the signed-in name in a header
  (ASSISTANT_AUTH_HEADER, default X-Forwarded-User) and, optionally, roles in another
  (ASSISTANT_ROLES_HEADER, comma-separated); roles not in a header come from the users file.
  The headers are only believed from the proxy's own addresses (ASSISTANT_TRUSTED_PROXIES,
  default 127.0.0.1 and ::1): anyone else is refused, so a client cannot name itself.

Roles and what they allow (a person may hold several):
- everyone signed in may ask: questions, SQL, segment cards, churn scores, A/B designs;
- marketer: also draft campaign copy;
- approver: also approve drafts and activate triggers;
- analyst: also export audiences and result tables with personal data;
- admin: everything.
A tool's permission comes from its registry entry (`Tool.permission` in tools/registry.py), so a
new tool gets one without a list here. MCP clients authenticate with a bearer token
(ASSISTANT_MCP_TOKEN) and act with ASSISTANT_MCP_ROLE (default marketer).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.errors import ConfigError

ROLES = ("marketer", "approver", "analyst", "admin")
PERMISSIONS: dict[str, frozenset[str]] = {
    "marketer": frozenset({"ask", "draft"}),
    "approver": frozenset({"ask", "approve"}),
    "analyst": frozenset({"ask", "export"}),
    "admin": frozenset({"ask", "draft", "approve", "export"}),
}
EVERYTHING = PERMISSIONS["admin"]
WHO_MAY = {"ask": "anyone signed in", "draft": "a marketer", "approve": "an approver",
           "export": "an analyst"}
_SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}


def permissions(roles) -> frozenset[str]:
    """What the holder of `roles` may do (None: no sign-in, the local operator: everything)."""
    if roles is None:
        return EVERYTHING
    allowed = {"ask"}
    for role in roles:
        allowed |= PERMISSIONS.get(role, frozenset())
    return frozenset(allowed)


def refusal(tool: str, permission: str, user: str | None, roles) -> str | None:
    """Why `user` may not run `tool` (which needs `permission`), or None when they may."""
    if permission in permissions(roles):
        return None
    held = ", ".join(sorted(roles or ())) or "no role"
    return (f"{user or 'this user'} ({held}) may not use {tool}: that needs "
            f"{WHO_MAY.get(permission, permission)}; ask an administrator for the role")


# -- passwords ------------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT, dklen=32)
    return "scrypt${n}${r}${p}$".format(**_SCRYPT) + \
        f"{base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n),
                             r=int(r), p=int(p), dklen=len(base64.b64decode(digest)))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


# -- the users file -------------------------------------------------------------------------------
@dataclass
class User:
    name: str
    roles: tuple[str, ...] = ()
    password: str = ""          # scrypt hash; empty in proxy mode


def load_users(path: Path | None) -> dict[str, User]:
    if path is None:
        return {}
    if not path.is_file():
        raise ConfigError(f"the users file {path} does not exist; create it with `assistant "
                          "users add NAME --role ROLE`")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the users file {path} is not valid TOML: {exc}") from None
    users = {}
    for name, entry in (data.get("users") or {}).items():
        roles = tuple(entry.get("roles") or ())
        unknown = [r for r in roles if r not in ROLES]
        if unknown:
            raise ConfigError(f"user {name} in {path} has unknown role(s) {', '.join(unknown)}; "
                              f"the roles are {', '.join(ROLES)}")
        users[name] = User(name, roles, str(entry.get("password") or ""))
    return users


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_users(path: Path, users: dict[str, User]) -> None:
    from warehouse.files import write_text_atomic

    lines = ["# Users of the marketing assistant (assistant users add NAME --role ROLE).", ""]
    for user in users.values():
        lines += [f"[users.{_toml_string(user.name)}]",
                  f"roles = [{', '.join(_toml_string(r) for r in user.roles)}]"]
        if user.password:
            lines.append(f"password = {_toml_string(user.password)}")
        lines.append("")
    write_text_atomic("\n".join(lines), path)
    os.chmod(path, 0o600)


# -- the access policy of a server ----------------------------------------------------------------
def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Access:
    """The sign-in mode of a server and the roles of its users."""

    mode: str = "none"
    users: dict[str, User] = field(default_factory=dict)
    user_header: str = "x-forwarded-user"
    roles_header: str | None = None
    trusted: tuple[str, ...] = ("127.0.0.1", "::1")
    mcp_token: str | None = None
    mcp_roles: tuple[str, ...] = ("marketer",)

    @classmethod
    def from_settings(cls, settings) -> Access:
        mode = settings.auth
        users = load_users(settings.users_file) if settings.users_file else {}
        if mode == "users" and not users:
            raise ConfigError("ASSISTANT_AUTH=users needs a users file with at least one user "
                              "(ASSISTANT_USERS_FILE; `assistant users add NAME --role ROLE`)")
        if mode == "users" and not all(u.password for u in users.values()):
            missing = [u.name for u in users.values() if not u.password]
            raise ConfigError(f"users without a password in {settings.users_file}: "
                              f"{', '.join(missing)}; set one with `assistant users add`")
        token = settings.mcp_token.get_secret_value() if settings.mcp_token else None
        return cls(mode=mode, users=users, user_header=settings.auth_header.lower(),
                   roles_header=(settings.roles_header or "").lower() or None,
                   trusted=tuple(t.strip() for t in settings.trusted_proxies.split(",")
                                 if t.strip()),
                   mcp_token=token, mcp_roles=(settings.mcp_role,))

    @property
    def enabled(self) -> bool:
        return self.mode != "none"

    def check_listen(self, host: str) -> None:
        """Refuse to serve beyond this machine without sign-in."""
        if not self.enabled and not is_loopback(host):
            raise ConfigError(
                f"refusing to listen on {host} without authentication: anyone who can reach "
                "it would see your customers. Set ASSISTANT_AUTH=users (with "
                "ASSISTANT_USERS_FILE) or ASSISTANT_AUTH=proxy behind a signing-in reverse "
                "proxy, or listen on 127.0.0.1")

    # users mode: Gradio's sign-in form calls this
    def login(self, name: str, password: str) -> bool:
        user = self.users.get(name)
        if user is None or not user.password:
            check_password(password, hash_password("x"))     # same time for unknown names
            return False
        return check_password(password, user.password)

    # proxy mode: Gradio's auth_dependency
    def proxy_user(self, request) -> str | None:
        client = getattr(request, "client", None)
        host = getattr(client, "host", None)
        if host is None or not self._trusted(host):
            return None
        name = (request.headers.get(self.user_header) or "").strip()
        return name or None

    def _trusted(self, host: str) -> bool:
        for entry in self.trusted:
            try:
                if ipaddress.ip_address(host) in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                if host == entry:
                    return True
        return False

    def roles(self, user: str | None, request=None) -> tuple[str, ...] | None:
        """The roles of a signed-in user; None without sign-in (the local operator)."""
        if not self.enabled:
            return None
        if user is None:
            return ()
        if self.mode == "proxy" and self.roles_header and request is not None:
            raw = request.headers.get(self.roles_header) or ""
            named = tuple(r.strip() for r in raw.replace(";", ",").split(",")
                          if r.strip() in ROLES)
            if named:
                return named
        known = self.users.get(user)
        return known.roles if known is not None else ()

    def mcp_allowed(self, headers) -> bool:
        """An MCP request may go on: with a token configured it must carry it."""
        if self.mcp_token is None:
            return not self.enabled
        given = headers.get("authorization") or ""
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip(),
                                                                  self.mcp_token)
