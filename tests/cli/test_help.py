"""Every command's --help reads as words: an Examples section, option metavars that name what to
type (SECONDS, IDS, DIR), and the choices of every option that has a fixed set of values."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from ttv.cli import COMMANDS, SUBAPPS, app

SUBCOMMANDS = {"backends": ["list", "info"], "config": ["show", "path"], "keys": ["set", "list", "remove"]}
EVERY = [[name] for name in COMMANDS] + [[group, sub] for group in SUBAPPS for sub in SUBCOMMANDS[group]]
runner = CliRunner()


def _help(words: list[str]) -> str:
    result = runner.invoke(app, [*words, "--help"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_list_covers_every_subcommand() -> None:
    for group in SUBAPPS:
        listed = _help([group])
        for sub in SUBCOMMANDS[group]:
            assert re.search(rf"^\s+{sub}\b", listed, re.M), f"ttv {group} {sub} missing"


@pytest.mark.parametrize("words", EVERY, ids=" ".join)
def test_help_has_examples_that_use_the_command(words: list[str]) -> None:
    text = _help(words)
    assert "Examples:" in text
    examples = text.split("Examples:", 1)[1]
    assert f"ttv {' '.join(words)}" in examples


@pytest.mark.parametrize("words", EVERY, ids=" ".join)
def test_option_metavars_are_words_not_python_types(words: list[str]) -> None:
    options = _help(words).split("Options:", 1)[-1]
    python_types = re.findall(r"^\s+-.*?(<(?:str|int|float|path|list\[[^>]*\])>)", options, re.M)
    assert not python_types, f"ttv {' '.join(words)}: {python_types}"


@pytest.mark.parametrize(("words", "option", "choices"), [
    (["init"], "--mode", "<keyframe|chain>"),
    (["render"], "--on-error", "<fail|keep-going>"),
    (["run"], "--executor", "<local|ray>"),
    (["backends", "list"], "--kind", "<video|keyframes|image|planner>"),
])
def test_fixed_choice_options_show_their_choices(words: list[str], option: str, choices: str) -> None:
    assert re.search(rf"{option} {re.escape(choices)}", _help(words))


def test_a_wrong_choice_names_the_allowed_values() -> None:
    result = runner.invoke(app, ["render", "--on-error", "later"], env={"NO_COLOR": "1"})
    assert result.exit_code == 2
    assert "fail" in result.output and "keep-going" in result.output


def test_reroll_says_comma_separated_or_repeated() -> None:
    assert re.search(r"comma-separated\s+or\s+repeated", _help(["keyframes"]))


def test_backends_list_accepts_keyframes_as_the_kind_readme_uses() -> None:
    result = runner.invoke(app, ["backends", "list", "--kind", "keyframes", "--json"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    import json

    kinds = {row["kind"] for row in json.loads(result.stdout)["backends"]}
    assert kinds == {"image"}
