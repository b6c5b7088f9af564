"""`openai` planner: OpenAI chat completions with a strict JSON schema (`response_format`), into
ttv's plan schema. See planner_common.py for the prompt, validation, re-ask and snapping.

Setup: `pip install 'ttv[openai]'`, then OPENAI_API_KEY or `ttv keys set openai`.
Options (`[backends.openai]` in ttv.toml): model, temperature, retries, reask, base_url (any
OpenAI-compatible server), max_prompt_chars, max_keyframe_chars, max_input_chars.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import Options
from ttv.backends.keycheck import Live, http_get, is_network_error
from ttv.backends.remote.common import classify_http, network_error
from ttv.backends.remote.planner_common import Completion, LLMPlanner, LLMPlannerOptions
from ttv.core import keys as keyring
from ttv.core.errors import BackendError
from ttv.core.keys import KeyProvider

OPENAI_KEY = KeyProvider("openai", ("OPENAI_API_KEY",), "https://platform.openai.com/api-keys")


def live_openai(key: str, base_url: str | None, timeout: float = 15.0, *, options: Sequence[Any] = ()) -> Live:
    """`ttv doctor --online`: `GET /v1/models`."""
    base = (base_url or "https://api.openai.com/v1").rstrip("/")
    try:
        resp = http_get(f"{base}/models", {"Authorization": f"Bearer {key}"}, timeout)
    except Exception as exc:
        if is_network_error(exc):
            return Live("network", f"cannot reach the OpenAI API: {type(exc).__name__}")
        raise
    if resp.status_code == 401:
        return Live("bad-key", "the key was refused (HTTP 401)")
    if resp.status_code == 429 and "insufficient_quota" in resp.text:
        return Live("no-credits", "insufficient_quota")
    if resp.status_code == 200:
        return Live("ok", "model list readable")
    return Live("error", f"HTTP {resp.status_code}")

# Reasoning models reject temperature and seed.
_NO_SAMPLING = ("o1", "o3", "o4", "gpt-5")


class OpenAIPlannerOptions(LLMPlannerOptions):
    model: str = Field("gpt-4o-mini", description="OpenAI model id (o-series/gpt-5: no temperature)")


class OpenAIPlanner(LLMPlanner):
    name: ClassVar[str] = "openai"
    summary: ClassVar[str] = "LLM shot planner: OpenAI chat completions with a strict JSON schema (extra: openai)"
    extra: ClassVar[str | None] = "openai"
    key_provider: ClassVar[KeyProvider] = OPENAI_KEY
    key_check = staticmethod(live_openai)
    base_url_env = ("OPENAI_BASE_URL",)
    packages = ("openai",)
    sdk_module: ClassVar[str] = "openai"
    sdk_pip: ClassVar[str] = "ttv[openai]"
    default_model: ClassVar[str] = "gpt-4o-mini"
    OptionsModel: ClassVar[type[Options]] = OpenAIPlannerOptions
    token_prices: ClassVar[dict[str, tuple[float, float]]] = {
        "gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.0), "gpt-4.1-mini": (0.40, 1.60), "o4-mini": (1.10, 4.40)}
    token_price_source: ClassVar[str] = "USD per 1M tokens in/out, OpenAI pricing page 2026-11 (verify)"

    def client(self) -> Any:
        def build() -> Any:
            import openai

            return openai.OpenAI(api_key=self.api_key(), base_url=self.opts.base_url, max_retries=0,
                                 timeout=self.opts.request_timeout_s)

        return self.lazy("_client", build)

    def sampling(self) -> bool:
        return not self.model_name().startswith(_NO_SAMPLING)

    def request_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"model": self.model_name(), "api": "chat.completions",
                                  "response_format": "json_schema (strict, see schema)",
                                  "max_completion_tokens": self.opts.max_output_tokens}
        if self.sampling():
            params["temperature"] = self.opts.temperature
        return params

    def translate(self, exc: Exception) -> BackendError:
        import httpx
        import openai

        if isinstance(exc, BackendError):
            return exc
        if isinstance(exc, openai.APIStatusError):
            body = exc.body
            message = ""
            if isinstance(body, dict):
                inner = body.get("error", body)
                message = str(inner.get("message", inner) if isinstance(inner, dict) else inner)
            return classify_http(self.name, exc.status_code, message or exc.message, dict(exc.response.headers),
                                 what="plan request")
        if isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError, httpx.TransportError, TimeoutError)):
            return network_error(self.name, exc, what="plan request")
        return BackendError(f"{self.name}: plan request failed: {type(exc).__name__}: {keyring.redact(exc)}"[:400],
                            kind="backend", code=type(exc).__name__)

    def complete(self, system: str, messages: list[dict[str, str]], schema: dict[str, Any], seed: int) -> Completion:
        args: dict[str, Any] = {
            "model": self.model_name(),
            "messages": [{"role": "system", "content": system}, *messages],
            "response_format": {"type": "json_schema",
                                "json_schema": {"name": "shot_plan", "strict": True, "schema": schema}},
            "max_completion_tokens": self.opts.max_output_tokens,
        }
        if self.sampling():
            args["temperature"] = self.opts.temperature
            args["seed"] = int(seed)
        try:
            resp = self.client().chat.completions.create(**args)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified
            raise self.translate(exc) from None
        choices = getattr(resp, "choices", None) or []
        if not choices:
            return Completion(text=None, refusal=None, finish_reason="no choices")
        choice = choices[0]
        message = choice.message
        finish = str(choice.finish_reason or "")
        refusal = getattr(message, "refusal", None)
        if finish == "content_filter" and not refusal:
            refusal = "the answer was filtered (content_filter)"
        usage = getattr(resp, "usage", None)
        used = {"prompt_tokens": getattr(usage, "prompt_tokens", None),
                "output_tokens": getattr(usage, "completion_tokens", None),
                "total_tokens": getattr(usage, "total_tokens", None)} if usage is not None else {}
        return Completion(text=message.content, refusal=refusal, finish_reason=finish, truncated=finish == "length",
                          usage={k: v for k, v in used.items() if v is not None}, model=str(resp.model or ""))
