"""The copy data files, loaded once: structure, per-language templates and the brand voice.

- prompts/copy_library.toml: what does not depend on the language: angles, intents, tones,
  trigger events, themes (which traits point to them), products (responsible angles);
- prompts/copy_templates/<language>.toml: everything written in that language: the words of a
  request, greetings and sign-offs per tone, hooks and openings per intent and tone, product
  lines per angle, theme words, event titles, how the pieces make each channel, the legal lines
  (SMS opt-out, email footer) and the explained refusals;
- prompts/brand_voice.toml: the brand, its voice, the product facts (the only numbers copy may
  state) and the currency of each market.

One file per language, so adding a language is adding a file (and its compliance patterns).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import prompts
from warehouse.errors import ConfigError

LIBRARY_FILE = "copy_library"
VOICE_FILE = "brand_voice"
TEMPLATES_DIR = "copy_templates"
LANGUAGE_NAMES = {"en": "English", "de": "German", "fr": "French", "es": "Spanish",
                  "it": "Italian", "nl": "Dutch"}


@cache
def library() -> tuple[dict[str, Any], str]:
    return prompts.load_data(LIBRARY_FILE)


@cache
def voice() -> tuple[dict[str, Any], str]:
    return prompts.load_data(VOICE_FILE)


def supported_languages() -> tuple[str, ...]:
    return tuple(library()[0]["languages"])


@cache
def texts(language: str) -> tuple[dict[str, Any], str]:
    """The templates of one language (prompts/copy_templates/<language>.toml) and its version."""
    if language not in supported_languages():
        raise ConfigError(f"no copy templates for language {language!r}")
    return prompts.load_data(f"{TEMPLATES_DIR}/{language}")


def text(language: str, *path: str, default: Any = ...) -> Any:
    """One entry of a language's templates, e.g. text("de", "tones", "warm", "greeting")."""
    node: Any = texts(language)[0]
    for key in path:
        if not isinstance(node, dict) or key not in node:
            if default is not ...:
                return default
            raise ConfigError(f"prompts/{TEMPLATES_DIR}/{language}.toml has no "
                              f"{'.'.join(path)}")
        node = node[key]
    return node


def intents() -> dict[str, dict[str, Any]]:
    return library()[0]["intents"]


def tones() -> dict[str, dict[str, Any]]:
    return library()[0]["tones"]


def events() -> dict[str, dict[str, Any]]:
    return library()[0]["events"]


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def versions(languages: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """Versions of the copy files a draft used (receipts)."""
    out = {LIBRARY_FILE: library()[1], VOICE_FILE: voice()[1]}
    for lang in languages:
        out[f"{TEMPLATES_DIR}/{lang}"] = texts(lang)[1]
    return out
