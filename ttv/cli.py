"""The `ttv` executable: the root Typer app. Each command lives in its own module in ttv/commands/."""

from __future__ import annotations

import importlib
import os
from typing import Annotated

import typer

from ttv import __version__

EPILOG = (
    "Exit codes: 0 ok · 1 a step failed · 2 usage or config error · 3 backend or auth error · "
    "4 timeout · 5 partial (--on-error keep-going with failures) · 130 interrupted.  "
    "Set TTV_DEBUG=1 (or pass -v) to see tracebacks; NO_COLOR=1 disables colour; TTV_HOME moves user files."
)

app = typer.Typer(
    name="ttv",
    help="Turn one idea into a long video: plan shots, make keyframes, render clips, stitch — resumable at every step.",
    epilog=EPILOG,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ttv {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug detail.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
    key: Annotated[list[str] | None, typer.Option("--key", metavar="PROVIDER=KEY", help="API key for this run only, as PROVIDER=KEY (`ttv keys list` names the providers); wins over env vars and the keys file. Prefer env vars: command lines can be seen by other users.", show_default=False)] = None,  # noqa: E501
) -> None:
    """Turn one idea into a long video: plan shots, make keyframes, render clips, stitch — resumable at every step."""
    if verbose:
        os.environ["TTV_VERBOSE"] = "1"
    for item in key or []:
        provider, sep, value = item.partition("=")
        if not sep or not provider or not value:
            raise typer.BadParameter("use --key PROVIDER=KEY, e.g. --key PROVIDER=$MY_KEY (`ttv keys list` names the providers)", param_hint="--key")
        import ttv.backends  # noqa: F401 - the kernel learns plugin key providers from the backends
        from ttv.core import keys
        from ttv.core.errors import ConfigError

        try:
            keys.use_key(provider.strip(), value.strip())
        except ConfigError as exc:
            raise typer.BadParameter(exc.message, param_hint="--key") from None


# name -> (module, attribute); one module per command.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("ttv.commands.init", "init_command"),
    "plan": ("ttv.commands.plan", "plan_command"),
    "keyframes": ("ttv.commands.keyframes", "keyframes_command"),
    "render": ("ttv.commands.render", "render_command"),
    "chain": ("ttv.commands.chain", "chain_command"),
    "stitch": ("ttv.commands.stitch", "stitch_command"),
    "run": ("ttv.commands.run", "run_command"),
    "status": ("ttv.commands.status", "status_command"),
    "estimate": ("ttv.commands.estimate", "estimate_command"),
    "doctor": ("ttv.commands.doctor", "doctor_command"),
    "wait": ("ttv.commands.wait", "wait_command"),
    "cancel": ("ttv.commands.cancel", "cancel_command"),
    "monitor": ("ttv.commands.monitor", "monitor_command"),
}
SUBAPPS: dict[str, str] = {
    "backends": "ttv.commands.backends",
    "config": "ttv.commands.config",
    "keys": "ttv.commands.keys",
}


def _register() -> None:
    for name, (module_name, attr) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # command not built into this version
            raise
        app.command(name)(getattr(module, attr))
    for name, module_name in SUBAPPS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        app.add_typer(module.app, name=name)


_register()


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM (kill, systemd, docker stop) and SIGHUP (a closed terminal) take Ctrl-C's path: records
    # saved, jobs kept `submitted`, the lock released, exit 130.
    raise KeyboardInterrupt


def main() -> None:
    import signal

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, _interrupt)
    app(prog_name="ttv")


if __name__ == "__main__":
    main()
