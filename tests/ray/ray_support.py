"""Helpers of tests/ray (a uniquely named module: tests/local has its own `conftest` on sys.path)."""

from __future__ import annotations

from tests.fakeserver import RecordingCtx

FAKE_GPUS = 2  # GPUs the session's Ray declares (see conftest): two actors, both rendering on the CPU


__all__ = ["FAKE_GPUS", "RecordingCtx"]
