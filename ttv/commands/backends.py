"""`ttv backends list|info`: the registered backends, their capabilities, options and availability."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ttv.commands._common import JsonOpt, ProjectOpt, boundary, emit_json, out
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


def _describe(name: str, raw_options: dict[str, Any] | None = None) -> dict[str, Any]:
    from ttv.backends import registry
    from ttv.backends.base import VideoBackend

    try:
        cls = registry.load_class(name)
    except ConfigError as exc:
        return {"name": name, "kind": "?", "available": False, "reason": exc.message, "summary": ""}
    info: dict[str, Any] = {"name": name, "kind": cls.kind, "summary": cls.summary, "available": False,
                            "reason": "", "extra": getattr(cls, "extra", None)}
    try:
        schema = cls.OptionsModel.model_json_schema()
        info["options"] = {k: {"type": v.get("type", v.get("anyOf", "")), "default": v.get("default"),
                               "description": v.get("description", "")}
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
    kind: Annotated[str | None, typer.Option("--kind", help="video, image or planner.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """List every backend (built-in and plugins) with whether it can run here."""
    from rich.markup import escape
    from rich.table import Table

    from ttv.backends import registry

    if kind not in (None, "video", "image", "planner"):
        raise ConfigError(f"--kind must be video, image or planner, not {kind!r}")
    rows = [_describe(n) for n in sorted(registry._table())]
    rows = [r for r in rows if kind is None or r["kind"] == kind]
    if json_out:
        emit_json(rows)
        return
    table = Table(title="backends", title_justify="left")
    for col in ("name", "kind", "available", "summary / why not"):
        table.add_column(col)
    for r in rows:
        ok = "[green]yes[/]" if r["available"] else "[red]no[/]"
        table.add_row(r["name"], r["kind"], ok, escape(r["summary"] if r["available"] else r["reason"]))
    out.print(table)


@app.command("info")
@boundary
def info_command(name: Annotated[str, typer.Argument(help="Backend name, e.g. animatic or runway.")],
                 project: ProjectOpt = None, json_out: JsonOpt = False) -> None:
    """Capabilities, options (with defaults) and availability of one backend; inside a project (or with
    -p), for the options its ttv.toml sets (e.g. its model)."""
    from rich.markup import escape
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
        shown = ", ".join(f"{k} = {v!r}" for k, v in raw.items())
        out.print(f"for [backends.{name}] in {source}: {shown}", markup=False)
    elif source:
        out.print(source, markup=False)
    out.print(f"available: {'yes' if info['available'] else 'no — ' + info['reason']}", markup=False)
    if info.get("extra"):
        out.print(f"extra: pip install 'ttv[{info['extra']}]'", markup=False)
    caps = info.get("capabilities")
    if caps:
        table = Table(title="capabilities", title_justify="left")
        table.add_column("key")
        table.add_column("value")
        for k, v in caps.items():
            table.add_row(k, escape(str(v)))
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
            table.add_row(k, escape(repr(v["default"])), escape(v["description"]))
        out.print(table)
