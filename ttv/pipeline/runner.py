"""Running one item (keyframe or clip) durably: records, attempts, retries, fallback, resume, cost.

The rules (DESIGN §4-5):
- The record is written `running` before work starts and a remote job id is written (status
  `submitted`) before the first poll, so a restart polls the same job instead of paying twice.
- Output goes to a `.partial` name, is checked, then renamed; only then is the record marked `done`.
- A failure is classified: retryable → retry on the same backend with backoff and jitter;
  "backend" → next backend in the chain; "request" → stop this item. Every attempt is recorded.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ttv.backends.base import Backend, GenerateResult
from ttv.core.errors import AuthError, BackendError, LocalIOError, TtvError, UncertainSubmit
from ttv.core.fsutil import commit_partial, file_digest, guard_path, local_io_error, partial_path
from ttv.core.schemas import Attempt, Record
from ttv.pipeline.graph import ItemFreshness
from ttv.pipeline.project import Project


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Interrupted(KeyboardInterrupt):
    """Raised inside workers when the run is stopping (Ctrl-C, a --timeout, or --on-error fail after another
    item failed). A KeyboardInterrupt, so no `except Exception` mistakes it for a backend failure."""


@dataclass
class Clock:
    """Injectable time source for tests (no test sleeps real seconds)."""

    sleep_fn: Callable[[float], None] = time.sleep
    now_fn: Callable[[], float] = time.monotonic


class StopFlag:
    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Interrupted()


class ItemContext:
    """The JobContext handed to a backend for one attempt (see ttv.backends.base.JobContext)."""

    def __init__(self, run: ItemRun, attempt: Attempt, job_id: str | None) -> None:
        self._run = run
        self._attempt = attempt
        self.job_id = job_id
        self.item_id = run.state.id
        # On resume, what was remembered with the job (e.g. that it extends the previous clip's video).
        self.job_info: dict[str, Any] = dict(run.record.info) if job_id else {}

    def remember_job(self, job_id: str, **info: Any) -> None:
        rec = self._run.record
        # job_provider is the backend *name* (what a resume must call); the provider's own name goes to info.
        rec.job_id, rec.job_provider, rec.status = job_id, self._attempt.backend, "submitted"
        rec.submitting, rec.uncertain_usd = "", 0.0
        self._attempt.job_id, self._attempt.status = job_id, "submitted"
        if info:
            rec.info.update({k: v for k, v in info.items() if isinstance(v, str | int | float | bool)})
        self._run.save()
        self.job_id = job_id
        self.event("item.submitted", backend=self._attempt.backend, job_id=job_id)
        if self._run.detach:
            raise DetachedError(job_id)

    def begin_submit(self) -> None:
        """Called by a remote backend right before a paid submit: until `remember_job` clears it, the record
        says a job may exist, so a crash or a lost answer makes the item `uncertain`, never a blind resubmit."""
        self._run.record.submitting = self._attempt.backend
        self._run.save()

    def progress(self, fraction: float | None = None, *, step: int | None = None, total: int | None = None,
                 status: str | None = None, message: str | None = None) -> None:
        self._run.stop.check()
        data: dict[str, Any] = {"step": self._run.step}
        if fraction is not None:
            data["fraction"] = round(max(0.0, min(1.0, fraction)), 4)
        if step is not None and total is not None:
            data["k"], data["n"] = step, total
        if status:
            data["status"] = status
        if message:
            data["message"] = message
        self.event("item.progress", **data)

    def event(self, type: str, **data: Any) -> None:
        self._run.project.events.emit(type, item=self.item_id, **data)

    def sleep(self, seconds: float) -> None:
        # Sleep in small slices so Ctrl-C stops a long poll wait promptly.
        end = self._run.clock.now_fn() + seconds
        while True:
            self._run.stop.check()
            left = end - self._run.clock.now_fn()
            if left <= 0:
                return
            self._run.clock.sleep_fn(min(left, 0.25))

    def now(self) -> float:
        return self._run.clock.now_fn()


class _Slots:
    """A backend's free worker slots. Last in, first out: the worker that just finished takes the next
    item, so a sequential run (chain mode, or fewer items than GPUs) keeps using one warm worker instead of
    loading the model on every GPU in turn. A worker whose item failed goes to the bottom, so the retry
    (or the next item) tries another GPU first: a fault of one card is not retried there alone."""

    def __init__(self) -> None:
        self._free: deque[Backend] = deque()
        self._cond = threading.Condition()

    def put(self, worker: Backend, *, failed: bool = False) -> None:
        with self._cond:
            if failed:
                self._free.appendleft(worker)
            else:
                self._free.append(worker)
            self._cond.notify()

    def get(self, timeout: float) -> Backend | None:
        with self._cond:
            if not self._free and not self._cond.wait(timeout):
                return None
            return self._free.pop() if self._free else None

    def qsize(self) -> int:
        with self._cond:
            return len(self._free)


class BackendPool:
    """Per-backend worker slots: remote backends allow `concurrency()` jobs, local ones one per GPU."""

    def __init__(self, create: Callable[[str], Backend]) -> None:
        self._create = create
        self._queues: dict[str, _Slots] = {}
        self._instances: dict[str, list[Backend]] = {}
        self._warmed: set[str] = set()
        self.reported_unusable: set[str] = set()
        self._lock = threading.Lock()

    def primary(self, name: str) -> Backend:
        with self._lock:
            self._ensure(name)
            return self._instances[name][0]

    def _ensure(self, name: str) -> None:
        if name in self._queues:
            return
        main = self._create(name)
        workers = main.worker_backends() if hasattr(main, "worker_backends") else [main]
        q = _Slots()
        for w in reversed(workers):  # the first worker on top
            slots = w.concurrency() if hasattr(w, "concurrency") else 1
            for _ in range(max(1, slots)):
                q.put(w)
        self._queues[name] = q
        self._instances[name] = [main, *[w for w in workers if w is not main]]

    def slots(self, name: str) -> int:
        with self._lock:
            self._ensure(name)
            return self._queues[name].qsize()

    @contextlib.contextmanager
    def acquire(self, name: str, stop: StopFlag) -> Any:
        with self._lock:
            self._ensure(name)
            q = self._queues[name]
            first_use = name not in self._warmed
            self._warmed.add(name)
        if first_use:
            warm_up = getattr(self._instances[name][0], "warm_up", None)
            if callable(warm_up):
                # SDK import and client setup once, before work; a failure here resurfaces, classified, in generate.
                with contextlib.suppress(Exception):
                    warm_up()
        while True:
            stop.check()
            worker = q.get(timeout=0.2)
            if worker is not None:
                break
        failed = True
        try:
            yield worker
            failed = False
        finally:
            q.put(worker, failed=failed)

    def close(self) -> None:
        for instances in self._instances.values():
            for b in instances:
                with contextlib.suppress(Exception):
                    b.close()  # type: ignore[attr-defined]


@dataclass
class Outcome:
    id: str
    status: str  # done | failed | skipped | submitted
    error: str = ""
    cost_usd: float = 0.0
    backend: str = ""  # the backend that made it (done) or was tried last (failed)
    fallback_from: str = ""  # done by a fallback: the primary backend that could not make it
    # The failure was the provider's answer to who we are or whether we reach it (auth, network, a bad
    # base_url): the command exits 3 (backend or auth error) rather than 1 when every failure is one.
    access_fault: bool = False


def is_access_fault(err: BackendError) -> bool:
    return isinstance(err, AuthError) or err.code in ("network", "timeout", "auth", "no-key", "401", "403")


@dataclass
class ItemRun:
    """One item being produced, with its record kept on disk at every state change."""

    project: Project
    state: ItemFreshness
    step: str
    stop: StopFlag
    clock: Clock
    detach: bool = False  # --detach: return once the remote job is submitted (see `ttv wait`)
    new_job: bool = False  # --force: never poll an earlier job of this item again; submit a new one
    record: Record = field(init=False)
    dropped_job: tuple[str, str, bool] | None = field(init=False, default=None)  # (job id, backend, in flight)
    drop_reason: str = field(init=False, default="--force")

    def __post_init__(self) -> None:
        old = self.state.record
        # Keep a record that matches these inputs (to resume its job and keep its attempts);
        # start a fresh one when the inputs changed.
        if old is not None and old.inputs_hash == self.state.hash:
            self.record = old.model_copy(deep=True)
        else:
            self.record = Record(kind=self.state.kind, id=self.state.id, inputs=self.state.inputs,
                                 inputs_hash=self.state.hash)
            if old is not None:
                self.record.attempts = []
                if old.job_id and old.status in ("submitted", "running"):
                    # The plan changed under a job still in flight: its result is no longer wanted, but it
                    # still bills; cancel it (run_item) and say so, rather than forget it silently.
                    self.dropped_job = (old.job_id, old.job_provider, True)
                    self.drop_reason = "inputs changed"
        if self.new_job and self.record.job_id:
            # --force: a new job, e.g. for a finished one whose result the provider no longer keeps.
            # run_item cancels the old one first when it may still be running (and billing).
            in_flight = self.record.status in ("submitted", "running")
            self.dropped_job = (self.record.job_id, self.record.job_provider, in_flight)
            self.record.job_id, self.record.job_provider = "", ""
        if self.new_job:
            # --force is the user's answer to an uncertain submit: resubmit (they checked the provider).
            self.record.submitting, self.record.uncertain_usd = "", 0.0
            if self.record.status == "uncertain":
                self.record.status = "running"

    def save(self) -> None:
        self.project.write_record(self.record)


GenerateFn = Callable[[Backend, Path, ItemContext], GenerateResult]
VerifyFn = Callable[[Path], dict[str, Any]]


def backoff_delay(attempt: int, retry_after: float | None, rng: random.Random) -> float:
    if retry_after is not None:
        return min(retry_after, 300.0)
    return min(60.0, 2.0 * 2 ** (attempt - 1)) * (0.5 + rng.random())  # exponential, with jitter


def run_item(
    run: ItemRun,
    chain: list[str],
    pool: BackendPool,
    generate: GenerateFn,
    verify: VerifyFn,
    *,
    retries: int,
    rng: random.Random | None = None,
) -> Outcome:
    project, rec, output = run.project, run.record, project_output(run)
    primary = chain[0] if chain else ""
    rng = rng or random.Random()
    if run.dropped_job is not None:
        _drop_job(run, pool, *run.dropped_job, reason=run.drop_reason)
    problem = run.project.unreadable_record_with_job(run.state.kind, run.state.id) if run.state.record is None else None
    if problem and not run.new_job:
        # A record we cannot read may name a paid job: refuse rather than pay for it again.
        return _refuse(run, problem)
    if (rec.status == "uncertain" or (rec.submitting and not rec.job_id)) and not run.new_job:
        return _uncertain(run, rec.submitting or rec.job_provider or chain[0], None)
    if rec.job_id and rec.job_provider in chain:
        # Resume: an earlier run submitted a job; poll it on the same backend, never resubmit.
        chain = chain[chain.index(rec.job_provider):]
    resume_job = rec.job_id or None
    rec.started_at = rec.started_at or utcnow()
    t0 = time.monotonic()
    last_error: BackendError | None = None
    for b_index, name in enumerate(chain):
        for attempt_no in range(1, retries + 2):
            run.stop.check()
            attempt = Attempt(n=len(rec.attempts) + 1, backend=name, started_at=utcnow())
            rec.attempts.append(attempt)
            rec.status, rec.error = "running", ""
            job_id = resume_job if (resume_job and name == rec.job_provider) else None
            if job_id:
                attempt.job_id, rec.status = job_id, "submitted"
            else:
                rec.job_id, rec.job_provider = "", ""
            run.save()
            project.events.emit("item.started", item=rec.id, step=run.step, backend=name, attempt=attempt.n,
                                resumed_job=job_id or None)
            partial = guard_path(partial_path(output), project.root)
            try:
                with pool.acquire(name, run.stop) as backend:
                    ctx = ItemContext(run, attempt, job_id)
                    result = generate(backend, partial, ctx)
                    facts = verify(partial)
                commit_partial(partial, output)
            except (Interrupted, KeyboardInterrupt):
                _interrupted(run, attempt, partial)
                raise
            except DetachedError:
                attempt.status, attempt.ended_at = "submitted", utcnow()
                run.save()
                return Outcome(rec.id, "submitted", backend=name)
            except Exception as exc:  # noqa: BLE001 - every failure is recorded, then classified
                if run.stop.is_set():
                    # The run is stopping: this failure is most likely its cause's echo (Ctrl-C also kills the
                    # ffmpeg a backend was running), so the item is interrupted, resumable, not failed.
                    _interrupted(run, attempt, partial, error=f"{type(exc).__name__}: {exc}")
                    raise Interrupted() from exc
                with contextlib.suppress(OSError):
                    partial.unlink()
                err = exc if isinstance(exc, BackendError) else _as_backend_error(exc)
                last_error = err
                attempt.status, attempt.ended_at = "failed", utcnow()
                attempt.error, attempt.error_kind, attempt.error_code = err.message, err.kind, err.code or ""
                # Providers may bill failed jobs (partly): record what they report.
                attempt.cost_usd = float(getattr(exc, "cost_usd", 0.0) or 0.0)
                attempt.credits = getattr(exc, "credits", None)
                if err.code == "uncertain":
                    return _uncertain(run, name, err, attempt)
                rec.submitting = ""  # the submit got a definite answer (or never started)
                # Once a provider accepted a job, only its own final failure (resume_job_id set to None by
                # the backend: failed, cancelled, unknown to it) or --force drops the id. A local fault
                # (disk full, EACCES, EIO, a vanished file) or any other error keeps it for the next run.
                provider_dropped = hasattr(exc, "resume_job_id") and not getattr(exc, "resume_job_id", None)
                resume_job = None if provider_dropped else (getattr(exc, "resume_job_id", None) or rec.job_id or None)
                rec.job_id, rec.job_provider = (resume_job, rec.job_provider or name) if resume_job else ("", "")
                rec.error = err.message + (f" — {err.hint}" if err.hint else "")
                run.save()
                if resume_job and (isinstance(exc, (LocalIOError, OSError)) or not isinstance(exc, BackendError)):
                    # A local fault: retrying now would hit it again; the job stays resumable on disk.
                    return _stop_resumable(run, err, t0, name)
                if err.kind != "retryable":
                    project.events.emit("item.attempt_failed", item=rec.id, step=run.step, backend=name,
                                        attempt=attempt.n, error=err.message, error_kind=err.kind, hint=err.hint)
                if err.kind == "retryable" and attempt_no <= retries:
                    delay = backoff_delay(attempt_no, err.retry_after, rng)
                    project.events.emit("item.retry", item=rec.id, step=run.step, backend=name, attempt=attempt.n,
                                        delay=round(delay, 2), error=err.message)
                    ItemContext(run, attempt, None).sleep(delay)
                    continue
                if err.kind == "request":
                    return _fail(run, err, t0, name)
                if resume_job:
                    # Never fall back to another backend (a second paid job) while this one's job may finish.
                    return _stop_resumable(run, err, t0, name)
                resume_job = None
                break  # permanent for this backend (or retries exhausted): fall back
            else:
                # Success: digest, timings, cost; the record says done only after the rename.
                st = output.stat()
                attempt.status, attempt.ended_at = "done", utcnow()
                attempt.cost_usd, attempt.credits = result.cost_usd, result.credits
                rec.status, rec.error = "done", ""
                rec.output = output.name
                rec.output_digest = file_digest(output)
                rec.output_size, rec.output_mtime_ns = st.st_size, st.st_mtime_ns
                rec.backend, rec.model = name, result.model or rec.model or name
                rec.cost_usd = round(sum(a.cost_usd for a in rec.attempts), 6)
                rec.finished_at = utcnow()
                rec.seconds = round(time.monotonic() - t0, 3)
                rec.media = facts
                rec.info.update(result.info)
                run.save()
                if result.cost_usd:
                    project.events.emit("cost", item=rec.id, usd=result.cost_usd, backend=name)
                project.events.emit("item.done", item=rec.id, step=run.step, backend=name, seconds=rec.seconds,
                                    cost_usd=rec.cost_usd)
                return Outcome(rec.id, "done", cost_usd=rec.cost_usd, backend=name,
                               fallback_from=primary if name != primary else "")
        if b_index + 1 < len(chain):
            project.events.emit("item.fallback", item=rec.id, **{"from": name, "to": chain[b_index + 1]},
                                reason=last_error.message if last_error else "")
    assert last_error is not None
    return _fail(run, last_error, t0, chain[-1] if chain else "")


def _interrupted(run: ItemRun, attempt: Attempt, partial: Path, error: str = "") -> None:
    attempt.status, attempt.ended_at, attempt.error = "interrupted", utcnow(), error
    # A submitted remote job stays `submitted` so the next run polls it again; a submit whose answer never
    # came may have created one.
    rec = run.record
    rec.status = "submitted" if rec.job_id else ("uncertain" if rec.submitting else "running")
    run.save()
    with contextlib.suppress(OSError):
        partial.unlink()


class DetachedError(BaseException):
    """--detach: raised by `remember_job` once the job id is on disk, to return without polling. A
    BaseException, so a backend's own `except Exception` around its submit cannot swallow it."""


def _fail(run: ItemRun, err: BackendError, t0: float, backend: str = "") -> Outcome:
    return _stop(run, err, t0, backend, status="failed")


def _stop_resumable(run: ItemRun, err: BackendError, t0: float, backend: str) -> Outcome:
    """Stop the item but keep its accepted job: status `submitted` (a plain re-run or `ttv wait` polls and
    downloads it again), the error naming the fault."""
    return _stop(run, err, t0, backend, status="submitted")


def _stop(run: ItemRun, err: BackendError, t0: float, backend: str, *, status: str) -> Outcome:
    """The item's run ends without an output: the record says `status` (failed, or submitted when its job is
    kept) and why; the outcome is a failure of this run either way."""
    rec = run.record
    rec.status = status  # type: ignore[assignment]
    rec.error = err.message + (f" — {err.hint}" if err.hint else "")
    rec.cost_usd = round(sum(a.cost_usd for a in rec.attempts), 6)
    rec.seconds = round(time.monotonic() - t0, 3)
    run.save()
    kept = {"job_id": rec.job_id, "resumable": True} if status == "submitted" else {}
    run.project.events.emit("item.failed", item=rec.id, step=run.step, error=err.message, error_kind=err.kind,
                            hint=err.hint, attempts=len(rec.attempts), **kept)
    return Outcome(rec.id, "failed", error=rec.error, cost_usd=rec.cost_usd, backend=backend,
                   access_fault=status == "failed" and is_access_fault(err))


def _uncertain(run: ItemRun, backend: str, err: BackendError | None, attempt: Attempt | None = None) -> Outcome:
    """Stop the item as `uncertain`: a paid job may exist without an id on record. Its estimate counts as
    spent (see requests.spent_usd) until `--force` resolves it; nothing is submitted."""
    rec = run.record
    if err is None:
        err = UncertainSubmit(backend, "an earlier run stopped while its submit was in flight", rec.id,
                              rec.uncertain_usd)
        if rec.status == "uncertain" and rec.error:
            err.message = rec.error.split(" — ")[0]  # keep the first, more precise cause
    estimate = float(getattr(err, "estimated_usd", 0.0) or 0.0)
    rec.status, rec.submitting = "uncertain", rec.submitting or backend
    rec.uncertain_usd = max(rec.uncertain_usd, estimate)
    rec.error = err.message + (f" — {err.hint}" if err.hint else "")
    if attempt is not None:
        attempt.status = "failed"
    run.save()
    run.project.events.emit("item.failed", item=rec.id, step=run.step, error=err.message, error_kind="uncertain",
                            hint=err.hint, attempts=len(rec.attempts))
    return Outcome(rec.id, "failed", error=rec.error, cost_usd=rec.cost_usd, backend=backend)


def _refuse(run: ItemRun, problem: str) -> Outcome:
    run.project.events.emit("item.failed", item=run.record.id, step=run.step, error=problem, error_kind="record")
    return Outcome(run.record.id, "failed", error=problem)


def _drop_job(run: ItemRun, pool: BackendPool, job_id: str, backend: str, in_flight: bool,
              reason: str = "--force") -> None:
    """--force replaces an earlier remote job: cancel it first if it may still be running (and billing)."""
    outcome = "finished earlier"
    if in_flight:
        try:
            pool.primary(backend).cancel(job_id)  # type: ignore[attr-defined]
            outcome = "cancelled"
        except Exception as exc:  # no cancel call (Veo, MiniMax running), unknown backend, network: say so
            message = exc.message if isinstance(exc, TtvError) else f"{type(exc).__name__}: {exc}"
            outcome = f"not cancelled ({message}); it may still run and be billed"
    run.project.events.emit("item.job_dropped", item=run.record.id, job_id=job_id, backend=backend,
                            outcome=outcome, reason=reason)


def _as_backend_error(exc: Exception) -> BackendError:
    if isinstance(exc, OSError):
        exc = local_io_error(exc)  # a plain sentence, not a raw "[Errno 28] ..."
    if isinstance(exc, TtvError):
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno and f"[Errno {cause.errno}]" in exc.message:
            # e.g. media's "cannot write final.mp4: [Errno 28] No space left on device": say it plainly.
            head = exc.message.split(f"[Errno {cause.errno}]")[0].rstrip(" :")
            return BackendError(f"{head}: {local_io_error(cause).message}", exc.hint, kind="backend",
                                code=type(exc).__name__)
        return BackendError(exc.message, exc.hint, kind="backend", code=type(exc).__name__)
    return BackendError(f"{type(exc).__name__}: {exc}", "run with TTV_DEBUG=1 for the traceback", kind="backend",
                        code=type(exc).__name__)


def project_output(run: ItemRun) -> Path:
    return run.project.output_path(run.state.kind, run.state.id)
