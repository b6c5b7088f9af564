"""Project lock, import hygiene, help and exit codes, backends listing, completions drift."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ttv.pipeline.project import Project

ROOT = Path(__file__).resolve().parents[2]


def test_second_process_gets_a_clear_message(small_project, cli):
    root = small_project("keyframe", segments=2)
    project = Project.load(root)
    with project.locked("render"):
        result = cli("run", "-p", root)
    assert result.exit_code == 2
    assert "another ttv process" in result.output and "`ttv render`" in result.output
    assert "--wait-for-lock" in result.output
    assert not (root / "plan.toml").exists()
    assert cli("run", "-p", root).exit_code == 0  # released


def test_help_imports_no_heavy_packages():
    code = (
        "import sys, ttv.cli\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner().invoke(ttv.cli.app, ['--help'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'diffusers', 'transformers', 'textual', 'runwayml', 'google.genai',"
        " 'fal_client', 'openai', 'pynvml', 'ray',"
        # `ttv --help` stays within 2x of `import typer`: not even the core's own dependencies load.
        " 'pydantic', 'rich', 'av', 'numpy', 'PIL', 'httpx') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_backends_list_works_without_importing_sdks():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "import ttv.cli\n"
        "r = CliRunner().invoke(ttv.cli.app, ['backends', 'list', '--json'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = [m for m in ('torch', 'diffusers', 'runwayml', 'google.genai', 'fal_client') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_python_dash_m_and_exit_codes_in_help():
    out = subprocess.run([sys.executable, "-m", "ttv", "--help"], capture_output=True, text=True, check=True)
    for word in ("init", "plan", "keyframes", "render", "chain", "stitch", "status", "run", "backends", "config"):
        assert word in out.stdout
    assert "Exit codes: 0 ok" in out.stdout and "130 interrupted" in out.stdout


def test_backends_list_and_info(cli):
    result = cli("backends", "list", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)["backends"]}
    for name in ("animatic", "card", "heuristic", "files"):
        assert rows[name]["available"] is True
    info = cli("backends", "info", "animatic", "--json")
    data = json.loads(info.stdout)
    assert data["kind"] == "video" and data["capabilities"]["repeats_first_frame"] is False
    assert "zoom" in data["options"]
    unknown = cli("backends", "info", "animatc")
    assert unknown.exit_code == 2 and "did you mean 'animatic'" in unknown.output


def test_config_show_names_sources(small_project, cli):
    root = small_project("keyframe", segments=2)
    result = cli("config", "show", "-p", root, "--json")
    assert result.exit_code == 0
    rows = {r["key"]: r for r in json.loads(result.stdout)["settings"]}
    assert rows["fps"]["value"] == 8 and rows["fps"]["source"] == "ttv.toml"
    assert rows["retries"]["source"] == "default"


SHELLS = ("bash", "zsh", "fish")


@pytest.mark.parametrize("shell", SHELLS)
def test_completions_match_the_cli(shell):
    from ttv.completions import generate

    committed = (ROOT / "completions" / f"ttv.{shell}").read_text()
    assert generate(shell) == committed, f"completions/ttv.{shell} drifted: run `python scripts/gen_completions.py`"


def test_backends_info_inside_a_project_describes_its_configured_model(small_project, cli):
    from ttv.core.tomlio import load_toml, write_toml

    root = small_project(segments=1)
    cfg = load_toml(root / "ttv.toml")
    cfg.setdefault("backends", {})["minimax"] = {"model": "MiniMax-H3", "resolution": "2K"}
    write_toml(root / "ttv.toml", cfg)
    plain = json.loads(cli("backends", "info", "minimax", "--json").stdout)  # no project: the defaults
    assert plain["capabilities"]["durations"] == [6.0, 10.0] and "configured" not in plain
    inside = json.loads(cli("backends", "info", "minimax", "-p", root, "--json").stdout)
    assert inside["configured"]["options"] == {"model": "MiniMax-H3", "resolution": "2K"}
    assert inside["capabilities"]["durations"][0] == 4.0 and inside["capabilities"]["max_duration"] == 15.0
    text = cli("backends", "info", "minimax", "-p", root).stdout
    assert "for [backends.minimax] in" in text and 'model = "MiniMax-H3"' in text
