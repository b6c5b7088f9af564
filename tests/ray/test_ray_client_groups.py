"""The actor's control methods carry their concurrency group themselves: Ray Client (`--address ray://HEAD:10001`)
rejects `.options(concurrency_group=...)` on a method call ("Invalid option keyword"), which is how every
`ttv render --executor ray --address ray://...` failed before its first segment (found by
scripts/check_ray_cluster.sh, a head and a worker in containers)."""

from __future__ import annotations

import inspect

import pytest

ray = pytest.importorskip("ray")

try:  # the module moves with the ttv/pipeline restructuring
    from ttv.pipeline import ray_executor
except ImportError:
    from ttv.backends import ray_executor

CONTROL_METHODS = ("ready", "poll", "stop", "stats", "forget")


def test_control_methods_declare_the_group_as_ray_method_does() -> None:
    def probe(self: object) -> None: ...

    marked = ray.method(concurrency_group=ray_executor.CONTROL)(probe)
    attrs = {k: v for k, v in vars(marked).items() if k.startswith("__ray_")}
    assert attrs == {"__ray_concurrency_group__": ray_executor.CONTROL}  # the attribute _control sets
    for name in CONTROL_METHODS:
        assert vars(getattr(ray_executor.RenderActor, name)) == attrs, name
    assert not hasattr(ray_executor.RenderActor.generate, "__ray_concurrency_group__")


def test_no_per_call_concurrency_group_option() -> None:
    source = inspect.getsource(ray_executor)
    assert ".options(concurrency_group=CONTROL)" not in source and ".options(concurrency_group=\"" not in source


def test_ray_client_rejects_the_per_call_option() -> None:
    """Why: Ray Client validates method options against the task options, which have no concurrency_group."""
    from ray.util.client.options import validate_options

    with pytest.raises(ValueError, match="concurrency_group"):
        validate_options({"concurrency_group": ray_executor.CONTROL})
