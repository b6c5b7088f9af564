"""ttv.core.gpu: NVML probing never raises; without a driver or GPU it gives [] and a reason."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.tui.sample import FakeNvml
from ttv.core.gpu import GpuProbe, query_gpus


def test_two_gpus_with_unsupported_readings(fake_nvml: FakeNvml) -> None:
    gpus, reason = query_gpus()
    assert reason == ""
    assert [g["name"] for g in gpus] == ["NVIDIA H100 80GB HBM3", "NVIDIA RTX 4090"]
    h100, rtx = gpus
    assert h100["driver"] == "570.86.15"
    assert h100["mem_total"] == 80 * 2**30 and h100["mem_used"] == 61 * 2**30
    assert h100["temperature"] == 71
    assert h100["power_w"] == pytest.approx(301.0) and h100["power_limit_w"] == pytest.approx(700.0)
    # NotSupported on one board is a None, not an exception
    assert rtx["power_w"] is None and rtx["power_limit_w"] is None
    assert fake_nvml.shutdowns == 1  # query_gpus shuts NVML down again


def test_probe_keeps_nvml_between_samples(fake_nvml: FakeNvml) -> None:
    probe = GpuProbe()
    utils = [probe.sample()[0][0]["util"] for _ in range(3)]
    assert utils == [10, 60, 95]  # the fake advances per call (two GPUs per sample)
    probe.close()
    assert fake_nvml.shutdowns == 1


def test_no_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    gpus, reason = query_gpus()
    assert gpus == []
    assert "no NVIDIA GPU" in reason and "ttv[tui]" in reason


def test_no_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(fail_init=True))
    gpus, reason = query_gpus()
    assert gpus == [] and reason == "no NVIDIA GPU (NVML: NVML Shared Library Not Found)"


def test_driver_without_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml(count=0))
    gpus, reason = query_gpus()
    assert gpus == [] and "sees no device" in reason


def test_every_call_failing_still_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken(FakeNvml):
        def __getattribute__(self, name: str) -> object:
            if name.startswith("nvmlDevice") and name != "nvmlDeviceGetCount":
                raise RuntimeError("GPU is lost")
            return super().__getattribute__(name)

    monkeypatch.setitem(sys.modules, "pynvml", Broken(count=1))
    gpus, reason = query_gpus()
    assert reason == "" and len(gpus) == 1 and gpus[0]["util"] is None


def test_real_nvml_on_this_machine() -> None:
    """The real nvidia-ml-py: either GPUs, or [] with a reason; never an exception."""
    pytest.importorskip("pynvml")
    out = subprocess.run(
        [sys.executable, "-c", "from ttv.core.gpu import query_gpus; g, r = query_gpus(); print(len(g), repr(r))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    count, _, reason = out.stdout.strip().partition(" ")
    assert (int(count) > 0 and reason == "''") or (int(count) == 0 and "no NVIDIA GPU" in reason)
