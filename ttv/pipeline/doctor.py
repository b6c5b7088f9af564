"""`ttv doctor`: is this machine (and this project) ready, before anything is spent?

Every check is data: a `Check(name, group, status, detail, fix, required, data)` where status is
ok | warn | fail. "fail" is only used for what would stop the configured pipeline (a required check);
problems that would not (an optional extra, a fallback backend, a lock held by another run) are "warn".
`ttv doctor` exits 0 when no check failed.

Checks never raise and never print keys: heavy packages (torch) are imported only inside their check,
and live key checks (`online=True`) make one cheap read-only request through the provider's SDK or httpx.

Doctor keeps no table of providers. What it checks per backend comes from the backend classes
(ttv/backends/base.py, "provider facts"): the key provider, the live key check and where its base URL
may come from, the pip extra and the packages it imports with their tested versions, and for local
backends the measured peak VRAM. So a plugin's backend is checked like a built-in.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import platform
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from ttv.backends.keycheck import Live, LiveState
from ttv.core.errors import TtvError

DOCTOR_SCHEMA = 1
Status = Literal["ok", "warn", "fail"]


@dataclass
class Check:
    name: str
    group: str  # python | media | gpu | backends | models | keys | project
    status: Status
    detail: str
    fix: str = ""
    required: bool = True  # a problem here stops the configured pipeline (then status is "fail")
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def problem(required: bool) -> Status:
    return "fail" if required else "warn"


@dataclass
class Report:
    checks: list[Check]
    project: str | None
    online: bool

    @property
    def ok(self) -> bool:
        return not any(c.status == "fail" for c in self.checks)

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for c in self.checks if c.status == s) for s in ("ok", "warn", "fail")}

    def to_json(self) -> dict[str, Any]:
        return {"schema": DOCTOR_SCHEMA, "ok": self.ok, "project": self.project, "online": self.online,
                "summary": self.counts(), "checks": [c.to_json() for c in self.checks]}


# ---- what the project uses ------------------------------------------------------------------

@dataclass
class Use:
    """One configured backend and how much the project depends on it."""

    name: str
    kind: Literal["video", "image", "planner"]
    required: bool
    role: str  # "backend", "fallback", "segment s003", "keyframes", "planner"
    cls: Any = None  # the backend class, None when it cannot be loaded
    load_error: str = ""

    @property
    def where(self) -> str:
        if self.extra == "remote" or getattr(self.cls, "key_provider", None) is not None:
            return "remote"  # a plugin's remote backend may need no extra of ttv's, but it has a key
        return "local" if self.extra == "local" else "offline"

    @property
    def extra(self) -> str | None:
        return getattr(self.cls, "extra", None) if self.cls is not None else _guess_extra(self.name)


def _guess_extra(name: str) -> str | None:
    """For a backend whose class cannot be loaded: the extra its module's place suggests."""
    from ttv.backends import registry

    module = registry.entry_module(name)
    return "remote" if ".remote." in module else "local" if ".local." in module else None


def _backend_classes() -> list[Any]:
    """Every installed backend class that loads (built-ins and plugins)."""
    from ttv.backends import registry

    return registry.load_all()


def configured_uses(project: Any) -> list[Use]:
    """Backends the project would call: video backend (+fallbacks, per-segment overrides), keyframes, planner."""
    from ttv.backends import registry

    cfg = project.config
    wanted: list[tuple[str, Literal["video", "image", "planner"], bool, str]] = [
        (cfg.backend, "video", True, "backend")]
    wanted += [(name, "video", False, "fallback") for name in cfg.fallback]
    planner_needed = not project.has_plan
    plan = None
    if project.has_plan:
        with contextlib.suppress(TtvError):
            plan = project.plan
    if plan is not None:
        wanted += [(s.backend, "video", True, f"segment {s.id}") for s in plan.segments if s.backend]
    keyframes_used = True
    if plan is not None and cfg.mode == "chain":
        keyframes_used = bool(plan.segments[0].start_keyframe)
    # A provider is needed only for keyframes still to make: with every keyframe made (and fresh), a
    # missing key or extra of the keyframe provider does not stop render/run.
    to_make: set[str] | None = None
    if plan is not None:
        with contextlib.suppress(Exception):
            from ttv.pipeline.graph import build_graph, keyframe_provider

            by_id = {k.id: k for k in plan.keyframes}
            to_make = {keyframe_provider(project, by_id[st.id]) for st in build_graph(project).keyframes
                       if not st.fresh}
    if to_make is not None:
        keyframes_used = keyframes_used and cfg.keyframes in to_make
    wanted.append((cfg.keyframes, "image", keyframes_used, "keyframes" + ("" if to_make is None or keyframes_used
                                                                         else " (all made)")))
    if plan is not None:
        wanted += [(k.provider, "image", to_make is None or k.provider in to_make, f"keyframe {k.id}")
                   for k in plan.keyframes if k.provider]
    # An unavailable LLM planner falls back to the heuristic one with a warning: never required.
    wanted.append((cfg.planner, "planner", False, "planner" + ("" if planner_needed else " (plan.toml exists)")))
    uses: dict[tuple[str, str], Use] = {}
    for name, kind, required, role in wanted:
        key = (name, kind)
        if key in uses:
            uses[key].required = uses[key].required or required
            continue
        use = Use(name, kind, required, role)
        try:
            use.cls = registry.load_class(name)
        except TtvError as exc:
            use.load_error = exc.message
        uses[key] = use
    return list(uses.values())


# ---- python and packages ------------------------------------------------------------------------

CORE_PACKAGES = ("typer", "rich", "pydantic", "tomli-w", "tomlkit", "platformdirs", "ffmpeg-python", "imageio-ffmpeg",
                 "av", "pillow", "numpy", "httpx", "tenacity")
# ttv's own extras that no backend declares: the dashboard and the Ray executor.
OWN_EXTRAS: dict[str, tuple[str, ...]] = {"tui": ("textual", "nvidia-ml-py"), "ray": ("ray",)}


def extras() -> dict[str, tuple[str, ...]]:
    """extra -> the distributions it installs, as the backends declare them (`extra`, `packages`), then ttv's own."""
    out: dict[str, list[str]] = {}
    for cls in _backend_classes():
        extra = getattr(cls, "extra", None)
        if extra:
            bucket = out.setdefault(extra, [])
            bucket += [p for p in getattr(cls, "packages", ()) if p not in bucket]
    table = {k: tuple(v) for k, v in sorted(out.items()) if v}
    table.update(OWN_EXTRAS)
    return table


def tested_ranges() -> dict[str, str]:
    """package -> the version range the backends using it were written and tested against
    (`tested_versions`): outside it an SDK may lack a model or send another request shape."""
    out: dict[str, str] = {}
    for cls in _backend_classes():
        for package, spec in (getattr(cls, "tested_versions", None) or {}).items():
            out.setdefault(package, spec)
    return out


def _parse_range(spec: str) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    """">=5,<6" -> ((5,), (6,)); ">=1.75" -> ((1, 75), None)."""
    low: tuple[int, ...] = ()
    high: tuple[int, ...] | None = None
    for part in spec.split(","):
        part = part.strip()
        if part.startswith(">="):
            low = _version_tuple(part[2:])
        elif part.startswith("<"):
            high = _version_tuple(part[1:])
    return low, high


def _outside_recommended(versions: dict[str, str | None]) -> list[tuple[str, str, str]]:
    """(package, installed version, tested requirement) for each package outside its tested range."""
    out = []
    for name, spec in tested_ranges().items():
        v = versions.get(name)
        if not v:
            continue
        low, high = _parse_range(spec)
        got = _version_tuple(v)
        if got < low or (high is not None and got >= high):
            out.append((name, v, spec))
    return out


def dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    v = sys.version_info
    ok = v >= (3, 11)
    return Check("python", "python", "ok" if ok else "fail",
                 f"Python {platform.python_version()} ({sys.executable})",
                 "" if ok else "ttv needs Python 3.11 or newer (tomllib)", data={"version": platform.python_version()})


def check_packages(extras_needed: dict[str, str], extras_optional: dict[str, str] | None = None) -> list[Check]:
    """Core packages, then each extra: installed (with versions), partly, or not; `extras_needed` maps an
    extra to why the project needs it (a missing needed extra fails), `extras_optional` to a configured
    backend that may run without being required (a fallback: missing, it warns, never "ok")."""
    checks = []
    core = {p: dist_version(p) for p in CORE_PACKAGES}
    missing = [p for p, v in core.items() if v is None]
    from ttv import __version__

    checks.append(Check("packages: core", "python", "fail" if missing else "ok",
                        f"ttv {__version__}; " + (f"missing: {', '.join(missing)}" if missing else
                                                  f"all {len(core)} core packages (pydantic {core['pydantic']}, "
                                                  f"av {core['av']}, httpx {core['httpx']}, ...)"),
                        "pip install -e . (or reinstall ttv)" if missing else "",
                        data={"ttv": __version__, **core}))
    for extra, packages in extras().items():
        versions = {p: dist_version(p) for p in packages}
        absent = [p for p, v in versions.items() if v is None]
        why = extras_needed.get(extra)
        maybe = (extras_optional or {}).get(extra) if not why else None
        listing = ", ".join(f"{p} {v}" for p, v in versions.items() if v)
        odd = _outside_recommended(versions)
        if not absent and odd:
            status: Status = "warn"
            detail = f"{listing}; outside the tested range: " + ", ".join(f"{n} {v} (tested {r})" for n, v, r in odd)
        elif not absent:
            status = "ok"
            detail = listing
        elif len(absent) == len(packages):
            status = "fail" if why else "warn" if maybe else "ok"
            detail = f"not installed{f' (needed by {why})' if why else f' (needed by {maybe} if it runs)' if maybe else ' (optional)'}"
        else:
            status = "fail" if why else "warn"
            detail = f"partly installed: missing {', '.join(absent)}" + (f"; has {listing}" if listing else "")
        fix = f"pip install 'ttv[{extra}]'" if absent and (why or status != "ok") else ""
        if not absent and odd:
            fix = "pip install " + " ".join(f"'{n}{r}'" for n, _, r in odd)
        checks.append(Check(f"packages: {extra}", "python", status, detail, fix,
                            required=bool(why), data={"versions": versions, "needed_by": why or ""}))
    return checks


# ---- ffmpeg ---------------------------------------------------------------------------------------

def check_ffmpeg() -> list[Check]:
    from ttv.core import media

    try:
        info = media.ffmpeg_info()
    except media.MediaError as exc:
        return [Check("ffmpeg", "media", "fail", exc.message,
                      exc.hint or "install ffmpeg (apt-get install ffmpeg) or `pip install imageio-ffmpeg`")]
    where = "PATH" if info["source"] == "PATH" else "bundled (imageio-ffmpeg)"
    checks = [Check("ffmpeg", "media", "ok", f"{info['path']} ({where}), version {info['version'] or 'unknown'}",
                    data={"path": info["path"], "source": info["source"], "version": info["version"]})]
    checks.append(check_h264_encode(info))
    return checks


def check_h264_encode(info: dict[str, Any]) -> Check:
    """Encode three tiny frames with libx264 and decode them back."""
    import numpy as np

    from ttv.core import media

    try:
        with tempfile.TemporaryDirectory(prefix="ttv-doctor-") as tmp:
            out = Path(tmp) / "probe.mp4"
            with media.FrameWriter(out, 64, 64, 24, preset="ultrafast") as writer:
                for i in range(3):
                    writer.write(np.full((64, 64, 3), 60 * i, dtype=np.uint8))
            probed = media.probe(out)
            frames = probed.frames
    except (TtvError, OSError) as exc:
        msg = exc.message if isinstance(exc, TtvError) else str(exc)
        return Check("ffmpeg h264", "media", "fail", f"encoding 3 frames with libx264 failed: {msg[:300]}",
                     "install an ffmpeg built with libx264 (Debian/Ubuntu `ffmpeg`, or `pip install imageio-ffmpeg`)",
                     data={"listed": bool(info.get("h264"))})
    if frames != 3:
        return Check("ffmpeg h264", "media", "fail", f"encoded 3 frames but {frames} decode back",
                     "reinstall ffmpeg / PyAV", data={"frames": frames})
    return Check("ffmpeg h264", "media", "ok", "libx264 encodes (3 frames written and decoded back)",
                 data={"frames": frames})


# ---- GPUs and torch -------------------------------------------------------------------------------

GiB = 1024 ** 3


def check_gpus(local_needed: bool, query: Callable[[], tuple[list[dict[str, Any]], str]] | None = None) -> Check:
    from ttv.core import gpu

    gpus, reason = (query or gpu.query_gpus)()
    if not gpus:
        return Check("gpu", "gpu", "fail" if local_needed else "warn", reason or gpu.NO_GPU,
                     "local models need an NVIDIA GPU and driver (`nvidia-smi`); choose a remote or offline backend"
                     if local_needed else "fine for remote and offline backends; local models need an NVIDIA GPU",
                     required=local_needed, data={"gpus": []})
    parts = []
    for g in gpus:
        mem = f"{g['mem_total'] / GiB:.0f} GiB" if g.get("mem_total") else "memory unknown"
        used = f", {g['mem_used'] / GiB:.1f} GiB used" if g.get("mem_used") is not None else ""
        parts.append(f"#{g['index']} {g['name']} ({mem}{used})")
    driver = gpus[0].get("driver") or "unknown"
    return Check("gpu", "gpu", "ok", f"{len(gpus)} GPU(s): " + "; ".join(parts) + f"; driver {driver}",
                 required=local_needed, data={"gpus": gpus, "driver": driver})


def _driver_cuda_version() -> str | None:
    """The CUDA version the driver supports (NVML), e.g. "12.4"; None when unknown."""
    try:
        import pynvml

        pynvml.nvmlInit()
        try:
            v = int(pynvml.nvmlSystemGetCudaDriverVersion())
        finally:
            with contextlib.suppress(Exception):
                pynvml.nvmlShutdown()
        return f"{v // 1000}.{(v % 1000) // 10}"
    except Exception:
        return None


def _version_tuple(v: str | None) -> tuple[int, ...]:
    out = []
    for part in (v or "").split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        out.append(int(digits))
    return tuple(out)


def check_torch(local_needed: bool, gpus_present: bool) -> Check | None:
    try:
        import torch  # only here: doctor is the one command that may import it
    except ImportError:
        if local_needed:
            return Check("torch", "gpu", "fail", "torch is not installed; local backends need it",
                         "pip install 'ttv[local]'", required=True)
        return None
    except Exception as exc:  # a broken install (missing CUDA libraries, ...)
        return Check("torch", "gpu", problem(local_needed), f"import torch failed: {type(exc).__name__}: {exc}"[:300],
                     "reinstall torch for your platform (https://pytorch.org/get-started/locally/)",
                     required=local_needed)
    version = str(getattr(torch, "__version__", "?"))
    built_cuda = getattr(getattr(torch, "version", None), "cuda", None)
    try:
        available = bool(torch.cuda.is_available())
        count = int(torch.cuda.device_count()) if available else 0
    except Exception:
        available, count = False, 0
    driver_cuda = _driver_cuda_version() if gpus_present else None
    data = {"version": version, "cuda_build": built_cuda, "cuda_available": available, "devices": count,
            "driver_cuda": driver_cuda}
    if available:
        note = ""
        if driver_cuda and built_cuda and _version_tuple(built_cuda)[:1] > _version_tuple(driver_cuda)[:1]:
            note = f"; warning: torch is built for CUDA {built_cuda}, the driver supports {driver_cuda}"
        return Check("torch", "gpu", "warn" if note else "ok",
                     f"torch {version}, CUDA {built_cuda} available, {count} device(s){note}",
                     "update the NVIDIA driver" if note else "", required=local_needed, data=data)
    if not gpus_present:
        return Check("torch", "gpu", problem(local_needed) if local_needed else "ok",
                     f"torch {version} ({'CPU build' if not built_cuda else f'CUDA {built_cuda} build'}); no GPU, "
                     "so local models would run on the CPU (very slow)" if local_needed else
                     f"torch {version} ({'CPU build' if not built_cuda else f'CUDA {built_cuda}'}), no GPU",
                     "use a machine with an NVIDIA GPU for local models" if local_needed else "",
                     required=local_needed, data=data)
    if not built_cuda:
        return Check("torch", "gpu", problem(local_needed),
                     f"torch {version} is a CPU-only build but an NVIDIA GPU is present",
                     "install a CUDA build: pip install torch --index-url https://download.pytorch.org/whl/cu124",
                     required=local_needed, data=data)
    if driver_cuda and _version_tuple(built_cuda) > _version_tuple(driver_cuda):
        detail = f"torch {version} is built for CUDA {built_cuda} but the driver supports only CUDA {driver_cuda}"
        fix = f"update the NVIDIA driver, or install a torch build for CUDA {driver_cuda} or older"
    else:
        detail = f"torch {version} (CUDA {built_cuda}) cannot use the GPU (torch.cuda.is_available() is False)"
        fix = "check the driver (`nvidia-smi`) and CUDA_VISIBLE_DEVICES"
    return Check("torch", "gpu", problem(local_needed), detail, fix, required=local_needed, data=data)


# ---- local models ---------------------------------------------------------------------------------

def peak_vram_gb(family: str, variant: str, width: int, height: int, offload: str,
                 download_gb: float | None = None, *, frames: int | None = None,
                 float32: bool = False) -> tuple[float | None, str]:
    """(peak GB, how it was found) for one render of `frames` frames (default: the family's trained
    length) at this size and memory setting: the formula of figures.estimate_peak_gb over the weights
    (`footprints`) and measured peaks (`peak_vram`) the local backends of `family` declare; where a family
    declares no footprint, the nearest measured peak; (None, why) when nothing applies. `download_gb` is
    not used: a download is not what sits on the GPU."""
    from ttv.backends.local.figures import estimate_peak_gb
    from ttv.backends.local.figures import peak_vram_gb as lookup

    classes = [c for c in _backend_classes() if getattr(c, "family", "") == family]
    rows = [r for c in classes for r in getattr(c, "peak_vram", ())]
    footprints = [f for c in classes for f in getattr(c, "footprints", ())]
    any_variant = any(getattr(c, "peak_vram_any_variant", False) for c in classes)
    if not rows:
        return None, f"no measured peak for {family} {variant}"
    if footprints and classes:
        # The family's own backend (for backends built on another family's model) holds the reference length.
        cls = next((c for c in classes if getattr(c, "name", "") == family), classes[0])
        ref = int(getattr(cls, "trained_frames", 81))
        peak, how = estimate_peak_gb(rows, footprints, cls.latent_geometry, variant, width, height, frames or ref,
                                     offload, ref_frames=ref, float32=float32, label=family)
        if peak is not None:
            return peak, how
    return lookup(rows, variant, width, height, offload, None, any_variant=any_variant, label=family)


def _model_ids(backend: Any) -> list[str]:
    opts = backend.options
    ids = [backend.model_name()]
    for extra in ("transformer", "image_encoder"):
        value = getattr(opts, extra, None)
        if isinstance(value, str) and value:
            ids.append(value)
    return ids


def check_local_models(project: Any, uses: list[Use], gpus: list[dict[str, Any]]) -> list[Check]:
    from ttv.backends import registry

    checks: list[Check] = []
    for use in uses:
        if use.extra != "local" or use.cls is None:
            continue
        try:
            backend = registry.create(use.name, _raw_options(project, use), kind=use.kind)
        except TtvError as exc:
            checks.append(Check(f"model: {use.name}", "models", problem(use.required), exc.message, exc.hint or "",
                                required=use.required))
            continue
        from ttv.backends.local import common

        for model in _model_ids(backend):
            checks.append(_model_presence(use, model, common, backend))
        fit = _vram_fit(project, use, backend, gpus, common)
        if fit is not None:
            checks.append(fit)
        if use.kind == "video" and getattr(backend.options, "parallel", "none") != "none":
            checks.append(_parallel_plan(project, use, backend, len(gpus)))
    return checks


def _parallel_plan(project: Any, use: Use, backend: Any, gpu_count: int) -> Check:
    """`parallel` set: how the GPUs will be grouped ("chain: one clip on 4 GPUs, ulysses"), or why not."""
    from ttv.backends.local.parallel import plan_line

    line = plan_line(backend, project.config.mode, project.config.segments, gpu_count) or ""
    refused = line.startswith("parallel refused")
    return Check(f"parallel: {use.name}", "models", problem(use.required) if refused else "ok", line,
                 f"fix `parallel` in [backends.{use.name}]" if refused else "", required=use.required,
                 data={"plan": line})


def _model_presence(use: Use, model: str, common: Any, backend: Any = None) -> Check:
    name = f"model: {use.name} {model}"
    if common.is_local_path(model):
        path = Path(model).expanduser()
        if path.is_dir():
            return Check(name, "models", "ok", f"local folder {path}", required=use.required, data={"path": str(path)})
        return Check(name, "models", problem(use.required), f"folder {path} does not exist",
                     f"point [backends.{use.name}] model at a diffusers folder", required=use.required)
    snap = common.cached_snapshot(model)
    size = common.known_model(model).get("gb")
    if snap is not None:
        return Check(name, "models", "ok", f"in the Hugging Face cache ({snap})", required=use.required,
                     data={"path": str(snap), "download_gb": size})
    size_text = f"about {size} GB" if size else "size unknown"
    known = backend.offered_models() if backend is not None and hasattr(backend, "offered_models") else []
    if not common.known_model(model) and known and model == backend.model_name():
        # a typo'd id would send the user to `hf download` a repo that may not exist: name the known ones
        return Check(name, "models", problem(use.required), f"not in the local Hugging Face cache, and not a "
                     f"model ttv knows for {use.name}", f"check `model` in [backends.{use.name}] (known: "
                     f"{', '.join(known)}); for another diffusers repo: `{common.download_command(model)}`",
                     required=use.required, data={"download_gb": None, "known": known})
    return Check(name, "models", problem(use.required), f"not in the local Hugging Face cache ({size_text} to download)",
                 f"`{common.download_command(model)}` (set HF_HOME to choose where); ttv never downloads implicitly",
                 required=use.required, data={"download_gb": size})


def _longest_clip_frames(project: Any, backend: Any) -> int | None:
    """Frames of the longest clip this backend would render (its own plan of each segment's request)."""
    from ttv.pipeline.requests import planned_video_request

    frames: list[int] = []
    with contextlib.suppress(Exception):
        for i in range(len(project.plan.segments)):
            with contextlib.suppress(Exception):
                frames.append(int(backend.plan(planned_video_request(project, i)).frames))
    return max(frames) if frames else None


def _vram_fit(project: Any, use: Use, backend: Any, gpus: list[dict[str, Any]], common: Any) -> Check | None:
    family = getattr(backend, "family", "")
    if not family or use.kind != "video":
        return None
    opts = backend.options
    width = getattr(opts, "width", None) or project.config.width
    height = getattr(opts, "height", None) or project.config.height
    variant = ""
    with contextlib.suppress(Exception):
        variant = str(backend.variant())
    offload = str(getattr(opts, "offload", "none"))
    split = int(getattr(opts, "gpus_per_worker", 1) or 1) > 1
    if split:
        # device_map=balanced puts whole components on the group's cards (offload is then ignored): per
        # card that is at most one component at a time, as with model offload
        offload = "model"
    frames = _longest_clip_frames(project, backend)
    float32 = getattr(opts, "dtype", "auto") == "float32"
    peak, how = peak_vram_gb(family, variant, width, height, offload, frames=frames, float32=float32)
    name = f"vram: {use.name}"
    data = {"family": family, "variant": variant, "offload": offload, "width": width, "height": height,
            "frames": frames, "peak_gb": peak, "source": how}
    if peak is None:
        return Check(name, "models", "warn", f"{how}; cannot say whether it fits", "try one segment first",
                     required=False, data=data)
    wanted = getattr(opts, "gpus", None)
    mems = [g["mem_total"] / GiB for g in gpus if g.get("mem_total") and (wanted is None or g["index"] in wanted)]
    if not mems:
        return Check(name, "models", problem(use.required),
                     f"needs about {peak:g} GB of VRAM ({family} {variant}, offload={offload}); no GPU memory known",
                     "see the gpu check", required=use.required, data=data)
    have = min(mems)
    data["gpu_gb"] = round(have, 1)
    setting = f"split over {opts.gpus_per_worker} GPUs (per card)" if split else f"offload={offload}"
    desc = f"{family} {variant} at {width}x{height}, {setting}: peak ≈ {peak:g} GB; GPU {have:.0f} GB"
    if peak <= 0.92 * have:
        return Check(name, "models", "ok", f"fits: {desc}", required=use.required, data={**data, "fits": True})
    hint = common.memory_hint(use.name, opts, width, height, frames or 81)
    if peak <= have:
        return Check(name, "models", "warn", f"tight: {desc}", hint, required=use.required, data={**data, "fits": True})
    return Check(name, "models", problem(use.required), f"does not fit: {desc} ({how})", hint, required=use.required,
                 data={**data, "fits": False})


# ---- backends -----------------------------------------------------------------------------------

def check_backends(project: Any, uses: list[Use]) -> list[Check]:
    """Each configured backend loads and says it is available (the key is checked separately)."""
    import inspect

    from ttv.backends import registry

    checks = []
    for use in uses:
        name = f"backend: {use.name}"
        if use.cls is None:
            checks.append(Check(name, "backends", problem(use.required), f"{use.role}: {use.load_error}",
                                "see `ttv backends list`; install the extra it needs", required=use.required))
            continue
        if use.extra == "local":
            # Availability of local backends is the model check below; here only that it loads.
            checks.append(Check(name, "backends", "ok", f"{use.role}: {use.cls.summary or use.name}",
                                required=use.required, data={"where": use.where}))
            continue
        try:
            raw = _raw_options(project, use)
            params = inspect.signature(use.cls.__init__).parameters
            if "api_key" in params:
                # Availability apart from the key (checked on its own row): SDK installed, model known.
                options = use.cls.OptionsModel.model_validate(raw or {})
                backend = use.cls(options, api_key="doctor-placeholder")
            else:
                backend = registry.create(use.name, raw, kind=use.kind)
            avail = backend.is_available()
        except TtvError as exc:
            checks.append(Check(name, "backends", problem(use.required), exc.message, exc.hint or "",
                                required=use.required))
            continue
        except Exception as exc:  # an options error, a third-party backend bug
            checks.append(Check(name, "backends", problem(use.required), f"{type(exc).__name__}: {exc}"[:300],
                                f"check [backends.{use.name}] in ttv.toml", required=use.required))
            continue
        if avail.ok:
            model = ""
            with contextlib.suppress(Exception):
                model = backend.model_name()
            checks.append(Check(name, "backends", "ok", f"{use.role}: {use.where}" + (f", model {model}" if model and
                                                                                      model != use.name else ""),
                                required=use.required, data={"where": use.where, "model": model}))
        else:
            checks.append(Check(name, "backends", problem(use.required), f"{use.role}: {avail.reason}",
                                f"`ttv backends info {use.name}`", required=use.required))
    return checks


# ---- keys and live checks -----------------------------------------------------------------------

FIXES: dict[LiveState, str] = {
    "bad-key": "set a valid key: `ttv keys set {provider}` (or {env})",
    "no-credits": "add credits to the {provider} account",
    "network": "check the network or proxy, then run `ttv doctor --online` again",
    "error": "see the provider's status page; run `ttv doctor --online` again",
    "ok": "",
}


def _classes_of(provider: str) -> list[Any]:
    """The installed backend classes that use `provider`'s key."""
    from ttv.core import keys

    out = []
    for cls in _backend_classes():
        declared = getattr(cls, "key_provider", None)
        if declared is None:
            continue
        with contextlib.suppress(TtvError):
            if keys.canonical(declared) == provider:
                out.append(cls)
    return out


def live_checks() -> dict[str, Callable[..., Live]]:
    """key provider -> its live check, as the backends declare them (`key_check`)."""
    from ttv.core import keys

    out: dict[str, Callable[..., Live]] = {}
    for cls in _backend_classes():
        check = getattr(cls, "key_check", None)
        declared = getattr(cls, "key_provider", None)
        if check is not None and declared is not None:
            with contextlib.suppress(TtvError):
                out.setdefault(keys.canonical(declared), check)
    return out


def _base_url(provider: str, project: Any) -> str | None:
    """Where the live check of `provider` should ask: `[backends.NAME] base_url` of a backend using that
    key, else the first environment variable those backends name (`base_url_env`)."""
    classes = _classes_of(provider)
    if project is not None:
        for cls in classes:
            value = (project.config.backends.get(cls.name) or {}).get("base_url")
            if value:
                return str(value)
    for cls in classes:
        for var in getattr(cls, "base_url_env", ()):
            if os.environ.get(var):
                return os.environ[var]
    return None


def key_provider_of(use: Use) -> str | None:
    from ttv.core import keys

    cls = use.cls
    provider = (getattr(cls, "key_provider", None) or getattr(cls, "provider", None)) if cls is not None else None
    for candidate in (provider, use.name):
        if candidate:
            with contextlib.suppress(TtvError):
                return keys.canonical(str(candidate))
    return None


def _raw_options(project: Any, use: Use) -> dict[str, Any] | None:
    """`[backends.NAME]`, for a video backend with the run mode's default model where none is set (what runs)."""
    from ttv.pipeline.verdict import video_options

    return video_options(project, use.name) if use.kind == "video" else project.config.backends.get(use.name)


def check_modes(project: Any) -> list[Check]:
    """Can each video backend the segments may run on use what the mode hands it (keyframes, a start
    frame)? The same verdict the keyframes and clips steps enforce (ttv/pipeline/verdict.py)."""
    from ttv.pipeline.estimate import mode_verdicts

    checks = []
    for v in mode_verdicts(project):
        status: Status = {"ok": "ok", "first-frame-only": "warn", "refused": "fail"}[v.outcome]  # type: ignore[assignment]
        checks.append(Check(f"mode: {v.backend}", "backends", status, f"{v.role}: {v.message}", v.fix,
                            required=v.outcome == "refused", data=v.to_json()))
    return checks


def _use_options(project: Any, use: Use) -> Any:
    """The validated options of a configured backend (defaults filled in), or None."""
    if project is None or use.cls is None:
        return None
    try:
        return use.cls.OptionsModel.model_validate(_raw_options(project, use) or {})
    except Exception:
        return None


def _needs_packages(project: Any, use: Use) -> bool:
    """False when the configured instance says it imports none of its packages (`packages_needed()`)."""
    options = _use_options(project, use)
    if use.cls is None or options is None or not getattr(use.cls, "packages", ()):
        return True
    import inspect

    try:
        params = inspect.signature(use.cls.__init__).parameters
        backend = use.cls(options, api_key=None) if "api_key" in params else use.cls(options)
        return bool(backend.packages_needed())
    except Exception:
        return True


def _needs_key(use: Use, options: Any) -> bool:
    """False for a backend configured to authenticate otherwise (`needs_key()`, e.g. cloud credentials)."""
    if use.cls is None or options is None or not hasattr(use.cls, "needs_key"):
        return True
    try:
        return bool(use.cls(options, api_key=None).needs_key())
    except Exception:
        return True


def check_keys(project: Any, uses: list[Use], online: bool, needed_credits: dict[str, float] | None = None,
               live: dict[str, Callable[..., Live]] | None = None) -> list[Check]:
    """One row per provider whose key the project needs (outside a project: per provider with a key).
    A keys file that cannot be read is one failed check (the other checks still run), never an abort."""
    from ttv.core import keys

    try:
        return _check_keys(project, uses, online, needed_credits, live)
    except keys.KeysFileError as exc:
        return [Check("keys file", "keys", "fail", exc.message, exc.hint or "", data={"path": str(keys.keys_file())})]


def _check_keys(project: Any, uses: list[Use], online: bool, needed_credits: dict[str, float] | None,
                live: dict[str, Callable[..., Live]] | None) -> list[Check]:
    from ttv.core import keys

    live = live if live is not None else live_checks()
    providers: dict[str, tuple[bool, list[str]]] = {}
    used_options: dict[str, list[Any]] = {}  # handed to the live check (e.g. a key meant for Vertex AI)
    for use in uses:
        if use.where != "remote":  # a backend with a key provider (or, unloadable, one under remote/)
            continue
        p = key_provider_of(use)
        if p is None:
            continue
        options = _use_options(project, use)
        if not _needs_key(use, options):
            continue
        if options is not None:
            used_options.setdefault(p, []).append(options)
        req, names = providers.get(p, (False, []))
        providers[p] = (req or use.required, [*names, use.name])
    checks: list[Check] = []
    if project is None:
        present = [p for p in keys.providers() if keys.key_source(p)]
        checks.append(Check("keys", "keys", "ok" if present else "warn",
                            f"keys for: {', '.join(present)}" if present else "no API key is set (fine for offline "
                            "and local backends)", "" if present else "`ttv keys set PROVIDER` for remote backends",
                            required=False, data={"providers": present}))
        providers = {p: (False, []) for p in present}
    for provider, (required, names) in providers.items():
        source = keys.key_source(provider)
        env = " or ".join(keys.env_vars(provider))
        used_by = f" (used by {', '.join(names)})" if names else ""
        name = f"key: {provider}"
        if not source:
            checks.append(Check(name, "keys", problem(required), f"no key{used_by}",
                                f"set {env}, or run `ttv keys set {provider}`", required=required,
                                data={"present": False}))
            continue
        data: dict[str, Any] = {"present": True, "source": source}
        if not online:
            checks.append(Check(name, "keys", "ok", f"key set ({source}){used_by}; not verified (use --online)",
                                required=required, data=data))
            continue
        fn = live.get(provider)
        if fn is None:
            checks.append(Check(name, "keys", "ok", f"key set ({source}){used_by}; no live check for {provider}",
                                required=required, data=data))
            continue
        key = keys.get_key(provider) or ""
        try:
            result = fn(key, _base_url(provider, project), options=used_options.get(provider, []))
        except Exception as exc:  # an SDK missing or misbehaving: say so, never crash
            result = Live("error", f"{type(exc).__name__}: {exc}")
        detail = keys.redact(result.detail, [key])
        data.update(live=result.state, **result.data)
        status: Status = "ok"
        if result.state in ("bad-key", "no-credits"):
            status = problem(required)
        elif result.state in ("network", "error"):
            status = "warn"
        fix = FIXES[result.state].format(provider=provider, env=env)
        need = (needed_credits or {}).get(provider)
        balance = result.data.get("credit_balance")
        if result.state == "ok" and need and balance is not None and balance < need:
            status, fix = "warn", f"add credits: the remaining estimate needs about {need:g} credits"
            detail += f"; the remaining estimate needs about {need:g} credits"
        checks.append(Check(name, "keys", status, f"{result.state}: {detail} ({source})", fix, required=required,
                            data=data))
    return checks


# ---- project folder -----------------------------------------------------------------------------

def check_project_folder(project: Any, remaining_bytes: int | None) -> list[Check]:
    checks = [_check_writable(project.root), _check_disk(project.root, remaining_bytes), _check_lock(project)]
    checks.append(_check_records(project))
    return checks


def _check_writable(root: Path) -> Check:
    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".ttv-doctor-", delete=True) as f:
            f.write(b"ok")
            f.flush()
    except OSError as exc:
        return Check("project writable", "project", "fail", f"cannot write in {root}: {exc.strerror or exc}",
                     "fix the folder's permissions or free the disk", data={"root": str(root)})
    return Check("project writable", "project", "ok", str(root), data={"root": str(root)})


def _check_disk(root: Path, need: int | None) -> Check:
    try:
        free = shutil.disk_usage(root).free
    except OSError as exc:
        return Check("disk space", "project", "warn", f"cannot read free space: {exc}", required=False)
    data = {"free_bytes": free, "needed_bytes": need}
    free_gb = free / 1e9
    if need is None:
        status: Status = "warn" if free < 1e9 else "ok"
        return Check("disk space", "project", status, f"{free_gb:.1f} GB free", "free some disk space"
                     if status == "warn" else "", required=False, data=data)
    need_gb = need / 1e9
    if free < need:
        return Check("disk space", "project", "fail", f"{free_gb:.2f} GB free < about {need_gb:.2f} GB of outputs "
                     "still to write", "free disk space or move the project", data=data)
    if free < 2 * need + 1e9:
        return Check("disk space", "project", "warn", f"{free_gb:.2f} GB free; outputs still to write ≈ "
                     f"{need_gb:.2f} GB (little headroom)", "free some disk space", required=False, data=data)
    return Check("disk space", "project", "ok", f"{free_gb:.1f} GB free; outputs still to write ≈ {need_gb:.2f} GB",
                 data=data)


def _check_lock(project: Any) -> Check:
    if not (project.ttv_dir / "lock").exists():
        return Check("lock", "project", "ok", "free (no ttv process has worked here yet)", required=False)
    try:
        info = project.lock_holder()
    except OSError as exc:
        return Check("lock", "project", "warn", f"cannot open the lock file: {exc}", required=False)
    if info is None:
        return Check("lock", "project", "ok", "free", required=False, data={"held": False})
    holder = (f": pid {info.get('pid')} on {info.get('host')}, `ttv {info.get('command')}` since {info.get('since')}"
              if info else "")
    return Check("lock", "project", "warn", f"held by another ttv process{holder}",
                 "wait for it, or pass --wait-for-lock SECONDS to the next command", required=False,
                 data={"held": True})


def _check_records(project: Any) -> Check:
    from ttv.core.fsutil import file_digest

    problems: list[str] = []
    in_flight: list[str] = []
    done = 0
    total = 0
    folders = [("keyframe", project.keyframes_dir), ("clip", project.clips_dir)]
    paths: list[tuple[str, Path]] = [(k, p) for k, d in folders if d.is_dir() for p in sorted(d.glob("*.toml"))]
    if project.record_path("final", "final").is_file():
        paths.append(("final", project.record_path("final", "final")))
    for kind, path in paths:
        total += 1
        item = path.stem if kind != "final" else "final"
        rec = project.read_record(kind, item)
        if rec is None:
            problems.append(f"{project.rel(path)} is unreadable (that item will be redone)")
            continue
        if rec.status in ("submitted", "running"):
            in_flight.append(f"{rec.id} ({rec.job_provider or rec.backend} {rec.job_id})" if rec.job_id else rec.id)
            continue
        if rec.status != "done":
            continue
        out = path.parent / rec.output
        if not rec.output or not out.is_file():
            problems.append(f"{rec.id}: output {project.rel(out)} is missing")
        elif file_digest(out) != rec.output_digest:
            problems.append(f"{rec.id}: {project.rel(out)} differs from its recorded digest (modified)")
        else:
            done += 1
    data = {"records": total, "intact": done, "problems": problems, "in_flight": in_flight}
    note = f"; {len(in_flight)} in flight, polled again (never resubmitted) on the next run: " \
           f"{', '.join(in_flight[:6])}" if in_flight else ""
    if problems:
        return Check("records", "project", "warn", f"{len(problems)} problem(s): " + "; ".join(problems[:6])
                     + ("…" if len(problems) > 6 else "") + note,
                     "`ttv status --why`; the next run redoes these items", required=False, data=data)
    return Check("records", "project", "ok", f"{total} record(s), {done} output(s) intact with recorded digests{note}",
                 required=False, data=data)


# ---- everything -----------------------------------------------------------------------------------

def run_checks(project_dir: Path | None = None, *, online: bool = False) -> Report:
    """All checks. `project_dir` None: the project containing the current folder, if any (doctor also
    works outside a project: then only machine-wide checks run)."""
    from ttv.core import gpu as gpu_mod
    from ttv.pipeline.project import Project, find_project_root

    checks: list[Check] = [check_python()]
    project = None
    root: Path | None = project_dir.resolve() if project_dir is not None else find_project_root(Path.cwd())
    config_error: Check | None = None
    if root is not None:
        try:
            project = Project.load(root)
        except TtvError as exc:
            config_error = Check("project config", "project", "fail", exc.message, exc.hint or "fix ttv.toml",
                                 data={"root": str(root)})
    uses = configured_uses(project) if project is not None else []
    extras_needed: dict[str, str] = {}
    extras_optional: dict[str, str] = {}
    for use in uses:
        if use.extra in ("remote", "local") and not _needs_packages(project, use):
            continue  # configured for a route that imports none of its extra's packages
        if use.extra in ("remote", "local") and use.required:
            extras_needed.setdefault(use.extra, use.name)
        elif use.extra in ("remote", "local") and use.kind != "planner":
            extras_optional.setdefault(use.extra, f"{use.role} {use.name}")
    local_needed = any(u.extra == "local" and u.required for u in uses)
    checks += check_packages(extras_needed, extras_optional)
    checks += check_ffmpeg()
    gpus, reason = gpu_mod.query_gpus()
    checks.append(check_gpus(local_needed, lambda: (gpus, reason)))
    if local_needed or gpus or "torch" in sys.modules:
        torch_check = check_torch(local_needed, bool(gpus))
        if torch_check is not None:
            checks.append(torch_check)
    elif dist_version("torch"):
        # Importing torch takes seconds; with no GPU and no local backend its CUDA state does not matter.
        checks.append(Check("torch", "gpu", "ok", f"torch {dist_version('torch')} installed (not imported: no GPU and "
                            "no local backend configured)", required=False, data={"version": dist_version("torch")}))
    if config_error is not None:
        checks.append(config_error)
    if project is not None:
        checks.append(_check_plan(project))
        checks += check_backends(project, uses)
        checks += check_modes(project)
        checks += check_local_models(project, uses, gpus)
    estimate = None
    if project is not None:
        with contextlib.suppress(Exception):
            from ttv.pipeline.estimate import estimate_project

            estimate = estimate_project(project)
    needed_credits = estimate.credits() if estimate is not None else {}
    checks += check_keys(project, uses, online, needed_credits)
    if project is not None:
        need = None
        if estimate is not None:
            cfg = project.config
            need = estimate.output_bytes(cfg.width, cfg.height, cfg.fps, remaining_only=True)
        checks += check_project_folder(project, need)
    elif root is None:
        checks.append(_check_disk(Path.cwd(), None))
    if project is not None:
        _fallback_covers(project, checks)
    return Report(checks, str(project.root) if project is not None else (str(root) if root else None), online)


def _about(check: Check, name: str) -> bool:
    """Whether `check` is about backend `name` being able to run (not about what the mode needs)."""
    from ttv.core import keys

    if check.name in (f"backend: {name}", f"vram: {name}") or check.name.startswith(f"model: {name} "):
        return True
    if check.name.startswith("packages: "):
        return check.data.get("needed_by") == name
    if check.name.startswith("key: "):
        with contextlib.suppress(TtvError):
            return keys.canonical(name) == check.name[len("key: "):]
    return False


def _fallback_covers(project: Any, checks: list[Check]) -> None:
    """A primary video backend that cannot run here (no key, missing extra or model, too little VRAM) is
    skipped by the run for the first usable fallback (steps.first_usable): its failures then stop nothing,
    so they become warnings naming the fallback that will run. A fallback counts as usable when none of
    its own checks warns or fails; the mode verdict (`mode: NAME`) is never softened."""
    primary = project.config.backend
    failing = [c for c in checks if c.status == "fail" and _about(c, primary)]
    if not failing:
        return
    for name in project.config.fallback:
        if name == primary or any(c.status != "ok" and _about(c, name) for c in checks):
            continue
        if not any(c.name == f"backend: {name}" for c in checks):
            continue
        for c in failing:
            c.status, c.required = "warn", False
            c.detail += f" (the run falls back to {name}, which is ready)"
        return


def _check_plan(project: Any) -> Check:
    if not project.has_plan:
        return Check("plan", "project", "ok", "no plan.toml yet (`ttv plan` or `ttv run` writes it)", required=False)
    try:
        plan = project.plan
    except TtvError as exc:
        return Check("plan", "project", "fail", exc.message, exc.hint or "fix plan.toml")
    missing = []
    for kf in plan.keyframes:
        if kf.image:
            path = Path(kf.image) if Path(kf.image).is_absolute() else project.root / kf.image
            if not path.is_file():
                missing.append(f"{kf.id}: {kf.image}")
    if missing:
        return Check("plan", "project", "fail", "keyframe image(s) given in plan.toml do not exist: "
                     + "; ".join(missing[:6]), "fix the `image` paths in plan.toml (relative to the project folder)",
                     data={"segments": len(plan.segments), "missing_images": missing})
    return Check("plan", "project", "ok", f"{len(plan.segments)} segments, {sum(s.duration for s in plan.segments):g} s",
                 data={"segments": len(plan.segments)})


__all__ = ["Check", "DOCTOR_SCHEMA", "Live", "Report", "check_ffmpeg", "check_gpus", "check_keys", "check_packages",
           "check_torch", "configured_uses", "extras", "live_checks", "peak_vram_gb", "run_checks", "tested_ranges"]
