"""A backend installed by another distribution through the `ttv.backends` entry point gets everything a
built-in gets: its own API key (`ttv keys set`), its own prices (`ttv estimate`, `[prices]`), its own
live key check (`ttv doctor --online`) and a render, with no edit to ttv.

The package is installed the way pip leaves one: a module plus a `*.dist-info` folder holding METADATA
and entry_points.txt, in a site folder put on PYTHONPATH of real `python -m ttv` processes. Its API is
a loopback fake that checks the key and answers with a real mp4.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.fakeserver import PROVIDER_ENV, LoopbackServer
from tests.plugins.myprov_src import MODULE
from ttv.core.tomlio import load_toml

REPO = Path(__file__).resolve().parents[2]
KEY = "mp_live_SECRET_0123456789abcdef"


def install_plugin(site: Path) -> None:
    """What `pip install ttv-myprov` would leave in site-packages (no network, no build)."""
    site.mkdir(parents=True)
    (site / "ttv_myprov.py").write_text(MODULE, encoding="utf-8")
    info = site / "ttv_myprov-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ttv-myprov\nVersion: 0.1.0\nRequires-Dist: ttv\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text("[ttv.backends]\nmyprov = ttv_myprov:MyProvBackend\n", encoding="utf-8")
    (info / "top_level.txt").write_text("ttv_myprov\n", encoding="utf-8")
    (info / "RECORD").write_text("ttv_myprov.py,,\nttv_myprov-0.1.0.dist-info/METADATA,,\n"
                                 "ttv_myprov-0.1.0.dist-info/entry_points.txt,,\n", encoding="utf-8")


class FakeMyProv:
    """`GET /v1/me` (balance) and `POST /v1/render` (an mp4 of the asked size), both behind the key."""

    def __init__(self) -> None:
        self.renders: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:
                pass

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {KEY}":
                    return True
                self._send(401, b'{"error": "bad key"}', "application/json")
                return False

            def _send(self, code: int, body: bytes, ctype: str) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path == "/v1/me" and self._authorized():
                    self._send(200, json.dumps({"balance_usd": 12.5}).encode(), "application/json")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if self.path != "/v1/render" or not self._authorized():
                    return
                with outer.lock:
                    outer.renders.append(body)
                self._send(200, outer.mp4(body), "video/mp4")

        self.server = LoopbackServer(Handler)

    @staticmethod
    def mp4(body: dict[str, Any]) -> bytes:
        import tempfile

        import numpy as np

        from ttv.core import media

        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "clip.mp4"
            with media.FrameWriter(out, int(body["width"]), int(body["height"]), int(body["fps"]),
                                   preset="ultrafast") as writer:
                for i in range(int(body["frames"])):
                    writer.write(np.full((int(body["height"]), int(body["width"]), 3), (40 * i) % 255, np.uint8))
            return out.read_bytes()


@pytest.fixture
def plugin_env(tmp_path: Path) -> Any:
    site = tmp_path / "site"
    install_plugin(site)
    fake = FakeMyProv()
    env = {k: v for k, v in os.environ.items() if k not in PROVIDER_ENV and k not in ("MYPROV_API_KEY",)}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(REPO)]), TTV_HOME=str(tmp_path / "home"), NO_COLOR="1",
               MYPROV_BASE_URL=fake.server.url, COLUMNS="200")
    yield env, fake
    fake.server.close()


def ttv(env: dict[str, str], *args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ttv", *args], env=env, input=stdin, capture_output=True, text=True,
                          cwd=cwd, timeout=240)


def test_a_plugin_backend_gets_keys_prices_doctor_and_a_render(plugin_env: Any, tmp_path: Path) -> None:
    env, fake = plugin_env
    # Its own key: stored under its own provider name, listed with its own environment variable.
    r = ttv(env, "keys", "set", "myprov", "--stdin", stdin=KEY + "\n")
    assert r.returncode == 0, r.stderr
    assert load_toml(tmp_path / "home" / "keys.toml")["keys"] == {"myprov": KEY}
    r = ttv(env, "keys", "list", "--json")
    rows = {p["provider"]: p for p in json.loads(r.stdout)["providers"]}
    assert rows["myprov"]["env"] == ["MYPROV_API_KEY"] and rows["myprov"]["source"] == "keys file"
    assert "runway" in rows  # the built-ins are still there, from the same entry points
    r = ttv(env, "backends", "info", "myprov", "--json")
    info = json.loads(r.stdout)
    assert info["key"] == {"provider": "myprov", "env": ["MYPROV_API_KEY"], "help": "https://myprov.example/keys"}
    assert info["prices"][0].startswith("myprov/m1: $0.07/s") and info["available"]

    root = tmp_path / "film"
    r = ttv(env, "init", str(root), "--idea", "A lighthouse at dawn. A boat leaves. The sea at night.",
            "--backend", "myprov", "--segments", "3", "--duration", "3", "--width", "160", "--height", "96",
            "--fps", "8", "--mode", "chain")  # the plugin takes text or a first frame: chaining, not keyframes
    assert r.returncode == 0, r.stderr

    # Its own prices: every clip from its row, and a `[prices]` override of its row is accepted.
    r = ttv(env, "estimate", "--json", "-p", str(root))
    assert r.returncode == 0, r.stderr
    clips = [i for i in json.loads(r.stdout)["items"] if i["kind"] == "clip"]
    assert len(clips) == 3 and all(c["usd"] == pytest.approx(0.07) and "myprov/m1" in c["source"] for c in clips)
    config = load_toml(root / "ttv.toml")
    config["prices"] = {"myprov/m1": 0.5}
    (root / "ttv.toml").write_text(tomli_w.dumps(config))
    r = ttv(env, "estimate", "--json", "-p", str(root))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["totals"]["usd"] == pytest.approx(1.5)

    # Its own doctor checks: the backend loads, the key is found and checked live against its API.
    r = ttv(env, "doctor", "--json", "--online", "-p", str(root))
    checks = {c["name"]: c for c in json.loads(r.stdout)["checks"]}
    assert checks["backend: myprov"]["status"] == "ok", checks["backend: myprov"]
    assert checks["mode: myprov"]["status"] == "ok"  # its declared modes fit chaining (judged like a built-in's)
    key_row = checks["key: myprov"]
    assert key_row["status"] == "ok" and key_row["data"]["live"] == "ok" and "balance $12.50" in key_row["detail"]
    assert KEY not in r.stdout

    # A render through it, with the key from the keys file.
    for step in ("plan", "keyframes", "chain"):
        r = ttv(env, step, "-p", str(root))
        assert r.returncode == 0, f"{step}: {r.stdout}\n{r.stderr}"
    assert len(fake.renders) == 3 and {b["frames"] for b in fake.renders} == {8}
    for seg in ("s000", "s001", "s002"):
        record = load_toml(root / "clips" / f"{seg}.toml")
        assert record["status"] == "done" and record["backend"] == "myprov"
        assert record["cost_usd"] == pytest.approx(0.5)  # its own row, with the project's [prices] override
        assert (root / "clips" / f"{seg}.mp4").stat().st_size > 0
    leaked = [p for p in root.rglob("*") if p.is_file() and KEY.encode() in p.read_bytes()]
    assert leaked == []


def test_builtins_come_from_the_entry_points_or_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    """One list: the installed entry points; a source checkout without metadata reads the same table
    from pyproject.toml."""
    from ttv.backends import registry

    declared = load_toml(REPO / "pyproject.toml")["project"]["entry-points"]["ttv.backends"]
    assert not hasattr(registry, "BUILTINS")
    registry._table.cache_clear()
    try:
        assert {k: v for k, v in registry._table().items() if k in declared} == declared
        monkeypatch.setattr(registry, "entry_points", lambda group: [])
        registry._table.cache_clear()
        assert registry._table() == declared
    finally:
        monkeypatch.undo()
        registry._table.cache_clear()


def test_help_key_lookups_and_redaction_import_no_backend_module() -> None:
    code = (
        "import sys, ttv.cli\n"
        "from typer.testing import CliRunner\n"
        "assert CliRunner().invoke(ttv.cli.app, ['--help']).exit_code == 0\n"
        "from ttv.core import keys\n"
        "keys.get_key(keys.KeyProvider('x', ('X_KEY',), 'nowhere'))\n"  # a declared provider: no catalogue load
        "keys.redact('nothing secret')\n"  # events, records and --json check this on every write
        "print(sorted(m for m in sys.modules if m.startswith('ttv.backends.')))\n"  # the package itself is tiny
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "[]"
