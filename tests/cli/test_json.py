"""Every command's --json output is one document in one envelope: schema, command, project (the project
folder, absolute, or null), ok; an error under --json is a JSON error document on stdout as well as the
message on stderr; a command that already printed its document adds no second one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def doc(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads(result.stdout)


def envelope_ok(document: dict, command: str, project: Path | None) -> None:
    assert document["schema"] == 1
    assert document["command"] == command
    assert document["project"] == (str(project.resolve()) if project else None)
    assert isinstance(document["ok"], bool)


@pytest.fixture
def finished(small_project, cli) -> Path:
    root = small_project("keyframe", segments=2)
    assert cli("run", "-p", root).exit_code == 0
    return root


@pytest.mark.parametrize("words", [
    ["status"], ["estimate"], ["doctor"], ["plan"], ["render"], ["keyframes"], ["stitch"], ["run"],
    ["wait"], ["cancel"], ["config", "show"], ["backends", "info", "animatic"],
])
def test_every_project_command_shares_the_envelope(finished: Path, cli, words: list[str]) -> None:
    result = cli(*words, "-p", finished, "--json")
    assert result.exit_code == 0, result.output
    envelope_ok(doc(result), " ".join(words[:2]) if words[0] in ("config", "backends") else words[0], finished)


def test_commands_outside_a_project_say_project_null(cli, tmp_path: Path) -> None:
    for words, command in ((["backends", "list"], "backends list"), (["keys", "list"], "keys list")):
        result = cli(*words, "--json")
        assert result.exit_code == 0
        envelope_ok(doc(result), command, None)
    made = cli("init", tmp_path / "new", "--idea", "a fox", "--json")
    envelope_ok(doc(made), "init", tmp_path / "new")


def test_an_error_under_json_is_a_json_document(cli, tmp_path: Path) -> None:
    result = cli("status", "-p", tmp_path / "nowhere", "--json")
    assert result.exit_code == 2
    document = doc(result)
    envelope_ok(document, "status", tmp_path / "nowhere")
    assert document["ok"] is False
    assert document["error"]["exit_code"] == 2 and document["error"]["message"]
    assert "error:" in result.stderr


def test_a_failed_step_prints_one_document_with_ok_false(small_project, cli) -> None:
    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("render", "-p", root, "--json")  # no keyframes yet: refused before any work
    document = doc(result)  # exactly one JSON document on stdout
    assert document["ok"] is False and result.exit_code != 0
