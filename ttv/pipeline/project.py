"""The project folder: paths, validated loading of ttv.toml / plan.toml, records, lock, events."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ttv import __version__
from ttv.core import layout
from ttv.core.errors import ConfigError, LockBusyError
from ttv.core.events import EventLog
from ttv.core.fsutil import TMP_DIR, atomic_write_text, clean_stale_temp, file_digest, guard_path
from ttv.core.layout import CONFIG_FILE, PLAN_FILE, RecordKind, try_lock_folder  # noqa: F401 - also imported from here
from ttv.core.schemas import Plan, ProjectConfig, Record
from ttv.core.tomlio import dumps_toml, load_toml, write_toml
from ttv.core.validation import describe_validation_error

CONFIG_HEADER = """ttv project settings. Edit freely; `ttv config show` explains each value.
Docs: README.md "Project folder". Unknown keys are errors."""
PLAN_HEADER = """Shot plan written by `ttv plan`. Edit prompts/durations by hand: only what you change is redone.
Set `locked = true` on a segment to keep it when re-planning with `ttv plan --force`."""


def find_project_root(start: Path) -> Path | None:
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    return None


class _RedactingEventLog(EventLog):
    """The project's event log never holds a key: an error message quoting one (a request URL, a header) is
    redacted before it reaches the listeners (progress lines) and `.ttv/events.jsonl`."""

    def emit(self, type: str, **data: Any) -> None:
        from ttv.core.keys import known_key_values

        secrets = known_key_values()
        if secrets and any(k in repr(data) for k in secrets):
            data = {k: _redacted(v) for k, v in data.items()}
        super().emit(type, **data)


class Project:
    def __init__(self, root: Path, config: ProjectConfig) -> None:
        self.root = root
        self.config = config
        self._plan: Plan | None = None
        self.events: EventLog = _RedactingEventLog(self.root / layout.EVENTS_FILE)
        # Parsed records keyed by path, valid while the file's (mtime, size) is unchanged: a step evaluates
        # each record several times, and re-running a finished 100-segment project must stay well under 1 s.
        self._records: dict[Path, tuple[int, int, Record]] = {}

    # ---- paths -------------------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_FILE

    @property
    def plan_path(self) -> Path:
        return self.root / PLAN_FILE

    @property
    def ttv_dir(self) -> Path:
        return self.root / layout.TTV_DIR

    @property
    def keyframes_dir(self) -> Path:
        return self.root / layout.KEYFRAMES_DIR

    @property
    def clips_dir(self) -> Path:
        return self.root / layout.CLIPS_DIR

    @property
    def frames_dir(self) -> Path:
        return self.root / layout.FRAMES_DIR

    @property
    def final_path(self) -> Path:
        return self.root / layout.FINAL_FILE

    def output_path(self, kind: RecordKind, item_id: str) -> Path:
        return layout.output_path(self.root, kind, item_id)  # the kernel's layout: the dashboard reads it too

    def record_path(self, kind: RecordKind, item_id: str) -> Path:
        return layout.record_path(self.root, kind, item_id)

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    # ---- loading -----------------------------------------------------------------------------
    @classmethod
    def load(cls, root: Path) -> Project:
        root = root.resolve()
        path = root / CONFIG_FILE
        if not path.is_file():
            raise ConfigError(f"no {CONFIG_FILE} in {root}", hint="create a project with `ttv init DIR --idea \"...\"`, "
                              "or pass --project DIR")
        from ttv.core.userconfig import load_user_config, merge, user_config_path

        user = load_user_config()
        data = load_toml(path)
        try:
            config = parse_config(merge(user, data), str(path))
            check_backend_references(config, str(path))
            from ttv.core import prices

            prices.set_overrides(config.prices)  # `[prices]` in ttv.toml applies to every estimate
            return cls(root, config)
        except ConfigError:
            if user:
                # Say which file is wrong when the user config is the culprit.
                try:
                    parse_config(data, str(path))
                except ConfigError:
                    raise
                parse_config(merge(user, data), f"{user_config_path()} (user config)")
            raise

    @classmethod
    def discover(cls, project: Path | None) -> Project:
        if project is not None:
            return cls.load(project)
        root = find_project_root(Path.cwd())
        if root is None:
            raise ConfigError(f"no {CONFIG_FILE} here or in any parent folder",
                              hint="cd into a project, pass --project DIR, or create one with `ttv init DIR --idea \"...\"`")
        return cls.load(root)

    @property
    def has_plan(self) -> bool:
        return self.plan_path.is_file()

    @property
    def plan(self) -> Plan:
        if self._plan is None:
            if not self.has_plan:
                raise ConfigError(f"{self.plan_path} does not exist yet", hint="run `ttv plan` first")
            plan = parse_plan(load_toml(self.plan_path), str(self.plan_path))
            check_plan_references(plan, str(self.plan_path))
            self._plan = plan
        return self._plan

    def use_plan_in_memory(self, plan: Plan) -> None:
        """Work on `plan` without writing plan.toml (a dry run before `ttv plan`)."""
        self._plan = plan

    def save_plan(self, plan: Plan) -> None:
        data = plan.model_dump(by_alias=True, exclude_defaults=False)
        # Keep plan.toml readable: drop empty optional fields from each entry.
        for seg in data["segments"]:
            for key in ("negative_prompt", "camera", "continuity", "backend", "end_keyframe", "start_keyframe"):
                if seg.get(key) == "":
                    seg.pop(key)
            if seg.get("seed") is None:
                seg.pop("seed", None)
        for kf in data["keyframes"]:
            for key in ("image", "provider"):
                if kf.get(key) == "":
                    kf.pop(key)
            if kf.get("seed") is None:
                kf.pop("seed", None)
        write_toml(self.plan_path, data, header=PLAN_HEADER)
        self._plan = plan

    def save_config(self) -> None:
        save_config(self.root, self.config)

    def set_config_value(self, key: str, value: str) -> None:
        """Change one top-level key of ttv.toml in place (e.g. `ttv keyframes --provider`). The rest of the
        file stays as the user wrote it (comments, layout), and values merged in from the user config are not
        copied into the project, as rewriting the whole loaded config would."""
        from ttv.pipeline.config_file import set_value

        setattr(self.config, key, value)  # validated (validate_assignment)
        set_value(self.config_path, key, value)

    # ---- records -----------------------------------------------------------------------------
    def read_record(self, kind: RecordKind, item_id: str) -> Record | None:
        path = self.record_path(kind, item_id)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        cached = self._records.get(path)
        if cached is not None and cached[:2] == (st.st_mtime_ns, st.st_size):
            return cached[2].model_copy(deep=True)
        try:
            record = Record.model_validate(load_toml(path))
        except (ConfigError, ValidationError):
            # A hand-broken record only means "not done": the item is redone; nothing is lost.
            return None
        self._records[path] = (st.st_mtime_ns, st.st_size, record.model_copy(deep=True))
        return record

    def unreadable_record_with_job(self, kind: RecordKind, item_id: str) -> str | None:
        """When the record of an item exists but cannot be read, and its text may name a remote job (a job id,
        a submit in flight, status submitted/uncertain): why the item must not be redone blindly, with the file
        and the fix. None when there is no such record (a broken record without a job only means "redo")."""
        import re

        path = self.record_path(kind, item_id)
        if self.read_record(kind, item_id) is not None:
            return None
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return None
        except OSError as exc:
            text = f"unreadable: {exc}"
        job = re.search(r'job_id\s*=\s*["\']([^"\']+)', text)
        pending = re.search(r'(submitting\s*=\s*["\'][^"\']+|status\s*=\s*["\']?(submitted|uncertain|running))', text)
        if not (job or pending or text.startswith("unreadable")):
            return None
        named = f"job {job.group(1)!r}" if job else "a job"
        return (f"{self.rel(path)} is unreadable (hand-edited or damaged) and may name a paid remote job ({named}); "
                f"ttv will not submit {item_id} again — fix the file (`ttv status --why` shows what is wrong), or delete "
                f"it after checking the provider's dashboard for that job, or pass --force to submit a new one")

    def write_record(self, record: Record) -> None:
        record.versions.setdefault("ttv", __version__)
        data = record.model_dump(by_alias=True, mode="json")
        text = dumps_toml(data)
        from ttv.core.keys import known_key_values

        if any(value in text for value in known_key_values()):
            # An error message that quotes a key (a request URL, a header) must never reach the project folder.
            data = _redacted(data)
            text = dumps_toml(data)
        path = self.record_path(record.kind, record.id)
        guard_path(path.parent, self.root)  # never write through a linked folder
        guard_path(path, self.root)
        atomic_write_text(path, text)

    def output_is_intact(self, record: Record) -> bool:
        """Output exists with the recorded digest. A (size, mtime) match skips re-hashing, like make/dvc."""
        if not record.output or not record.output_digest:
            return False
        folder = self.record_path(record.kind, record.id).parent
        path = folder / record.output
        if record.output != path.name or path.is_symlink():
            return False  # `output = "../final.mp4"` or a link: never counts as this item's output
        try:
            st = path.stat()
        except FileNotFoundError:
            return False
        if st.st_size == record.output_size and st.st_mtime_ns == record.output_mtime_ns:
            return True
        return st.st_size == record.output_size and file_digest(path) == record.output_digest

    def distrust_changed_outputs(self, items: list[tuple[RecordKind, str]]) -> list[str]:
        """Hash the outputs of these done items (a later step found an input unusable); for each whose digest
        differs from its record, forget the (size, mtime) shortcut so the item reads as stale. Returns their ids."""
        changed: list[str] = []
        for kind, item_id in items:
            record = self.read_record(kind, item_id)
            if record is None or record.status != "done" or not record.output:
                continue
            path = self.record_path(kind, item_id).parent / record.output
            try:
                same = file_digest(path) == record.output_digest
            except OSError:
                same = False
            if not same:
                record.output_mtime_ns = 0  # never matches: the next look hashes, finds the change, redoes it
                self.write_record(record)
                changed.append(item_id)
        return changed

    # ---- lock --------------------------------------------------------------------------------
    # The lock is an flock on the project folder's own descriptor, not on a file inside it: `rm .ttv/lock`
    # or `rm -rf .ttv` during a run cannot release it, so a second `ttv run` can never start beside a live
    # one. The kernel drops it when the process dies (kill -9 included). `.ttv/lock.json` only says who.

    def _try_lock(self) -> int | None:
        """An open descriptor of the project folder holding the exclusive flock, or None when it is held."""
        return try_lock_folder(self.root)

    def lock_holder(self) -> dict[str, Any] | None:
        """Who holds the project lock now (lock.json's pid, host, command, since; {} when unreadable), or None
        when it is free. The lock itself is tested, so a lock.json left by a killed process, a reused pid
        or another host's stale file never counts. OSError when the folder cannot be opened."""
        fd = self._try_lock()
        if fd is not None:
            os.close(fd)
            return None
        try:
            info = json.loads((self.ttv_dir / "lock.json").read_text())
        except (OSError, ValueError):
            return {}
        return dict(info) if isinstance(info, dict) else {}

    @contextmanager
    def locked(self, command: str, wait: float = 0.0) -> Iterator[None]:
        """Hold the project lock for a mutating command; a second ttv process gets a clear message."""
        guard_path(self.ttv_dir, self.root, what="use")
        self.ttv_dir.mkdir(parents=True, exist_ok=True)
        info_path = self.ttv_dir / "lock.json"
        deadline = time.monotonic() + max(wait, 0.0)
        while (fd := self._try_lock()) is None:
            if time.monotonic() >= deadline:
                holder = ""
                try:
                    info = json.loads(info_path.read_text())
                    holder = f" (pid {info.get('pid')} on {info.get('host')}, `ttv {info.get('command')}`, since {info.get('since')})"
                except (OSError, ValueError):
                    pass
                raise LockBusyError(f"another ttv process is working on this project{holder}",
                                    hint="wait for it to finish, or pass --wait-for-lock SECONDS") from None
            time.sleep(0.1)
        try:
            self.check_folders()
            # Under the lock nobody else writes: temp files in the project are a killed run's leftovers.
            clean_stale_temp([self.root, self.keyframes_dir, self.clips_dir, self.ttv_dir, self.ttv_dir / TMP_DIR])
            guard_path(info_path, self.root)
            marker = guard_path(self.ttv_dir / "lock", self.root)  # "a ttv process worked here" (doctor reads it)
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644))
            atomic_write_text(info_path, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "command": command,
                                                     "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
            yield
        finally:
            with suppress(OSError):
                if not info_path.is_symlink():
                    info_path.unlink()
            os.close(fd)  # releases the flock

    def check_folders(self) -> None:
        """The folders ttv writes into are real folders inside the project, not links to elsewhere."""
        for folder in (self.ttv_dir, self.keyframes_dir, self.clips_dir, self.frames_dir):
            if folder.is_symlink() or folder.exists():
                guard_path(folder, self.root, what="write into")


def parse_config(data: dict[str, Any], filename: str) -> ProjectConfig:
    try:
        # strict: TOML has real types, so `fps = true` or `fps = "24"` is a mistake, not a value to coerce.
        return ProjectConfig.model_validate(data, strict=True)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, filename, ProjectConfig),
                          hint="fix the key named above; `ttv config show` lists every setting") from None


def _redacted(value: Any) -> Any:
    from ttv.core.keys import redact

    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def check_backend_references(config: ProjectConfig, filename: str) -> None:
    """Every backend named in ttv.toml exists, has the right kind, and its options validate — before any work."""
    from ttv.backends import registry

    named = [(config.backend, "video", "backend"), (config.keyframes, "image", "keyframes"),
             (config.planner, "planner", "planner")] + [(n, "video", "fallback") for n in config.fallback]
    _check_named(named, filename)
    for name, options in config.backends.items():
        try:
            cls = registry.load_class(name)
        except ConfigError as exc:
            raise ConfigError(f"{filename}: [backends.{name}]: {exc.message}", hint=exc.hint) from None
        try:
            cls.OptionsModel.model_validate(options)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc, f"{filename} [backends.{name}]", cls.OptionsModel),
                              hint=f"`ttv backends info {name}` lists its options") from None


def check_plan_references(plan: Plan, filename: str) -> None:
    """Per-segment `backend` and per-keyframe `provider` name existing backends of the right kind, so a typo in
    plan.toml is reported with the file and the entry before any work (not as a bare error mid-run)."""
    named = [(s.backend, "video", f"segment {s.id}: backend") for s in plan.segments if s.backend]
    named += [(k.provider, "image", f"keyframe {k.id}: provider") for k in plan.keyframes if k.provider]
    _check_named(named, filename, unknown_hint="see `ttv backends list --kind {kind}`, or remove the key to use "
                                               "ttv.toml's")


def _check_named(named: list[tuple[str, str, str]], filename: str, unknown_hint: str | None = None) -> None:
    """Each (backend name, kind it must be, where it is named) exists and has that kind."""
    from ttv.backends import registry

    for name, kind, where in named:
        try:
            cls = registry.load_class(name)
        except ConfigError as exc:
            hint = unknown_hint.format(kind=kind) if unknown_hint else exc.hint
            raise ConfigError(f"{filename}: {where}: {exc.message}", hint=hint) from None
        if cls.kind != kind:
            raise ConfigError(f"{filename}: {where}: {registry.kind_mismatch(name, cls.kind, kind)}",
                              hint=f"see `ttv backends list --kind {kind}`")


def parse_plan(data: dict[str, Any], filename: str) -> Plan:
    try:
        return Plan.model_validate(data, strict=True)  # strict: `locked = "no"` must not read as true
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc, filename, Plan, context=data),
                          hint="fix plan.toml by hand, or re-plan with `ttv plan --force` (locked segments are kept)") from None


def config_to_toml(config: ProjectConfig) -> str:
    data = config.model_dump(by_alias=True, exclude_none=True)
    return dumps_toml(data)


def save_config(root: Path, config: ProjectConfig) -> None:
    data = config.model_dump(by_alias=True, exclude_none=True)
    write_toml(root / CONFIG_FILE, data, header=CONFIG_HEADER)
