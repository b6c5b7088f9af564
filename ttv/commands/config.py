"""`ttv config show|path`: the effective settings and where each came from."""

from __future__ import annotations

import typer

from ttv.commands._common import JsonOpt, ProjectOpt, boundary, emit_json, escape, out

app = typer.Typer(help="Show the effective settings and where each value came from.", no_args_is_help=True)


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

    from ttv.core.userconfig import user_config_path
    from ttv.pipeline.config_file import settings_rows
    from ttv.pipeline.project import Project

    proj = Project.discover(project)
    rows = settings_rows(proj)
    if json_out:
        emit_json({"project": str(proj.root), "config": str(proj.config_path), "user_config": str(user_config_path()),
                   "settings": rows})
        return
    table = Table(title=f"settings of {proj.config_path}", title_justify="left")
    for col in ("key", "value", "source", "meaning"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r["key"]), escape(r["shown"]), r["source"], escape(r["description"]))
    out.print(table)
    out.print(f"user config: {escape(str(user_config_path()))}" + ("" if user_config_path().is_file() else " (none)"),
              highlight=False)


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
