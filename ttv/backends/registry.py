"""Backend registry: the entry-point group `ttv.backends` (built-ins are registered the same way).

Entry points name a class ("package.module:Class"); the module is imported only when that backend is
used, so listing backends never imports torch or an SDK... except the backend's own module, which
must therefore keep its heavy imports inside functions.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from ttv.backends.base import Backend, BackendKind
from ttv.core.errors import ConfigError

GROUP = "ttv.backends"

# The built-ins, also declared in pyproject.toml. Kept here too so a source checkout that was not
# pip-installed (no entry-point metadata) still finds them.
BUILTINS: dict[str, str] = {
    # offline
    "heuristic": "ttv.backends.offline.heuristic:HeuristicPlanner",
    "card": "ttv.backends.offline.card:CardKeyframes",
    "files": "ttv.backends.offline.files:FileKeyframes",
    "animatic": "ttv.backends.offline.animatic:AnimaticBackend",
    # remote video (extra: remote)
    "runway": "ttv.backends.remote.runway:RunwayBackend",
    "veo": "ttv.backends.remote.veo:VeoBackend",
    "fal": "ttv.backends.remote.fal:FalBackend",
    "minimax": "ttv.backends.remote.minimax:MiniMaxBackend",
    # local diffusers video (extra: local)
    "wan": "ttv.backends.local.wan:WanBackend",
    "ltx": "ttv.backends.local.ltx:LTXBackend",
    "wan-vace": "ttv.backends.local.wan_vace:WanVACEBackend",
    "skyreels": "ttv.backends.local.skyreels:SkyReelsBackend",
    "hunyuan": "ttv.backends.local.hunyuan:HunyuanBackend",
    "framepack": "ttv.backends.local.framepack:FramePackBackend",
    # keyframe image providers
    "diffusers": "ttv.backends.local.diffusers_image:DiffusersKeyframes",
    "gemini-image": "ttv.backends.remote.gemini_image:GeminiImageKeyframes",
    "runway-image": "ttv.backends.remote.runway_image:RunwayImageKeyframes",
    # LLM planners
    "gemini": "ttv.backends.remote.gemini_planner:GeminiPlanner",
    "openai": "ttv.backends.remote.openai_planner:OpenAIPlanner",
}


@cache
def _table() -> dict[str, str]:
    table = dict(BUILTINS)
    for ep in entry_points(group=GROUP):
        table.setdefault(ep.name, ep.value)
    return table


def names(kind: BackendKind | None = None) -> list[str]:
    out = []
    for name in sorted(_table()):
        try:
            cls = load_class(name)
        except ConfigError:
            continue
        if kind is None or cls.kind == kind:
            out.append(name)
    return out


@cache
def load_class(name: str) -> type[Backend]:
    table = _table()
    if name not in table:
        from difflib import get_close_matches

        close = get_close_matches(name, list(table), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown backend {name!r}", hint=f"{hint}see `ttv backends list`")
    module_name, _, attr = table[name].partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"backend {name!r} could not be loaded: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Backend)):
        raise ConfigError(f"entry point {name!r} ({table[name]}) is not a ttv Backend class")
    return cls


def kind_mismatch(name: str, actual: str, wanted: str) -> str:
    """"'card' is an image backend, not a video backend"."""

    def a(word: str) -> str:
        return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"

    return f"{name!r} is {a(actual)} backend, not {a(wanted)} backend"


def create(name: str, raw_options: dict[str, object] | None, *, kind: BackendKind) -> Backend:
    """Instantiate a backend with its options validated (unknown option -> ConfigError)."""
    from pydantic import ValidationError

    try:
        cls = load_class(name)
    except ConfigError:
        if name in _table():
            raise  # known but broken: load_class says why
        from difflib import get_close_matches

        close = get_close_matches(name, names(kind), n=1)  # suggest a backend of the kind asked for
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown {kind} backend {name!r}",
                          hint=f"{hint}see `ttv backends list --kind {kind}`") from None
    if cls.kind != kind:
        raise ConfigError(kind_mismatch(name, cls.kind, kind),
                          hint=f"{kind} backends: {', '.join(names(kind))}")
    try:
        options = cls.OptionsModel.model_validate(raw_options or {})
    except ValidationError as exc:
        from ttv.core.validation import describe_validation_error

        raise ConfigError(describe_validation_error(exc, f"ttv.toml [backends.{name}]", cls.OptionsModel)) from exc
    return cls(options)
