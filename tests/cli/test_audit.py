"""CLI audit regressions: wrong inputs give one clear message and the documented exit code, never a traceback
or silently wrong work."""

from __future__ import annotations

import json

import pytest

from ttv.core.tomlio import load_toml, write_toml


def _edit(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output
    assert "internal error" not in result.output


# ---- ttv.toml / plan.toml: wrong types are errors, not coerced ------------------------------------

@pytest.mark.parametrize("old,new,needle", [
    ("fps = 8", "fps = true", "fps"),
    ("fps = 8", 'fps = "8"', "fps"),
    ("seed = 7", "seed = 7.0", "seed"),
])
def test_config_wrong_types_are_refused_not_coerced(small_project, cli, old, new, needle):
    root = small_project(segments=1, seed=7)
    _edit(root / "ttv.toml", old, new)
    result = cli("status", "-p", root)
    assert result.exit_code == 2, result.output
    assert f"ttv.toml: {needle}:" in result.output
    _no_traceback(result)


def test_plan_wrong_type_is_refused(small_project, cli):
    root = small_project(segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    _edit(root / "plan.toml", "locked = false", 'locked = "yes"')
    result = cli("status", "-p", root)
    assert result.exit_code == 2, result.output
    assert "segments[0] (id 's000').locked" in result.output


@pytest.mark.parametrize("prices,needle", [
    ({"foo": 3.0}, "'foo' must be \"provider/model\""),
    ({"nosuch/model": 1.0}, "must be \"provider/model\""),
    ({"runway/gen4_turbo": -1.0}, "cannot be negative"),
])
def test_price_overrides_are_checked(small_project, cli, prices, needle):
    root = small_project(segments=1)
    cfg = load_toml(root / "ttv.toml")
    cfg["prices"] = prices
    write_toml(root / "ttv.toml", cfg)
    result = cli("estimate", "-p", root)
    assert result.exit_code == 2, result.output
    assert needle in result.output


def test_a_valid_price_override_is_accepted(small_project, cli):
    root = small_project(segments=1)
    cfg = load_toml(root / "ttv.toml")
    cfg["prices"] = {"fal/fal-ai/some/new-app": 0.2, "runway/gen4_turbo": 0.05}
    write_toml(root / "ttv.toml", cfg)
    assert cli("estimate", "-p", root).exit_code == 0


@pytest.mark.parametrize("key,value,needle", [
    ("backend", "nope", "segment s000: backend: unknown backend 'nope'"),
    ("backend", "card", "segment s000: backend: 'card' is an image backend, not a video backend"),
])
def test_plan_backend_typos_name_the_file_and_segment(small_project, cli, key, value, needle):
    root = small_project(segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    _edit(root / "plan.toml", "locked = false", f'locked = false\n{key} = "{value}"')
    for command in ("status", "render", "estimate"):
        result = cli(command, "-p", root)
        assert result.exit_code == 2, (command, result.output)
        assert "plan.toml: " + needle in result.output, (command, result.output)
        _no_traceback(result)


def test_plan_keyframe_provider_of_the_wrong_kind(small_project, cli):
    root = small_project(segments=2)
    assert cli("plan", "-p", root).exit_code == 0
    _edit(root / "plan.toml", 'id = "k001"', 'id = "k001"\nprovider = "animatic"')
    result = cli("keyframes", "-p", root)
    assert result.exit_code == 2, result.output
    assert "keyframe k001: provider: 'animatic' is a video backend, not a image backend" not in result.output
    assert "keyframe k001: provider: 'animatic' is a video backend, not an image backend" in result.output


# ---- ttv init ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["--backend", "card"], "--backend: 'card' is an image backend, not a video backend"),
    (["--keyframes", "animatic"], "--keyframes: 'animatic' is a video backend, not an image backend"),
    (["--planner", "card"], "--planner: 'card' is an image backend"),
    (["--backend", "animatc"], "--backend: unknown backend 'animatc'"),
    (["--max-cost", "-1"], "--max-cost: Input should be greater than or equal to 0"),
    (["--segments", "0"], "--segments: Input should be greater than or equal to 1"),
    (["--duration", "-5"], "--duration: Input should be greater than 0"),
])
def test_init_refuses_bad_values_and_creates_nothing(tmp_path, cli, args, needle):
    root = tmp_path / "film"
    result = cli("init", root, "--idea", "x", *args)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert not root.exists()
    _no_traceback(result)


# ---- option values ------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,needle", [
    (["stitch", "--crossfade", "-1"], "--crossfade must be between 0 and 5 seconds"),
    (["stitch", "--crossfade", "99"], "--crossfade must be between 0 and 5 seconds"),
    (["render", "--max-cost", "-1"], "--max-cost must be 0 or more"),
    (["run", "--max-cost", "nan"], "--max-cost must be 0 or more"),
    (["estimate", "--max-cost", "-1"], "--max-cost must be 0 or more"),
    (["wait", "--timeout", "-5"], "--timeout must be 0 or more"),
    (["render", "--wait-for-lock", "-1"], "--wait-for-lock must be 0 or more"),
    (["render", "--only", ",,", "--force"], "--only ',,' names no ids"),
    (["keyframes", "--only", "", "--force"], "--only '' names no ids"),
])
def test_bad_option_values_are_usage_errors(small_project, cli, args, needle):
    root = small_project(segments=1)
    assert cli("plan", "-p", root).exit_code == 0
    result = cli(*args, "-p", root)
    assert result.exit_code == 2, result.output
    assert needle in result.output
    _no_traceback(result)
    assert not (root / "clips").exists()


def test_json_output_is_one_document(small_project, cli):
    root = small_project(segments=1)
    result = cli("init", root.parent / "other", "--idea", "x", "--json")
    assert result.exit_code == 0
    json.loads(result.stdout)


# ---- secrets ------------------------------------------------------------------------------------------

SECRET = "sk-audit-0123456789abcdef"


def _leaky_class():
    """A video backend whose bug quotes the key in an unexpected exception (as an HTTP client's URL would)."""
    from ttv.backends.offline.animatic import AnimaticBackend

    class Leaky(AnimaticBackend):
        name = "leaky"

        def generate(self, request, output, ctx):
            from ttv.core import keys

            raise RuntimeError(f"GET https://api.example/v1/x?key={keys.get_key('runway')} failed")

    return Leaky


@pytest.fixture
def leaky(monkeypatch):
    from ttv.backends import registry

    cls = _leaky_class()
    real = registry.load_class

    def load_class(name):
        return cls if name == "leaky" else real(name)

    monkeypatch.setattr(registry, "load_class", load_class)
    return cls


def test_a_key_quoted_by_an_unexpected_error_stays_out_of_records_and_output(small_project, cli, leaky):
    root = small_project(segments=1)
    assert cli("plan", "-p", root).exit_code == 0
    assert cli("keyframes", "-p", root).exit_code == 0
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"] = "leaky"
    write_toml(root / "ttv.toml", cfg)
    result = cli("--key", f"runway={SECRET}", "render", "-p", root)
    assert result.exit_code == 1, result.output
    assert SECRET not in result.output
    assert "key=***" in result.output
    for path in root.rglob("*.toml"):
        assert SECRET not in path.read_text(), path
    assert "key=***" in (root / "clips" / "s000.toml").read_text()
    events = (root / ".ttv" / "events.jsonl").read_text()
    assert SECRET not in events
    assert "key=***" in events


def test_keyframes_provider_edits_one_line_of_ttv_toml(small_project, cli, tmp_path, monkeypatch):
    """`--provider` is written to ttv.toml, but the user's comments stay and the user config is not copied in."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("max_cost_usd = 9.0\n[backends.runway]\nconcurrency = 4\n")
    monkeypatch.setenv("TTV_HOME", str(home))
    root = small_project(segments=1, seed=7, keyframes="files")
    _edit(root / "ttv.toml", 'keyframes = "files"', 'keyframes = "files"  # my own images, later')
    _edit(root / "ttv.toml", "seed = 7", "seed = 7  # lucky")
    before = (root / "ttv.toml").read_text()
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("keyframes", "-p", root, "--provider", "card")
    assert result.exit_code == 0, result.output
    after = (root / "ttv.toml").read_text()
    assert after == before.replace('keyframes = "files"', 'keyframes = "card"')
    settings = load_toml(root / "ttv.toml")  # the user config is not copied in (the file only mentions it in comments)
    assert "max_cost_usd" not in settings and "runway" not in settings.get("backends", {})


def test_status_says_interrupted_when_no_process_runs_the_item(small_project, cli):
    import os
    import socket

    root = small_project(segments=1)
    assert cli("run", "-p", root).exit_code == 0
    rec = load_toml(root / "clips" / "s000.toml")
    rec["status"] = "running"  # what Ctrl-C or a killed process leaves
    write_toml(root / "clips" / "s000.toml", rec)
    rows = {r["id"]: r for r in json.loads(cli("status", "-p", root, "--json").stdout)["items"]}
    assert rows["s000"]["status"] == "interrupted"
    # A lock.json left behind whose pid is alive (here: reused by this very process) does not count:
    # the lock itself is free.
    (root / ".ttv" / "lock.json").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                                         "command": "render", "since": "now"}))
    rows = {r["id"]: r for r in json.loads(cli("status", "-p", root, "--json").stdout)["items"]}
    assert rows["s000"]["status"] == "interrupted"
    # While a ttv process holds the project and its run works on the item, the same record is really running.
    from ttv.pipeline.project import Project

    proj = Project.load(root)
    with proj.locked("render"):
        proj.events.emit("run.started", command="render", pid=os.getpid(), host=socket.gethostname())
        proj.events.emit("item.started", item="s000", step="render", backend="animatic", attempt=2)
        rows = {r["id"]: r for r in json.loads(cli("status", "-p", root, "--json").stdout)["items"]}
        assert rows["s000"]["status"] == "running"
        assert rows["s000"]["why"] == [f"running now (`ttv render`, pid {os.getpid()})"]
        result = cli("status", "-p", root, "-q")
        assert result.exit_code == 1 and "s000" in result.stdout
        # ... and the summary does not send the user to start a second run against the lock
        result = cli("status", "-p", root)
        assert "`ttv render` is working on 1" in result.output and "run `ttv run` to finish" not in result.output


def test_plan_says_when_it_cannot_last_as_long_as_asked(tmp_path, cli):
    root = tmp_path / "long"
    assert cli("init", root, "--idea", "x", "--duration", "3600", "--segments", "1").exit_code == 0
    result = cli("plan", "-p", root)
    assert result.exit_code == 0
    assert "the plan lasts 600 s, not the 3600 s asked for" in result.stderr
    assert "ttv plan --force --segments 6" in result.stderr
    result = cli("plan", "-p", root, "--force", "--segments", "6")
    assert "the plan lasts" not in result.stderr


def test_a_broken_keys_file_is_one_failed_doctor_check_not_an_abort(tmp_path, cli, monkeypatch):
    from ttv.core import keys

    keys.keys_file().parent.mkdir(parents=True, exist_ok=True)
    keys.keys_file().write_text("garbage [[\n")
    result = cli("doctor", "--json", cwd=tmp_path)
    assert result.exit_code == 1, result.output
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["keys file"]["status"] == "fail"
    assert "could not be read" in checks["keys file"]["detail"]
    assert checks["python"]["status"] == "ok"  # the other checks still ran
    result = cli("backends", "info", "runway")
    assert result.exit_code == 0, result.output
    assert "could not be read" in result.output and "options" in result.output
    _no_traceback(result)


def test_wait_and_cancel_before_any_plan_say_there_is_nothing(small_project, cli):
    root = small_project(segments=1)
    for command in ("wait", "cancel"):
        result = cli(command, "-p", root, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["jobs"] == []
        result = cli(command, "-p", root)
        assert result.exit_code == 0 and "no remote jobs in flight" in result.stderr
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("cancel", "-p", root)
    assert result.exit_code == 0 and "no remote jobs in flight" in result.stderr and result.stdout == ""


def test_backend_suggestions_are_of_the_kind_asked_for(small_project, cli):
    root = small_project(segments=1)
    assert cli("plan", "-p", root).exit_code == 0
    typo = cli("keyframes", "-p", root, "--provider", "carb")
    assert typo.exit_code == 2 and "unknown image backend 'carb'" in typo.output and "did you mean 'card'" in typo.output
    nope = cli("keyframes", "-p", root, "--provider", "nope")
    assert nope.exit_code == 2 and "openai" not in nope.output  # a planner is no keyframe provider
    wrong = cli("keyframes", "-p", root, "--provider", "animatic")
    assert wrong.exit_code == 2 and "is a video backend, not an image backend" in wrong.output
    assert "card, diffusers, files, gemini-image, runway-image" in wrong.output


def test_files_provider_without_images_says_how_to_give_them(small_project, cli):
    root = small_project(segments=1)
    assert cli("plan", "-p", root).exit_code == 0
    result = cli("keyframes", "-p", root, "--provider", "files")
    assert result.exit_code == 1
    assert "no image given for the `files` provider" in result.output and "--from-dir" in result.output
    assert f"image {root} does not exist" not in result.output
