"""`ttv keys set|list|remove`: API keys in the user keys file (mode 0600), never in a project.

Resolution order when a backend needs a key: `--key`, then the provider's environment variable,
then this file. `list` shows where each key comes from, never the key.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

import ttv.backends  # noqa: F401 - lets the kernel see every installed backend's key provider (plugins too)
from ttv.commands._common import JsonOpt, boundary, emit_json, err, escape, out
from ttv.core import keys as keyring
from ttv.core.errors import ConfigError

app = typer.Typer(help="Store, list and remove provider API keys (user keys file, mode 0600).", no_args_is_help=True)

# The providers come from the installed backends (plugins too): `ttv keys list` names them.
ProviderArg = Annotated[str, typer.Argument(metavar="PROVIDER", help="Key provider, or a backend using it (`ttv keys list` shows them).",
                                            show_default=False)]


@app.command("set")
@boundary
def set_command(
    provider: ProviderArg,
    from_env: Annotated[str | None, typer.Option("--from-env", metavar="VAR", help="Read the key from this environment variable.",
                                                 show_default=False)] = None,
    stdin: Annotated[bool, typer.Option("--stdin", help="Read the key from standard input (e.g. a pipe).")] = False,
) -> None:
    """Store a key. Without options it asks with a hidden prompt (or reads a pipe on stdin).

    Examples:

    \b
      ttv keys set runway                              # asks with a hidden prompt
      ttv keys set fal --from-env MY_FAL_KEY
      pass show runway | ttv keys set runway --stdin
    """
    name = keyring.canonical(provider)
    if from_env:
        value = os.environ.get(from_env, "")
        if not value:
            raise ConfigError(f"the environment variable {from_env} is not set or empty; nothing was stored")
    elif stdin or not sys.stdin.isatty():
        value = sys.stdin.readline()
    else:
        value = typer.prompt(f"{name} API key", hide_input=True)
    path = keyring.set_key(name, value)
    err.print(f"stored the {name} key in {escape(str(path))} (mode 0600)", highlight=False)
    env = next((v for v in keyring.env_vars(name) if os.environ.get(v)), None)
    if env:
        err.print(f"[yellow]note:[/] {env} is set in this environment and takes precedence over the file")


@app.command("list")
@boundary
def list_command(json_out: JsonOpt = False) -> None:
    """Providers and where their key comes from (never the key itself).

    Examples:

    \b
      ttv keys list
      ttv keys list --json
    """
    aliases = keyring.aliases()  # backend names (and SDK names) that use each provider's key
    rows = [{"provider": name, "source": keyring.key_source(name) or "", "env": list(p.env), "help": p.help,
             "aliases": sorted(a for a, target in aliases.items() if target == name)}
            for name, p in sorted(keyring.providers().items())]
    if json_out:
        emit_json({"keys_file": str(keyring.keys_file()), "providers": rows})
        return
    from rich.table import Table

    table = Table(title=f"API keys (file: {keyring.keys_file()})", title_justify="left")
    for col in ("provider", "source", "environment variables", "also accepted as"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(str(r["provider"])), escape(str(r["source"]) or "-"), escape(", ".join(r["env"])),
                      escape(", ".join(r["aliases"])))
    out.print(table)


@app.command("remove")
@boundary
def remove_command(provider: ProviderArg) -> None:
    """Delete a stored key from the keys file (environment variables are left alone).

    Examples:

    \b
      ttv keys remove runway
    """
    name = keyring.canonical(provider)
    if not keyring.delete_key(name):
        raise ConfigError(f"no {name} key is stored in {keyring.keys_file()}",
                          hint="`ttv keys list` shows where keys come from")
    err.print(f"removed the {name} key from {escape(str(keyring.keys_file()))}", highlight=False)
    source = keyring.key_source(name)
    if source:
        err.print(f"[yellow]note:[/] a {name} key is still available from {escape(str(source))}", highlight=False)
