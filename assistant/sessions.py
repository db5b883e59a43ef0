"""Named conversations on disk, so `assistant ask --session NAME` can follow up from the shell.

A session file is `<state_dir>/<name>.json`: the message list (LangChain's message dicts, tool
artifacts dropped) and the conversation's tool state. Written atomically (temp file, then
os.replace): an interrupted write leaves the previous version intact.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.messages import BaseMessage, ToolMessage, messages_from_dict, messages_to_dict

from assistant.events import jsonable
from warehouse.errors import InvalidArgument
from warehouse.files import write_text_atomic

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
VERSION = 1


@dataclass
class Session:
    name: str
    messages: list[BaseMessage] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)


def _path(state_dir: Path, name: str) -> Path:
    if not NAME_RE.match(name) or ".." in name:
        raise InvalidArgument(
            f"session name {name!r} is not allowed; use letters, digits, '-', '_' or '.' "
            "(up to 64 characters), e.g. --session churn-review"
        )
    return Path(state_dir) / f"{name}.json"


def _strip(message: BaseMessage) -> BaseMessage:
    if isinstance(message, ToolMessage) and message.artifact is not None:
        return message.model_copy(update={"artifact": None})
    return message


def load(state_dir: Path, name: str) -> Session:
    """The saved session `name`, or a new empty one."""
    path = _path(state_dir, name)
    if not path.exists():
        return Session(name)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        messages = messages_from_dict(payload.get("messages", []))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidArgument(
            f"the session file {path} is damaged ({exc}); delete it to start the session afresh"
        ) from None
    return Session(name, messages, payload.get("state", {}))


def save(state_dir: Path, session: Session) -> Path:
    """Write the session atomically; return its path."""
    path = _path(state_dir, session.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "version": VERSION,
        "name": session.name,
        "messages": messages_to_dict([_strip(m) for m in session.messages]),
        "state": jsonable(session.state),
    }
    return write_text_atomic(json.dumps(payload, ensure_ascii=False), path)
