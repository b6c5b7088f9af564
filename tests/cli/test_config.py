"""ttv.toml holds what the user chose; the user config and built-in defaults apply where it is silent;
`ttv config show` says each value as TOML, what it means and where it came from; commands that edit one
setting keep the file's comments and layout."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ttv.core.tomlio import load_toml
from ttv.pipeline.project import Project


def user_config(text: str) -> None:
    home = Path(os.environ["TTV_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


def test_init_writes_only_what_was_chosen_and_a_commented_reference(cli, tmp_path: Path) -> None:
    root = tmp_path / "film"
    assert cli("init", root, "--idea", "a fox", "--width", "320", "--height", "180").exit_code == 0
    data = load_toml(root / "ttv.toml")
    assert data == {"schema": 1, "idea": "a fox", "width": 320, "height": 180}
    text = (root / "ttv.toml").read_text()
    for key in ("# mode = \"keyframe\"", "# fps = 24", "# crossfade = 0.0", "# [stitch]"):
        assert key in text


def test_user_config_applies_where_the_project_is_silent(cli, tmp_path: Path) -> None:
    user_config('fps = 30\nstyle = "watercolour"\n[stitch]\ncrossfade = 0.5\n')
    root = tmp_path / "film"
    assert cli("init", root, "--idea", "a fox", "--fps", "12").exit_code == 0
    config = Project.load(root).config
    assert config.fps == 12  # chosen on the command line: in ttv.toml, wins
    assert config.style == "watercolour" and config.stitch.crossfade == 0.5  # from the user config


def test_config_show_says_values_as_toml_with_meaning_and_source(cli, tmp_path: Path) -> None:
    user_config("fps = 30\n")
    root = tmp_path / "film"
    assert cli("init", root, "--idea", "a fox", "--mode", "chain").exit_code == 0
    rows = {r["key"]: r for r in json.loads(cli("config", "show", "-p", root, "--json").stdout)["settings"]}
    assert rows["mode"]["shown"] == '"chain"' and rows["mode"]["source"] == "ttv.toml"
    assert rows["fps"]["shown"] == "30" and rows["fps"]["source"] == "user config"
    assert rows["seed"]["source"] == "default"
    assert rows["stitch.color_match"]["shown"] == "on (chain mode; unset)"
    assert rows["max_cost_usd"]["shown"] == "(not set)"
    assert rows["stitch.drop_duplicate_seams"]["shown"] == "true"
    assert all(r["description"] for r in rows.values()), [k for k, r in rows.items() if not r["description"]]
    table = cli("config", "show", "-p", root).stdout
    assert "'chain'" not in table and "None" not in table and "True" not in table


def test_keyframes_provider_edit_keeps_comments_and_layout(small_project, cli) -> None:
    root = small_project("keyframe", segments=2)
    path = root / "ttv.toml"
    path.write_text(path.read_text().replace("schema = 1", "schema = 1  # my note\n# a comment of mine"))
    before = path.read_text()
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("keyframes", "-p", root, "--provider", "card", "--dry-run")
    assert result.exit_code == 0 and path.read_text() == before
    assert cli("keyframes", "-p", root, "--provider", "card").exit_code == 0
    after = path.read_text()
    assert "schema = 1  # my note\n# a comment of mine" in after
    assert load_toml(path)["keyframes"] == "card"
    assert after.replace('keyframes = "card"\n', "") == before  # one line added, nothing else touched


def _video_backends() -> list[str]:
    """The built-in video backends, as `ttv backends list --kind video` finds them (checked below)."""
    from ttv.backends import registry

    return sorted(n for n in registry._table() if registry.load_class(n).kind == "video")


def test_the_info_test_covers_every_video_backend(cli) -> None:
    result = cli("backends", "list", "--kind", "video", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(b["name"] for b in json.loads(result.stdout)["backends"]) == _video_backends()


@pytest.mark.parametrize("name", _video_backends())
def test_backends_info_reads_as_words_not_python(cli, name: str) -> None:
    import re

    result = cli("backends", "info", name)
    assert result.exit_code == 0, result.output
    table = result.stdout
    assert not re.search(r"│ (True|False|None) |\['|\(\d+, \d+\)|'[a-z0-9_.]+'|\{'", table), (name, table)
    assert re.search(r"│ continuation +│ \w", table), (name, table)  # a sentence, whatever the backend


@pytest.mark.parametrize(("value", "words"), [
    ({"frames": [9, 17, 25], "frame_rule": "8k+1", "size_multiple": 32, "extend": False},
     "continues from the last K frames of the previous clip, K = 8k+1; width and height multiples of 32"),
    ({"frames": [9, 17, 25, 33, 41], "frame_rule": "", "size_multiple": 1},
     "continues from the last K frames of the previous clip, K = 9, 17, ..., 41"),
    ({"frames": list(range(2, 65)), "size_multiple": 1}, "continues from the last K frames of the previous clip, "
                                                         "K = 2-64"),
    ({"frames": [], "extend": True, "max_input_seconds": 30.0, "note": "extends the previous clip by 7 s"},
     "video extension: the provider continues the previous clip's whole video (up to 30 s of it); "
     "extends the previous clip by 7 s"),
    (None, "from the previous clip's last frame only (the next start image)"),
])
def test_continuation_capability_in_words(value: Any, words: str) -> None:
    from ttv.commands.backends import capability_text

    assert capability_text("continuation", value) == words


def test_an_unknown_nested_capability_reads_as_its_fields() -> None:
    from ttv.commands.backends import capability_text

    text = capability_text("audio", {"languages": ["en", "de"], "max_seconds": 8.0, "lip_sync": True, "x": None})
    assert text == "languages: en, de; max seconds: 8; lip sync: yes"


def test_every_option_of_every_backend_says_what_it_means() -> None:
    from ttv.backends import registry

    missing = {name: [key for key in registry.load_class(name).OptionsModel.model_fields
                      if not registry.load_class(name).OptionsModel.describe(key)]
               for name in registry.names()}
    assert not {k: v for k, v in missing.items() if v}
