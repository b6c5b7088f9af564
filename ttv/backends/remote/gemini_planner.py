"""`gemini` planner: Google Gemini through `google-genai`, structured output (`response_json_schema`)
into ttv's plan schema. See planner_common.py for the prompt, validation, re-ask and snapping.

Setup: `pip install 'ttv[remote]'`, then GOOGLE_API_KEY (or GEMINI_API_KEY) or `ttv keys set google`.
Options (`[backends.gemini]` in ttv.toml): model, temperature, retries, reask, base_url, api_version,
vertexai, max_prompt_chars, max_keyframe_chars, max_input_chars.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from ttv.backends.base import Options
from ttv.backends.remote.google_common import (
    GOOGLE_KEY,
    PACKAGES,
    TESTED,
    _enum_name,
    blocked_reason,
    genai_client,
    live_google,
    translate_genai,
    usage_of,
)
from ttv.backends.remote.planner_common import Completion, LLMPlanner, LLMPlannerOptions
from ttv.core.errors import BackendError
from ttv.core.keys import KeyProvider


class GeminiPlannerOptions(LLMPlannerOptions):
    model: str = Field("gemini-2.5-flash", description="Gemini model id")
    api_version: str | None = Field(None, description='API version, e.g. "v1beta" (default: the SDK\'s)')
    vertexai: bool = Field(False, description="use Vertex AI (express mode with an API key)")


class GeminiPlanner(LLMPlanner):
    name: ClassVar[str] = "gemini"
    summary: ClassVar[str] = "LLM shot planner: Google Gemini structured output (google-genai)"
    key_provider: ClassVar[KeyProvider] = GOOGLE_KEY
    key_check = staticmethod(live_google)
    packages = PACKAGES
    tested_versions = TESTED
    sdk_module: ClassVar[str] = "google.genai"
    default_model: ClassVar[str] = "gemini-2.5-flash"
    OptionsModel: ClassVar[type[Options]] = GeminiPlannerOptions
    token_prices: ClassVar[dict[str, tuple[float, float]]] = {
        "gemini-2.5-flash": (0.30, 2.50), "gemini-2.5-flash-lite": (0.10, 0.40), "gemini-2.5-pro": (1.25, 10.0)}
    token_price_source: ClassVar[str] = "USD per 1M tokens in/out, Google AI pricing page 2026-11 (verify)"

    @property
    def gopts(self) -> GeminiPlannerOptions:
        assert isinstance(self.options, GeminiPlannerOptions)
        return self.options

    def client(self) -> Any:
        o = self.gopts
        return self.lazy("_client", lambda: genai_client(self.api_key(), base_url=o.base_url,
                                                         api_version=o.api_version, timeout_s=o.request_timeout_s,
                                                         vertexai=o.vertexai))

    def translate(self, exc: Exception) -> BackendError:
        return translate_genai(self.name, exc, "plan request")

    def request_params(self) -> dict[str, Any]:
        return {**super().request_params(), "api": "models.generate_content",
                "response_mime_type": "application/json", "response_json_schema": "(see schema)"}

    def complete(self, system: str, messages: list[dict[str, str]], schema: dict[str, Any], seed: int) -> Completion:
        from google.genai import types

        o = self.gopts
        contents = [types.Content(role="model" if m["role"] == "assistant" else "user",
                                  parts=[types.Part(text=m["content"])]) for m in messages]
        config = types.GenerateContentConfig(system_instruction=system, response_mime_type="application/json",
                                             response_json_schema=schema, temperature=o.temperature,
                                             max_output_tokens=o.max_output_tokens, seed=int(seed) % 2147483647)
        try:
            resp = self.client().models.generate_content(model=self.model_name(), contents=contents, config=config)
        except BackendError:
            raise
        except Exception as exc:  # noqa: BLE001 - classified
            raise self.translate(exc) from None
        refusal = blocked_reason(resp)
        candidates = getattr(resp, "candidates", None) or []
        text_parts: list[str] = []
        finish = ""
        if candidates:
            finish = _enum_name(getattr(candidates[0], "finish_reason", None))
            content = getattr(candidates[0], "content", None)
            for part in (getattr(content, "parts", None) or []):
                if getattr(part, "text", None) and not getattr(part, "thought", False):
                    text_parts.append(part.text)
        elif refusal is None:
            refusal = "no answer (the response has no candidates)"
        return Completion(text="".join(text_parts) if text_parts else None, refusal=refusal, finish_reason=finish,
                          truncated=finish == "MAX_TOKENS", usage=usage_of(resp),
                          model=str(getattr(resp, "model_version", "") or ""))


__all__ = ["GeminiPlanner", "GeminiPlannerOptions", "blocked_reason", "genai_client", "translate_genai", "usage_of"]
