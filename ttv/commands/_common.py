"""Shared CLI plumbing: the error boundary, output modes, options, progress display.

Data goes to stdout (Rich table, `--json`, or `-q` ids); progress, hints and errors to stderr.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer

from ttv.core.errors import (
    EXIT_BACKEND,
    EXIT_INTERRUPTED,
    EXIT_PARTIAL,
    EXIT_STEP_FAILED,
    PartialFailure,
    StepFailed,
    TtvError,
)

F = TypeVar("F", bound=Callable[..., Any])



class _LazyConsole:
    """A Rich Console created on first use, so `ttv --help` never pays for importing Rich."""

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._console: Any = None

    def real(self) -> Any:
        """The rich.console.Console itself (for Rich APIs that need the real object, e.g. Progress)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(no_color=bool(os.environ.get("NO_COLOR")), **self._kwargs)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)


out: Any = _LazyConsole(soft_wrap=True)  # stdout: data
err: Any = _LazyConsole(stderr=True, soft_wrap=True)  # stderr: progress, messages (never hard-wrapped)

ProjectOpt = Annotated[Path | None, typer.Option("--project", "-p", metavar="DIR", help="Project folder (default: the one containing the current folder).", show_default=False)]  # noqa: E501
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document on stdout instead of a table.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only ids (or nothing) on stdout.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Redo the selected items even when they are fresh; a remote job of an earlier attempt is not polled again (a new one is submitted, and paid).")]  # noqa: E501
OnlyOpt = Annotated[str | None, typer.Option("--only", metavar="IDS", help="Comma-separated ids to work on, e.g. s001,s003 (segment or keyframe ids).", show_default=False)]  # noqa: E501
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Print what would run, why, and its cost; change nothing.")]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", metavar="USD", help="Refuse to start work whose estimate would take total spend above this many USD.", show_default=False)]  # noqa: E501
OnError = Literal["fail", "keep-going"]
OnErrorOpt = Annotated[OnError, typer.Option("--on-error", help="fail: stop at the first failed item; keep-going: finish independent items (exit 5 if some failed).")]  # noqa: E501
GpusOpt = Annotated[str | None, typer.Option("--gpus", metavar="GPUS", help="Local models: the GPUs to use, e.g. 0,1 (indices after CUDA_VISIBLE_DEVICES) or all; overrides the backends' gpus option for this run.", show_default=False)]  # noqa: E501
WaitLockOpt = Annotated[float, typer.Option("--wait-for-lock", metavar="SECONDS", help="Seconds to wait for another ttv process on this project.")]  # noqa: E501


def escape(text: str) -> str:
    """User or provider text made safe for Rich markup ("pip install 'ttv[remote]'" keeps its brackets).
    Imported lazily so `ttv --help` does not pay for Rich."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def debug_enabled() -> bool:
    return bool(os.environ.get("TTV_DEBUG")) or os.environ.get("TTV_VERBOSE") == "1"


def redact(text: object) -> str:
    """ttv.core.keys.redact, but never failing: the error handler must work even when the keys file is
    unreadable (TTV_HOME pointing at a file). Then only the keys in the environment are masked."""
    from ttv.core import keys

    try:
        return keys.redact(text)
    except Exception:  # noqa: BLE001 - the handler of another error: fall back, never crash
        out = str(text)
        for name, value in os.environ.items():
            if len(value) >= 8 and any(w in name.upper() for w in ("KEY", "SECRET", "TOKEN")):
                out = out.replace(value, "***")
        return out


def print_error(exc: TtvError) -> None:
    # Messages quote TOML tables like [backends.NAME]: escape them so Rich does not take them for markup.
    err.print(f"[bold red]error:[/] {escape(redact(exc.message))}", highlight=False)
    if exc.hint:
        err.print(f"[yellow]hint:[/] {escape(redact(exc.hint))}", highlight=False)


@dataclass
class _Invocation:
    """What the error boundary knows about the command being run, for the JSON envelope."""

    command: str = ""
    json: bool = False
    project: str | None = None  # the project folder (absolute), once known
    emitted: bool = False  # a JSON document was written: an error after it adds no second one


_current = _Invocation()
JSON_SCHEMA = 1
_GROUPS = ("backends", "config", "keys")


def _command_name(fn: Callable[..., Any]) -> str:
    name = fn.__name__.removesuffix("_command").replace("_", "-")
    group = fn.__module__.rpartition(".")[2]
    return f"{group} {name}" if group in _GROUPS else name


def boundary(fn: F) -> F:
    """Error boundary for a command: one clear message and the documented exit code, never a traceback
    (unless TTV_DEBUG=1 or -v). Under --json an error is also a JSON document on stdout."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        global _current
        given = kwargs.get("project") or kwargs.get("folder")  # -p, or the folder `ttv init` creates
        _current = _Invocation(_command_name(wrapper), bool(kwargs.get("json_out")),
                               str(Path(given).resolve()) if isinstance(given, Path | str) and str(given).strip()
                               else None)
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except TtvError as exc:
            if debug_enabled():
                traceback.print_exc()
            print_error(exc)
            _json_error(type(exc).__name__, exc.message, exc.hint, exc.exit_code, getattr(exc, "code", None))
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err.print(f"\n[yellow]interrupted.[/] Finished work is kept; {escape(resume_advice())}")
            _json_error("Interrupted", "interrupted", resume_advice(), EXIT_INTERRUPTED)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except OSError as exc:
            if debug_enabled():
                traceback.print_exc()
            from ttv.core.fsutil import describe_os_error

            reason = redact(describe_os_error(exc))  # a sentence, not a raw "[Errno 28] ..."
            hint = "finished work is kept; fix the cause and run the same command again"
            err.print(f"[bold red]error:[/] {escape(reason)}", highlight=False)
            err.print(f"[yellow]hint:[/] {hint}")
            _json_error("OSError", reason, hint, EXIT_STEP_FAILED)
            raise typer.Exit(EXIT_STEP_FAILED) from None
        except Exception as exc:  # noqa: BLE001 - last resort: a bug, said plainly
            if debug_enabled():
                traceback.print_exc()

            # Never echo a key: an unexpected exception may quote a request URL or header.
            message = f"{type(exc).__name__}: {redact(exc)}"
            hint = "run again with TTV_DEBUG=1 for the traceback, and please report it"
            err.print(f"[bold red]internal error:[/] {escape(message)}", highlight=False)
            err.print(f"[yellow]hint:[/] {hint}")
            _json_error("InternalError", message, hint, EXIT_STEP_FAILED)
            raise typer.Exit(EXIT_STEP_FAILED) from None

    return wrapper  # type: ignore[return-value]


def resume_advice() -> str:
    """What to run to resume after Ctrl-C: the same command, less the flags that would redo finished work."""
    args = sys.argv[1:]
    dropped = [a for a in args if a in ("--force", "--reroll") or a.startswith("--reroll=")]
    if not args or not dropped:
        return "run the same command again to resume"
    kept: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
            continue
        if arg == "--force" or arg.startswith("--reroll="):
            continue
        if arg == "--reroll":
            skip = True  # and its value
            continue
        kept.append(arg)
    return f"resume with `ttv {' '.join(kept)}` (without {', '.join(dict.fromkeys(a.split('=')[0] for a in dropped))}, which would redo finished work)"


def _json_error(kind: str, message: str, hint: str | None, exit_code: int, code: str | None = None) -> None:
    if not _current.json or _current.emitted:
        return
    emit_json({"ok": False, "error": {"type": kind, "message": redact(message), "hint": redact(hint or ""),
                                      "exit_code": exit_code, "code": code}})


def parse_only(only: str | None) -> set[str] | None:
    if only is None:
        return None
    ids = {part.strip() for part in only.split(",") if part.strip()}
    if not ids:
        # An empty selection must never widen to "everything" (think `--only "$IDS" --force`).
        from ttv.core.errors import ConfigError

        raise ConfigError(f"--only {only!r} names no ids", hint="give comma-separated ids, e.g. --only s001,s003")
    return ids


def parse_gpus(gpus: str | None) -> list[int] | None:
    """--gpus "0,1" -> [0, 1]; "all" -> None (every visible GPU); None -> None (the backends' own setting)."""
    if gpus is None or gpus.strip().lower() == "all":
        return None
    parts = [part.strip() for part in gpus.split(",") if part.strip()]
    if not parts or not all(part.isdigit() for part in parts):
        from ttv.core.errors import ConfigError

        raise ConfigError(f"--gpus {gpus!r} is not a list of GPU indices", hint="e.g. --gpus 0,1 or --gpus all")
    return list(dict.fromkeys(int(part) for part in parts))


def check_non_negative(value: float | None, option: str, hint: str | None = None) -> None:
    if value is not None and not value >= 0:  # also refuses NaN
        from ttv.core.errors import ConfigError

        raise ConfigError(f"{option} must be 0 or more, not {value:g}", hint=hint)


def emit_json(data: dict[str, Any], *, project: Path | str | None = None) -> None:
    """One JSON document on stdout, in the envelope every command shares:
    {"schema": 1, "command": "status", "project": "/abs/project/folder" or null, "ok": true, ...data}.
    `project` always means the project folder; `ok` is false when the command failed."""

    data = dict(data)
    project = data.pop("project", None) if project is None else project
    data.pop("schema", None)  # one schema number for the envelope
    if project is not None:
        _current.project = str(Path(project).resolve())
    document = {"schema": JSON_SCHEMA, "command": _current.command, "project": _current.project, "ok": True, **data}
    _current.emitted = True
    sys.stdout.write(redact(json.dumps(document, indent=2, default=str)) + "\n")
    sys.stdout.flush()


def check_on_error(value: str) -> str:
    if value not in ("fail", "keep-going"):
        from ttv.core.errors import ConfigError

        raise ConfigError(f"--on-error must be 'fail' or 'keep-going', not {value!r}")
    return value


def exit_for_reports(reports: list[Any], on_error: str) -> None:
    failed = [o for r in reports for o in r.failed]
    if not failed:
        return
    ids = ", ".join(o.id for o in failed)
    first = failed[0].error
    if on_error == "keep-going" and any(r.done or r.skipped for r in reports):
        raise PartialFailure(f"{len(failed)} item(s) failed: {ids}. First error: {first}",
                             hint="see `ttv status --why`; fix and run the same command again to redo only those")
    exc = StepFailed(f"{len(failed)} item(s) failed: {ids}. First error: {first}",
                     hint="see `ttv status --why`; fix and run the same command again (finished work is kept)")
    if all(getattr(o, "access_fault", False) for o in failed):
        exc.exit_code = EXIT_BACKEND  # auth or network: exit 3, as `ttv --help` promises
    raise exc


__all__ = ["EXIT_PARTIAL"]
