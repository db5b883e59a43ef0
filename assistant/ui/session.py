"""Per-browser-session state: its own conversation, chat history, last answer and model settings.

Model, base URL and API key changed in the page apply to that session only and live only in
memory: they are never written to disk or to the logs.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.events import Answer
from assistant.settings import Settings

_root: list[Path] = []
_root_lock = threading.Lock()


def downloads_root() -> Path:
    """One private folder per process for the files sessions offer (result CSVs hold customer
    data): created on first use, removed when the process exits."""
    with _root_lock:
        if not _root:
            root = Path(tempfile.mkdtemp(prefix="assistant-downloads-"))
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            _root.append(root)
        return _root[0]


def new_downloads_dir() -> Path:
    path = downloads_root() / uuid.uuid4().hex
    path.mkdir(mode=0o700)
    return path


@dataclass
class Overrides:
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    offline: bool = False

    def apply(self, settings: Settings) -> Settings:
        update: dict[str, Any] = {}
        if self.offline:
            update["provider"] = "offline"
        else:
            if self.model:
                update["model"] = self.model
            if self.base_url:
                update["base_url"] = self.base_url
            if self.api_key:
                from pydantic import SecretStr

                update["api_key"] = SecretStr(self.api_key)
            if self.model or self.base_url or self.api_key:
                update["provider"] = "openai"
        return settings.model_copy(update=update)

    def __repr__(self) -> str:  # never show the key, even in a debugger or a log line
        return (f"Overrides(model={self.model!r}, base_url={self.base_url!r}, "
                f"api_key={'***' if self.api_key else None}, offline={self.offline})")


@dataclass
class Session:
    """What one browser tab holds between events."""

    assistant: Any                      # assistant.agent.Assistant for this session's settings
    conversation: Any                   # assistant.agent.Conversation
    history: list = field(default_factory=list)      # gr.ChatMessage list shown in the chat
    last: Answer | None = None
    turns: int = 0
    overrides: Overrides = field(default_factory=Overrides)
    downloads: Path = field(default_factory=new_downloads_dir)
    user: str | None = None             # the signed-in user, when the app has authentication
    roles: tuple[str, ...] | None = None  # their roles (None: no sign-in, may do everything)
    on_close: Callable[[str], None] | None = None   # e.g. revoke this session's download links
    id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def new_conversation(self) -> None:
        with suppress(Exception):  # forgetting a thread must never block a new one
            self.conversation.close()
        self.conversation = self.assistant.conversation(user=self.user, roles=self.roles)
        self.history = []
        self.last = None
        self.turns = 0

    def close(self) -> None:
        """The browser session is gone: forget its conversation, its links and its files."""
        with suppress(Exception):
            self.conversation.close()
        if self.on_close is not None:
            with suppress(Exception):
                self.on_close(self.id)
        shutil.rmtree(self.downloads, ignore_errors=True)
