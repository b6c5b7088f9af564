"""The one dated price table for paid providers, with user overrides.

The rows are not written here: each backend class declares its own (`price_rows = (PriceRow(...),
...)`), and `ttv.backends.base.Backend.__init_subclass__` feeds them into this table with
`register_rows` when the class is defined. Questions about rows of a class not loaded yet (a price
lookup that misses, the list of providers) first load every installed backend once through
`catalog.load_everything()` (see ttv/core/catalog.py), so plugins price like built-ins.

Prices change. Every row says where it came from and when. Users override a row in ttv.toml:

    [prices]
    "acme/fast-1" = 0.05                 # USD per unit of that row
    "acme/org/app/image-to-video" = 0.06

Keys are "provider/model" (the model part may contain slashes: app ids). A variant (e.g. a
resolution) is looked up as "provider/model@variant" first, then "provider/model". Call
`set_overrides(config.prices)` once after loading the project config; `price_for(..., overrides=...)`
takes an explicit dict instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from ttv.core import catalog
from ttv.core.errors import ConfigError

PRICE_DATE = "2026-11"  # the date of a row that gives none

Unit = Literal["second", "image", "clip"]


@dataclass(frozen=True)
class PriceRow:
    provider: str
    model: str  # may end in "@variant", e.g. "fast-1@1080p" (a resolution billed differently)
    unit: Unit
    usd: float  # per unit
    credits: float | None = None  # per unit, where the provider bills in credits
    source: str = ""
    date: str = PRICE_DATE
    note: str = ""

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"


_TABLE: dict[str, PriceRow] = {}
_providers: set[str] = set()  # every provider that declared a row (for `[prices]` key checks)
_overrides: dict[str, float] = {}
_lock = threading.Lock()


def register_rows(rows: tuple[PriceRow, ...] | list[PriceRow]) -> None:
    """Add a backend's rows to the table (idempotent). A different row under a key already taken is a
    ConfigError: two backends would bill one model differently."""
    with _lock:
        for row in rows:
            known = _TABLE.get(row.key)
            if known is not None and known != row:
                raise ConfigError(f"price row {row.key!r} is declared twice, differently "
                                  f"(${known.usd:g} vs ${row.usd:g} per {row.unit})")
            _TABLE[row.key] = row
            _providers.add(row.provider)


def providers() -> list[str]:
    """The provider column of every installed backend's rows (what a `[prices]` key may start with)."""
    catalog.load_everything()
    with _lock:
        return sorted(_providers)


def _row(key: str, provider: str) -> PriceRow | None:
    with _lock:
        found = _TABLE.get(key)
        known = provider in _providers
    if found is None and not known:
        catalog.load_everything()  # a provider whose backend class is not loaded yet
        with _lock:
            found = _TABLE.get(key)
    return found


def set_overrides(overrides: dict[str, float] | None) -> None:
    """Install the project's `[prices]` table for this process (replaces earlier overrides)."""
    with _lock:
        _overrides.clear()
        _overrides.update({str(k): float(v) for k, v in (overrides or {}).items()})


def current_overrides() -> dict[str, float]:
    with _lock:
        return dict(_overrides)


def price_for(provider: str, model: str, overrides: dict[str, float] | None = None,
              variant: str | None = None) -> PriceRow | None:
    """The price row for provider/model (variant first), with a user override applied; None if unknown."""
    ov = current_overrides() if overrides is None else overrides
    keys = [f"{provider}/{model}@{variant}", f"{provider}/{model}"] if variant else [f"{provider}/{model}"]
    for key in keys:
        if key in ov:
            base = _row(key, provider) or _row(f"{provider}/{model}", provider)
            unit: Unit = base.unit if base else "second"
            return PriceRow(provider, key.split("/", 1)[1], unit, float(ov[key]), None,
                            source="ttv.toml [prices]", date="user", note=f"override of {key}")
        row = _row(key, provider)
        if row is not None:
            return row
    return None


def usd_for(row: PriceRow, *, seconds: float = 0.0, images: int = 1) -> float:
    if row.unit == "second":
        return round(row.usd * seconds, 6)
    if row.unit == "image":
        return round(row.usd * images, 6)
    return round(row.usd, 6)


def credits_for(row: PriceRow, *, seconds: float = 0.0, images: int = 1) -> float | None:
    if row.credits is None:
        return None
    if row.unit == "second":
        return row.credits * seconds
    if row.unit == "image":
        return row.credits * images
    return row.credits


def describe(row: PriceRow) -> str:
    unit = {"second": "s", "image": "image", "clip": "clip"}[row.unit]
    credits = f" ({row.credits:g} credits/{unit})" if row.credits is not None else ""
    return f"{row.key}: ${row.usd:g}/{unit}{credits}, {row.source}, {row.date}"


def rows(provider: str | None = None) -> list[PriceRow]:
    """Every row of the installed backends (of one provider column when given)."""
    catalog.load_everything()
    with _lock:
        return [r for r in _TABLE.values() if provider is None or r.provider == provider]


__all__ = ["PRICE_DATE", "PriceRow", "credits_for", "current_overrides", "describe", "price_for", "providers",
           "register_rows", "rows", "set_overrides", "usd_for"]
