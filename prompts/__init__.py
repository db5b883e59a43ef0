"""Prompt texts as data files, loaded into strict objects.

Text prompts are Markdown files with `${name}` placeholders (string.Template syntax): rendering
with a missing or unexpected variable is an error, never a silent gap. Merge fields for send time,
such as `{{first_name}}`, are plain text here and pass through untouched. Structured prompt data
(brand voice, rules, template libraries) are TOML files. Every prompt has a version: the first 12
hex digits of the SHA-256 of its file, recorded in receipts and the audit log.
"""

from __future__ import annotations

import hashlib
import string
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from warehouse.errors import ConfigError

PROMPTS_DIR = Path(__file__).parent


def _version(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:12]


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str
    version: str

    @property
    def variables(self) -> set[str]:
        names = set()
        for _, named, braced, _ in string.Template.pattern.findall(self.text):
            if named or braced:
                names.add(named or braced)
        return names

    def render(self, **values: Any) -> str:
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise ConfigError(
                f"prompt {self.name}: "
                + "; ".join(filter(None, [
                    f"missing {', '.join(sorted(missing))}" if missing else "",
                    f"unexpected {', '.join(sorted(extra))}" if extra else "",
                ]))
            )
        return string.Template(self.text).substitute(values)


def _path(name: str, suffix: str) -> Path:
    path = PROMPTS_DIR / f"{name}{suffix}"
    if not path.is_file():
        raise ConfigError(f"no prompt file {path.relative_to(PROMPTS_DIR.parent)}")
    return path


@cache
def load(name: str) -> Prompt:
    """The Markdown prompt `prompts/<name>.md` (name may contain a subfolder: 'copy/email')."""
    raw = _path(name, ".md").read_bytes()
    return Prompt(name=name, text=raw.decode("utf-8"), version=_version(raw))


@cache
def load_data(name: str) -> tuple[dict[str, Any], str]:
    """The TOML data file `prompts/<name>.toml` and its version."""
    raw = _path(name, ".toml").read_bytes()
    try:
        return tomllib.loads(raw.decode("utf-8")), _version(raw)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"prompts/{name}.toml is not valid TOML: {exc}") from exc
