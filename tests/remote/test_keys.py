"""Key resolution, the 0600 keys file, redaction and the `ttv keys` sub-app."""

from __future__ import annotations

import os
import stat

import pytest
import typer
from typer.testing import CliRunner

from ttv.commands.keys import app as keys_app
from ttv.core import keys
from ttv.core.errors import ConfigError

SECRET = "rk_live_SECRET_abcdef0123456789"


def keys_cli() -> typer.Typer:
    root = typer.Typer()
    root.add_typer(keys_app, name="keys")

    @root.callback()
    def _root() -> None:  # keep "keys" a sub-command
        pass

    return root


def test_resolution_order(monkeypatch) -> None:
    assert keys.get_key("runway") is None and keys.key_source("runway") is None
    keys.set_key("runway", "from_file_123456")
    assert keys.get_key("runway") == "from_file_123456" and keys.key_source("runway") == "keys file"
    monkeypatch.setenv("RUNWAYML_API_SECRET", "from_env_123456")
    assert keys.get_key("runway") == "from_env_123456"
    assert keys.key_source("runway") == "env RUNWAYML_API_SECRET"
    keys.use_key("runway", "from_flag_123456")
    assert keys.get_key("runway") == "from_flag_123456" and keys.key_source("runway") == "--key"
    assert keys.get_key("runway", "explicit_123456") == "explicit_123456"


def test_google_env_precedence_and_aliases(monkeypatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "gemini_123456")
    assert keys.get_key("veo") == "gemini_123456"
    monkeypatch.setenv("GOOGLE_API_KEY", "google_123456")
    assert keys.get_key("gemini-image") == "google_123456"
    assert keys.canonical("veo") == "google"
    with pytest.raises(ConfigError, match="unknown key provider"):
        keys.get_key("runwya")


def test_keys_file_mode_and_location(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TTV_HOME", str(tmp_path / "home"))
    path = keys.set_key("fal", "fal_abcdef123456")
    assert path == tmp_path / "home" / "keys.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.chmod(path, 0o644)
    keys.set_key("minimax", "mm_abcdef123456")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert dict(keys.list_providers_with_keys()) == {"fal": "keys file", "minimax": "keys file"}
    assert keys.delete_key("fal") and not keys.delete_key("fal")
    assert keys.get_key("fal") is None and keys.get_key("minimax") == "mm_abcdef123456"
    with pytest.raises(ConfigError):
        keys.set_key("fal", "  ")


def test_broken_keys_file_never_echoes_content(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TTV_HOME", str(tmp_path))
    (tmp_path / "keys.toml").write_text(f'[keys]\nrunway = "{SECRET}\n')
    with pytest.raises(ConfigError) as info:
        keys.get_key("runway")
    assert SECRET not in info.value.message


def test_redact(monkeypatch) -> None:
    import ttv.backends.remote.fal  # noqa: F401 - a loaded backend's environment key is redacted

    monkeypatch.setenv("FAL_KEY", SECRET)
    keys.use_key("minimax", "mm_session_key_99")
    text = f"Authorization: Key {SECRET}; other mm_session_key_99 done"
    assert keys.redact(text) == "Authorization: Key ***; other *** done"
    assert keys.redact("nothing here") == "nothing here"


def test_cli_set_list_remove(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TTV_HOME", str(tmp_path))
    runner = CliRunner()
    r = runner.invoke(keys_cli(), ["keys", "set", "runway", "--stdin"], input=SECRET + "\n")
    assert r.exit_code == 0, r.output
    assert keys.get_key("runway") == SECRET
    assert SECRET not in r.output
    monkeypatch.setenv("MY_FAL", "fal_from_env_123456")
    r = runner.invoke(keys_cli(), ["keys", "set", "fal", "--from-env", "MY_FAL"])
    assert r.exit_code == 0 and keys.get_key("fal") == "fal_from_env_123456"
    r = runner.invoke(keys_cli(), ["keys", "list", "--json"])
    assert r.exit_code == 0 and SECRET not in r.output and "fal_from_env" not in r.output
    assert '"source": "keys file"' in r.output
    r = runner.invoke(keys_cli(), ["keys", "list"])
    assert r.exit_code == 0 and SECRET not in r.output and "runway" in r.output
    r = runner.invoke(keys_cli(), ["keys", "remove", "runway"])
    assert r.exit_code == 0 and keys.get_key("runway") is None
    r = runner.invoke(keys_cli(), ["keys", "remove", "runway"])
    assert r.exit_code == 2
    r = runner.invoke(keys_cli(), ["keys", "set", "fal", "--from-env", "UNSET_VAR_X"])
    assert r.exit_code == 2
    r = runner.invoke(keys_cli(), ["keys", "set", "nosuch", "--stdin"], input="abc\n")
    assert r.exit_code == 2
