"""Live key checks for `ttv doctor --online`: what one returns, and helpers the providers' checks share.

A backend class names its check in `key_check` (a plain function, usually defined in the module that
declares the `KeyProvider`, so backends sharing one key share one check). Doctor calls it with the key,
the base URL (from `[backends.NAME] base_url` of a backend using that key, else the class's
`base_url_env`), `timeout=`, and `options=` (the validated options of the configured backends using
that key, e.g. to tell which of a provider's APIs the key is meant for). It makes one cheap read-only request
and must tell a bad key, an account without credits and a network failure apart; it may raise on
anything unexpected (doctor reports that as "error").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

LiveState = Literal["ok", "bad-key", "no-credits", "network", "error"]


@dataclass
class Live:
    state: LiveState
    detail: str
    data: dict[str, Any] = field(default_factory=dict)  # e.g. {"credit_balance": 1000} (credits doctor compares)


class KeyCheck(Protocol):
    def __call__(self, key: str, base_url: str | None, timeout: float = 15.0, *,
                 options: Sequence[Any] = ()) -> Live: ...


def is_network_error(exc: BaseException) -> bool:
    names = {t.__name__ for t in type(exc).__mro__}
    return bool(names & {"ConnectError", "ConnectTimeout", "ReadTimeout", "TimeoutException", "NetworkError",
                         "TransportError", "APIConnectionError", "APITimeoutError", "ConnectionError",
                         "TimeoutError", "RemoteProtocolError"})


def http_get(url: str, headers: dict[str, str], timeout: float) -> Any:
    import httpx

    with httpx.Client(timeout=timeout) as client:
        return client.get(url, headers=headers)


__all__ = ["KeyCheck", "Live", "LiveState", "http_get", "is_network_error"]
