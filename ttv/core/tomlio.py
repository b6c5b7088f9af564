"""Reading and writing the project's TOML files, with errors that name the file and line."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w

from ttv.core.errors import ConfigError
from ttv.core.fsutil import atomic_write_text


def load_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start} is {exc.object[exc.start:exc.start + 1]!r})",
                          hint=f"save {path.name} as UTF-8") from None
    except OSError as exc:
        from ttv.core.fsutil import describe_os_error

        raise ConfigError(f"{path} cannot be read: {describe_os_error(exc, path)}") from None
    if text.startswith("\ufeff"):
        # TOML forbids a byte-order mark; some Windows editors add one. Name it instead of "invalid key".
        raise ConfigError(f"{path} starts with a byte-order mark (BOM), which TOML does not allow",
                          hint=f"save {path.name} as UTF-8 without BOM")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # The message carries "(at line L, column C)".
        raise ConfigError(f"{path}: invalid TOML: {exc}", hint=f"fix the syntax in {path.name} at the line shown") from None


def strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value if v is not None]
    if isinstance(value, tuple):
        return [strip_none(v) for v in value]
    return value


def dumps_toml(data: dict[str, Any]) -> str:
    return tomli_w.dumps(strip_none(data))


def write_toml(path: Path, data: dict[str, Any], header: str = "") -> None:
    text = dumps_toml(data)
    if header:
        text = "".join(f"# {line}\n" if line else "#\n" for line in header.splitlines()) + "\n" + text
    atomic_write_text(path, text)
