"""Prompts are strict: a missing or unexpected variable is an error, merge fields pass through."""

from __future__ import annotations

import pytest

import prompts
from warehouse.errors import ConfigError


@pytest.fixture
def prompt_file(monkeypatch, tmp_path):
    monkeypatch.setattr(prompts, "PROMPTS_DIR", tmp_path)
    prompts.load.cache_clear()
    prompts.load_data.cache_clear()
    (tmp_path / "greet.md").write_text("Write to ${segment} about $product. Hi {{first_name}}!")
    (tmp_path / "voice.toml").write_text('tone = "warm"\navoid = ["guaranteed"]\n')
    yield tmp_path
    prompts.load.cache_clear()
    prompts.load_data.cache_clear()


def test_render_fills_variables_and_keeps_merge_fields(prompt_file):
    p = prompts.load("greet")
    assert p.variables == {"segment", "product"}
    assert p.render(segment="Students", product="savings") == \
        "Write to Students about savings. Hi {{first_name}}!"
    assert len(p.version) == 12


@pytest.mark.parametrize(("values", "message"), [
    ({"segment": "x"}, "missing product"),
    ({"segment": "x", "product": "y", "tone": "z"}, "unexpected tone"),
])
def test_render_is_strict(prompt_file, values, message):
    with pytest.raises(ConfigError, match=message):
        prompts.load("greet").render(**values)


def test_data_files_and_versions(prompt_file):
    data, version = prompts.load_data("voice")
    assert data == {"tone": "warm", "avoid": ["guaranteed"]}
    (prompt_file / "voice.toml").write_text('tone = "bold"\n')
    prompts.load_data.cache_clear()
    assert prompts.load_data("voice")[1] != version


def test_missing_and_broken_files_are_clear(prompt_file):
    with pytest.raises(ConfigError, match="no prompt file"):
        prompts.load("nothing")
    (prompt_file / "bad.toml").write_text("tone = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        prompts.load_data("bad")
