"""`ttv backends list|info`: the registered backends, their capabilities, options and availability."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from ttv.commands._common import JsonOpt, ProjectOpt, boundary, emit_json, escape, out
from ttv.core.errors import ConfigError

app = typer.Typer(help="List backends and show what each one accepts.", no_args_is_help=True)


def _project_options(name: str, project: Path | None) -> tuple[dict[str, Any] | None, str]:
    """[backends.NAME] of the project (`-p`, else the one containing the current folder), and where it is;
    (None, "") outside a project. A project whose ttv.toml does not load is named, not fatal here."""
    from ttv.pipeline.project import CONFIG_FILE, Project, find_project_root

    root = project if project is not None else find_project_root(Path.cwd())
    if root is None:
        return None, ""
    try:
        config = Project.load(root).config
    except ConfigError as exc:
        if project is not None:
            raise
        return None, f"(the project here was not read: {exc.message})"
    raw = config.backends.get(name)
    return (dict(raw) if raw else None), str(Path(root) / CONFIG_FILE)


def _facts(cls: Any) -> dict[str, Any]:
    """The provider facts the class declares: its key (provider, variables, where to get one), its price rows."""
    from ttv.core import keys, prices

    facts: dict[str, Any] = {}
    if cls.key_provider is not None:
        try:
            provider = keys.get_provider(cls.key_provider)
            facts["key"] = {"provider": provider.name, "env": list(provider.env), "help": provider.help}
        except ConfigError as exc:
            facts["key"] = {"provider": str(cls.key_provider), "error": exc.message}
    if cls.price_rows:
        facts["prices"] = [prices.describe(row) for row in cls.price_rows]
    return facts


def _describe(name: str, raw_options: dict[str, Any] | None = None) -> dict[str, Any]:
    from ttv.backends import registry
    from ttv.backends.base import VideoBackend

    try:
        cls = registry.load_class(name)
    except ConfigError as exc:
        return {"name": name, "kind": "?", "available": False, "reason": exc.message, "summary": ""}
    info: dict[str, Any] = {"name": name, "kind": cls.kind, "summary": cls.summary, "available": False,
                            "reason": "", "extra": getattr(cls, "extra", None)}
    info.update(_facts(cls))
    try:
        schema = cls.OptionsModel.model_json_schema()
        info["options"] = {k: {"type": v.get("type", v.get("anyOf", "")), "default": v.get("default"),
                               "description": cls.OptionsModel.describe(k)}
                           for k, v in schema.get("properties", {}).items()}
    except Exception:  # noqa: BLE001 - a broken plugin must not break the listing
        info["options"] = {}
    if cls.kind == "video":
        from ttv.pipeline.verdict import mode_table

        try:  # what each model takes, and which the run modes default to (the mode verdict's data)
            info["models"] = mode_table(name)
        except Exception:  # noqa: BLE001 - a broken plugin must not break the listing
            info["models"] = []
    try:
        backend = registry.create(name, raw_options, kind=cls.kind) if raw_options else cls()
        avail = backend.is_available()
    except Exception as exc:  # noqa: BLE001 - e.g. a broken plugin, or a keys file that cannot be read
        from ttv.core.keys import redact

        info["reason"] = redact(getattr(exc, "message", None) or exc)
        return info
    info["available"], info["reason"] = avail.ok, avail.reason
    if isinstance(backend, VideoBackend):
        try:
            info["capabilities"] = backend.capabilities().model_dump()
        except Exception as exc:  # noqa: BLE001
            info["capabilities"] = {"error": str(exc)}
    return info


@app.command("list")
@boundary
def list_command(
    kind: Annotated[Literal["video", "keyframes", "image", "planner"] | None, typer.Option("--kind", help="Only this kind: video backends, keyframe (image) providers, or planners.", show_default=False)] = None,  # noqa: E501
    json_out: JsonOpt = False,
) -> None:
    """List every backend (built-in and plugins) with whether it can run here.

    Examples:

    \b
      ttv backends list
      ttv backends list --kind video --json
    """
    from rich.table import Table

    from ttv.backends import registry

    if kind == "keyframes":  # what README and ttv.toml call them; the backend kind is "image"
        kind = "image"
    rows = [_describe(n) for n in sorted(registry._table())]
    rows = [r for r in rows if kind is None or r["kind"] == kind]
    if json_out:
        emit_json({"backends": rows})
        return
    table = Table(title="backends", title_justify="left")
    for col in ("name", "kind", "available", "summary / why not"):
        table.add_column(col)
    for r in rows:
        ok = "[green]yes[/]" if r["available"] else "[red]no[/]"
        table.add_row(r["name"], r["kind"], ok, escape(r["summary"] if r["available"] else r["reason"]))
    out.print(table)


def toml_literal(value: Any) -> str:
    from ttv.pipeline.config_file import toml_literal as literal

    return literal(value)


def number_list(values: list[Any]) -> str:
    """Numbers as a person reads them: "2-64" for a run, "5, 9, ..., 37" for a long even-stepped list."""
    nums = [f"{v:g}" if isinstance(v, float) else str(v) for v in values]
    if len(values) > 4 and all(isinstance(v, int) for v in values):
        steps = {b - a for a, b in zip(values, values[1:], strict=False)}
        if steps == {1}:
            return f"{values[0]}-{values[-1]}"
        if len(steps) == 1:
            return f"{nums[0]}, {nums[1]}, ..., {nums[-1]}"
    return ", ".join(nums)


def continuation_text(value: dict[str, Any]) -> str:
    """`continuation` (base.Continuation) in words: how chaining with continue_frames > 1 continues a clip."""
    if value.get("extend"):
        text = "video extension: the provider continues the previous clip's whole video"
        if value.get("max_input_seconds"):
            text += f" (up to {value['max_input_seconds']:g} s of it)"
    elif value.get("frames"):
        text = "continues from the last K frames of the previous clip, K = " + (
            value.get("frame_rule") or number_list(list(value["frames"])))
    else:
        text = "from the previous clip's last frame only"
    parts = [text]
    if (value.get("size_multiple") or 1) > 1:
        parts.append(f"width and height multiples of {value['size_multiple']}")
    if value.get("note"):
        parts.append(str(value["note"]))
    return "; ".join(parts)


def capability_text(key: str, value: Any) -> str:
    """A capability as a person reads it: sizes as 1280x720, lists comma-separated, yes/no, "any", and a
    nested capability (a dict, e.g. `continuation`) as a sentence of its fields."""
    if key == "continuation" and value is None:
        return "from the previous clip's last frame only (the next start image)"
    if value is None:
        return "any"
    if isinstance(value, dict):
        if key == "continuation":
            return continuation_text(value)
        shown = [f"{k.replace('_', ' ')}: {capability_text(k, v)}" for k, v in value.items()
                 if v not in (None, "", [], {}, False)]
        return "; ".join(shown) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        if not value:
            return "none"
        if all(isinstance(v, list | tuple) and len(v) == 2 for v in value):
            return ", ".join(f"{w}x{h}" for w, h in value)
        return ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}" + (" s" if "duration" in key else "")
    return str(value)


@app.command("info")
@boundary
def info_command(name: Annotated[str, typer.Argument(metavar="NAME", help="Backend name (`ttv backends list`).")],
                 project: ProjectOpt = None, json_out: JsonOpt = False) -> None:
    """Capabilities, options (with defaults) and availability of one backend; inside a project (or with
    -p), for the options its ttv.toml sets (e.g. its model).

    Examples:

    \b
      ttv backends info runway           # capabilities, options, prices, availability
      ttv backends info wan -p my-film   # with the project's options (e.g. its model)
    """
    from rich.table import Table

    from ttv.backends import registry

    registry.load_class(name)  # unknown name -> clear error with did-you-mean
    raw, source = _project_options(name, project)
    info = _describe(name, raw)
    if raw:
        info["configured"] = {"file": source, "options": raw}
    if json_out:
        emit_json(info)
        return
    out.print(f"[bold]{name}[/] ({info['kind']}): {escape(info['summary'])}")
    if raw:
        shown = ", ".join(f"{k} = {toml_literal(v)}" for k, v in raw.items())
        out.print(f"for [backends.{name}] in {source}: {shown}", markup=False)
    elif source:
        out.print(source, markup=False)
    out.print(f"available: {'yes' if info['available'] else 'no — ' + info['reason']}", markup=False)
    if info.get("extra"):
        out.print(f"extra: pip install 'ttv[{info['extra']}]'", markup=False)
    key = info.get("key")
    if key and "env" in key:
        out.print(f"key: {key['provider']} ({' or '.join(key['env'])}, or `ttv keys set {key['provider']}`); "
                  f"get one at {key['help']}", markup=False)
    for row in info.get("prices", []):
        out.print(f"price: {row}", markup=False)
    caps = info.get("capabilities")
    if caps:
        table = Table(title="capabilities", title_justify="left")
        table.add_column("key")
        table.add_column("value", overflow="fold")  # a long name in a note wraps, not cut to "…"
        for k, v in caps.items():
            table.add_row(k, escape(capability_text(k, v)))
        out.print(table)
    if info.get("models"):
        table = Table(title="models (t2v: text, i2v: a first frame, flf2v: first and last frames)",
                      title_justify="left")
        for col in ("model", "takes", "default in"):
            table.add_column(col)
        for m in info["models"]:
            table.add_row(escape(m["model"]), ", ".join(m["modes"]), ", ".join(f"{r} mode" for r in m["default_for"]))
        out.print(table)
    if info.get("options"):
        table = Table(title=escape(f"options ([backends.{name}] in ttv.toml)"), title_justify="left")
        for col in ("option", "default", "description"):
            table.add_column(col)
        for k, v in info["options"].items():
            default = "(not set)" if v["default"] is None else toml_literal(v["default"])
            table.add_row(k, escape(default), escape(v["description"]))
        out.print(table)
