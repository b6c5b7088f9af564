"""GPU probing through NVML (the `nvidia-ml-py` package, imported as `pynvml`).

Never raises: when the package, the driver or a GPU is missing, the probe returns no GPUs and a
reason a person can act on. Every NVML call is guarded on its own, because any of them may raise
`NVMLError_NotSupported` on some boards (fan speed on passively cooled cards, power on some laptops).

Used by `ttv monitor` (sampled about once a second, so `GpuProbe` keeps NVML initialised between
samples) and by `ttv doctor` (`query_gpus()` once).

Each GPU is a plain dict:
    index, name, uuid, driver, util (GPU %), mem_util (%), mem_used, mem_total (bytes),
    temperature (°C), power_w, power_limit_w (W), sm_clock_mhz
Values an NVML call could not give are None.
"""

from __future__ import annotations

import threading
from typing import Any

GpuInfo = dict[str, Any]

NO_GPU = "no NVIDIA GPU"


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _call(nv: Any, name: str, *args: Any) -> Any:
    """One guarded NVML call: None when it raises (NotSupported, NoPermission, GPU lost, ...) or
    when this nvidia-ml-py is too old to have the function."""
    try:
        return getattr(nv, name)(*args)
    except Exception:
        return None


class GpuProbe:
    """Keeps NVML initialised between samples; `sample()` returns (gpus, reason). Thread-safe."""

    def __init__(self) -> None:
        self._nvml: Any = None
        self._driver = ""
        self._reason = ""
        self._lock = threading.Lock()
        self._tried = False

    def _init(self) -> None:
        self._tried = True
        try:
            import pynvml  # nvidia-ml-py; part of the `tui` extra
        except Exception:
            self._reason = f"{NO_GPU} (nvidia-ml-py is not installed: pip install 'ttv[tui]')"
            return
        try:
            pynvml.nvmlInit()
        except Exception as e:  # pynvml.NVMLError_LibraryNotFound / DriverNotLoaded / ...
            detail = _text(e) or type(e).__name__
            self._reason = f"{NO_GPU} (NVML: {detail})"
            return
        self._nvml = pynvml
        self._driver = _text(_call(pynvml, "nvmlSystemGetDriverVersion") or "")

    def sample(self) -> tuple[list[GpuInfo], str]:
        with self._lock:
            if not self._tried:
                self._init()
            nv = self._nvml
            if nv is None:
                return [], self._reason
            try:
                count = int(nv.nvmlDeviceGetCount())
            except Exception as e:
                return [], f"{NO_GPU} (NVML: {_text(e) or type(e).__name__})"
            if count <= 0:
                return [], f"{NO_GPU} (the driver sees no device)"
            gpus = [self._one(nv, i) for i in range(count)]
            return gpus, ""

    def _one(self, nv: Any, index: int) -> GpuInfo:
        info: GpuInfo = {
            "index": index,
            "name": "",
            "uuid": "",
            "driver": self._driver,
            "util": None,
            "mem_util": None,
            "mem_used": None,
            "mem_total": None,
            "temperature": None,
            "power_w": None,
            "power_limit_w": None,
            "sm_clock_mhz": None,
        }
        h = _call(nv, "nvmlDeviceGetHandleByIndex", index)
        if h is None:
            info["name"] = f"GPU {index} (unreadable)"
            return info
        info["name"] = _text(_call(nv, "nvmlDeviceGetName", h) or f"GPU {index}")
        info["uuid"] = _text(_call(nv, "nvmlDeviceGetUUID", h) or "")
        util = _call(nv, "nvmlDeviceGetUtilizationRates", h)
        if util is not None:
            info["util"] = _num(getattr(util, "gpu", None))
            info["mem_util"] = _num(getattr(util, "memory", None))
        mem = _call(nv, "nvmlDeviceGetMemoryInfo", h)
        if mem is not None:
            used, total = _num(getattr(mem, "used", None)), _num(getattr(mem, "total", None))
            info["mem_used"] = None if used is None else int(used)
            info["mem_total"] = None if total is None else int(total)
        temp_sensor = getattr(nv, "NVML_TEMPERATURE_GPU", 0)
        temperature = _num(_call(nv, "nvmlDeviceGetTemperature", h, temp_sensor))
        info["temperature"] = None if temperature is None else int(temperature)
        power_mw = _num(_call(nv, "nvmlDeviceGetPowerUsage", h))
        info["power_w"] = None if power_mw is None else power_mw / 1000.0
        limit_mw = _num(_call(nv, "nvmlDeviceGetEnforcedPowerLimit", h))
        if limit_mw is None:
            limit_mw = _num(_call(nv, "nvmlDeviceGetPowerManagementLimit", h))
        info["power_limit_w"] = None if limit_mw is None else limit_mw / 1000.0
        clock = getattr(nv, "NVML_CLOCK_SM", 1)
        info["sm_clock_mhz"] = _num(_call(nv, "nvmlDeviceGetClockInfo", h, clock))
        return info

    def close(self) -> None:
        with self._lock:
            if self._nvml is not None:
                _call(self._nvml, "nvmlShutdown")
            self._nvml = None
            self._tried = False


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def query_gpus() -> tuple[list[GpuInfo], str]:
    """One-shot probe: (GPUs, reason). The reason is "" when at least one GPU was found."""
    probe = GpuProbe()
    try:
        return probe.sample()
    except Exception as e:  # belt and braces: never raise into `ttv doctor`
        return [], f"{NO_GPU} ({type(e).__name__}: {e})"
    finally:
        probe.close()
