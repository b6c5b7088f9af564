"""The kernel's registers that backend classes fill when they are defined (ttv/core/keys.py, prices.py)."""

from __future__ import annotations

from typing import ClassVar

import pytest

from ttv.backends.base import CostEstimate, GenerateResult, VideoBackend, VideoCapabilities
from ttv.core import keys, prices
from ttv.core.errors import ConfigError
from ttv.core.keys import KeyProvider
from ttv.core.prices import PriceRow

ACME = KeyProvider("zz-acme", ("ZZ_ACME_KEY",), "https://acme.example/keys", aliases=("acmesdk",))


def _backend(name: str, **facts: object) -> type[VideoBackend]:
    body: dict[str, object] = {
        "name": name, "capabilities": lambda self: VideoCapabilities(modes=["t2v"], remote=True),
        "estimate_cost": lambda self, r: CostEstimate(), "generate": lambda self, r, o, c: GenerateResult(), **facts}
    return type(f"B_{name.replace('-', '_')}", (VideoBackend,), body)


def test_a_class_registers_its_key_provider_and_name(monkeypatch: pytest.MonkeyPatch) -> None:
    _backend("zz-acme-video", key_provider=ACME)
    _backend("zz-acme-image", key_provider="zz-acme")  # shares the key by name
    for name in ("zz-acme", "zz-acme-video", "zz-acme-image", "acmesdk"):
        assert keys.canonical(name) == "zz-acme"
    monkeypatch.setenv("ZZ_ACME_KEY", "acme_secret_123456")
    assert keys.get_key("zz-acme-image") == "acme_secret_123456"
    assert "acme_secret_123456" not in keys.redact("token acme_secret_123456")


def test_two_different_declarations_of_one_provider_or_price_are_refused() -> None:
    keys.register_provider(ACME)  # the same facts again: fine
    with pytest.raises(ConfigError, match="declared twice"):
        _backend("zz-acme-other", key_provider=KeyProvider("zz-acme", ("OTHER",), "elsewhere"))
    row = PriceRow("zz-acme", "fast-1", "second", 0.1, None, "acme pricing page")
    _backend("zz-acme-priced", price_rows=(row,))
    assert prices.price_for("zz-acme", "fast-1") == row and "zz-acme" in prices.providers()
    with pytest.raises(ConfigError, match="declared twice"):
        prices.register_rows((PriceRow("zz-acme", "fast-1", "second", 0.2, None, "a rumour"),))


class _Shared(VideoBackend):
    """A shared base without a name of its own: its provider registers, but no backend alias is made."""

    key_provider: ClassVar[KeyProvider | str | None] = KeyProvider("zz-base-only", ("ZZ_BASE",), "nowhere")


def test_an_unnamed_base_class_still_registers_its_provider_but_no_alias() -> None:
    assert keys.canonical("zz-base-only") == "zz-base-only"
    with pytest.raises(ConfigError):
        keys.canonical("_Shared")
