"""Soak test of "never pay twice, never leave a mess": `ttv run` killed with SIGKILL at random moments,
resumed, through a flaky loopback proxy, against a fake Runway-protocol provider that counts submissions.

Every trial makes a small project (keyframe and chain mode in turn, offline `card` keyframes, the `runway`
backend pointed at the proxy), starts `ttv run`, kills it with SIGKILL after a random delay, then resumes
(`ttv run` again, killed again at random in the first resumes) until the film is done. An item that stops as
`uncertain` (a submit whose answer the proxy destroyed) is resolved as a user would: `--force --only ID`.

The proxy, per connection at random: resets it after the request went up (the provider acts, the answer is
lost), delays the answer past `request_timeout_s`, truncates the answer (downloads cut short), or refuses
the connection before anything is sent.

Printed: trials, completed, submissions per clip, duplicate submissions (all / not explained by an
`uncertain` record, which must be 0), orphan jobs (jobs no record names), uncertain items, leaked temp files
(in the project and in the system temp folder).

Run:  PYTHONPATH=. python benchmarks/soak.py --trials 20            (per mode; bounded by --max-seconds)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.remote.fakes import FakeJob, RunwayFake, VideoFactory  # noqa: E402
from ttv.core.fsutil import is_temp_name  # noqa: E402
from ttv.core.tomlio import load_toml, write_toml  # noqa: E402

KEY = "key_soak_SECRET_0123456789abcdef"
TTV_PATH = str(ROOT)  # what the ttv children import (--ttv-path: another checkout, for a before/after figure)


# ---- the flaky proxy -----------------------------------------------------------------------------------


@dataclass
class Faults:
    reset: float = 0.08  # answer lost after the request went up
    delay: float = 0.05  # answer held for delay_s (past request_timeout_s)
    truncate: float = 0.05  # answer cut in half, then the connection closed
    refuse: float = 0.04  # closed before the request is read: it never left
    delay_s: float = 3.0
    counts: Counter[str] = field(default_factory=Counter)


class FlakyProxy:
    """A TCP proxy on 127.0.0.1 with one fault (or none) drawn per connection."""

    def __init__(self, upstream_port: int, faults: Faults, rng: random.Random) -> None:
        self.upstream = upstream_port
        self.faults = faults
        self.rng = rng
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _draw(self) -> str:
        f, r = self.faults, self.rng.random()
        for name, p in (("reset", f.reset), ("delay", f.delay), ("truncate", f.truncate), ("refuse", f.refuse)):
            if r < p:
                return name
            r -= p
        return "ok"

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            fault = self._draw()
            self.faults.counts[fault] += 1
            threading.Thread(target=self._serve, args=(client, fault), daemon=True).start()

    def _serve(self, client: socket.socket, fault: str) -> None:
        if fault == "refuse":
            _rst(client)
            return
        try:
            upstream = socket.create_connection(("127.0.0.1", self.upstream))
        except OSError:
            _rst(client)
            return
        threading.Thread(target=_pump, args=(client, upstream), daemon=True).start()
        sent = 0
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if fault == "reset":
                    break  # the provider answered; the answer never arrives
                if fault == "delay" and sent == 0:
                    time.sleep(self.faults.delay_s)
                if fault == "truncate":
                    data = data[: max(1, len(data) // 2)]
                    client.sendall(data)
                    break
                client.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            _rst(client)
            upstream.close()

    def close(self) -> None:
        self._stop = True
        self.sock.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass


def _rst(sock: socket.socket) -> None:
    import struct

    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST, not FIN
        sock.close()
    except OSError:
        pass


class SoakFake(RunwayFake):
    """The Runway fake whose result URLs go through the proxy too (so downloads get faults)."""

    proxy_url = ""

    def result_url(self, job: FakeJob) -> str:
        return super().result_url(job).replace(self.url, self.proxy_url, 1)


# ---- one trial -----------------------------------------------------------------------------------------


@dataclass
class Trial:
    mode: str
    completed: bool = False
    kills: int = 0
    runs: int = 0
    uncertain: int = 0
    uncertain_killed: int = 0  # of which: a run was killed while the submit was in flight
    forced: Counter[str] = field(default_factory=Counter)
    submissions: Counter[str] = field(default_factory=Counter)
    orphans: int = 0
    leaked: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _env(systmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_API_SECRET", "FAL_KEY"))}
    home = tempfile.mkdtemp(prefix="ttv-soak-home-")
    # A private system temp folder per trial: whatever ttv leaves there is its own (the machine's /tmp is shared).
    return {**env, "PYTHONPATH": TTV_PATH, "RUNWAYML_API_SECRET": KEY, "TTV_HOME": home, "NO_COLOR": "1",
            "TMPDIR": str(systmp)}


def _ttv(env: dict[str, str], *args: str, kill_after: float | None = None, limit: float = 120.0) -> int | None:
    """Run ttv; SIGKILL it after `kill_after` seconds (None: let it finish). The exit code, or None if killed."""
    # cwd: `python -m` puts the current folder first on sys.path, so it must be the checkout under test.
    proc = subprocess.Popen([sys.executable, "-m", "ttv", *args], env=env, cwd=TTV_PATH, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=kill_after if kill_after is not None else limit)
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return None


def run_trial(n: int, mode: str, fake: SoakFake, proxy: FlakyProxy, base: Path, rng: random.Random,
              segments: int) -> Trial:
    trial = Trial(mode)
    t0 = time.monotonic()
    systmp = base / f"t{n:03}-tmp"
    systmp.mkdir()
    env = _env(systmp)
    root = base / f"t{n:03}-{mode}"
    assert _ttv(env, "init", str(root), "--idea", f"trial {n}: a lighthouse keeper finds a bottle. She sails. She "
                "finds her brother.", "--mode", mode, "--segments", str(segments), "--duration",
                str(2 * segments), "--width", "320", "--height", "180", "--fps", "8") == 0
    cfg = load_toml(root / "ttv.toml")
    cfg["backend"], cfg["retries"] = "runway", 2
    cfg["backends"] = {"runway": {"base_url": proxy_url(proxy), "model": "gen4_turbo", "poll_interval_s": 0.05,
                                  "request_timeout_s": 2.0}}
    write_toml(root / "ttv.toml", cfg)
    before = set(fake.jobs)
    for attempt in range(12):
        kill = rng.uniform(0.5, 6.0) if attempt < 3 else None
        code = _ttv(env, "run", "-p", str(root), "--on-error", "keep-going", kill_after=kill)
        trial.runs += 1
        trial.kills += code is None
        if code == 0:
            trial.completed = True
            break
        uncertain = _uncertain(root)
        if code is not None and uncertain:
            # What a user does after checking the provider: resubmit those items (documented: may pay twice).
            trial.uncertain += len(uncertain)
            trial.uncertain_killed += sum(1 for item in uncertain if "stopped while its submit" in
                                          str(load_toml(root / "clips" / f"{item}.toml").get("error", "")))
            for item in uncertain:
                trial.forced[item] += 1
            _ttv(env, "run", "-p", str(root), "--on-error", "keep-going", "--force", "--only", ",".join(uncertain),
                 limit=120)
            trial.runs += 1
    new_jobs = {jid: job for jid, job in fake.jobs.items() if jid not in before}
    prompts = {s["prompt"]: s["id"] for s in load_toml(root / "plan.toml").get("segments", [])}
    for job in new_jobs.values():
        text = str(job.args.get("promptText", ""))
        seg = next((sid for p, sid in prompts.items() if text and (p in text or text in p)), "?")
        trial.submissions[seg] += 1
    named = {load_toml(p).get("job_id") for p in (root / "clips").glob("*.toml")}
    trial.orphans = sum(1 for jid in new_jobs if jid not in named)
    trial.leaked = [str(p.relative_to(root)) for p in root.rglob("*") if is_temp_name(p.name)]
    trial.leaked += [f"$TMPDIR/{name}" for name in os.listdir(systmp)]
    trial.seconds = time.monotonic() - t0
    return trial


def proxy_url(proxy: FlakyProxy) -> str:
    return f"http://127.0.0.1:{proxy.port}"


def _uncertain(root: Path) -> list[str]:
    out = []
    for path in sorted((root / "clips").glob("*.toml")):
        try:
            if load_toml(path).get("status") == "uncertain":
                out.append(path.stem)
        except Exception:  # noqa: BLE001 - a record being written right now
            pass
    return out


# ---- main ----------------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=20, help="trials per mode (keyframe and chain)")
    ap.add_argument("--segments", type=int, default=3)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--max-seconds", type=float, default=1500.0, help="stop starting trials after this long")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--ttv-path", default=str(ROOT), help="checkout whose ttv the runs use (default: this one)")
    args = ap.parse_args()
    global TTV_PATH
    TTV_PATH = args.ttv_path
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="ttv-soak-"))
    fake = SoakFake(VideoFactory(work, fps=24, size="64x36"), KEY)
    fake.server.handle_error = lambda request, client_address: None  # type: ignore[method-assign]  # resets: expected
    fake.script = ["queued", "running:0.5", "succeeded"]
    faults = Faults()
    proxy = FlakyProxy(fake.server.server_port, faults, rng)
    fake.proxy_url = proxy_url(proxy)
    t0 = time.monotonic()
    trials: list[Trial] = []
    try:
        for n in range(args.trials * 2):
            if time.monotonic() - t0 > args.max_seconds:
                break
            mode = ("keyframe", "chain")[n % 2]
            trials.append(run_trial(n, mode, fake, proxy, work, rng, args.segments))
            t = trials[-1]
            print(f"trial {n:3} {mode:8} {'done' if t.completed else 'NOT DONE':8} kills={t.kills} runs={t.runs} "
                  f"uncertain={t.uncertain} submissions={dict(t.submissions)} orphans={t.orphans} "
                  f"leaked={t.leaked} {t.seconds:.1f}s", flush=True)
    finally:
        proxy.close()
        fake.close()
    report(trials, faults, args, time.monotonic() - t0)


def report(trials: list[Trial], faults: Faults, args: argparse.Namespace, seconds: float) -> None:
    clips = args.segments * len(trials)
    subs = sum(sum(t.submissions.values()) for t in trials)
    dup = sum(max(0, c - 1) for t in trials for c in t.submissions.values())
    unexplained = sum(max(0, c - 1 - t.forced.get(seg, 0)) for t in trials for seg, c in t.submissions.items())
    summary: dict[str, Any] = {
        "trials": len(trials), "by_mode": dict(Counter(t.mode for t in trials)),
        "completed": sum(t.completed for t in trials), "kills": sum(t.kills for t in trials),
        "runs": sum(t.runs for t in trials), "clips": clips, "submissions": subs,
        "submissions_per_clip": round(subs / clips, 3) if clips else 0.0,
        "duplicate_submissions": dup, "duplicates_not_explained_by_uncertain": unexplained,
        "uncertain_items": sum(t.uncertain for t in trials),
        "uncertain_after_kill_mid_submit": sum(t.uncertain_killed for t in trials), "orphan_jobs": sum(t.orphans for t in trials),
        "leaked_temp_files": sum(len(t.leaked) for t in trials), "proxy_connections": dict(faults.counts),
        "seconds": round(seconds, 1)}
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    print()
    for key, value in summary.items():
        print(f"{key:40} {value}")


if __name__ == "__main__":
    main()
