"""Issue 18 item 9 (and 8): hostile or mistaken inputs get a clear message and the documented exit code, never
a traceback, a hang or a project made of nothing. The corpus is the table in docs/reliability.md."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from ttv.core.tomlio import load_toml, write_toml


def _png(path: Path) -> Path:
    from PIL import Image

    Image.new("RGB", (8, 8)).save(path, format="PNG")
    return path


@pytest.mark.parametrize(("source", "words"), [
    ("png", "not UTF-8 text"),
    ("/dev/zero", "not a regular file"),
    ("big", "over 1 MB"),
    ("blank", "the idea is empty"),
    ("missing", "does not exist"),
])
def test_bad_idea_files(cli: Any, tmp_path: Path, source: str, words: str) -> None:
    path = {"png": lambda: _png(tmp_path / "idea.png"), "/dev/zero": lambda: Path("/dev/zero"),
            "big": lambda: _write(tmp_path / "big.txt", "a" * 1_000_001),
            "blank": lambda: _write(tmp_path / "blank.txt", " \n\t \n"),
            "missing": lambda: tmp_path / "nope.txt"}[source]()
    r = cli("init", tmp_path / "film", "--idea-file", path)
    assert r.exit_code == 2 and words in r.output, r.output
    assert "internal error" not in r.output and "Errno" not in r.output
    assert not (tmp_path / "film").exists()


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_whitespace_idea_and_empty_folder_name(cli: Any, tmp_path: Path) -> None:
    r = cli("init", tmp_path / "film", "--idea", "   ")
    assert r.exit_code == 2 and "empty" in r.output and not (tmp_path / "film").exists()
    r = cli("init", "", "--idea", "a lighthouse", cwd=tmp_path)
    assert r.exit_code == 2 and "folder name is empty" in r.output and not (tmp_path / "ttv.toml").exists()


@pytest.mark.parametrize(("change", "words"), [
    ({"duration": float("nan")}, "finite number"),
    ({"duration": float("inf")}, "finite number"),
    ({"idea": "  \n "}, "only blanks"),
    ({"backend": "runway", "backends": {"runway": {"base_url": "not a url"}}}, "not an http(s) URL"),
])
def test_bad_config_values(small_project: Any, cli: Any, change: dict[str, Any], words: str) -> None:
    root = small_project("keyframe", segments=1)
    cfg = load_toml(root / "ttv.toml")
    cfg.update(change)
    write_toml(root / "ttv.toml", cfg)
    r = cli("status", "-p", root)
    assert r.exit_code == 2 and words in r.output, r.output


def test_bom_in_ttv_toml_is_named(small_project: Any, cli: Any) -> None:
    root = small_project("keyframe", segments=1)
    path = root / "ttv.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    r = cli("status", "-p", root)
    assert r.exit_code == 2 and "byte-order mark" in r.output


def test_key_reaches_the_monitored_run_through_its_environment(small_project: Any, cli: Any,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    import ttv.commands.monitor as monitor_module

    root = small_project("keyframe", segments=1)
    seen: dict[str, Any] = {}

    class FakeChild:
        def __init__(self, args: list[str], **kwargs: Any) -> None:
            seen["args"], seen["env"] = args, kwargs["env"]

        def poll(self) -> int:
            return 0

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeChild)
    monkeypatch.setattr(monitor_module, "monitor", lambda root: None)
    monkeypatch.setattr(monitor_module, "require_dashboard", lambda terminal=False: None)  # as on a terminal
    r = cli("--key", "runway=key_runway_SECRET_cli_0123456789", "run", "-p", root, "--monitor")
    assert r.exit_code == 0, r.output
    assert seen["env"]["RUNWAYML_API_SECRET"] == "key_runway_SECRET_cli_0123456789"
    assert not any("SECRET" in a for a in seen["args"]), "never on the child's command line"
    assert os.environ.get("RUNWAYML_API_SECRET") != "key_runway_SECRET_cli_0123456789"


def test_planted_run_log_link_is_not_truncated(small_project: Any, cli: Any, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import ttv.commands.monitor as monitor_module

    root = small_project("keyframe", segments=1)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (root / ".ttv").mkdir(exist_ok=True)
    (root / ".ttv" / "run.log").symlink_to(victim)
    monkeypatch.setattr(monitor_module, "monitor", lambda root: None)
    monkeypatch.setattr(monitor_module, "require_dashboard", lambda terminal=False: None)  # as on a terminal
    r = cli("run", "-p", root, "--monitor")
    assert r.exit_code != 0 and "symbolic link" in r.output
    assert victim.read_text() == "keep me"


def test_a_model_typo_is_a_config_error(small_project: Any, cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", "key_runway_SECRET_0123456789abcdef")
    root = small_project("keyframe", segments=1)
    cfg = load_toml(root / "ttv.toml")
    cfg.update(backend="runway", backends={"runway": {"model": "gen4_turbbo"}})
    write_toml(root / "ttv.toml", cfg)
    r = cli("run", "-p", root)
    assert r.exit_code == 2 and "unknown model 'gen4_turbbo'" in r.output, r.output
