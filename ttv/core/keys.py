"""API keys: where they come from, where they are stored, and how they are kept out of output.

Resolution order for `get_key(provider)`:

1. an explicit value (`get_key(provider, explicit=...)`, or one registered for this process with
   `use_key(provider, value)`, which is what a `--key` command-line option should call);
2. the provider's environment variables, in order (`PROVIDERS[provider].env`);
3. the user keys file: `$TTV_HOME/keys.toml` when `TTV_HOME` is set, else
   `platformdirs.user_config_dir("ttv")/keys.toml`. It is written with mode 0600 (folder 0700),
   atomically (temp file + fsync + rename).

Keys never go into the project folder, records, events, logs or error messages. Code that builds a
message from provider output must pass it through `redact()`, which replaces every key value that
ttv knows (process, environment and keys file) with `***`.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttv.core.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class KeyProvider:
    name: str
    env: tuple[str, ...]
    help: str  # where to get a key


PROVIDERS: dict[str, KeyProvider] = {
    "runway": KeyProvider("runway", ("RUNWAYML_API_SECRET",), "https://dev.runwayml.com (API keys)"),
    "google": KeyProvider("google", ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
                          "Google AI Studio or a Vertex AI express-mode API key"),
    "fal": KeyProvider("fal", ("FAL_KEY",), "https://fal.ai/dashboard/keys"),
    "minimax": KeyProvider("minimax", ("MINIMAX_API_KEY",), "https://platform.minimax.io (API keys)"),
    "openai": KeyProvider("openai", ("OPENAI_API_KEY",), "https://platform.openai.com/api-keys"),
}

# Backend names that share a provider's key.
ALIASES: dict[str, str] = {
    "veo": "google",
    "gemini": "google",
    "gemini-image": "google",
    "runway-image": "runway",
    "runwayml": "runway",
}

_session: dict[str, str] = {}
_lock = threading.Lock()
_file_cache: tuple[tuple[float, int], dict[str, str]] | None = None


def canonical(provider: str) -> str:
    """The provider name keys are stored under ('veo' -> 'google'); ConfigError for an unknown one."""
    name = ALIASES.get(provider.lower(), provider.lower())
    if name not in PROVIDERS:
        from difflib import get_close_matches

        known = sorted(set(PROVIDERS) | set(ALIASES))
        close = get_close_matches(provider, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown key provider {provider!r}; known: {', '.join(sorted(PROVIDERS))}",
                          hint=f"{hint}e.g. `ttv keys set runway`")
    return name


def env_vars(provider: str) -> tuple[str, ...]:
    return PROVIDERS[canonical(provider)].env


def config_dir() -> Path:
    home = os.environ.get("TTV_HOME")
    if home:
        return Path(home).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("ttv"))


def keys_file() -> Path:
    return config_dir() / "keys.toml"


class KeysFileError(ConfigError):
    """The keys file exists but cannot be read or parsed."""


def _read_file() -> dict[str, str]:
    global _file_cache
    path = keys_file()
    try:
        st = path.stat()
    except FileNotFoundError:
        return {}
    stamp = (st.st_mtime, st.st_size)
    with _lock:
        if _file_cache is not None and _file_cache[0] == stamp and _file_cache[1].get("\0path") == str(path):
            return {k: v for k, v in _file_cache[1].items() if k != "\0path"}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        # Never echo the file's content: it holds secrets.
        raise KeysFileError(f"the keys file {path} could not be read ({type(exc).__name__})",
                          hint="fix or delete it, then run `ttv keys set PROVIDER`") from None
    table = data.get("keys", {})
    out = {str(k): str(v) for k, v in table.items() if isinstance(v, str) and v} if isinstance(table, dict) else {}
    with _lock:
        _file_cache = (stamp, {**out, "\0path": str(path)})
    return out


def _write_file(keys: dict[str, str]) -> Path:
    import tomli_w

    global _file_cache
    path = keys_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    body = "# ttv API keys: managed by `ttv keys`; keep this file private (mode 0600)\n"
    body += tomli_w.dumps({"keys": dict(sorted(keys.items()))})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # in case the file existed with looser permissions
        os.write(fd, body.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    os.chmod(path, 0o600)
    with _lock:
        _file_cache = None
    return path


def use_key(provider: str, value: str | None) -> None:
    """Register a key for this process only (what `--key` does). None forgets it."""
    name = canonical(provider)
    with _lock:
        if value:
            _session[name] = value
        else:
            _session.pop(name, None)


def _lookup(provider: str, explicit: str | None) -> tuple[str | None, str | None]:
    name = canonical(provider)
    if explicit:
        return explicit, "explicit"
    with _lock:
        if name in _session:
            return _session[name], "--key"
    for var in PROVIDERS[name].env:
        value = os.environ.get(var)
        if value:
            return value, f"env {var}"
    value = _read_file().get(name)
    if value:
        return value, "keys file"
    return None, None


def get_key(provider: str, explicit: str | None = None) -> str | None:
    return _lookup(provider, explicit)[0]


def key_source(provider: str) -> str | None:
    """Where the key would come from: "--key", "env RUNWAYML_API_SECRET", "keys file", or None."""
    return _lookup(provider, None)[1]


def set_key(provider: str, value: str) -> Path:
    value = value.strip()
    if not value:
        raise ConfigError("the key is empty; nothing was stored")
    if any(c.isspace() for c in value):
        raise ConfigError("the key contains whitespace; nothing was stored", hint="paste the key alone")
    keys = _read_file()
    keys[canonical(provider)] = value
    return _write_file(keys)


def delete_key(provider: str) -> bool:
    """Remove a stored key; True when there was one."""
    keys = _read_file()
    if keys.pop(canonical(provider), None) is None:
        return False
    _write_file(keys)
    return True


def list_providers_with_keys() -> list[tuple[str, str]]:
    """(provider, source) for every provider that has a key; never the key itself."""
    out = []
    for name in PROVIDERS:
        source = key_source(name)
        if source:
            out.append((name, source))
    return out


def known_key_values() -> list[str]:
    values: set[str] = set()
    with _lock:
        values.update(_session.values())
    for p in PROVIDERS.values():
        for var in p.env:
            v = os.environ.get(var)
            if v:
                values.add(v)
    with contextlib.suppress(ConfigError):
        values.update(_read_file().values())
    # Very short values would redact ordinary words; real keys are long.
    return sorted((v for v in values if len(v) >= 6), key=len, reverse=True)


def redact(text: Any, extra: list[str] | tuple[str, ...] = ()) -> str:
    """`text` as a string with every known key value (and any in `extra`) replaced by ***."""
    s = str(text)
    for value in [*extra, *known_key_values()]:
        if value and value in s:
            s = s.replace(value, "***")
    return s


def session_env() -> dict[str, str]:
    """The `--key` values of this process as environment variables (the provider's first variable), for a
    child ttv (`run --monitor`): through the environment, never on a command line others can read."""
    with _lock:
        return {PROVIDERS[name].env[0]: value for name, value in _session.items() if PROVIDERS[name].env}
