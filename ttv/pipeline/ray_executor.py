"""`--executor ray`: a video backend whose work runs in Ray actors, one per GPU of the cluster.

`RayVideoBackend.wrap(inner, raw_options, address=...)` returns a backend with the inner backend's name
(records, fallback chains and staleness are unchanged) that

* answers capabilities / validation / estimates / availability from the local `inner` instance, which
  never loads a pipeline here;
* in `worker_backends()` joins Ray (`address`, or a local Ray started here when None) and starts one actor
  per GPU (`gpus_per_worker` GPUs each, counted per node), or ONE CPU actor when the cluster has no GPU;
  `max_workers` caps the count (chaining renders one segment at a time: one actor, one model load).
  Each actor builds the inner backend from its class entry point and the raw options and keeps it, so its
  pipeline loads once and then serves many segments. One proxy per actor goes back to the runner
  (concurrency 1 each), which schedules segments on free actors;
* in `generate()` ships the request with its conditioning images as bytes (the project folder need not be on
  shared storage); the actor renders to a temp file and returns the mp4 bytes, which the proxy writes to
  `output`. Per-step progress and events are polled from the actor and replayed on `ctx`; when `ctx`
  raises (the run stops) the remote task is cancelled and the exception re-raised. A `BackendError` raised in
  the actor arrives as the same `BackendError` (kind, code, hint), unwrapped from `RayTaskError`;
* in `close()` kills its actors, and shuts Ray down only when it started it.

GPU handover between the Ray backends of one run (a fallback chain of two local backends on the same GPUs):
a backend starting actors when too few GPUs are free first kills the *idle* actors of the others (their
proxies start a new actor, the same way, when next used), and an actor busy with a segment hands its GPUs
over when that segment ends if another backend is waiting for GPUs. Without this the fallback waited
TTV_RAY_ACTOR_TIMEOUT (300 s) for GPUs that the failed backend's idle actors held, then failed too.

`ray` is imported inside functions only: `ttv --help` and the local executor never pay for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.util
import logging
import os
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any, ClassVar, cast

from ttv.backends.base import (
    Availability,
    CostEstimate,
    GenerateResult,
    JobContext,
    VideoBackend,
    VideoCapabilities,
    VideoRequest,
)
from ttv.core.errors import BackendError, ConfigError, InputRejected, TtvError

INSTALL_HINT = "pip install 'ttv[ray]'"
POLL_S = 0.2  # how often a proxy polls its actor for progress while the segment renders
STOP_GRACE_S = 1.0  # after a stop, how long to wait for the actor to leave the pipeline loop
ACTOR_TIMEOUT_ENV = "TTV_RAY_ACTOR_TIMEOUT"  # seconds to wait for actors to start (default 300)
# A new local Ray (ray.init without an address) turns token authentication on by itself and logs a WARNING
# about it on every run, unless this variable is set. Setting it to "token" keeps the same mode, quietly.
AUTH_MODE_ENV = "RAY_AUTH_MODE"
CONTROL = "control"  # actor concurrency group of poll/stop/stats: answered while a segment renders
_IMAGE_FIELDS = ("first_image", "last_image")
# The main instances holding actors in this process, and how many GPU actors each is waiting to start.
_OWNERS: weakref.WeakSet[RayVideoBackend] = weakref.WeakSet()
_WAITING: Counter[int] = Counter()
_OWNERS_LOCK = threading.Lock()
_NOT_SHIPPED = {*_IMAGE_FIELDS, "options"}


def _actor_timeout() -> float:
    return float(os.environ.get(ACTOR_TIMEOUT_ENV, "300"))


def ray_missing() -> bool:
    try:
        return importlib.util.find_spec("ray") is None
    except (ImportError, ValueError):
        return True


def _import_ray(backend: str) -> Any:
    if ray_missing():
        raise BackendError(f"{backend}: --executor ray needs the ray package, which is not installed",
                           hint=f"install it with `{INSTALL_HINT}`, or drop --executor ray", kind="backend",
                           code="MISSING_EXTRA")
    import ray

    return ray


def entry_point(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _load_entry(entry: str) -> type[VideoBackend]:
    module_name, _, qualname = entry.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not (isinstance(obj, type) and issubclass(obj, VideoBackend)):
        raise ConfigError(f"{entry} is not a ttv VideoBackend class")
    return obj


def actor_options(raw_options: dict[str, Any]) -> dict[str, Any]:
    """The raw options as an actor gets them: `gpus` (indices on *this* machine) dropped, since Ray assigns
    each actor its GPUs; relative paths that exist here made absolute, since actors have another cwd."""
    out: dict[str, Any] = {}
    for key, value in raw_options.items():
        if key == "gpus":
            continue
        if isinstance(value, str) and value.startswith(("./", "../", "~/")):
            path = Path(os.path.expanduser(value))
            with contextlib.suppress(OSError):
                if path.exists():
                    value = str(path.resolve())
        out[key] = value
    return out


def plan_actors(node_gpus: list[float], per_worker: int = 1, max_workers: int | None = None) -> list[int]:
    """GPUs for each actor: one actor per `per_worker` GPUs on each node (an actor's GPUs share a node), at
    most `max_workers` actors; [0] -- one CPU actor -- when the cluster has no GPU."""
    whole = [int(g) for g in node_gpus if g and g >= 1]
    if not whole:
        return [0]
    count = sum(g // per_worker for g in whole)
    if count == 0:
        raise ConfigError(f"gpus_per_worker = {per_worker}, but no Ray node has that many GPUs "
                          f"(GPUs per node: {whole})", hint="lower gpus_per_worker, or add bigger nodes")
    if max_workers is not None:
        count = min(count, max(1, max_workers))
    return [per_worker] * count


def starts_local_ray(address: str | None) -> bool:
    """Whether `ray.init(address=...)` starts a new local Ray rather than joining one: no address given (and none
    in RAY_ADDRESS), or "local". (`_start_ray` passes "local" then, so a `ray start`ed Ray is joined only
    when asked for, with --address auto.)"""
    return (address or os.environ.get("RAY_ADDRESS") or "local") == "local"


def quiet_local_ray_auth() -> None:
    """Before ttv starts its own local Ray: set RAY_AUTH_MODE=token -- the mode Ray picks by itself for a new
    local instance, which it then announces with a WARNING on every run -- unless the user set the variable.
    Only while `ray` is not imported yet: Ray reads the variable once, at import, in this process, and a driver
    and a Ray that disagree on it cannot talk."""
    if "ray" not in sys.modules:
        os.environ.setdefault(AUTH_MODE_ENV, "token")


def _node_gpus(ray: Any) -> list[float]:
    try:
        nodes = [n for n in ray.nodes() if n.get("Alive", n.get("alive", False))]
        return [float(n.get("Resources", {}).get("GPU", 0.0)) for n in nodes]
    except Exception:  # noqa: BLE001 - e.g. Ray Client: fall back to the cluster total
        return [float(ray.cluster_resources().get("GPU", 0.0))]


# ------------------------------------------------------------------------------------ the actor side


class RemoteStop(Exception):  # noqa: N818 - a signal, not an error
    """Raised inside the actor (from progress) when the driver stopped or cancelled the task."""


class _ActorContext:
    """The JobContext a backend sees inside the actor: records progress/events for the driver to poll and
    raises `RemoteStop` from progress once the driver stopped (or `ray.cancel`led) the task."""

    def __init__(self, actor: RenderActor, task: str) -> None:
        self.job_id: str | None = None
        self._actor = actor
        self._task = task

    def _check(self) -> None:
        if self._actor.stopping(self._task):
            raise RemoteStop(f"segment task {self._task} stopped by the driver")

    def remember_job(self, job_id: str, **info: Any) -> None:
        self.job_id = job_id
        self._actor.push(self._task, ("event", "ray.job", {"job_id": job_id, **info}))

    def progress(self, fraction: float | None = None, *, step: int | None = None, total: int | None = None,
                 status: str | None = None, message: str | None = None) -> None:
        self._check()
        self._actor.push(self._task, ("progress", {"fraction": fraction, "step": step, "total": total,
                                                   "status": status, "message": message}))

    def event(self, type: str, **data: Any) -> None:
        self._actor.push(self._task, ("event", type, data))

    def sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while True:
            self._check()
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.25))

    def now(self) -> float:
        return time.monotonic()


def _control(method: Any) -> Any:
    """Puts an actor method in the CONTROL concurrency group, as `@ray.method(concurrency_group=CONTROL)` does (the
    same attribute, set here so this module needs no ray at import). Declared on the method, not per call with
    `.options(concurrency_group=...)`: Ray Client (`--address ray://...`) rejects that option on a method call."""
    method.__ray_concurrency_group__ = CONTROL
    return method


class RenderActor:
    """Runs in a Ray worker process (wrapped by `ray.remote` in `_actor_class`): builds the inner backend once
    and renders one segment at a time with it; poll/stop/stats run on a separate CONTROL thread."""

    def __init__(self, entry: str, raw_options: dict[str, Any], index: int) -> None:
        cls = _load_entry(entry)
        options = cls.OptionsModel.model_validate(raw_options)
        main = cls(options)
        # Ray made only this actor's GPUs visible: a local backend plans exactly one worker (or the CPU one).
        workers = main.worker_backends()
        self.backend: VideoBackend = workers[0]
        self._spare = [w for w in (main, *workers[1:]) if w is not self.backend]
        self.index = index
        self.segments = 0
        self.stopped = 0
        self._lock = threading.Lock()
        self._events: dict[str, list[tuple[Any, ...]]] = {}
        self._stop: set[str] = set()
        self._running: str | None = None

    # -- control (CONTROL concurrency group) --------------------------------------------------
    @_control
    def ready(self) -> dict[str, Any]:
        return {"pid": os.getpid(), "node": _node_ip(), "gpus": _gpu_ids(),
                "device": str(getattr(self.backend, "device", "") or "")}

    @_control
    def poll(self, task: str, cursor: int) -> list[tuple[Any, ...]]:
        with self._lock:
            return list(self._events.get(task, [])[cursor:])

    @_control
    def stop(self, task: str) -> None:
        with self._lock:
            self._stop.add(task)

    @_control
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"segments": self.segments, "stopped": self.stopped, "running": self._running,
                    "loads": getattr(self.backend, "load_count", None)}

    # -- used by _ActorContext ------------------------------------------------------------------
    def push(self, task: str, item: tuple[Any, ...]) -> None:
        with self._lock:
            self._events.setdefault(task, []).append(item)

    def stopping(self, task: str) -> bool:
        with self._lock:
            if task in self._stop:
                return True
        with contextlib.suppress(Exception):
            import ray

            return bool(ray.get_runtime_context().is_canceled())
        return False

    # -- work (default concurrency group: one segment at a time) --------------------------------
    def generate(self, task: str, fields: dict[str, Any], images: dict[str, tuple[str, bytes]]) -> dict[str, Any]:
        with self._lock:
            self._events[task] = []
            self._running = task
        try:
            with tempfile.TemporaryDirectory(prefix="ttv-ray-") as tmp:
                paths: dict[str, Path] = {}
                for key, (name, data) in images.items():
                    path = Path(tmp) / f"{key}-{name}"
                    path.write_bytes(data)
                    paths[key] = path
                if fields.get("previous") is not None and "previous" in paths:
                    fields["previous"] = dataclasses.replace(fields["previous"], path=paths["previous"])
                request = VideoRequest(**fields, first_image=paths.get("first_image"),
                                       last_image=paths.get("last_image"), options=self.backend.options)
                output = Path(tmp) / "clip.mp4"
                result = self.backend.generate(request, output, _ActorContext(self, task))
                mp4 = output.read_bytes()
        except RemoteStop:
            with self._lock:
                self.stopped += 1
            raise
        finally:
            with self._lock:
                self._running = None
                self._stop.discard(task)
        with self._lock:
            self.segments += 1
            segments = self.segments
        info = dict(result.info)
        loads = getattr(self.backend, "load_count", None)
        info.update(ray_actor=self.index, ray_node=_node_ip(), ray_gpus=_gpu_ids(), ray_segments=segments)
        if isinstance(loads, int):
            info["ray_loads"] = loads
        return {"mp4": mp4, "cost_usd": result.cost_usd, "credits": result.credits, "model": result.model,
                "info": info}

    @_control
    def forget(self, task: str) -> None:
        with self._lock:
            self._events.pop(task, None)

    def close(self) -> None:
        for backend in (self.backend, *self._spare):
            with contextlib.suppress(Exception):
                backend.close()


def _node_ip() -> str:
    with contextlib.suppress(Exception):
        import ray

        return str(ray.util.get_node_ip_address())
    return ""


def _gpu_ids() -> list[str]:
    with contextlib.suppress(Exception):
        import ray

        return [str(g) for g in ray.get_gpu_ids()]
    return []


@cache
def _actor_class() -> Any:
    import ray

    remote: Any = ray.remote  # its overloads do not list concurrency_groups
    return remote(concurrency_groups={CONTROL: 1})(RenderActor)


# ------------------------------------------------------------------------------------ the driver side


class RayVideoBackend(VideoBackend):
    """A video backend run in Ray actors. Use `wrap`; `name` and options are the inner backend's."""

    name: ClassVar[str] = "ray"
    summary: ClassVar[str] = "runs a local video backend in Ray actors (one per GPU)"
    extra: ClassVar[str | None] = "ray"

    def __init__(self, inner: VideoBackend, raw_options: dict[str, Any], *, address: str | None = None,
                 max_workers: int | None = None, actor: Any = None, index: int = 0,
                 owner: RayVideoBackend | None = None) -> None:
        super().__init__(inner.options)
        self.inner = inner
        self.raw_options = dict(raw_options)
        self.address = address or None
        self.max_workers = max_workers  # at most this many actors (None: one per GPU)
        self.actor = actor  # None on the main instance; an ActorHandle on each worker proxy
        self.index = index
        self.owner = owner
        self.actor_info: dict[str, Any] = {}
        self._proxies: list[RayVideoBackend] = []
        self._actors: list[Any] = []
        self._started_ray = False
        self._lock = threading.Lock()
        # proxies: held while a segment renders; `_released` once the actor was killed to free its GPUs
        self._gate = threading.Lock()
        self._released = False
        self._resources: dict[str, Any] = {}

    @classmethod
    def wrap(cls, inner: VideoBackend, raw_options: dict[str, Any], *, address: str | None,
             max_workers: int | None = None) -> RayVideoBackend:
        """`max_workers`: cap on the actors started, e.g. 1 where segments can only render one at a time."""
        return _wrapper_class(type(inner))(inner, raw_options, address=address, max_workers=max_workers)

    # -- answered locally by the inner backend -------------------------------------------------
    def capabilities(self) -> VideoCapabilities:
        return self.inner.capabilities()

    def validate_inputs(self, request: VideoRequest) -> None:
        self.inner.validate_inputs(request)

    def estimate_cost(self, request: VideoRequest) -> CostEstimate:
        return self.inner.estimate_cost(request)

    def model_name(self) -> str:
        return self.inner.model_name()

    def is_available(self) -> Availability:
        if ray_missing():
            return Availability(ok=False, reason=f"--executor ray needs the ray package: `{INSTALL_HINT}`")
        return self.inner.is_available()

    def concurrency(self) -> int:
        return 1

    # -- actors ---------------------------------------------------------------------------------
    def worker_backends(self) -> list[VideoBackend]:
        if self.actor is not None:
            return [self]
        with self._lock:
            if not self._proxies:
                self._start_actors()
            return list(self._proxies)

    def _start_ray(self, ray: Any) -> None:
        if ray.is_initialized():
            return  # joined as it is; whoever started it shuts it down
        kwargs: dict[str, Any] = {"ignore_reinit_error": True, "logging_level": logging.WARNING,
                                  "log_to_driver": False}
        address = self.address
        if starts_local_ray(address):
            address = "local"  # what --address's help promises without one: start Ray here
            kwargs["include_dashboard"] = False
        try:
            ray.init(address=address, **kwargs)
        except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ValueError, ...
            where = f"the Ray cluster at {self.address}" if self.address else "a local Ray instance"
            raise BackendError(f"{self.name}: could not start or join {where}: {type(exc).__name__}: {exc}",
                               hint="check --address (ray://HEAD:10001, HEAD:6379 or auto) and `ray status` there",
                               kind="backend", code="RAY_INIT") from exc
        self._started_ray = True

    def _start_actors(self) -> None:
        if starts_local_ray(self.address):
            quiet_local_ray_auth()
        ray = _import_ray(self.name)
        self._start_ray(ray)
        timeout = _actor_timeout()
        plan: list[int] = []
        try:
            per_worker = int(self.raw_options.get("gpus_per_worker", 1) or 1)
            if self.raw_options.get("parallel", "none") != "none":  # an actor holding N GPUs runs a rank group
                if not self.raw_options.get("parallel_gpus"):
                    raise ConfigError(f"{self.name}: parallel with --executor ray needs parallel_gpus",
                                      hint="set parallel_gpus in [backends.NAME]: each Ray actor holds that many "
                                           "GPUs of one node and renders one clip on all of them")
                per_worker = int(self.raw_options["parallel_gpus"])
            plan = plan_actors(_node_gpus(ray), per_worker, self.max_workers)
            short = self._make_room(ray, sum(plan))
            resources = [_resources(gpus) for gpus in plan]
            for i, res in enumerate(resources):
                self._actors.append(self._new_actor(res, i))
            with self._waiting(short):
                infos = ray.get([a.ready.remote() for a in self._actors], timeout=timeout)
        except TtvError:
            self.close()  # kills what started, and a Ray started here
            raise
        except Exception as exc:  # noqa: BLE001 - GetTimeoutError, RayActorError, RayTaskError
            self.close()
            raise self._startup_error(ray, exc, plan, timeout) from exc
        for i, (handle, info) in enumerate(zip(self._actors, infos, strict=True)):
            proxy = type(self)(self.inner, self.raw_options, address=self.address, max_workers=self.max_workers,
                               actor=handle, index=i, owner=self)
            proxy.actor_info, proxy._resources = dict(info), resources[i]
            self._proxies.append(proxy)
        with _OWNERS_LOCK:
            _OWNERS.add(self)

    def _new_actor(self, resources: dict[str, Any], index: int) -> Any:
        return _actor_class().options(**resources).remote(entry_point(type(self.inner)),
                                                          actor_options(self.raw_options), index)

    # -- GPU handover between the Ray backends of this process ------------------------------------
    @contextlib.contextmanager
    def _waiting(self, short: bool) -> Any:
        """While actors start: when the GPUs were `short`, marks this backend as waiting for GPUs, so that busy
        actors of the other backends hand theirs over when their segment ends."""
        if not short:
            yield
            return
        with _OWNERS_LOCK:
            _WAITING[id(self)] += 1
        try:
            yield
        finally:
            with _OWNERS_LOCK:
                _WAITING[id(self)] -= 1
                if _WAITING[id(self)] <= 0:
                    del _WAITING[id(self)]

    def _make_room(self, ray: Any, gpus: float) -> bool:
        """When fewer than `gpus` GPUs are free, kill the idle actors of the other Ray backends of this process
        (e.g. the backend this one is the fallback of): they start again when next used. True when GPUs are
        still short then (busy actors, or someone else's work, hold them)."""
        if not gpus:
            return False
        try:
            free = float(ray.available_resources().get("GPU", 0.0))
        except Exception:  # noqa: BLE001 - unknown free resources (e.g. Ray Client): leave the others alone
            return False
        with _OWNERS_LOCK:
            others = [o for o in _OWNERS if o is not self]
        for proxy in [p for other in others for p in list(other._proxies)]:
            if free >= gpus:
                break
            if proxy._released or not proxy._gate.acquire(blocking=False):
                continue  # a busy one hands its GPUs over when its segment ends
            try:
                proxy._release(ray)
                free += float(proxy._resources.get("num_gpus", 0) or 0)
            finally:
                proxy._gate.release()
        return free < gpus

    def _release(self, ray: Any) -> None:
        """(A proxy, holding `_gate`.) Kill the actor to free its GPUs; `generate` starts a new one when needed."""
        if self._released or self.actor is None:
            return
        with contextlib.suppress(Exception):
            ray.kill(self.actor, no_restart=True)
        self._released = True

    def _others_waiting(self) -> bool:
        with _OWNERS_LOCK:
            return any(key != id(self) and count > 0 for key, count in _WAITING.items())

    def _respawn(self, ray: Any, proxy: RayVideoBackend) -> None:
        """A new actor for a released proxy, with the resources its first one had."""
        timeout = _actor_timeout()
        gpus = float(proxy._resources.get("num_gpus", 0) or 0)
        short = self._make_room(ray, gpus)
        handle = self._new_actor(proxy._resources, proxy.index)
        try:
            with self._waiting(short):
                info = ray.get(handle.ready.remote(), timeout=timeout)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                ray.kill(handle, no_restart=True)
            if isinstance(exc, TtvError) or not isinstance(exc, Exception):
                raise
            raise self._startup_error(ray, exc, [int(gpus)], timeout) from exc
        if proxy.index < len(self._actors):
            self._actors[proxy.index] = handle  # close() kills this one
        proxy.actor, proxy.actor_info, proxy._released = handle, dict(info), False

    def _startup_error(self, ray: Any, exc: BaseException, plan: list[int], timeout: float) -> BackendError:
        cause = _cause(ray, exc)
        if isinstance(cause, BackendError):
            return cause
        if isinstance(exc, ray.exceptions.GetTimeoutError):
            what = f"{len(plan)} actor(s) with {plan[0]} GPU(s) each" if plan and plan[0] else "1 CPU actor"
            return BackendError(f"{self.name}: Ray could not start {what} within {timeout:.0f} s",
                                hint=f"check free resources with `ray status`; raise {ACTOR_TIMEOUT_ENV} if the "
                                     "cluster is still scaling up", kind="backend", code="RAY_ACTORS_PENDING")
        detail = f"{type(cause).__name__}: {cause}" if cause is not None else f"{type(exc).__name__}: {exc}"
        return BackendError(f"{self.name}: the Ray actor could not build the backend: {detail}",
                            hint="every Ray node needs ttv with the `local` extra installed (same version), "
                                 "and the model where the options point", kind="backend", code="RAY_ACTOR_START")

    def close(self) -> None:
        if self.actor is not None:
            return  # proxies: the main instance owns the actors
        with _OWNERS_LOCK:
            _OWNERS.discard(self)
        ray_mod = None if ray_missing() else importlib.import_module("ray")
        actors, self._actors, self._proxies = self._actors, [], []
        if ray_mod is not None and ray_mod.is_initialized():
            for handle in actors:
                with contextlib.suppress(Exception):
                    ray_mod.kill(handle, no_restart=True)
            if self._started_ray:
                with contextlib.suppress(Exception):
                    ray_mod.shutdown()
        self._started_ray = False

    # -- generation -------------------------------------------------------------------------------
    def generate(self, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        if self.actor is None:  # called on the main instance: use the first actor
            proxy = self.worker_backends()[0]
            assert isinstance(proxy, RayVideoBackend)
            with self._lock:
                return proxy.generate(request, output, ctx)
        ray = _import_ray(self.name)
        with self._gate:
            if self._released:
                assert self.owner is not None
                self.owner._respawn(ray, self)
            try:
                return self._render(ray, request, output, ctx)
            finally:
                if self.owner is not None and self.owner._others_waiting():
                    self._release(ray)  # another backend waits for GPUs: hand this actor's over

    def _render(self, ray: Any, request: VideoRequest, output: Path, ctx: JobContext) -> GenerateResult:
        fields = {f.name: getattr(request, f.name) for f in dataclasses.fields(request) if f.name not in _NOT_SHIPPED}
        images: dict[str, tuple[str, bytes]] = {}
        for key in _IMAGE_FIELDS:
            path = getattr(request, key)
            if path is None:
                continue
            try:
                images[key] = (Path(path).name, Path(path).read_bytes())
            except OSError as exc:
                raise InputRejected(f"{self.name}: image {path} cannot be read: {exc}",
                                    hint="run `ttv keyframes` first") from exc
        if request.previous is not None:  # continue_frames: the actor may run on another machine
            images["previous"] = (request.previous.path.name, request.previous.path.read_bytes())
        task = uuid.uuid4().hex
        ref = self.actor.generate.remote(task, fields, images)
        cursor = 0
        try:
            while True:
                ready, _ = ray.wait([ref], timeout=POLL_S)
                cursor = self._forward(ray, task, cursor, ctx)
                if ready:
                    break
                ctx.sleep(0)  # the runner's stop check, between progress events (e.g. while loading)
        except BaseException:
            self._stop_remote(ray, task, ref)
            raise
        finally:
            with contextlib.suppress(Exception):
                self.actor.forget.remote(task)
        payload = self._result(ray, ref)
        Path(output).write_bytes(payload["mp4"])
        return GenerateResult(cost_usd=float(payload.get("cost_usd") or 0.0), credits=payload.get("credits"),
                              model=payload.get("model"), info=dict(payload.get("info") or {}))

    def _forward(self, ray: Any, task: str, cursor: int, ctx: JobContext) -> int:
        """Replay the actor's progress/events on the runner's context; ctx raising stops the segment."""
        try:
            items = ray.get(self.actor.poll.remote(task, cursor))
        except ray.exceptions.RayError:
            return cursor  # a dead actor: the task's own result says so
        for item in items:
            cursor += 1
            if item[0] == "progress":
                ctx.progress(**item[1])
            elif item[0] == "event":
                ctx.event(item[1], **item[2])
        return cursor

    def _stop_remote(self, ray: Any, task: str, ref: Any) -> None:
        with contextlib.suppress(Exception):
            self.actor.stop.remote(task)
        with contextlib.suppress(Exception):
            ray.cancel(ref)
        with contextlib.suppress(Exception):
            ray.wait([ref], timeout=STOP_GRACE_S)

    def _result(self, ray: Any, ref: Any) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], ray.get(ref))
        except ray.exceptions.RayTaskError as exc:
            cause = _cause(ray, exc)
            if isinstance(cause, TtvError):
                raise cause from exc  # BackendError (kind/code/hint), InputRejected, ... as raised in the actor
            detail = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc)
            raise BackendError(f"{self.name}: failed in the Ray actor: {detail}",
                               hint="run with TTV_DEBUG=1 for the remote traceback", kind="backend",
                               code=type(cause).__name__ if cause is not None else "RayTaskError") from exc
        except ray.exceptions.RayActorError as exc:
            node = self.actor_info.get("node") or "?"
            raise BackendError(f"{self.name}: the Ray actor on {node} died: {exc}",
                               hint="see the Ray logs on that node (/tmp/ray/session_latest/logs); "
                                    "host memory is a common cause", kind="backend", code="RAY_ACTOR_DIED") from exc


def _resources(gpus: int) -> dict[str, Any]:
    return {"num_gpus": gpus, "num_cpus": 0} if gpus else {"num_cpus": 1}


def _cause(ray: Any, exc: BaseException) -> BaseException | None:
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = getattr(exc, "cause", None)
        return cause if isinstance(cause, BaseException) else None
    return None


@cache
def _wrapper_class(inner_cls: type[VideoBackend]) -> type[RayVideoBackend]:
    """A RayVideoBackend subclass carrying the inner backend's name, options model and summary."""
    attrs: dict[str, Any] = {"name": inner_cls.name, "OptionsModel": inner_cls.OptionsModel,
                             "summary": f"{inner_cls.summary} (in Ray actors)", "__module__": __name__,
                             "__qualname__": f"Ray[{inner_cls.__name__}]"}
    return cast(type[RayVideoBackend], type(f"Ray{inner_cls.__name__}", (RayVideoBackend,), attrs))
