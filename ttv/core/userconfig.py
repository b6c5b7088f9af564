"""User-level settings: defaults under every project's ttv.toml.

File: `$TTV_HOME/config.toml` when TTV_HOME is set, else `platformdirs.user_config_dir("ttv")/config.toml`.
It holds the same keys as ttv.toml (e.g. `[backends.NAME] concurrency = 4`, `max_cost_usd`), never keys.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ttv.core.tomlio import load_toml


def user_dir() -> Path:
    home = os.environ.get("TTV_HOME")
    if home:
        return Path(home)
    from platformdirs import user_config_dir

    return Path(user_config_dir("ttv"))


def user_config_path() -> Path:
    return user_dir() / "config.toml"


def load_user_config() -> dict[str, Any]:
    path = user_config_path()
    return load_toml(path) if path.is_file() else {}


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Deep merge: tables merge key by key, everything else in `over` wins."""
    result = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def sources(user: dict[str, Any], project: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Which file each explicitly set key came from ('ttv.toml' wins over the user config)."""
    out: dict[str, str] = {}
    for data, label in ((user, "user config"), (project, "ttv.toml")):
        for key, value in data.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict):
                nested = sources(value if label == "user config" else {}, value if label == "ttv.toml" else {},
                                 prefix=f"{path}.")
                out.update(nested)
            else:
                out[path] = label
    return out
