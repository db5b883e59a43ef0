"""Downloads of files with customer data: only through unguessable, expiring, per-session links.

The web app never serves a folder. A file a session may download (a result table as CSV, an
audience export, drafts) is *offered*: the store draws a random 256-bit token for it, remembers
which session (and, with authentication on, which user) it belongs to and when it expires, and
the page shows a link `/downloads/<token>/<name>`. The route serves the file only while the
token is alive and, when the app has authentication, only to the same user. Every refusal is the
same 404, so a wrong guess, an expired link and another user's link cannot be told apart.
"""

from __future__ import annotations

import html
import mimetypes
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse

ROUTE = "/downloads"


@dataclass(frozen=True)
class Offer:
    path: Path
    name: str
    session: str
    user: str | None
    expires: float


class DownloadStore:
    """In-memory map token -> offered file; one per server process."""

    def __init__(self, ttl: float = 1800.0, clock: Callable[[], float] = time.monotonic,
                 audit=None) -> None:
        self.ttl = ttl
        self.audit = audit          # assistant.audit.AuditLog: every download is an export
        self._clock = clock
        self._offers: dict[str, Offer] = {}
        self._lock = threading.Lock()

    def offer(self, path: str | Path, *, session: str, user: str | None = None,
              name: str | None = None) -> str:
        """Register `path` for `session` (and `user`); return the link's URL path."""
        path = Path(path).resolve()
        token = secrets.token_urlsafe(32)
        name = name or path.name
        with self._lock:
            self._prune()
            self._offers[token] = Offer(path, name, session, user, self._clock() + self.ttl)
        return f"{ROUTE}/{token}/{quote(name)}"

    def resolve(self, token: str, user: str | None) -> Offer | None:
        """The live offer for `token` when `user` may have it, else None."""
        with self._lock:
            offer = self._offers.get(token)
            if offer is None:
                return None
            if offer.expires <= self._clock():
                del self._offers[token]
                return None
        if offer.user is not None and offer.user != user:
            return None
        if not offer.path.is_file():
            return None
        return offer

    def revoke_session(self, session: str) -> None:
        """Forget every link of a session (the tab closed, a new conversation)."""
        with self._lock:
            for token in [t for t, o in self._offers.items() if o.session == session]:
                del self._offers[token]

    def _prune(self) -> None:
        now = self._clock()
        for token in [t for t, o in self._offers.items() if o.expires <= now]:
            del self._offers[token]


def links_html(links: list[tuple[str, str]], ttl: float) -> str:
    """The Downloads tab: one link per (url, file name), and how long they work."""
    if not links:
        return "<p class='downloads-empty'>Nothing to download for this answer.</p>"
    items = "".join(f"<li><a href='{html.escape(url, quote=True)}' download>"
                    f"{html.escape(name)}</a></li>" for url, name in links)
    minutes = max(1, round(ttl / 60))
    return (f"<ul class='downloads'>{items}</ul><p class='downloads-note'>Links work in this "
            f"browser session for {minutes} minutes; ask again for fresh ones.</p>")


def router(store: DownloadStore, current_user: Callable):
    """The FastAPI router serving offered files (`current_user(request)` -> user or None)."""
    api = APIRouter()

    @api.get(ROUTE + "/{token}/{name}", include_in_schema=False)
    async def download(token: str, name: str, request: Request):
        user = await current_user(request)
        offer = store.resolve(token, user)
        if offer is None or name != offer.name:
            raise HTTPException(status_code=404, detail="Not found")
        if store.audit is not None:
            store.audit.record("export", session=offer.session, model="", user=user,
                               detail=f"downloaded {offer.name}")
        media = mimetypes.guess_type(offer.name)[0] or "application/octet-stream"
        return FileResponse(offer.path, media_type=media, filename=offer.name, headers={
            "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer"})

    return api
