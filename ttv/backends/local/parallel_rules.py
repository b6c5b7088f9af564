"""The rules of one clip on a group of GPUs (sequence parallel, Wan), without the machinery.

Pure data and arithmetic: which backends refuse `parallel` and why, which group sizes a model's attention
allows, how a run's GPUs are grouped (`GroupPlan`), whether a segment's tokens split evenly, and the projected
speedup of a group. `common` (every local backend validates and estimates with these) and `parallel` (the rank
processes, which import `common`) both import this module; it imports neither, so the dependencies point one
way: common -> parallel_rules <- parallel -> common, and only the Wan backend reaches `parallel`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from ttv.core.errors import ConfigError, InputRejected

if TYPE_CHECKING:
    from ttv.backends.base import JobContext, VideoRequest

ParallelMode = Literal["none", "ulysses", "ring", "ulysses+ring"]


# Why a backend cannot split one clip over GPUs (diffusers 0.42.1). Backends not listed have no plan at all.
NO_PLAN = "its transformer has no context-parallel plan in diffusers 0.42.1"
REFUSALS: dict[str, str] = {
    "ltx": "LTX-Video's context-parallel plan in diffusers 0.42.1 fails with the text attention mask its "
           "pipelines always pass (and with the per-token timesteps of image-to-video): diffusers issue #14316",
    "hunyuan": "HunyuanVideo has no context-parallel plan in diffusers 0.42.1 (its dual-stream text/video "
               "token concatenation needs a custom one)",
    "framepack": "FramePack's HunyuanVideo transformer has no context-parallel plan in diffusers 0.42.1",
}

# Attention backends registered with supports_context_parallel=True (attention_dispatch.py, diffusers 0.42.1),
# and the ones of them whose forward returns the log-sum-exp that ring attention merges with ("native"
# raises on return_lse=True, "_native_npu" too).
CP_ATTENTION = {"native", "_native_cudnn", "_native_flash", "_native_npu", "flash", "flash_hub", "flash_varlen_hub",
                "_flash_3_hub", "_flash_3_varlen_hub", "sage", "sage_hub"}
RING_ATTENTION = CP_ATTENTION - {"native", "_native_npu"}


def refused(backend: str, mode: str, model: str, why: str) -> ConfigError:
    """The error of `parallel` set on a backend that cannot split one clip over GPUs (`why`: its refusal)."""
    return ConfigError(f"{backend}: parallel = \"{mode}\" is not supported for {model}: {why}",
                       hint=f"remove `parallel` from [backends.{backend}] (use Wan for one clip on "
                            "several GPUs; keyframe mode still renders one clip per GPU)")


# ------------------------------------------------------------------------------------- the rules


def degrees(mode: ParallelMode, size: int, ring_degree: int | None = None) -> tuple[int, int]:
    """(ulysses, ring) degrees of a group of `size` ranks."""
    if mode == "ulysses":
        return size, 1
    if mode == "ring":
        return 1, size
    ring = ring_degree or 2
    return max(1, size // ring), ring


def group_ok(mode: ParallelMode, size: int, heads: int, ring_degree: int | None = None) -> bool:
    """Can a group of `size` ranks run attention with `heads` heads in this mode?"""
    if size < 2:
        return False
    ulysses, ring = degrees(mode, size, ring_degree)
    if ulysses * ring != size:
        return False
    if mode == "ulysses+ring" and (ulysses < 2 or ring < 2):
        return False  # that would be plain ulysses or plain ring
    return heads % ulysses == 0


def valid_sizes(mode: ParallelMode, heads: int, upto: int = 8, ring_degree: int | None = None) -> list[int]:
    return [n for n in range(2, max(2, upto) + 1) if group_ok(mode, n, heads, ring_degree)]


def sizes_text(sizes: list[int]) -> str:
    return ", ".join(map(str, sizes)) if sizes else "none"


def check_group(backend: str, model: str, mode: ParallelMode, size: int, heads: int,
                ring_degree: int | None = None) -> None:
    """ConfigError naming the valid group sizes when `size` ranks cannot share this model's attention."""
    if group_ok(mode, size, heads, ring_degree):
        return
    sizes = valid_sizes(mode, heads, 8, ring_degree)
    if mode == "ulysses+ring" and size % (ring_degree or 2):
        why = f"{size} is not a multiple of ring_degree = {ring_degree or 2}"
    elif mode == "ulysses+ring":
        why = f"ulysses degree {size // (ring_degree or 2)} does not divide its {heads} attention heads"
    else:
        why = f"{heads} attention heads do not divide by {size}"
    raise ConfigError(f"{backend}: parallel = \"{mode}\" cannot use a group of {size} GPUs for {model}: {why}",
                      hint=f"valid GPUs per clip (parallel_gpus) for this model: {sizes_text(sizes)}")


def check_tokens(where: str, tokens: int, size: int, detail: str) -> None:
    """InputRejected when a segment's token sequence does not split evenly over the group."""
    if size > 1 and tokens % size:
        ok = [n for n in range(2, 9) if tokens % n == 0]
        raise InputRejected(f"{where}: {tokens} video tokens ({detail}) do not split evenly over a group of "
                            f"{size} GPUs", hint=f"change width/height/frames so the token count divides by "
                                                f"{size}; group sizes this segment allows: {sizes_text(ok)}")


@dataclass
class GroupPlan:
    """How a worker pool splits its GPUs: groups of ranks (size 1 = an ordinary one-GPU worker)."""

    groups: list[list[int]]
    mode: ParallelMode
    why: str = ""

    @property
    def size(self) -> int:
        return max((len(g) for g in self.groups), default=1)

    def describe(self, schedule: str | None) -> str:
        """One line for doctor/estimate, e.g. 'chain: one clip on 4 GPUs, ulysses'."""
        where = schedule or "any mode"
        n = len(self.groups)
        if self.size <= 1:
            text = f"{where}: one clip per GPU ({n} at once), no sequence parallelism"
        elif n == 1:
            text = f"{where}: one clip on {self.size} GPUs, {self.mode}"
        else:
            text = f"{where}: {n} clips at once, each on {self.size} GPUs, {self.mode}"
        return text + (f" ({self.why})" if self.why else "")


def plan_groups(mode: ParallelMode, gpus: list[int], per_clip: int | None, heads: int,
                schedule: str | None, segments: int | None, ring_degree: int | None = None) -> GroupPlan:
    """Group the selected GPUs for this run.

    A fixed `per_clip` gives groups of that size. Otherwise the mode decides: chaining renders one clip at a
    time, so it puts all GPUs (or the largest valid group) on it; keyframe mode keeps one clip per GPU (no
    all-to-all at all, the best throughput) unless there are fewer segments than GPUs.
    """
    total = len(gpus)
    if per_clip is not None:
        size, why = per_clip, "parallel_gpus"
    elif schedule == "keyframe" and segments is not None and segments >= total:
        return GroupPlan([[g] for g in gpus], mode, f"{segments} segments >= {total} GPUs")
    elif schedule == "keyframe" and segments:
        fits = [n for n in valid_sizes(mode, heads, total // segments, ring_degree) if n <= total // segments]
        size, why = (max(fits) if fits else 1), f"{segments} segments on {total} GPUs"
    else:
        fits = valid_sizes(mode, heads, total, ring_degree)
        size = max(fits) if fits else 1
        why = "largest valid group" if fits and size < total else ""
    if size <= 1:
        return GroupPlan([[g] for g in gpus], mode, why or f"no valid group within {total} GPUs")
    groups = [gpus[i:i + size] for i in range(0, total - size + 1, size)]
    if schedule == "chain":
        groups = groups[:1]  # one clip at a time: a second group would only load the model again
    return GroupPlan(groups, mode, why if why != "parallel_gpus" else "")


# Time estimates of a clip on N GPUs (a projection, not a measurement; benchmarks/RESULTS.md): Amdahl's law
# with the serial share fitted to the Wan authors' 1- vs 8-GPU times (Wan2.2 I2V-A14B: 480p 327.8 s -> 52.9 s,
# 720p 1055.9 s -> 159.0 s: 3-4 % serial, text encoder and VAE decode), and the communication per step
# relative to compute: Ulysses' all-to-alls are 2-5 % of an H100 step over NVLink at Wan's sizes; ring
# all-gathers K/V, and diffusers' own 4xH100 figures (ulysses 6.7 s, ring 13.1 s, both 11.1 s per step) put
# it at about half Ulysses' throughput.
SERIAL_SHARE = 0.035
COMM_SHARE: dict[str, float] = {"ulysses": 0.03, "ring": 1.0, "ulysses+ring": 0.7}


def projected_speedup(mode: str, size: int) -> float:
    comm = COMM_SHARE.get(mode, 1.0)
    return 1.0 / (SERIAL_SHARE + (1.0 - SERIAL_SHARE) * (1.0 + comm) / max(1, size))


class GroupRunner(Protocol):
    """What a worker needs of its rank group (`parallel.RankGroup`): render a segment, say where, close."""

    starts: int  # how many times the ranks were started (each start loads the model)
    load_seconds: float | None

    def render(self, request: VideoRequest, output: Path, ctx: JobContext) -> dict[str, Any]: ...

    def describe(self) -> str: ...

    def close(self, graceful: bool = True) -> None: ...
