"""Backend registry: the entry-point group `ttv.backends` (built-ins are registered the same way, in
pyproject.toml; there is no second list).

Entry points name a class ("package.module:Class"); the module is imported only when that backend is
used, so listing backends never imports torch or an SDK... except the backend's own module, which
must therefore keep its heavy imports inside functions. Importing `ttv.backends` gives the kernel
`load_all` as its catalogue loader (ttv/core/catalog.py): a question about every key provider or
price row loads every installed class once, plugins included.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points

from ttv.backends.base import Backend, BackendKind
from ttv.core.errors import ConfigError

GROUP = "ttv.backends"



@cache
def _table() -> dict[str, str]:
    """Backend name -> "module:Class", from the installed `ttv.backends` entry points. ttv's own win
    a name clash (a plugin cannot silently replace a built-in). Run from a source checkout, the
    checkout's pyproject.toml is read too: it is newer than the install metadata (a built-in whose
    entry-point line was just added works before `pip install -e .` runs again), and it is all there is
    when the checkout was never installed."""
    table: dict[str, str] = {}
    plugins: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        dist = getattr(getattr(ep, "dist", None), "name", None)
        (table if dist == "ttv" else plugins).setdefault(ep.name, ep.value)
    table.update(_source_checkout_builtins())
    for name, value in plugins.items():
        table.setdefault(name, value)
    return table


def _source_checkout_builtins() -> dict[str, str]:
    """The built-ins declared by the pyproject.toml of the checkout this package runs from ({} for an
    installed wheel): the same `[project.entry-points."ttv.backends"]` table, so there is one list."""
    from pathlib import Path

    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.is_file():
        return {}
    import tomllib
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if data.get("project", {}).get("name") != "ttv":
        return {}
    group = data["project"].get("entry-points", {}).get(GROUP, {})
    return {str(k): str(v) for k, v in group.items()}


def load_all() -> list[type[Backend]]:
    """Every installed backend class that loads (broken or missing ones are skipped: `load_class`
    says why when one is asked for). Loading a class registers its key provider and price rows."""
    out = []
    for name in sorted(_table()):
        try:
            out.append(load_class(name))
        except Exception:  # a broken plugin must not break the listing of the others
            continue
    return out


def entry_module(name: str) -> str:
    """The module an entry point names ("" when unknown), without importing it."""
    return _table().get(name, "").partition(":")[0]


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
    except (ImportError, AttributeError, ConfigError) as exc:  # ConfigError: facts clashing with another's
        message = exc.message if isinstance(exc, ConfigError) else str(exc)
        raise ConfigError(f"backend {name!r} could not be loaded: {message}") from exc
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
