"""Can the configured video backends use what the run mode hands them? One verdict, read by doctor,
estimate and the steps, so a check that passes means the command will run.

Rules (each video backend/model declares its modes as data: `capabilities().modes` of an instance
with that model; `offered_models()` lists the models, `mode_models` the default per run mode):

* What a segment needs: keyframe mode, start and end keyframe -> first and last frame (flf2v); start
  only -> a first frame (i2v); none -> text (t2v). Chaining: segment 0 -> a first frame when it has a
  start keyframe, else text; every later segment -> a first frame (the previous clip's last frame).
* The model: `[backends.NAME] model` when set, else the backend's default for the run mode
  (`mode_models`), else its plain default.
* ok: the model takes what every segment needs. first-frame-only: keyframe mode, the model (or the
  user) takes only the first frame and `end_frame = "ignore"` says so explicitly; allowed, and said in
  estimate, status and the run summary. refused: anything else; the keyframes step and the clips
  step raise ConfigError (exit 2) before anything is made or paid, naming the model to set, the
  opt-in, or `--mode chain` where that would work.
* Every backend a segment may run on is judged: the primary, a segment's own `backend`, and each
  fallback (a fallback that could not use the keyframes would drop them exactly when it runs).
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass
from typing import Any, Literal

from ttv.backends import registry
from ttv.backends.base import VideoBackend
from ttv.core.errors import ConfigError, TtvError

Need = Literal["flf2v", "i2v", "t2v"]
Outcome = Literal["ok", "first-frame-only", "refused"]
NEED_WORDS: dict[str, str] = {"flf2v": "first and last frames", "i2v": "a start image", "t2v": "text"}


def video_options(project: Any, name: str) -> dict[str, Any] | None:
    """`[backends.NAME]` of ttv.toml with the run mode's default model filled in where none is set."""
    raw = project.config.backends.get(name)
    with contextlib.suppress(TtvError):
        cls = registry.load_class(name)
        default = getattr(cls, "mode_models", {}).get(project.config.mode)
        fields = getattr(getattr(cls, "OptionsModel", None), "model_fields", {})
        if default and "model" in fields and not (raw or {}).get("model"):
            return {**(raw or {}), "model": default}
    return raw


def mode_table(name: str) -> list[dict[str, Any]]:
    """Every model backend `name` offers with its modes and the run modes it is the default of."""
    cls = registry.load_class(name)
    plain = registry.create(name, None, kind="video")
    assert isinstance(plain, VideoBackend)
    models = plain.offered_models() or [plain.model_name()]
    rows = []
    for model in models:
        opts: dict[str, object] | None = {"model": model} if "model" in getattr(cls.OptionsModel, "model_fields", {}) else None
        try:
            backend = registry.create(name, opts, kind="video")
            assert isinstance(backend, VideoBackend)
            modes = list(backend.capabilities().modes)
        except TtvError:
            continue
        runs = [r for r in ("keyframe", "chain") if getattr(cls, "mode_models", {}).get(r, plain.model_name()) == model]
        rows.append({"model": model, "modes": modes, "default_for": runs})
    return rows


def segment_needs(project: Any) -> list[tuple[str, Need]]:
    """(segment id, what it needs of its backend) in plan order."""
    chain = project.config.mode == "chain"
    out: list[tuple[str, Need]] = []
    for i, seg in enumerate(project.plan.segments):
        need: Need
        if chain:
            need = "i2v" if i > 0 or seg.start_keyframe else "t2v"
        elif seg.start_keyframe and seg.end_keyframe:
            need = "flf2v"
        else:
            need = "i2v" if seg.start_keyframe else "t2v"
        out.append((seg.id, need))
    return out


@dataclass
class ModeVerdict:
    backend: str
    role: str  # backend | fallback | segment backend
    model: str
    modes: list[str]
    outcome: Outcome
    segments: list[str]  # the segments this backend may render
    needs: list[str]  # what those segments need
    message: str
    fix: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _judge(modes: list[str], needs: set[str], end_frame: str) -> tuple[Outcome, str]:
    """(outcome, the need that decided it)."""
    if "flf2v" in needs and "flf2v" not in modes or "flf2v" in needs and end_frame == "ignore":
        if "i2v" in modes and end_frame == "ignore":
            return "first-frame-only", "flf2v"
        return "refused", "flf2v"
    for need in ("i2v", "t2v"):
        if need in needs and need not in modes and not (need == "i2v" and "flf2v" in modes):
            return "refused", need
    return "ok", ""


def _models_with(name: str, mode: str) -> list[str]:
    with contextlib.suppress(TtvError):
        return [r["model"] for r in mode_table(name) if mode in r["modes"]]
    return []


def _fix(project: Any, name: str, modes: list[str], need: str) -> str:
    models = _models_with(name, need)
    fixes = []
    if models:
        fixes.append(f'set model = "{models[0]}" in [backends.{name}]' + (
            f" (also: {', '.join(models[1:3])})" if len(models) > 1 else ""))
    if need == "flf2v" and "i2v" in modes:
        fixes.append(f'set end_frame = "ignore" in [backends.{name}] to render from the first keyframe only')
        if project.config.mode == "keyframe":
            fixes.append("or use chaining mode (`mode = \"chain\"` in ttv.toml, or `ttv init --mode chain`)")
    if need == "t2v":
        fixes.append("give the segment a start keyframe in plan.toml")
    if not fixes:
        fixes.append("choose another backend (`ttv backends list`)")
    return "; ".join(fixes)


def verdicts(project: Any) -> list[ModeVerdict]:
    """One verdict per video backend the plan's segments may run on (needs plan.toml)."""
    cfg = project.config
    needs = dict(segment_needs(project))
    uses: dict[str, tuple[str, list[str]]] = {}
    for seg in project.plan.segments:
        names = [(seg.backend or cfg.backend, "segment backend" if seg.backend else "backend")]
        names += [(f, "fallback") for f in cfg.fallback]
        for name, role in names:
            prev_role, segs = uses.get(name, (role, []))
            if seg.id not in segs:
                segs.append(seg.id)
            uses[name] = (prev_role if prev_role != "fallback" else role, segs)
    out = []
    for name, (role, segs) in uses.items():
        wanted: set[str] = {needs[s] for s in segs}
        options = video_options(project, name)
        try:
            backend = registry.create(name, options, kind="video")
            assert isinstance(backend, VideoBackend)
            modes: list[str] = list(backend.capabilities().modes)
            model = backend.model_name()
            end_frame = backend.end_frame()
            offered = backend.offered_models()
            if offered and model not in offered and not getattr(backend, "allows_unknown_models", lambda: True)():
                continue  # an unknown model: its capabilities would be another's; doctor's backend check fails it
        except (TtvError, AssertionError, ValueError):
            continue  # a backend that does not load is doctor's backend check, and fails the run anyway
        outcome, need = _judge(modes, wanted, end_frame)
        where = f"{name} / {model}" if model and model != name else name
        takes = ", ".join(NEED_WORDS[m] for m in modes)
        if outcome == "ok":
            message = f"{where} takes {takes}: fits {cfg.mode} mode"
            fix = ""
        elif outcome == "first-frame-only":
            message = (f"{where}: end keyframes not used (end_frame = \"ignore\"): each segment starts from its "
                       "first keyframe only")
            fix = ""
        else:
            message = (f"{where} cannot take {NEED_WORDS[need]} ({cfg.mode} mode needs it for "
                       f"{', '.join(s for s in segs if needs[s] == need)}); it takes {takes}")
            if need == "flf2v" and "i2v" in modes:
                message += "; keyframes are never ignored silently"
            fix = _fix(project, name, modes, need)
        out.append(ModeVerdict(name, role, model, modes, outcome, segs, sorted(wanted), message, fix))
    return out


def require_usable(project: Any, found: list[ModeVerdict] | None = None) -> list[ModeVerdict]:
    """Raise ConfigError (exit 2) when a backend cannot use what the mode hands it; else the verdicts
    (callers say the first-frame-only ones). `found`: verdicts already made (e.g. on a provisional plan,
    estimate.mode_verdicts)."""
    found = verdicts(project) if found is None else found
    refused = [v for v in found if v.outcome == "refused"]
    if refused:
        v = refused[0]
        more = f" (and {len(refused) - 1} more: `ttv doctor`)" if len(refused) > 1 else ""
        raise ConfigError(f"{v.role} {v.message}; nothing was made{more}", hint=v.fix)
    return found


def notes(found: list[ModeVerdict]) -> list[str]:
    """What the run summary, status and estimate say about first-frame-only backends."""
    return [v.message for v in found if v.outcome == "first-frame-only"]


__all__ = ["ModeVerdict", "mode_table", "notes", "require_usable",
           "segment_needs", "verdicts", "video_options"]
