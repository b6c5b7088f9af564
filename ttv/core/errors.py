"""One small error hierarchy; each error knows its exit code and a hint for the next step."""

from __future__ import annotations

from typing import Literal

# Exit codes, documented in `ttv --help` (see ttv/cli.py).
EXIT_OK = 0
EXIT_STEP_FAILED = 1
EXIT_USAGE = 2
EXIT_BACKEND = 3
EXIT_TIMEOUT = 4
EXIT_PARTIAL = 5
EXIT_INTERRUPTED = 130

# How a backend failure should be handled by the runner:
#   "retryable"  -> retry on the same backend with backoff (429, 5xx, timeouts, INTERNAL)
#   "backend"    -> permanent for this backend: try the next one in the fallback chain
#                   (unsupported input, quota/credits exhausted, auth, extra not installed)
#   "request"    -> permanent for this request (safety rejection): stop the segment
FailureKind = Literal["retryable", "backend", "request"]


class TtvError(Exception):
    """Base class: a message for humans, an optional hint (the next command to run)."""

    exit_code = EXIT_STEP_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(TtvError):
    """Bad ttv.toml / plan.toml / record / command-line value. Nothing was changed."""

    exit_code = EXIT_USAGE


class LockBusyError(TtvError):
    """Another ttv process holds the project lock."""

    exit_code = EXIT_USAGE


class StepFailed(TtvError):
    """A pipeline step failed (some item could not be produced)."""

    exit_code = EXIT_STEP_FAILED


class PartialFailure(TtvError):
    """--on-error keep-going finished, but some items failed."""

    exit_code = EXIT_PARTIAL


class TtvTimeout(TtvError):
    exit_code = EXIT_TIMEOUT


class BackendError(TtvError):
    """A backend could not produce an output. `kind` drives retry and fallback."""

    exit_code = EXIT_BACKEND

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        kind: FailureKind = "backend",
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.kind: FailureKind = kind
        self.code = code  # provider error code, e.g. "SAFETY.INPUT.TEXT", "429", "OOM"
        self.retry_after = retry_after  # seconds, when the provider said so


class AuthError(BackendError):
    def __init__(self, message: str, hint: str | None = None, *, code: str | None = "auth") -> None:
        super().__init__(message, hint, kind="backend", code=code)


class QuotaError(BackendError):
    def __init__(self, message: str, hint: str | None = None, *, code: str | None = "quota") -> None:
        super().__init__(message, hint, kind="backend", code=code)


class LocalIOError(TtvError):
    """A local file-system fault (disk full, permission, I/O error, a file that vanished, a planted
    symlink). Never a backend's fault: a remote job it interrupts stays resumable (see the runner)."""

    exit_code = EXIT_STEP_FAILED


class UnsafePathError(LocalIOError):
    """A path ttv was about to write, rename or delete is a symlink or resolves outside the project."""


class InputRejected(BackendError):
    """validate_inputs() refused the request, or the provider rejected the input (e.g. safety)."""

    def __init__(
        self, message: str, hint: str | None = None, *, code: str | None = "invalid-input", permanent_for_request: bool = False
    ) -> None:
        super().__init__(message, hint, kind="request" if permanent_for_request else "backend", code=code)


class UncertainSubmit(BackendError):
    """A submit's outcome is unknown (timeout or reset after sending, or a run that stopped mid-submit): a
    paid job may exist with no id on record. The item stops (no retry, no fallback) until the user checks
    and resubmits with `--force`."""

    def __init__(self, provider: str, cause: str, item_id: str, estimated_usd: float = 0.0) -> None:
        super().__init__(
            f"{provider}: the submit may have been accepted, but its answer was lost ({cause}); a paid job "
            "may exist that ttv has no id for",
            hint=f"check the {provider} dashboard or task list for a job made then; if there is none, "
                 f"`ttv run --force --only {item_id}` submits again (a second job is paid if the first exists)",
            kind="request", code="uncertain")
        self.estimated_usd = estimated_usd
