"""`ttv init DIR --idea ...`: create a project folder with a validated ttv.toml."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from ttv.commands._common import JsonOpt, boundary, emit_json, err, escape
from ttv.core.errors import ConfigError

# ttv.toml key -> the `ttv init` option that sets it, so errors name what the user typed.
_OPTION = {"max_cost_usd": "--max-cost", "idea": "--idea"}


def _name_options(message: str) -> str:
    """'command line: max_cost_usd: ...' -> '--max-cost: ...'."""
    lines = []
    for line in message.splitlines():
        if line.startswith("command line: "):
            key, sep, rest = line.removeprefix("command line: ").partition(": ")
            if sep and key.replace("_", "").isalnum():
                line = f"{_OPTION.get(key, '--' + key)}: {rest}"
        lines.append(line)
    return "\n".join(lines)


@boundary
def init_command(
    folder: Annotated[str, typer.Argument(metavar="DIR", help="Project folder to create (may exist if it holds no ttv.toml).")],
    idea: Annotated[str | None, typer.Option("--idea", "-i", metavar="TEXT", help="The idea, or a whole script, as text.")] = None,
    idea_file: Annotated[Path | None, typer.Option("--idea-file", metavar="FILE", help="Read the idea/script from a text file.")] = None,
    mode: Annotated[Literal["keyframe", "chain"] | None, typer.Option("--mode", "-m", help="keyframe (parallel, keyframes at boundaries; the default) or chain (each clip starts from the previous clip's last frame).", show_default=False)] = None,  # noqa: E501
    backend: Annotated[str | None, typer.Option("--backend", "-b", metavar="NAME", help="Video backend (see `ttv backends list`; default: animatic).", show_default=False)] = None,
    keyframes: Annotated[str | None, typer.Option("--keyframes", metavar="NAME", help="Keyframe image provider (see `ttv backends list --kind keyframes`; default: card).", show_default=False)] = None,
    planner: Annotated[str | None, typer.Option("--planner", metavar="NAME", help="Shot planner (see `ttv backends list --kind planner`; default: heuristic).", show_default=False)] = None,
    duration: Annotated[float | None, typer.Option("--duration", "-d", metavar="SECONDS", help="Total seconds (default: 30).", show_default=False)] = None,
    segments: Annotated[int | None, typer.Option("--segments", "-n", metavar="N", help="Number of segments (default: duration / 5 s).")] = None,  # noqa: E501
    width: Annotated[int | None, typer.Option(metavar="PIXELS", help="Width in pixels, even (default: 1280).", show_default=False)] = None,
    height: Annotated[int | None, typer.Option(metavar="PIXELS", help="Height in pixels, even (default: 720).", show_default=False)] = None,
    fps: Annotated[int | None, typer.Option(metavar="FPS", help="Frames per second of the final video (default: 24).", show_default=False)] = None,
    seed: Annotated[int | None, typer.Option(metavar="N", help="Base seed; every item derives its own from it (default: 7).", show_default=False)] = None,
    style: Annotated[str | None, typer.Option(metavar="TEXT", help="Visual style carried into every prompt.", show_default=False)] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", metavar="USD", help="Budget in USD for the whole project.")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a project folder with ttv.toml. Next: `cd DIR && ttv run` (or `ttv plan`).

    Examples:

    \b
      ttv init film --idea "A lighthouse keeper finds a message in a bottle"
      ttv init film --idea-file script.txt --mode chain -n 8                   # chaining mode, 8 segments
      ttv init film --idea "..." --backend runway --max-cost 20                # a remote backend with a budget
    """
    from ttv.pipeline.config_file import write_new_config
    from ttv.pipeline.project import CONFIG_FILE, check_backend_references, parse_config

    if (idea is None) == (idea_file is None):
        raise ConfigError("give the idea with --idea TEXT or --idea-file FILE (one of them)")
    if not folder.strip():
        # `ttv init ""` would make the current folder a project: say so instead of guessing.
        raise ConfigError("the project folder name is empty", hint="give a folder, e.g. `ttv init my-film --idea ...` "
                          "(use `.` for the current folder)")
    directory = Path(folder)  # a str first: typer would turn "" into Path("."), the current folder
    if idea_file is not None:
        idea = _read_idea_file(idea_file)
    if idea is not None and not idea.strip():
        raise ConfigError("the idea is empty (only blanks)", hint="write at least a sentence with --idea or --idea-file")
    config_path = directory / CONFIG_FILE
    if config_path.exists():
        raise ConfigError(f"{config_path} already exists", hint=f"edit it, or run `ttv status -p {directory}`")
    # Only what the user chose goes into ttv.toml: the user config and the built-in defaults apply
    # where the project is silent (a commented reference of every other setting follows in the file).
    given = {"mode": mode, "duration": duration, "segments": segments, "width": width, "height": height,
             "fps": fps, "seed": seed, "style": style, "planner": planner, "keyframes": keyframes,
             "backend": backend, "max_cost_usd": max_cost}
    data: dict[str, Any] = {"schema": 1, "idea": idea, **{k: v for k, v in given.items() if v is not None}}
    # Validate everything (values, then backend names and kinds) as the project will load it, before
    # creating anything.
    from ttv.core.userconfig import load_user_config, merge

    try:
        config = parse_config(merge(load_user_config(), data), "command line")
    except ConfigError as exc:
        raise ConfigError(_name_options(exc.message), hint="see `ttv init --help`; nothing was created") from None
    try:
        check_backend_references(config, "command line")
    except ConfigError as exc:
        raise ConfigError(_name_options(exc.message), hint=exc.hint) from None
    directory.mkdir(parents=True, exist_ok=True)
    write_new_config(config_path, data)
    mode = config.mode
    if json_out:
        emit_json({"project": str(directory.resolve()), "config": str(config_path.resolve())})
    else:
        err.print(f"created {escape(str(config_path))}", highlight=False)
        err.print(f"next: [bold]cd {escape(str(directory))} && ttv run[/]   (or step by step: ttv plan, ttv keyframes, "
                  f"ttv {'render' if mode == 'keyframe' else 'chain'}, ttv stitch)")


IDEA_FILE_LIMIT = 1_000_000  # bytes: a script is text; more is a mistake (or /dev/zero)


def _read_idea_file(path: Path) -> str:
    """The text of --idea-file: a regular file of UTF-8 text up to 1 MB (never a device read forever)."""
    import stat

    from ttv.core.fsutil import describe_os_error

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"--idea-file {path} is not a regular file", hint="give a text file with the idea or script")
        with path.open("rb") as f:
            raw = f.read(IDEA_FILE_LIMIT + 1)
    except OSError as exc:
        raise ConfigError(f"cannot read --idea-file: {describe_os_error(exc, path)}") from None
    if len(raw) > IDEA_FILE_LIMIT:
        raise ConfigError(f"--idea-file {path} is over {IDEA_FILE_LIMIT // 1_000_000} MB; an idea or script is "
                          "far shorter", hint="give a text file with the idea or script")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"--idea-file {path} is not UTF-8 text (an image or other binary file?)",
                          hint="give a text file with the idea or script") from None
    if "\0" in text:
        raise ConfigError(f"--idea-file {path} holds NUL bytes: not a text file")
    return text.strip()
