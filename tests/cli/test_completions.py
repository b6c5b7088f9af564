"""The generated bash completion, driven the way bash drives it: COMP_WORDS/COMP_CWORD, then _ttv."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "completions" / "ttv.bash"

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def complete(line: str, cwd: Path | None = None) -> list[str]:
    """What TAB offers at the end of `line` (a trailing space means a new, empty word)."""
    words = line.split()
    if line.endswith(" "):
        words.append("")
    array = " ".join(f"'{w}'" for w in words)
    script = (f"source '{SCRIPT}'; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _ttv; "
              'printf "%s\\n" "${COMPREPLY[@]}"')
    result = subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, check=True)
    return [w for w in result.stdout.splitlines() if w]


@pytest.fixture
def planned(tmp_path: Path) -> Path:
    (tmp_path / "ttv.toml").write_text("schema = 1\n")
    (tmp_path / "plan.toml").write_text(
        'schema = 1\n[[segments]]\nid = "s000"\nstart_keyframe = "k000"\nend_keyframe = "k001"\n'
        '[[segments]]\nid = "s001"\nstart_keyframe = "k001"\nend_keyframe = "k002"\n')
    (tmp_path / "clips").mkdir()
    return tmp_path


def test_commands_complete_after_a_global_option() -> None:
    assert complete("ttv -v re") == ["render"]
    assert "render" in complete("ttv --key runway=abc r")


def test_fixed_choices_complete() -> None:
    assert complete("ttv init --mode ") == ["keyframe", "chain"]
    assert complete("ttv -v render --on-error k") == ["keep-going"]
    assert complete("ttv --key runway=abc run --executor ") == ["local", "ray"]
    assert set(complete("ttv backends list --kind ")) == {"video", "keyframes", "image", "planner"}


def test_backend_names_complete_by_kind() -> None:
    video = complete("ttv init --backend ")
    assert "animatic" in video and "runway" in video and "card" not in video
    assert "card" in complete("ttv keyframes --provider ")
    assert "heuristic" in complete("ttv plan --planner ")
    assert "runway" in complete("ttv backends info ")


def test_key_providers_complete() -> None:
    assert {"runway", "google", "fal"} <= set(complete("ttv keys set "))


def test_ids_come_from_the_project(planned: Path) -> None:
    assert complete("ttv render --only s", cwd=planned / "clips") == ["s000", "s001"]
    assert complete("ttv run --only s000,s", cwd=planned) == ["s000,s000", "s000,s001"]
    assert complete("ttv keyframes --reroll ", cwd=planned) == ["k000", "k001", "k002"]
    assert complete(f"ttv render -p {planned} --only s00") == ["s000", "s001"]
    assert complete("ttv cancel ", cwd=planned) == ["s000", "s001"]


def test_options_still_complete_after_values() -> None:
    assert "--force" in complete("ttv -v render --only s000 --f")
