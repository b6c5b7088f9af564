"""API keys: present or not (never printed), and with --online a live check against fake servers on 127.0.0.1
that tells a good key, a bad key, an account without credits and a network failure apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ttv.backends.remote.fal import live_fal
from ttv.backends.remote.google_common import live_google
from ttv.backends.remote.minimax import live_minimax
from ttv.backends.remote.openai_planner import live_openai
from ttv.backends.remote.runway_common import live_runway
from ttv.cli import app

from .conftest import FakeAPI, Seen, write_project

RUNWAY_KEY = "key_runway_DOCTOR_0123456789abcdef"
GOOGLE_KEY = "AQ.google_DOCTOR_0123456789abcdef"
FAL_KEY = "fal_DOCTOR_0123456789abcdef:0123"
MINIMAX_KEY = "mm_DOCTOR_0123456789abcdef"


def runway_routes(balance: int = 1000) -> dict[tuple[str, str], Any]:
    def org(seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") != f"Bearer {RUNWAY_KEY}":
            return 401, {"error": "Invalid API key"}
        return 200, {"creditBalance": balance,
                     "tier": {"maxMonthlyCreditSpend": 10000,
                              "models": {"gen4_turbo": {"maxConcurrentGenerations": 2, "maxDailyGenerations": 50}}},
                     "usage": {"models": {"gen4_turbo": {"dailyGenerations": 3}}}}

    return {("GET", "/v1/organization"): org}


def google_routes(status: int = 200) -> dict[tuple[str, str], Any]:
    def models(seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("x-goog-api-key") != GOOGLE_KEY:
            return 400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                   "status": "INVALID_ARGUMENT", "details": [{"reason": "API_KEY_INVALID"}]}}
        if status == 429:
            return 429, {"error": {"code": 429, "message": "You exceeded your current quota",
                                   "status": "RESOURCE_EXHAUSTED"}}
        return 200, {"models": [{"name": "models/veo-3.1-generate-preview"}, {"name": "models/gemini-2.5-flash"}]}

    return {("GET", "/v1/models"): models, ("GET", "/v1beta/models"): models,
            ("GET", "/v1beta1/publishers/google/models"): models}


def fal_routes(*, balance: float = 25.0, admin: bool = True, locked: bool = False) -> dict[tuple[str, str], Any]:
    def billing(seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") != f"Key {FAL_KEY}":
            return 401, {"detail": "Invalid API key"}
        if locked:
            return 403, {"detail": "User is locked. Reason: Exhausted balance. Top up your balance at "
                                   "fal.ai/dashboard/billing."}
        if not admin:
            return 403, {"detail": "This endpoint requires an Admin API key"}
        return 200, {"username": "my-team", "credits": {"current_balance": balance, "currency": "USD"}}

    def pricing(seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") != f"Key {FAL_KEY}":
            return 401, {"detail": "Invalid API key"}
        return 200, {"prices": [{"endpoint_id": seen.query["endpoint_id"][0], "unit_price": 0.1, "unit": "second"}]}

    return {("GET", "/account/billing"): billing, ("GET", "/models/pricing"): pricing}


def minimax_routes(code_for_good_key: int = 2013) -> dict[tuple[str, str], Any]:
    def query(seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") != f"Bearer {MINIMAX_KEY}":
            return 200, {"base_resp": {"status_code": 1004, "status_msg": "login fail: invalid api key"}}
        return 200, {"task_id": "", "status": "", "base_resp": {"status_code": code_for_good_key, "status_msg": "x"}}

    return {("GET", "/v1/query/video_generation"): query}


# ---- the live checks, one provider at a time ---------------------------------------------------

def test_runway_states(fake_api: Any, closed_port: str) -> None:
    api: FakeAPI = fake_api(runway_routes())
    ok = live_runway(RUNWAY_KEY, api.url)
    assert ok.state == "ok" and ok.data["credit_balance"] == 1000 and ok.data["usd"] == 10.0
    assert ok.data["max_monthly_credit_spend"] == 10000
    assert ok.data["limits"]["gen4_turbo"] == {"concurrent": 2, "daily": 50}
    assert live_runway("key_wrong_0123456789", api.url).state == "bad-key"
    broke: FakeAPI = fake_api(runway_routes(balance=0))
    assert live_runway(RUNWAY_KEY, broke.url).state == "no-credits"
    assert live_runway(RUNWAY_KEY, closed_port, timeout=2).state == "network"
    assert all(s.method == "GET" for s in api.seen)  # read-only


def test_google_states(fake_api: Any, closed_port: str) -> None:
    api: FakeAPI = fake_api(google_routes())
    ok = live_google(GOOGLE_KEY, api.url)
    assert ok.state == "ok" and "models/veo-3.1-generate-preview" in ok.data["models"]
    assert live_google("AQ.wrong_0123456789", api.url).state == "bad-key"
    quota: FakeAPI = fake_api(google_routes(status=429))
    assert live_google(GOOGLE_KEY, quota.url).state == "no-credits"
    assert live_google(GOOGLE_KEY, closed_port, timeout=2).state == "network"


def test_fal_states(fake_api: Any, closed_port: str) -> None:
    api: FakeAPI = fake_api(fal_routes())
    ok = live_fal(FAL_KEY, api.url)
    assert ok.state == "ok" and ok.data["balance_usd"] == 25.0
    assert live_fal("fal_wrong_0123456789", api.url).state == "bad-key"
    assert live_fal(FAL_KEY, fake_api(fal_routes(balance=0.0)).url).state == "no-credits"
    assert live_fal(FAL_KEY, fake_api(fal_routes(locked=True)).url).state == "no-credits"
    not_admin = live_fal(FAL_KEY, fake_api(fal_routes(admin=False)).url)
    assert not_admin.state == "ok" and "admin" in not_admin.detail
    assert live_fal(FAL_KEY, closed_port, timeout=2).state == "network"


def test_minimax_states(fake_api: Any, closed_port: str) -> None:
    api: FakeAPI = fake_api(minimax_routes())
    assert live_minimax(MINIMAX_KEY, api.url).state == "ok"
    assert live_minimax("mm_wrong_0123456789", api.url).state == "bad-key"
    assert live_minimax(MINIMAX_KEY, fake_api(minimax_routes(1008)).url).state == "no-credits"
    assert live_minimax(MINIMAX_KEY, closed_port, timeout=2).state == "network"


def test_openai_states(fake_api: Any, closed_port: str) -> None:
    def models(seen: Seen) -> tuple[int, Any]:
        if seen.headers.get("authorization") == "Bearer sk-good-0123456789":
            return 200, {"data": [{"id": "gpt-4o-mini"}]}
        if seen.headers.get("authorization") == "Bearer sk-broke-0123456789":
            return 429, {"error": {"code": "insufficient_quota", "message": "You exceeded your current quota"}}
        return 401, {"error": {"code": "invalid_api_key"}}

    api: FakeAPI = fake_api({("GET", "/v1/models"): models})
    assert live_openai("sk-good-0123456789", api.url + "/v1").state == "ok"
    assert live_openai("sk-bad-0123456789", api.url + "/v1").state == "bad-key"
    assert live_openai("sk-broke-0123456789", api.url + "/v1").state == "no-credits"
    assert live_openai("sk-good-0123456789", closed_port, timeout=2).state == "network"


# ---- through the CLI ------------------------------------------------------------------------------

def runway_project(root: Path, url: str, segments: int = 2) -> Path:
    return write_project(root, segments=segments, backend="runway", mode="chain",  # gen4_turbo: first frame only
                         backends={"runway": {"model": "gen4_turbo", "base_url": url}})


def doctor(runner: CliRunner, root: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    result = runner.invoke(app, ["doctor", "--project", str(root), "--json", *args])
    doc = json.loads(result.stdout)
    return result.exit_code, {c["name"]: c for c in doc["checks"]}, result.output


def test_missing_key_fails_for_the_configured_backend(runner: CliRunner, tmp_path: Path, fake_api: Any) -> None:
    api = fake_api(runway_routes())
    code, checks, _ = doctor(runner, runway_project(tmp_path / "film", api.url))
    key = checks["key: runway"]
    assert key["status"] == "fail" and "RUNWAYML_API_SECRET" in key["fix"] and key["data"]["present"] is False
    assert checks["backend: runway"]["status"] == "ok"  # loads, SDK present, model known: only the key is missing
    assert code == 1
    assert api.seen == []  # offline by default


def test_key_present_offline_then_online(runner: CliRunner, tmp_path: Path, fake_api: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", RUNWAY_KEY)
    api = fake_api(runway_routes())
    root = runway_project(tmp_path / "film", api.url)
    code, checks, output = doctor(runner, root)
    assert code == 0 and checks["key: runway"]["status"] == "ok" and "not verified" in checks["key: runway"]["detail"]
    assert api.seen == []
    code, checks, output = doctor(runner, root, "--online")
    key = checks["key: runway"]
    assert code == 0 and key["status"] == "ok" and key["data"]["live"] == "ok"
    assert key["data"]["credit_balance"] == 1000 and "1000 credits" in key["detail"]
    assert key["data"]["source"] == "env RUNWAYML_API_SECRET"
    assert len(api.seen) == 1 and api.seen[0].path == "/v1/organization"
    assert RUNWAY_KEY not in output
    table = runner.invoke(app, ["doctor", "--project", str(root), "--online"])
    assert RUNWAY_KEY not in table.output and "1000 credits" in table.stdout


@pytest.mark.parametrize(("env_key", "balance", "url_kind", "state", "status", "code"), [
    ("key_wrong_0123456789abcdef", 1000, "fake", "bad-key", "fail", 1),
    (RUNWAY_KEY, 0, "fake", "no-credits", "fail", 1),
    (RUNWAY_KEY, 1000, "closed", "network", "warn", 0),
    (RUNWAY_KEY, 30, "fake", "ok", "warn", 0),  # 30 credits < the 50 the two 5-s segments need
])
def test_key_states_through_the_cli(runner: CliRunner, tmp_path: Path, fake_api: Any, closed_port: str,
                                    monkeypatch: pytest.MonkeyPatch, env_key: str, balance: int, url_kind: str,
                                    state: str, status: str, code: int) -> None:
    monkeypatch.setenv("RUNWAYML_API_SECRET", env_key)
    url = fake_api(runway_routes(balance=balance)).url if url_kind == "fake" else closed_port
    exit_code, checks, output = doctor(runner, runway_project(tmp_path / "film", url), "--online")
    key = checks["key: runway"]
    assert key["data"]["live"] == state and key["status"] == status and exit_code == code
    assert key["fix"]
    assert env_key not in output


def test_outside_a_project_checks_every_key_that_is_set(runner: CliRunner, tmp_path: Path, fake_api: Any,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    google = fake_api(google_routes())
    monkeypatch.setenv("GOOGLE_API_KEY", "AQ.wrong_0123456789abcdef")
    monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", google.url)
    monkeypatch.setenv("MINIMAX_API_KEY", MINIMAX_KEY)
    monkeypatch.setenv("TTV_MINIMAX_BASE_URL", fake_api(minimax_routes()).url)
    result = runner.invoke(app, ["doctor", "--json", "--online"])
    doc = json.loads(result.stdout)
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["keys"]["data"]["providers"] == ["google", "minimax"]
    # Not needed by any project here: a bad key is a warning, not a failure.
    assert checks["key: google"]["data"]["live"] == "bad-key" and checks["key: google"]["status"] == "warn"
    assert checks["key: minimax"]["data"]["live"] == "ok"
    assert result.exit_code == 0
    assert "AQ.wrong_0123456789abcdef" not in result.output and MINIMAX_KEY not in result.output


def test_veo_key_is_checked_against_vertex(runner: CliRunner, tmp_path: Path, fake_api: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Veo defaults to Vertex AI express mode: its key is verified on the Vertex model list."""
    api = fake_api(google_routes())
    monkeypatch.setenv("GOOGLE_API_KEY", GOOGLE_KEY)
    root = write_project(tmp_path / "film", backend="veo", backends={"veo": {"base_url": api.url}})
    code, checks, output = doctor(runner, root, "--online")
    assert checks["key: google"]["data"]["live"] == "ok" and code == 0
    assert [s.path for s in api.seen] == ["/v1beta1/publishers/google/models"]
    assert GOOGLE_KEY not in output


def test_veo_on_vertex_with_a_project_needs_no_key(runner: CliRunner, tmp_path: Path) -> None:
    root = write_project(tmp_path / "film", backend="veo",
                         backends={"veo": {"api": "vertex", "project": "my-gcp-project"}})
    code, checks, _ = doctor(runner, root)
    assert "key: google" not in checks


@pytest.mark.parametrize("version", ["3.6.1", "2.34.0"])
def test_veo_gemini_route_works_on_any_google_genai(runner: CliRunner, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """The Gemini API route is plain REST: doctor passes it whatever google-genai is installed (3.x refuses
    generate_videos outside Vertex, which is why the route does not use the SDK)."""
    import importlib.metadata

    real = importlib.metadata.version
    monkeypatch.setattr(importlib.metadata, "version", lambda name: version if name == "google-genai" else real(name))
    monkeypatch.setenv("GEMINI_API_KEY", "AIza-doctor-test-0123456789")
    root = write_project(tmp_path / "film", backend="veo", backends={"veo": {"api": "gemini"}})
    code, checks, _ = doctor(runner, root)
    row = checks["backend: veo"]
    assert row["status"] == "ok", row
    assert "google-genai" not in row["detail"]


def test_a_route_needing_no_packages_needs_no_extra(runner: CliRunner, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend configured for a plain-HTTP route (`packages_needed()` empty) does not make its extra needed."""
    from ttv.backends.remote.veo import VeoBackend
    from ttv.pipeline import doctor as doc

    real = doc.dist_version
    monkeypatch.setattr(doc, "dist_version", lambda name: None if name == "google-genai" else real(name))
    monkeypatch.setattr(VeoBackend, "packages_needed", lambda self: () if self.vopts.api == "gemini" else ("google-genai",))
    monkeypatch.setattr(VeoBackend, "sdk_missing", lambda self: None)
    root = write_project(tmp_path / "film", backend="veo", backends={"veo": {"api": "gemini"}})
    _, checks, _ = doctor(runner, root)
    assert checks["packages: remote"]["status"] != "fail"
    root2 = write_project(tmp_path / "film2", backend="veo")
    _, checks, _ = doctor(runner, root2)
    assert checks["packages: remote"]["status"] == "fail" and checks["packages: remote"]["data"]["needed_by"] == "veo"


def test_an_unusable_primary_with_a_ready_fallback_warns(runner: CliRunner, tmp_path: Path) -> None:
    """The run skips a primary that cannot run here (no key) for the first usable fallback, so doctor
    failed while `ttv run` ran; now it warns, naming the fallback. Without the fallback it still fails."""
    root = write_project(tmp_path / "film", backend="runway", fallback=["animatic"], width=320, height=180)
    code, checks, _ = doctor(runner, root)
    assert checks["key: runway"]["status"] == "warn" and "falls back to animatic" in checks["key: runway"]["detail"]
    assert code == 0
    result = runner.invoke(app, ["run", "--project", str(root)])
    assert result.exit_code == 0, result.output  # the check that passed: the command runs
    alone = write_project(tmp_path / "alone", backend="runway")
    code, checks, _ = doctor(runner, alone)
    assert checks["key: runway"]["status"] == "fail" and code == 1
