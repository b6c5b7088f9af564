"""API keys: where they come from, where they are stored, and how they are kept out of output.

Which providers exist is not known here: the kernel imports no backend. Each backend class declares
its key provider (`KeyProvider`: name, environment variables, where to get a key, aliases), and
`ttv.backends.base.Backend.__init_subclass__` registers it with `register_provider` when the class is
defined, the backend's name becoming an alias (a video and an image backend sharing one account key). Questions about *every* provider
(an unknown name, `ttv keys list`, redacting environment keys) first call
`catalog.load_everything()`, which imports every installed backend class once (see ttv/core/catalog.py).
A lookup of a provider whose class is loaded costs a dict lookup; `ttv --help` imports no backend.

Resolution order for `get_key(provider)`:

1. an explicit value (`get_key(provider, explicit=...)`, or one registered for this process with
   `use_key(provider, value)`, which is what a `--key` command-line option should call);
2. the provider's environment variables, in order (`KeyProvider.env`);
3. the user keys file: `$TTV_HOME/keys.toml` when `TTV_HOME` is set, else
   `platformdirs.user_config_dir("ttv")/keys.toml`. It is written with mode 0600 (folder 0700),
   atomically (temp file + fsync + rename).

Keys never go into the project folder, records, events, logs or error messages. Code that builds a
message from provider output must pass it through `redact()`, which replaces every key value that
ttv knows (`--key`, the keys file, and the environment variables of every backend loaded in this
process) with `***`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ttv.core import catalog
from ttv.core.errors import ConfigError


@dataclass(frozen=True)
class KeyProvider:
    """One account's API key, as a backend declares it (`key_provider = KeyProvider(...)`)."""

    name: str  # what the key is stored under in the keys file (the account, not the backend)
    env: tuple[str, ...]  # environment variables that may hold the key, in order of precedence
    help: str  # where to get a key
    aliases: tuple[str, ...] = ()  # other names users may type (an SDK's name); backend names are added


_providers: dict[str, KeyProvider] = {}
_aliases: dict[str, str] = {}

_session: dict[str, str] = {}
_lock = threading.Lock()
_file_cache: tuple[tuple[float, int], dict[str, str]] | None = None


def register_provider(provider: KeyProvider, *aliases: str) -> None:
    """Make `provider` known (idempotent), with `aliases` (backend names) pointing at it. A second,
    different provider under a name already taken is a ConfigError: two backends would disagree on
    where one key lives."""
    with _lock:
        known = _providers.get(provider.name)
        if known is not None and known != provider:
            raise ConfigError(f"key provider {provider.name!r} is declared twice, differently "
                              f"(env {', '.join(known.env)} vs {', '.join(provider.env)})",
                              hint="a backend that shares a key should reuse the declaring module's KeyProvider")
        _providers[provider.name] = provider
        for alias in (*provider.aliases, *aliases):
            alias = alias.lower()
            if alias != provider.name and alias not in _providers:
                _aliases.setdefault(alias, provider.name)


def add_alias(alias: str, provider: str) -> None:
    """`alias` (a backend name) uses the key of the provider named `provider` (registered or not yet)."""
    with _lock:
        if alias.lower() != provider.lower():
            _aliases.setdefault(alias.lower(), provider.lower())


def providers() -> dict[str, KeyProvider]:
    """Every key provider of the installed backends, by name (sorted: registration order depends on
    which classes happened to load first)."""
    catalog.load_everything()
    with _lock:
        return dict(sorted(_providers.items()))


def aliases() -> dict[str, str]:
    catalog.load_everything()
    with _lock:
        return dict(_aliases)


def _resolve(name: str) -> str | None:
    with _lock:
        name = _aliases.get(name, name)
        return name if name in _providers else None


def canonical(provider: str | KeyProvider) -> str:
    """The provider name keys are stored under (a backend name -> its provider); ConfigError for an unknown one."""
    if isinstance(provider, KeyProvider):
        register_provider(provider)
        return provider.name
    name = provider.lower()
    found = _resolve(name)
    if found is None:
        catalog.load_everything()  # only now: a provider whose backend class is not loaded yet
        found = _resolve(name)
    if found is None:
        from difflib import get_close_matches

        with _lock:
            known_names = sorted(_providers)
            candidates = sorted(set(_providers) | set(_aliases))
        close = get_close_matches(provider, candidates, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(f"unknown key provider {provider!r}; known: {', '.join(known_names) or 'none'}",
                          hint=f"{hint}`ttv keys list` shows the providers of the installed backends")
    return found


def get_provider(name: str | KeyProvider) -> KeyProvider:
    key = canonical(name)
    with _lock:
        return _providers[key]


def env_vars(provider_name: str | KeyProvider) -> tuple[str, ...]:
    return get_provider(provider_name).env


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


def use_key(provider: str | KeyProvider, value: str | None) -> None:
    """Register a key for this process only (what `--key` does). None forgets it."""
    name = canonical(provider)
    with _lock:
        if value:
            _session[name] = value
        else:
            _session.pop(name, None)


def _lookup(provider: str | KeyProvider, explicit: str | None) -> tuple[str | None, str | None]:
    name = canonical(provider)
    if explicit:
        return explicit, "explicit"
    with _lock:
        if name in _session:
            return _session[name], "--key"
    for var in env_vars(name):
        value = os.environ.get(var)
        if value:
            return value, f"env {var}"
    value = _read_file().get(name)
    if value:
        return value, "keys file"
    return None, None


def get_key(provider: str | KeyProvider, explicit: str | None = None) -> str | None:
    return _lookup(provider, explicit)[0]


def key_source(provider: str | KeyProvider) -> str | None:
    """Where the key would come from: "--key", "env <VARIABLE>", "keys file", or None."""
    return _lookup(provider, None)[1]


def set_key(provider: str | KeyProvider, value: str) -> Path:
    value = value.strip()
    if not value:
        raise ConfigError("the key is empty; nothing was stored")
    if any(c.isspace() for c in value):
        raise ConfigError("the key contains whitespace; nothing was stored", hint="paste the key alone")
    keys = _read_file()
    keys[canonical(provider)] = value
    return _write_file(keys)


def delete_key(provider: str | KeyProvider) -> bool:
    """Remove a stored key; True when there was one."""
    keys = _read_file()
    if keys.pop(canonical(provider), None) is None:
        return False
    _write_file(keys)
    return True


def list_providers_with_keys() -> list[tuple[str, str]]:
    """(provider, source) for every provider that has a key; never the key itself."""
    out = []
    for name in providers():
        source = key_source(name)
        if source:
            out.append((name, source))
    return out


def known_key_values() -> list[str]:
    """Every key value this process may hold: `--key` values, the whole keys file, and the environment
    variables of every provider registered so far. A provider registers when its backend class is
    defined, so the key of any backend this process could have called is covered; an environment key
    of a backend never loaded here was never read by ttv. Not loading the whole catalogue keeps this
    cheap: events, records and `--json` output check it on every write."""
    values: set[str] = set()
    with _lock:
        values.update(_session.values())
        registered = list(_providers.values())
    for p in registered:
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
        session = dict(_session)
    out: dict[str, str] = {}
    for name, value in session.items():
        provider = _providers.get(name)
        if provider is None:  # a provider whose backend this process has not loaded yet
            provider = providers().get(name)
        if provider is not None and provider.env:
            out[provider.env[0]] = value
    return out
