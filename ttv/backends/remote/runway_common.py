"""What Runway's video and image backends share: the key, the credit price, task statuses, error
classification and the live key check (`ttv doctor --online`: `GET /v1/organization`)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from ttv.backends.keycheck import Live
from ttv.backends.remote.common import classify_http, network_error
from ttv.core import keys as keyring
from ttv.core.errors import BackendError, InputRejected
from ttv.core.keys import KeyProvider

RUNWAY_KEY = KeyProvider("runway", ("RUNWAYML_API_SECRET",), "https://dev.runwayml.com (API keys)",
                         aliases=("runwayml",))
USD_PER_RUNWAY_CREDIT = 0.01  # prepaid credits
PRICE_SOURCE = "runwayml/skills rw-api-reference; litellm price table"
BASE_URL_ENV = ("RUNWAYML_BASE_URL",)
PACKAGES = ("runwayml",)
TESTED = {"runwayml": ">=5,<6"}  # the SDK these backends were written and tested against


# Failure codes (Runway API reference): how each is handled.
def classify_failure(code: str, message: str, job_id: str) -> BackendError:
    text = f"runway: task {job_id} failed ({code or 'no code'}): {keyring.redact(message)}"[:400]
    if code.startswith("SAFETY.INPUT"):
        return InputRejected(text, hint="the provider refused the input for safety; edit the prompt or keyframe",
                             code=code, permanent_for_request=True)
    if code.startswith("SAFETY.OUTPUT"):
        # Output moderation: the same prompt tends to trip it again; let the next backend try.
        return BackendError(text, hint="edit the prompt, or let the fallback backend try", kind="backend", code=code)
    if code.startswith("INTERNAL") or code in ("", "UNKNOWN"):
        return BackendError(text, kind="retryable", code=code or "INTERNAL")
    if code.startswith("ASSET"):
        return BackendError(text, hint="the provider could not use the input image", kind="backend", code=code)
    return BackendError(text, kind="backend", code=code)


# Runway task statuses -> ttv's (video and image tasks alike).
TASK_STATUS = {"PENDING": "queued", "THROTTLED": "throttled", "RUNNING": "running",
               "SUCCEEDED": "succeeded", "FAILED": "failed", "CANCELLED": "cancelled"}


def translate_sdk_error(name: str, exc: Exception, what: str) -> BackendError | None:
    """A runwayml SDK error (HTTP status, connection, timeout) as a classified BackendError; None for
    any other exception."""
    import runwayml

    if isinstance(exc, runwayml.APIStatusError):
        body = exc.body if isinstance(exc.body, (str, dict)) else ""
        message = str(body.get("error") or body) if isinstance(body, dict) else str(body or exc.message)
        return classify_http(name, exc.status_code, message, dict(exc.response.headers), what=what)
    if isinstance(exc, (runwayml.APIConnectionError, runwayml.APITimeoutError)):
        return network_error(name, exc, what=what)
    return None


def live_runway(key: str, base_url: str | None, timeout: float = 15.0, *, options: Sequence[Any] = ()) -> Live:
    """Credit balance and tier limits of the key's organization."""
    import runwayml

    client = runwayml.RunwayML(api_key=key, base_url=base_url, max_retries=0, timeout=timeout)
    try:
        org = client.organization.retrieve()
    except (runwayml.AuthenticationError, runwayml.PermissionDeniedError) as exc:
        return Live("bad-key", f"the key was refused (HTTP {exc.status_code})")
    except runwayml.APIStatusError as exc:
        if exc.status_code == 402:
            return Live("no-credits", "HTTP 402: no credits")
        return Live("error", f"HTTP {exc.status_code}: {keyring.redact(str(exc))[:200]}")
    except runwayml.APIConnectionError as exc:
        return Live("network", f"cannot reach the Runway API: {type(exc).__name__}")
    finally:
        with contextlib.suppress(Exception):
            client.close()
    credits = int(getattr(org, "credit_balance", 0) or 0)
    tier = getattr(org, "tier", None)
    monthly = getattr(tier, "max_monthly_credit_spend", None)
    limits = {m: {"concurrent": getattr(v, "max_concurrent_generations", None),
                  "daily": getattr(v, "max_daily_generations", None)}
              for m, v in (getattr(tier, "models", None) or {}).items()}
    usd = credits * USD_PER_RUNWAY_CREDIT
    data = {"credit_balance": credits, "usd": round(usd, 2), "max_monthly_credit_spend": monthly, "limits": limits}
    if credits <= 0:
        return Live("no-credits", "the key works but the credit balance is 0", data)
    return Live("ok", f"{credits} credits (${usd:.2f})" + (f"; tier cap {monthly} credits/month" if monthly else ""),
                data)
