"""What Google's backends (Veo, the Gemini planner, Gemini image keyframes) share: the key, the
google-genai client, error translation, answer inspection, and the live key check for
`ttv doctor --online` (`models.list`, on Vertex AI for express-mode keys)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ttv.backends.keycheck import Live, is_network_error
from ttv.backends.remote.common import classify_http, network_error
from ttv.core import keys as keyring
from ttv.core.errors import BackendError
from ttv.core.keys import KeyProvider

GOOGLE_KEY = KeyProvider("google", ("GOOGLE_API_KEY", "GEMINI_API_KEY"),
                         "Google AI Studio or a Vertex AI express-mode API key")
PACKAGES = ("google-genai",)
TESTED = {"google-genai": ">=1.75"}  # the SDK these backends were written and tested against
# The SDK reads GOOGLE_GEMINI_BASE_URL / GOOGLE_VERTEX_BASE_URL itself: no base-URL variable of ours.


# Finish reasons that mean "the provider's filter stopped the answer" rather than a usable text.
REFUSAL_REASONS = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION", "IMAGE_SAFETY"}


def genai_client(key: str, *, base_url: str | None, api_version: str | None, timeout_s: float,
                 vertexai: bool = False) -> Any:
    """A google-genai client with no SDK retries (ttv retries with its own backoff)."""
    from google import genai
    from google.genai import types

    http = types.HttpOptions(base_url=base_url, api_version=api_version, timeout=int(timeout_s * 1000))
    if vertexai:
        return genai.Client(vertexai=True, api_key=key, http_options=http)
    return genai.Client(api_key=key, http_options=http)


def translate_genai(name: str, exc: Exception, what: str) -> BackendError:
    """google-genai / httpx exception -> classified BackendError (keys redacted)."""
    import httpx

    try:
        from google.genai import errors as genai_errors
    except ImportError:  # pragma: no cover
        genai_errors = None  # type: ignore[assignment]
    if isinstance(exc, BackendError):
        return exc
    if genai_errors is not None and isinstance(exc, genai_errors.APIError):
        headers = getattr(getattr(exc, "response", None), "headers", None)
        message = str(exc.message or exc.status or exc)
        err = classify_http(name, int(exc.code or 0), message, dict(headers) if headers else None, what=what)
        if exc.code == 400 and "api key" in message.lower():
            from ttv.core.errors import AuthError

            return AuthError(err.message, hint="check the Google API key (`ttv keys list`, `ttv doctor`)", code="400")
        return err
    if isinstance(exc, (httpx.TransportError, TimeoutError, ConnectionError)):
        return network_error(name, exc, what=what)
    return BackendError(f"{name}: {what} failed: {type(exc).__name__}: {keyring.redact(exc)}"[:400], kind="backend",
                        code=type(exc).__name__)


def _enum_name(value: Any) -> str:
    if value is None:
        return ""
    return str(getattr(value, "name", value))


def usage_of(resp: Any) -> dict[str, Any]:
    meta = getattr(resp, "usage_metadata", None)
    if meta is None:
        return {}
    out = {"prompt_tokens": getattr(meta, "prompt_token_count", None),
           "output_tokens": getattr(meta, "candidates_token_count", None),
           "total_tokens": getattr(meta, "total_token_count", None)}
    return {k: v for k, v in out.items() if v is not None}


def blocked_reason(resp: Any) -> str | None:
    """Why Gemini refused (prompt blocked or answer filtered), or None."""
    feedback = getattr(resp, "prompt_feedback", None)
    block = _enum_name(getattr(feedback, "block_reason", None)) if feedback is not None else ""
    if block and block != "BLOCKED_REASON_UNSPECIFIED":
        msg = getattr(feedback, "block_reason_message", None)
        return f"prompt blocked ({block})" + (f": {msg}" if msg else "")
    candidates = getattr(resp, "candidates", None) or []
    if candidates:
        reason = _enum_name(getattr(candidates[0], "finish_reason", None))
        if reason in REFUSAL_REASONS:
            return f"answer blocked ({reason})"
    return None


def live_google(key: str, base_url: str | None, timeout: float = 15.0, vertexai: bool = False, *,
                options: Sequence[Any] = ()) -> Live:
    """Gemini API (`GET /v1/models`) or, for Vertex AI express-mode keys (Veo's default, or any configured
    backend with `api = "vertex"` / `vertexai = true`), the Vertex publisher model list
    (`GET /v1beta1/publishers/google/models`)."""
    from google import genai
    from google.genai import errors, types

    vertex = vertexai or any(getattr(o, "api", None) == "vertex" or bool(getattr(o, "vertexai", False))
                             for o in options)
    vertex = vertex or os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() in ("1", "true", "yes")
    try:
        client = genai.Client(api_key=key, vertexai=vertex or None,
                              http_options=types.HttpOptions(base_url=base_url, timeout=int(timeout * 1000)))
        pager = client.models.list(config={"page_size": 5})
        names = [str(getattr(m, "name", "")) for m in list(pager.page)[:5]]
    except errors.ClientError as exc:
        code = int(getattr(exc, "code", 0) or 0)
        text = f"{getattr(exc, 'status', '')} {getattr(exc, 'message', '')}"
        if code in (401, 403) or "API_KEY" in text.upper() or "API KEY" in text.upper():
            return Live("bad-key", f"the key was refused (HTTP {code})")
        if code == 429:
            return Live("no-credits", "HTTP 429 RESOURCE_EXHAUSTED: quota or billing exhausted")
        return Live("error", f"HTTP {code}")
    except errors.APIError as exc:
        return Live("error", f"HTTP {getattr(exc, 'code', '?')} from the Google API")
    except Exception as exc:
        if is_network_error(exc):
            return Live("network", f"cannot reach the Google API: {type(exc).__name__}")
        raise
    return Live("ok", f"model list readable ({len(names)} shown)", {"models": names})
