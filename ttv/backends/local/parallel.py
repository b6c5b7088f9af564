"""One clip on a group of GPUs: sequence (context) parallel rendering through diffusers.

diffusers 0.42.1 splits a transformer's token sequence over N processes with
`model.enable_parallelism(config=ContextParallelConfig(ulysses_degree=..., ring_degree=...))`, using the
model's `_cp_plan` (Wan has one: the RoPE outputs and the input of `blocks.0` are split on the token
dimension, `proj_out` gathers them again; cross-attention is not split). Ulysses exchanges heads with an
all-to-all around every attention (heads must divide by its degree); ring passes K/V around and merges with
the log-sum-exp (needs a CUDA attention backend that returns it: flash, _flash_3_hub, _native_cudnn, sage;
the `native` one refuses). Every rank runs the whole pipeline with the same seed, so every rank holds the
same latents at every step; the weights are NOT sharded (each GPU holds the full model).

Here a `RankGroup` owns N rank processes, started once (torch.multiprocessing, rendezvous on a free local
port, NCCL on GPUs, gloo on the CPU), each loading the pipeline once and then rendering one segment at a
time. Rank 0 decodes the latents with the VAE (the other ranks skip the decode: it is the usual OOM point
and would be N copies of the same work), writes the clip and reports progress. Failure rules: every
collective has the group's timeout; the parent watches the ranks while it waits, and any rank that dies,
fails or falls silent for longer than the timeout fails the item and tears the whole group down (the next
segment starts a fresh one). Ctrl-C: ranks ignore SIGINT and the parent stops them all; a rank whose
parent disappears exits by itself, so no rank outlives ttv.

The rules (refusals, valid group sizes, the group plan, token split, projected speedup) live in the leaf
module `parallel_rules`, which `common` uses too; this module imports `common`, and `common` never imports it
back: a backend that can split a clip (Wan) reaches the rank groups through its `parallel_workers` hook.

Nothing here imports torch at module level (`ttv --help` must stay fast).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import queue
import signal
import socket
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ttv.backends.local import common
from ttv.backends.local.parallel_rules import (  # the rules (common needs them too) live in a leaf module
    CP_ATTENTION,
    RING_ATTENTION,
    GroupPlan,
    ParallelMode,
    check_group,
    degrees,
    plan_groups,
    refused,
    sizes_text,
    valid_sizes,
)
from ttv.core.errors import BackendError, ConfigError, InputRejected

if TYPE_CHECKING:
    from ttv.backends.base import JobContext, VideoRequest
    from ttv.backends.local.common import LocalVideoBackend

# Start method of the rank processes. "spawn": a fresh interpreter, safe with CUDA and threads.
START_METHOD = "spawn"
# Functions ("module:function") every rank calls before joining the group. Empty in production; the CPU
# tests put their `torch.accelerator.device_count` patch here (diffusers 0.42.1 computes the rank's device as
# `rank % torch.accelerator.device_count()`, which is 0 on a CPU-only torch).
RANK_SETUP: list[str] = []
# Ranks on the CPU (gloo) instead of GPUs: only with the patch above, so only the tests turn it on.
CPU_RANKS = False


# ------------------------------------------------------------------------------------- the plan


def group_plan(backend: LocalVideoBackend, visible: list[int] | None = None) -> GroupPlan:
    """The GPU groups of a backend with `parallel` set, checked before anything runs (ConfigError).
    `visible`: the GPU indices when known without torch (doctor/estimate count them with NVML)."""
    o = backend.opts
    where = f"{backend.name}: parallel = \"{o.parallel}\""
    refusal = backend.parallel_refusal()
    if refusal:
        raise refused(backend.name, o.parallel, backend.model_id(), refusal)
    if o.gpus_per_worker > 1:
        raise ConfigError(f"{where} and gpus_per_worker = {o.gpus_per_worker} both give a clip several GPUs",
                          hint="use parallel_gpus (sequence parallel, faster) or gpus_per_worker (components "
                               "spread over GPUs, for memory only), not both")
    if o.parallel == "ulysses+ring" and o.parallel_gpus and o.parallel_gpus % (o.ring_degree or 2):
        raise ConfigError(f"{where}: parallel_gpus = {o.parallel_gpus} is not a multiple of ring_degree = "
                          f"{o.ring_degree or 2}", hint="parallel_gpus = ulysses degree x ring_degree")
    attention = o.attention or "native"
    if attention not in CP_ATTENTION:
        raise ConfigError(f"{where}: attention = \"{attention}\" does not support context parallelism in "
                          "diffusers 0.42.1", hint=f"use one of: {', '.join(sorted(CP_ATTENTION))}")
    if o.parallel != "ulysses" and attention not in RING_ATTENTION:
        raise ConfigError(f"{where} needs an attention backend that returns the log-sum-exp; "
                          f"\"{attention}\" does not", hint=f"set attention to one of: "
                                                          f"{', '.join(sorted(RING_ATTENTION))} (GPU only), "
                                                          "or use parallel = \"ulysses\"")
    heads = backend.attention_heads()
    if heads is None:
        raise ConfigError(f"{where}: cannot read the attention head count of {backend.model_id()}",
                          hint="check that the model is complete (transformer/config.json)")
    if visible is None:
        visible = common.visible_gpus()
    if not visible:
        if not CPU_RANKS:
            raise ConfigError(f"{where} needs CUDA GPUs and none is visible",
                              hint="check `nvidia-smi` and CUDA_VISIBLE_DEVICES, or remove `parallel`")
        gpus = list(range(o.parallel_gpus or 2))  # CPU ranks (tests): one per "GPU"
    else:
        gpus = list(visible) if o.gpus is None else list(dict.fromkeys(o.gpus))
        bad = [g for g in gpus if g not in visible]
        if bad:
            raise ConfigError(f"{backend.name}: gpus {bad} are not visible (visible: {visible})",
                              hint="fix the gpus option or CUDA_VISIBLE_DEVICES")
    if o.parallel_gpus is not None:
        if o.parallel_gpus > len(gpus):
            raise ConfigError(f"{where}: parallel_gpus = {o.parallel_gpus} but only {len(gpus)} GPUs are "
                              "selected", hint=f"valid GPUs per clip for this model: "
                                               f"{sizes_text(valid_sizes(o.parallel, heads, len(gpus), o.ring_degree))}")
        check_group(backend.name, backend.model_id(), o.parallel, o.parallel_gpus, heads, o.ring_degree)
    mode, segments = backend.schedule or (None, None)
    return plan_groups(o.parallel, gpus, o.parallel_gpus, heads, mode, segments, o.ring_degree)


def parallel_workers(backend: LocalVideoBackend) -> list[Any]:
    """The workers of a backend with `parallel` set: a rank group per GPU group, an ordinary worker per
    single GPU. The making instance keeps the plan and group size, so it validates segments the same way."""
    o = backend.opts
    gp = group_plan(backend)
    backend.group_plan, backend.group_size = gp, gp.size
    cls = type(backend)
    workers: list[Any] = []
    cpu = not common.visible_gpus()  # tests patch common.visible_gpus
    for group in gp.groups:
        if len(group) == 1:
            workers.append(cls(o.model_copy(update={"parallel": "none"}), device="cpu" if cpu else f"cuda:{group[0]}",
                               gpu_group=[] if cpu else group))
            continue
        w = cls(o, device="cpu" if cpu else f"cuda:{group[0]}", gpu_group=group)
        w.group_plan, w.group_size = gp, len(group)
        options = o.model_dump()
        options.update(parallel="none", gpus=None, parallel_gpus=None)  # a rank is one plain pipeline
        w.rank_group = RankGroup(RankSpec(backend_class=f"{cls.__module__}:{cls.__qualname__}", options=options,
                                          devices=["cpu" if cpu else f"cuda:{g}" for g in group], mode=o.parallel,
                                          ring_degree=o.ring_degree, timeout_s=o.parallel_timeout_s,
                                          setup=list(RANK_SETUP)), backend.name)
        workers.append(w)
    return workers


def plan_line(backend: Any, mode: str | None, segments: int | None, gpu_count: int | None = None) -> str | None:
    """For `ttv doctor` / `ttv estimate`, which never import torch: the plan in one line (or why `parallel`
    is refused), with the GPUs counted by NVML. The backend keeps the schedule and group size, so its time
    estimate follows the plan. None when the backend does not use `parallel`."""
    from ttv.backends.local.common import LocalVideoBackend
    from ttv.core.gpu import query_gpus

    if not isinstance(backend, LocalVideoBackend) or backend.opts.parallel == "none":
        return None
    if mode:
        backend.set_schedule(mode, segments)
    try:
        count = len(query_gpus()[0]) if gpu_count is None else gpu_count
        gp = group_plan(backend, visible=list(range(count)))
    except ConfigError as exc:
        return f"parallel refused: {exc.message}" + (f" ({exc.hint})" if exc.hint else "")
    backend.group_plan, backend.group_size = gp, gp.size
    return gp.describe(mode)


# ------------------------------------------------------------------------------------ rank group


@dataclass
class RankSpec:
    """What every rank needs to build its pipeline: picklable (it crosses a spawn)."""

    backend_class: str  # "module:Class"
    options: dict[str, Any]
    devices: list[str]  # per rank: "cuda:3" or "cpu"
    mode: ParallelMode
    ring_degree: int | None
    timeout_s: float
    setup: list[str] = field(default_factory=list)

    @property
    def world(self) -> int:
        return len(self.devices)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_LIVE_GROUPS: weakref.WeakSet[RankGroup] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:  # last line of defence: no rank outlives the ttv process that started it
    for group in list(_LIVE_GROUPS):
        group.close(graceful=False)


class RankGroup:
    """N rank processes that render one segment at a time together (see the module docstring)."""

    def __init__(self, spec: RankSpec, backend_name: str = "local") -> None:
        self.spec = spec
        self.name = backend_name
        self.procs: list[Any] = []
        self._cmd: list[Any] = []
        self._out: Any = None
        self._job = 0
        self.starts = 0  # how many times the ranks were started (and loaded the model)
        self.load_seconds: float | None = None
        self.rank_info: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @property
    def alive(self) -> bool:
        return bool(self.procs) and all(p.is_alive() for p in self.procs)

    def describe(self) -> str:
        devices = self.spec.devices
        where = "CPU" if devices[0] == "cpu" else "GPUs " + ",".join(d.split(":")[-1] for d in devices)
        return f"{where} ({self.spec.world} ranks, {self.spec.mode})"

    def pids(self) -> list[int]:
        return [int(p.pid) for p in self.procs if p.pid is not None]

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, ctx: JobContext | None = None) -> None:
        """Start the ranks and wait until every one has loaded the pipeline."""
        import torch.multiprocessing as mp

        if ctx is not None:
            ctx.progress(0.0, status="loading", message=f"starting {self.spec.world} ranks on {self.describe()}, "
                                                        "each loading the model")
        mpctx: Any = mp.get_context(START_METHOD)
        port = free_port()
        self._out = mpctx.Queue()
        self._cmd = [mpctx.Queue() for _ in self.spec.devices]
        t0 = time.monotonic()
        for rank in range(self.spec.world):
            p = mpctx.Process(target=_rank_main, args=(rank, port, self.spec, self._cmd[rank], self._out,
                                                       os.getpid()),
                              name=f"ttv-rank{rank}", daemon=False)
            p.start()
            self.procs.append(p)
        _LIVE_GROUPS.add(self)
        self.starts += 1
        ready: dict[int, dict[str, Any]] = {}
        try:
            while len(ready) < self.spec.world:
                msg = self._next(ctx, self.spec.timeout_s, "loading the model")
                if msg[0] == "ready":
                    ready[int(msg[1])] = dict(msg[2])
                elif msg[0] == "error":
                    raise _rank_error(self.name, msg, "loading the model")
        except BaseException:
            self.close(graceful=False)
            raise
        self.rank_info = [ready[r] for r in range(self.spec.world)]
        self.load_seconds = time.monotonic() - t0

    def close(self, graceful: bool = True) -> None:
        """Stop every rank: ask nicely (graceful), then SIGTERM, then SIGKILL; reap them all."""
        procs, self.procs = self.procs, []
        if graceful:
            for q in self._cmd:
                with contextlib.suppress(Exception):
                    q.put(None)
            for p in procs:
                p.join(timeout=10)
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
                p.join(timeout=5)
        for q in [*self._cmd, self._out]:
            if q is not None:
                with contextlib.suppress(Exception):
                    q.cancel_join_thread()
                    q.close()
        self._cmd, self._out = [], None
        _LIVE_GROUPS.discard(self)

    # -- work ------------------------------------------------------------------------------------
    def render(self, request: VideoRequest, output: Path, ctx: JobContext) -> dict[str, Any]:
        """Render one segment on every rank; rank 0 writes `output`. Returns rank 0's record info."""
        with self._lock:
            first = not self.alive
            if first:
                self.close(graceful=False)  # whatever is left of a failed group
                self.start(ctx)
            self._job += 1
            job = self._job
            try:
                for q in self._cmd:
                    q.put(("render", job, request, str(output)))
                while True:
                    msg = self._next(ctx, self.spec.timeout_s, f"rendering segment {request.segment_id}")
                    if len(msg) > 1 and msg[1] != job and msg[0] != "error":
                        continue  # a stale message of an earlier job
                    if msg[0] == "progress":
                        ctx.progress(msg[2], step=msg[3], total=msg[4], status="running", message=msg[5])
                    elif msg[0] == "done":
                        info = dict(msg[2])
                        if first and self.load_seconds is not None:
                            info["load_seconds"] = round(self.load_seconds, 3)
                        return info
                    elif msg[0] == "error":
                        # a rank that lost a peer fails in its next collective: name the dead peer first
                        dead = self._dead(grace=1.0)
                        if dead:
                            raise self._died(dead, f"rendering segment {request.segment_id}")
                        raise _rank_error(self.name, msg, f"rendering segment {request.segment_id}")
            except BaseException:
                # A failed, interrupted or dead rank leaves the others inside a collective: stop them all.
                self.close(graceful=False)
                raise

    def _next(self, ctx: JobContext | None, timeout: float, what: str) -> tuple[Any, ...]:
        """The next message of any rank; raises when a rank died, the run stops, or nothing came in time."""
        deadline = time.monotonic() + timeout
        while True:
            if ctx is not None:
                ctx.sleep(0)  # raises the runner's Interrupted on Ctrl-C / --timeout
            try:
                return tuple(self._out.get(timeout=0.2))
            except queue.Empty:
                pass
            dead = self._dead()
            if dead:
                # a rank that failed with a Python error says why before it exits: its message wins
                with contextlib.suppress(queue.Empty):
                    msg = tuple(self._out.get(timeout=0.5))
                    if msg[0] == "error":
                        return msg
                raise self._died(dead, what)
            # exit code 0 without a report within 10 s (a report is sent before that exit): gone all the same
            quiet = [r for r, p in enumerate(self.procs) if not p.is_alive()]
            if quiet and time.monotonic() > deadline - timeout + 10:
                raise self._died([(r, 0) for r in quiet], what)
            if time.monotonic() > deadline:
                raise BackendError(f"{self.name}: the {self.spec.world}-GPU group sent nothing for "
                                   f"{timeout:.0f} s while {what}",
                                   hint="a rank hangs (a collective that never completes?): the group was "
                                        "stopped; raise parallel_timeout_s if one step takes that long",
                                   kind="backend", code="RANK_TIMEOUT")


    def _dead(self, grace: float = 0.0) -> list[tuple[int, int | None]]:
        """(rank, exit code) of the ranks that died, waiting up to `grace` s for one. A rank that reported an
        error exits with code 0 after it: that is not a death (its message says what happened)."""
        end = time.monotonic() + grace
        while True:
            dead = [(r, p.exitcode) for r, p in enumerate(self.procs) if not p.is_alive() and p.exitcode != 0]
            if dead or time.monotonic() >= end:
                return dead
            time.sleep(0.05)

    def _died(self, dead: list[tuple[int, int | None]], what: str) -> BackendError:
        ranks = ", ".join(f"rank {r} (exit code {c})" for r, c in dead)
        return BackendError(f"{self.name}: {ranks} of the {self.spec.world}-rank group died while {what}",
                            hint="the whole group was stopped; check the machine's log (e.g. the kernel's OOM "
                                 "killer, `dmesg`) and GPU health with `nvidia-smi`",
                            kind="backend", code="RANK_DIED")


def _rank_error(backend: str, msg: tuple[Any, ...], what: str) -> BackendError:
    _, rank, err = msg[0], msg[-2], msg[-1]
    if err.get("type") == "InputRejected":
        return InputRejected(err["message"], hint=err.get("hint", ""))
    return BackendError(err["message"] if err.get("backend_error") else
                        f"{backend}: rank {rank} failed while {what}: {err['message']}",
                        hint=err.get("hint") or "run with TTV_DEBUG=1 for the rank's traceback",
                        kind=err.get("kind", "backend"), code=err.get("code", "PIPELINE_ERROR"))


# ------------------------------------------------------------------------------ inside a rank


def _watch_parent(parent: int) -> None:
    """Exit when the ttv process that started this rank is gone (killed -9, crashed): no orphan ranks.
    (Re-parenting shows as a new parent pid; with the forkserver start method the direct parent is the
    server, so the ttv process itself is watched too.)"""
    direct = os.getppid()
    while True:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(3)
        except PermissionError:
            pass
        if os.getppid() != direct:
            os._exit(3)
        time.sleep(1.0)


def _error_payload(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, BackendError):
        return {"type": type(exc).__name__, "message": exc.message, "hint": exc.hint, "kind": exc.kind,
                "code": exc.code, "backend_error": True}
    text = f"{type(exc).__name__}: {exc}"
    if os.environ.get("TTV_DEBUG"):
        text += "\n" + "".join(traceback.format_exception(exc))
    return {"type": type(exc).__name__, "message": text}


def _rank_main(rank: int, port: int, spec: RankSpec, cmd: Any, out: Any, parent: int) -> None:
    # Ctrl-C reaches the whole terminal process group: the parent decides, the ranks wait to be stopped.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="parent-watch").start()
    try:
        backend = _rank_setup(rank, port, spec)
    except BaseException as exc:
        out.put(("error", None, rank, _error_payload(exc)))
        return
    out.put(("ready", rank, {"load_count": backend.load_count, "device": spec.devices[rank],
                             "load_seconds": backend.load_seconds,
                             "text_encoder": getattr(backend.pipeline(None), "text_encoder", None) is not None}))
    try:
        while True:
            msg = cmd.get()
            if msg is None:
                break
            _, job, request, output = msg
            try:
                info = _rank_render(backend, rank, job, request, Path(output), out)
            except BaseException as exc:
                out.put(("error", job, rank, _error_payload(exc)))
                return  # the group's state is unknown after a failure: the parent restarts it
            if rank == 0:
                out.put(("done", job, info))
    finally:
        import torch.distributed as dist

        with contextlib.suppress(Exception):
            dist.destroy_process_group()


def _rank_setup(rank: int, port: int, spec: RankSpec) -> Any:
    from datetime import timedelta

    for ref in spec.setup:
        module, _, fn = ref.partition(":")
        getattr(importlib.import_module(module), fn)()
    import warnings

    import torch
    import torch.distributed as dist
    from diffusers.utils import logging as dlogging

    # The parent owns the terminal (a Rich display): ranks print no load bars or experimental-API warnings.
    dlogging.set_verbosity_error()
    dlogging.disable_progress_bar()
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as tlogging

        tlogging.set_verbosity_error()
        tlogging.disable_progress_bar()
    warnings.filterwarnings("ignore")
    device = spec.devices[rank]
    on_gpu = device.startswith("cuda")
    if on_gpu:
        # Before the process group and the device mesh (which keeps a device set before it). diffusers 0.42.1
        # also computes `rank % device_count()` as the rank's device (wrong for a group on GPUs 4-7), but
        # only tensor-parallel loading reads that value, not context parallelism. Every rank sees all GPUs,
        # as under torchrun, so NCCL finds its peers for direct NVLink transfers.
        torch.cuda.set_device(torch.device(device))
    dist.init_process_group("nccl" if on_gpu else "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=spec.world, timeout=timedelta(seconds=spec.timeout_s),
                            device_id=torch.device(device) if on_gpu else None)
    module, _, cls_name = spec.backend_class.partition(":")
    cls = getattr(importlib.import_module(module), cls_name)
    backend = cls(cls.OptionsModel(**spec.options), device=device, gpu_group=[])
    if rank != 0:
        backend.without = ("text_encoder",)  # rank 0 encodes each prompt for all (see _share_prompt)
    pipe = backend.pipeline(None)
    from diffusers import ContextParallelConfig

    ulysses, ring = degrees(spec.mode, spec.world, spec.ring_degree)
    for name in ("transformer", "transformer_2"):  # Wan 2.2 A14B: both experts
        model = getattr(pipe, name, None)
        if model is not None:
            model.enable_parallelism(config=ContextParallelConfig(ulysses_degree=ulysses, ring_degree=ring))
    return backend


class _RankProgress:
    """Rank 0's `callback_on_step_end`: one message per denoising step (also the parent's heartbeat)."""

    def __init__(self, out: Any, job: int, total: int) -> None:
        self.out, self.job, self.total, self.step = out, job, max(1, total), 0
        self.t0 = time.monotonic()

    def __call__(self, pipe: Any, step: int, timestep: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.step = min(self.step + 1, self.total)
        rate = self.step / max(1e-9, time.monotonic() - self.t0)
        eta = (self.total - self.step) / rate if rate > 0 else 0.0
        self.out.put(("progress", self.job, self.step / self.total, self.step, self.total,
                      f"step {self.step}/{self.total}, {rate:.2f} it/s, ETA {eta:.0f} s"))
        return kwargs


def _rank_render(backend: Any, rank: int, job: int, request: VideoRequest, output: Path, out: Any) -> dict[str, Any]:
    import torch

    from ttv.backends.local.common import classify_errors, frames_to_uint8, write_mp4

    plan = backend.plan(request)
    pipe = backend.pipeline(None)
    progress = _RankProgress(out, job, backend.total_steps(plan)) if rank == 0 else None
    call, kwargs = backend.call_kwargs(pipe, plan, request, progress)
    kwargs["output_type"] = "latent"  # rank 0 decodes below; the others skip the VAE
    on_gpu = str(backend.device).startswith("cuda")
    if on_gpu:
        torch.cuda.reset_peak_memory_stats()
    t0 = time.monotonic()
    size = (plan.width, plan.height, plan.frames)
    with classify_errors(backend.name, backend.opts, f"rendering segment {request.segment_id}", size), \
            torch.inference_mode():
        _share_prompt(pipe, kwargs, rank)
        latents = call(**kwargs).frames
        if rank != 0:
            return {}
        video = decode_latents(pipe, latents)
    frames = frames_to_uint8(video)
    gen_seconds = time.monotonic() - t0
    if on_gpu:
        plan.extra["peak_gpu_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    try:
        write_mp4(frames, output, plan.fps, backend.opts.crf)
    except Exception:
        output.unlink(missing_ok=True)
        raise
    return backend.record_info(plan, pipe, frames, gen_seconds)


def _share_prompt(pipe: Any, kwargs: dict[str, Any], rank: int) -> None:
    """Rank 0 encodes the prompt (and the negative one under guidance) and broadcasts the embeddings; every
    rank then calls the pipeline with them. The other ranks load no text encoder: UMT5-XXL is about 11 GB
    of each GPU that the transformer can use instead."""
    import torch
    import torch.distributed as dist

    cfg = float(kwargs["guidance_scale"]) > 1.0
    device = pipe._execution_device
    tensors: list[Any] = []
    meta: list[Any] = [None]
    if rank == 0:
        # what WanPipeline / WanImageToVideoPipeline.__call__ do with a prompt string (max_sequence_length 512)
        pos, neg = pipe.encode_prompt(prompt=kwargs["prompt"], negative_prompt=kwargs["negative_prompt"],
                                      do_classifier_free_guidance=cfg, num_videos_per_prompt=1,
                                      max_sequence_length=512, device=device)
        tensors = [t.contiguous() for t in ([pos, neg] if cfg else [pos])]
        meta = [[(tuple(t.shape), str(t.dtype).removeprefix("torch.")) for t in tensors]]
    dist.broadcast_object_list(meta, src=0)
    if rank != 0:
        tensors = [torch.empty(shape, dtype=getattr(torch, dtype), device=device) for shape, dtype in meta[0]]
    for t in tensors:
        dist.broadcast(t, src=0)
    kwargs.update(prompt=None, negative_prompt=None, prompt_embeds=tensors[0],
                  negative_prompt_embeds=tensors[1] if cfg else None)


def decode_latents(pipe: Any, latents: Any) -> Any:
    """What WanPipeline / WanImageToVideoPipeline do after the denoising loop (diffusers 0.42.1,
    pipeline_wan.py:662-674): un-normalise with the VAE's latents_mean/std, decode, to float numpy frames."""
    import torch
    from diffusers.utils.torch_utils import get_module_execution_device

    vae = pipe.vae
    latents = latents.to(device=get_module_execution_device(vae), dtype=vae.dtype)
    shape = (1, vae.config.z_dim, 1, 1, 1)
    mean = torch.tensor(vae.config.latents_mean).view(shape).to(latents.device, latents.dtype)
    inv_std = 1.0 / torch.tensor(vae.config.latents_std).view(shape).to(latents.device, latents.dtype)
    video = vae.decode(latents / inv_std + mean, return_dict=False)[0]
    frames = pipe.video_processor.postprocess_video(video, output_type="np")
    pipe.maybe_free_model_hooks()
    return frames
