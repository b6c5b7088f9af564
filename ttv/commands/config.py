"""`ttv config show|path`: the effective settings and where each came from."""

from __future__ import annotations

from typing import Any

import typer

from ttv.commands._common import JsonOpt, ProjectOpt, boundary, emit_json, out

app = typer.Typer(help="Show the effective settings and where each value came from.", no_args_is_help=True)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@app.command("show")
@boundary
def show_command(project: ProjectOpt = None, json_out: JsonOpt = False) -> None:
    """Every setting of this project, its value, and its source (ttv.toml, user config, or default).

    Examples:

    \b
      ttv config show          # every setting, its value and where it came from
      ttv config show --json
    """
    from rich.table import Table

    from ttv.core.schemas import ProjectConfig
    from ttv.core.tomlio import load_toml
    from ttv.core.userconfig import load_user_config, sources, user_config_path
    from ttv.pipeline.project import Project

    proj = Project.discover(project)
    where = sources(load_user_config(), load_toml(proj.config_path))
    values = _flatten(proj.config.model_dump(by_alias=True))
    rows = [{"key": k, "value": v, "source": where.get(k, "default"),
             "description": (ProjectConfig.model_fields[k].description or "") if k in ProjectConfig.model_fields else ""}
            for k, v in values.items()]
    if json_out:
        emit_json({"project": str(proj.root), "config": str(proj.config_path), "user_config": str(user_config_path()), "settings": rows})
        return
    table = Table(title=f"settings of {proj.config_path}", title_justify="left")
    for col in ("key", "value", "source"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["key"], repr(r["value"]), r["source"])
    out.print(table)
    out.print(f"user config: {user_config_path()}" + ("" if user_config_path().is_file() else " (none)"))


@app.command("path")
@boundary
def path_command() -> None:
    """Print the user config file path (TTV_HOME overrides the platform default).

    Examples:

    \b
      ttv config path
    """
    from ttv.core.userconfig import user_config_path

    typer.echo(str(user_config_path()))
