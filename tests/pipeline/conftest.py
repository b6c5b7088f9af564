"""Shared fixtures of the pipeline tests."""

from __future__ import annotations

import pytest

from tests.pipeline import fake_backends
from ttv.backends import registry


@pytest.fixture
def fake_registry(monkeypatch):
    """The registry with the fake backends of tests/pipeline/fake_backends.py added (flaky, broken, ...)."""
    fake_backends.CALLS.clear()
    table = dict(registry._table())
    for name, cls in fake_backends.FAKES.items():
        table[name] = f"tests.pipeline.fake_backends:{cls.__name__}"
    registry._table.cache_clear()
    registry.load_class.cache_clear()
    monkeypatch.setattr(registry, "_table", lambda: table)
    yield table
    registry.load_class.cache_clear()
