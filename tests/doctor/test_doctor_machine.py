"""`ttv doctor` machine checks: NVML absent/present, torch builds, missing ffmpeg, JSON schema, exit codes."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ttv.cli import app

from .conftest import GiB, fake_nvml, fake_torch, write_project

TOP_KEYS = {"schema", "command", "ok", "project", "online", "summary", "checks"}
CHECK_KEYS = {"name", "group", "status", "detail", "fix", "required", "data"}


def doctor_json(runner: CliRunner, *args: str) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["doctor", "--json", *args])
    assert result.stdout, result.output
    return result.exit_code, json.loads(result.stdout)


def by_name(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in doc["checks"]}


def test_json_schema_in_an_offline_project(runner: CliRunner, tmp_path: Path) -> None:
    root = write_project(tmp_path / "film")
    code, doc = doctor_json(runner, "--project", str(root))
    assert code == 0, doc
    assert set(doc) == TOP_KEYS and doc["schema"] == 1 and doc["ok"] is True and doc["online"] is False
    assert doc["project"] == str(root.resolve())
    assert set(doc["summary"]) == {"ok", "warn", "fail"} and doc["summary"]["fail"] == 0
    for c in doc["checks"]:
        assert set(c) == CHECK_KEYS
        assert c["status"] in ("ok", "warn", "fail")
        assert isinstance(c["detail"], str) and isinstance(c["fix"], str) and isinstance(c["data"], dict)
    names = by_name(doc)
    for expected in ("python", "packages: core", "packages: local", "packages: remote", "ffmpeg", "ffmpeg h264", "gpu",
                     "torch", "plan", "backend: animatic", "backend: card", "backend: heuristic", "project writable",
                     "disk space", "lock", "records"):
        assert expected in names, expected
    assert names["ffmpeg h264"]["status"] == "ok" and names["ffmpeg h264"]["data"]["frames"] == 3
    assert names["ffmpeg"]["data"]["source"] in ("PATH", "imageio-ffmpeg")


def test_nvml_absent_is_a_warning_without_local_backends(runner: CliRunner, tmp_path: Path) -> None:
    root = write_project(tmp_path / "film")
    code, doc = doctor_json(runner, "--project", str(root))
    gpu = by_name(doc)["gpu"]
    assert gpu["status"] == "warn" and "no NVIDIA GPU" in gpu["detail"] and gpu["required"] is False
    assert code == 0


def test_nvml_absent_fails_when_a_local_backend_is_configured(runner: CliRunner, tmp_path: Path) -> None:
    root = write_project(tmp_path / "film", backend="wan", width=832, height=480)
    code, doc = doctor_json(runner, "--project", str(root))
    names = by_name(doc)
    assert names["gpu"]["status"] == "fail" and "no NVIDIA GPU" in names["gpu"]["detail"]
    assert code == 1 and doc["ok"] is False


def test_nvml_present_stub(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([("NVIDIA H100 80GB HBM3", 80 * GiB)]))
    monkeypatch.setitem(sys.modules, "torch", fake_torch(cuda="12.4", available=True, devices=1,
                                                         version="2.5.1+cu124"))
    code, doc = doctor_json(runner, "--project", str(write_project(tmp_path / "film")))
    names = by_name(doc)
    gpu = names["gpu"]
    assert gpu["status"] == "ok" and "H100" in gpu["detail"] and "550.54.15" in gpu["detail"]
    assert gpu["data"]["gpus"][0]["mem_total"] == 80 * GiB
    assert gpu["data"]["gpus"][0]["temperature"] is None  # unsupported NVML calls are None, not a crash
    torch = names["torch"]
    assert torch["status"] == "ok" and torch["data"]["cuda_build"] == "12.4" and torch["data"]["driver_cuda"] == "12.4"
    assert code == 0


def test_cpu_torch_with_a_gpu_and_a_local_backend_fails(runner: CliRunner, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([("NVIDIA GeForce RTX 4090", 24 * GiB)]))
    root = write_project(tmp_path / "film", backend="wan", width=832, height=480)
    code, doc = doctor_json(runner, "--project", str(root))
    torch = by_name(doc)["torch"]
    assert torch["status"] == "fail" and "CPU-only" in torch["detail"] and "download.pytorch.org" in torch["fix"]
    assert code == 1


def test_torch_built_for_a_newer_cuda_than_the_driver(runner: CliRunner, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_nvml([("NVIDIA A100-SXM4-80GB", 80 * GiB)], cuda=11080))
    monkeypatch.setitem(sys.modules, "torch", fake_torch(cuda="12.4", available=False, version="2.5.1+cu124"))
    root = write_project(tmp_path / "film", backend="wan", width=832, height=480)
    _, doc = doctor_json(runner, "--project", str(root))
    torch = by_name(doc)["torch"]
    assert torch["status"] == "fail" and "12.4" in torch["detail"] and "11.8" in torch["detail"]
    assert "driver" in torch["fix"]


def test_missing_ffmpeg(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None if name == "ffmpeg" else real_which(name, *a, **k))

    def no_binary() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    code, doc = doctor_json(runner, "--project", str(write_project(tmp_path / "film")))
    names = by_name(doc)
    assert names["ffmpeg"]["status"] == "fail" and "no ffmpeg" in names["ffmpeg"]["detail"]
    assert "ffmpeg" in names["ffmpeg"]["fix"]
    assert "ffmpeg h264" not in names
    assert code == 1
    table = runner.invoke(app, ["doctor", "--project", str(tmp_path / "film")])
    assert table.exit_code == 1 and "not ready" in table.stderr
    quiet = runner.invoke(app, ["doctor", "--project", str(tmp_path / "film"), "-q"])
    assert quiet.exit_code == 1 and quiet.stdout.split() == ["ffmpeg"]


def test_outside_a_project(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, doc = doctor_json(runner)
    assert code == 0 and doc["project"] is None
    names = by_name(doc)
    assert names["keys"]["status"] == "warn" and "no API key" in names["keys"]["detail"]
    assert "disk space" in names and "records" not in names
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0 and "outside a project" in result.stdout and "ready" in result.stderr


def test_broken_ttv_toml_is_a_failed_check_not_a_crash(runner: CliRunner, tmp_path: Path) -> None:
    root = write_project(tmp_path / "film")
    (root / "ttv.toml").write_text((root / "ttv.toml").read_text() + "\nbakend = 'runway'\n")
    code, doc = doctor_json(runner, "--project", str(root))
    cfg = by_name(doc)["project config"]
    assert cfg["status"] == "fail" and "bakend" in cfg["detail"]
    assert code == 1


def test_unloadable_backend(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend whose module cannot be imported (an extra missing, a broken plugin) is named, not a crash."""
    from ttv.backends import registry

    monkeypatch.setitem(sys.modules, "ttv.backends.remote.veo", None)  # import fails
    registry.load_class.cache_clear()
    try:
        root = write_project(tmp_path / "film", backend="animatic", fallback=["veo"])
        code, doc = doctor_json(runner, "--project", str(root))
        # Loading the project validates every backend it names, so every command would stop here too.
        row = by_name(doc)["project config"]
        assert row["status"] == "fail" and "veo" in row["detail"] and "could not be loaded" in row["detail"]
        assert code == 1
        assert "ffmpeg" in by_name(doc) and "gpu" in by_name(doc)  # machine checks still ran
    finally:
        registry.load_class.cache_clear()


def test_sdk_outside_the_tested_range_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from ttv.pipeline import doctor

    real = doctor.dist_version
    monkeypatch.setattr(doctor, "dist_version", lambda name: "4.18.0" if name == "runwayml" else real(name))
    rows = {c.name: c for c in doctor.check_packages({"remote": "runway"})}
    remote = rows["packages: remote"]
    assert remote.status == "warn" and "runwayml 4.18.0" in remote.detail
    assert remote.fix == "pip install 'runwayml>=5,<6'"


def test_a_missing_extra_of_a_fallback_warns_instead_of_passing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: "ok, not installed (optional)" although the configured fallback would fail when it runs."""
    from ttv.pipeline import doctor

    real = doctor.dist_version
    local = set(doctor.extras()["local"])
    monkeypatch.setattr(doctor, "dist_version", lambda name: None if name in local else real(name))
    rows = {c.name: c for c in doctor.check_packages({}, {"local": "fallback wan"})}
    row = rows["packages: local"]
    assert row.status == "warn" and "fallback wan" in row.detail and row.fix == "pip install 'ttv[local]'"
    assert not row.required  # the primary still runs: a warning, not a failure
    plain = {c.name: c for c in doctor.check_packages({})}["packages: local"]
    assert plain.status == "ok" and "optional" in plain.detail  # nothing configured needs it


def test_the_doctor_table_prints_extras_in_brackets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Rich markup ate `[local]`: the table said pip install 'ttv' where the fix is pip install 'ttv[local]'."""
    from typer.testing import CliRunner

    from ttv.cli import app
    from ttv.pipeline import doctor

    from .conftest import write_project

    real = doctor.dist_version
    local = set(doctor.extras()["local"])
    monkeypatch.setattr(doctor, "dist_version", lambda name: None if name in local else real(name))
    monkeypatch.setenv("COLUMNS", "400")
    from ttv.commands import _common

    monkeypatch.setattr(_common.out, "_console", None)  # a console made anew reads COLUMNS, as in a new process
    root = write_project(tmp_path / "film", fallback=["wan"])
    result = CliRunner().invoke(app, ["doctor", "--project", str(root)])
    assert "pip install 'ttv[local]'" in result.output
