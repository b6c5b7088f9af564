"""Text that Rich would take for markup ("pip install 'ttv[remote]'", a prompt with [brackets]) reaches
the terminal as written, in every table and message that shows user or provider text."""

from __future__ import annotations

from typer.testing import CliRunner

from ttv.cli import app
from ttv.core.tomlio import load_toml, write_toml
from ttv.pipeline import doctor

runner = CliRunner()


def test_doctor_fix_keeps_the_extra_in_brackets(monkeypatch) -> None:
    report = doctor.Report([doctor.Check("runway", "backends", "fail", "the runwayml SDK is missing [red]x[/]",
                                         "pip install 'ttv[remote]'")], None, False)
    monkeypatch.setattr(doctor, "run_checks", lambda project, online=False: report)
    result = runner.invoke(app, ["doctor"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 1
    assert "pip install 'ttv[remote]'" in result.stdout
    assert "[red]x[/]" in result.stdout


def test_plan_table_keeps_brackets_in_prompts(small_project, cli) -> None:
    root = small_project("keyframe", segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    plan = load_toml(root / "plan.toml")
    plan["segments"][0]["prompt"] = "A sign that reads [bold]OPEN[/bold]"
    write_toml(root / "plan.toml", plan)
    result = runner.invoke(app, ["plan", "-p", str(root)], env={"NO_COLOR": "1", "COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "[bold]OPEN[/bold]" in result.stdout
