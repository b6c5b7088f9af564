"""`ttv monitor`: a Textual dashboard of GPUs, segments, spend and the event log.

It reads the project and never writes to it. The model lives in `ttv.tui.state`; this module only
lays it out and polls: the event log every `interval` seconds (by file size/offset, so it follows a
render on this machine or, over ssh, on a remote one) and the GPUs about once a second in a thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text
from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Footer

from ttv.core.gpu import GpuProbe
from ttv.core.states import DONE, PLANNED, PROBLEMS, QUEUED, STALE
from ttv.tui.state import (
    EVENTS_FILE,
    GpuHistory,
    LiveSource,
    MonitorState,
    Overall,
    ReplaySource,
    RestStates,
    SegmentRow,
    details,
    fmt_duration,
    fmt_gib,
    fmt_usd,
    sparkline,
    state_style,
)

GpuSampler = Callable[[], tuple[list[dict[str, Any]], str]]

WIDE = 110  # from this many columns on: the long table, side-by-side panels, a details pane
DETAILS_PANE = 150  # from this many columns on: the details pane stays open beside the table


def _bar(fraction: float, width: int) -> Text:
    """A progress bar that still reads without colour: ━ done, ─ to do."""
    width = max(width, 1)
    filled = int(round(min(max(fraction, 0.0), 1.0) * width))
    return Text.assemble(("━" * filled, "green"), ("─" * (width - filled), "grey37"))


class Panel(Widget):
    """A widget drawn from the app's model on each refresh."""

    @property
    def mon(self) -> MonitorApp:
        app = self.app
        assert isinstance(app, MonitorApp)
        return app


class TitleBar(Panel):
    def render(self) -> RenderableType:
        app = self.mon
        name = app.project.resolve().name
        status, level = app.status()
        style = {"error": "bold red", "warn": "yellow"}.get(level, "")
        t = Text.assemble(("ttv monitor", "bold"), " · ", (name, "bold"), " · ", (status, style))
        t.no_wrap, t.overflow = True, "ellipsis"
        return t


class GpuPanel(Panel):
    def render(self) -> RenderableType:
        hist = self.mon.gpu
        width = max(self.size.width, 20)
        if not hist.gpus:
            reason = hist.reason or "probing GPUs…"
            return Text(reason, style="dim", no_wrap=True, overflow="ellipsis")
        lines = Text(no_wrap=True, overflow="ellipsis")
        name_w = max(len(self._gpu_name(g)) for g in hist.gpus)
        name_w = max(8, min(name_w, 24, width // 5))
        for n, g in enumerate(hist.gpus):
            if n:
                lines.append("\n")
            lines.append_text(self._line(g, width, name_w))
        return lines

    @staticmethod
    def _gpu_name(g: dict[str, Any]) -> str:
        return str(g.get("name") or f"GPU {g.get('index', 0)}").removeprefix("NVIDIA ").removeprefix("GeForce ")

    def _line(self, g: dict[str, Any], width: int, name_w: int) -> Text:
        i = int(g.get("index", 0))
        name = self._gpu_name(g)[:name_w].ljust(name_w)
        util = g.get("util")
        used, total = g.get("mem_used"), g.get("mem_total")
        temp = g.get("temperature")
        pw, lim = g.get("power_w"), g.get("power_limit_w")
        util_s = f"{util:3.0f}%" if util is not None else "  ?%"
        mem_s = f"{fmt_gib(used)}/{fmt_gib(total)}G".rjust(11)
        temp_s = (f"{temp:.0f}°C" if temp is not None else "—°C").rjust(5)
        pw_s = (f"{pw:.0f}/{lim:.0f}W" if lim else f"{pw:.0f}W") if pw is not None else "—W"
        pw_s = pw_s.ljust(9)
        fixed = len(f"{i} {name}  {util_s}   {mem_s}   {temp_s}  {pw_s}") + 3
        spare = max(0, width - fixed)
        n_sparks = 3 if spare >= 30 else 2
        each = min(spare // n_sparks, 40) if spare >= 2 * n_sparks else 0
        hot = temp is not None and temp >= 85
        u_style = "bold red" if util is not None and util >= 98 else "cyan"
        t = Text()
        t.append(f"{i} ", "dim")
        t.append(name, "bold")
        t.append("  ")
        t.append(util_s, "bold")
        if each:
            t.append(" " + sparkline(self.mon.gpu.util.get(i, []), each), u_style)
        t.append("  ")
        t.append(mem_s)
        if each:
            t.append(" " + sparkline(self.mon.gpu.mem.get(i, []), each), "magenta")
        t.append("  ")
        t.append(temp_s, "bold red" if hot else "")
        t.append("  ")
        t.append(pw_s)
        if each and n_sparks == 3:
            t.append(" " + sparkline(self.mon.gpu.power.get(i, []), each), "yellow")
        return t


class OverallPanel(Panel):
    def render(self) -> RenderableType:
        o = self.mon.overall
        width = max(self.size.width, 30)
        done = o.counts.get(DONE, 0)
        # in order of importance: what does not fit is left out. Each state is counted once, in its own word.
        parts: list[tuple[str, str]] = [(f"{done}/{o.total} done", "bold")]
        for state in ("failed", "interrupted", "cancelled"):
            if o.counts.get(state):
                parts.append((f"{o.counts[state]} {state}", state_style(state)))
        if o.eta is not None:
            parts.append((f"ETA {fmt_duration(o.eta)}", "bold"))
        for state in ("running", "submitted", "queued", "stale"):
            if o.counts.get(state):
                parts.append((f"{o.counts[state]} {state}", state_style(state)))
        if o.elapsed is not None:
            parts.append((f"{fmt_duration(o.elapsed)} elapsed", "dim"))
        pct = f" {int(o.fraction * 100):3d}% "
        stats = Text()
        room = width - len(pct) - 10
        for n, (s, style) in enumerate(parts):
            sep = " · " if n else ""
            if n and stats.cell_len + len(sep) + len(s) > room:
                continue
            stats.append(sep, "dim")
            stats.append(s, style)
        bar_w = max(10, min(40, width - len(pct) - stats.cell_len))
        line1 = Text.assemble(_bar(o.fraction, bar_w), (pct, "bold"), stats)

        line2 = Text("spend ")
        line2.append(fmt_usd(o.spent), "bold")
        if o.budget:
            share = o.spent / o.budget
            line2.append(f" of {fmt_usd(o.budget)} ")
            line2.append(f"({share:.0%})", "bold red" if share >= 1 else ("yellow" if share >= 0.8 else "green"))
            if share >= 1:
                line2.append(" OVER BUDGET", "bold red")
        else:
            line2.append(" (no budget)", "dim")
        for p in o.providers:
            if p.spent or p.estimated:
                line2.append(" · ", "dim")
                line2.append(f"{p.backend} {fmt_usd(p.spent)}")
                if p.estimated:
                    line2.append(f"/{fmt_usd(p.estimated)} est", "dim")

        line3 = Text()
        if o.keyframes_total and o.keyframes_done < o.keyframes_total:
            line3.append(f"keyframes {o.keyframes_done}/{o.keyframes_total}")
            # the others by state, in the same words as the table (stale, running, failed…)
            for state in ("failed", "interrupted", "running", "submitted", "queued", "stale"):
                if o.keyframe_counts.get(state):
                    line3.append(f" · {o.keyframe_counts[state]} {state}", state_style(state))
        if o.final_state:
            if line3:
                line3.append(" · ", "dim")
            line3.append("final.mp4 ")
            line3.append(o.final_state, state_style(o.final_state))
        problems = self.mon.model.problems
        if problems:
            if line3:
                line3.append(" · ", "dim")
            line3.append(f"cannot read {', '.join(sorted(problems))}", "yellow")
        lines = [line1, line2] + ([line3] if line3 else [])
        out = Text("\n").join(lines)
        out.no_wrap, out.overflow = True, "ellipsis"
        return out


class LogTail(Panel):
    def render(self) -> RenderableType:
        height = max(self.size.height, 1)
        lines = list(self.mon.model.log)[-height:]
        if not lines:
            return Text("no events yet", style="dim")
        out = Text(no_wrap=True, overflow="ellipsis")
        for n, line in enumerate(lines):
            if n:
                out.append("\n")
            out.append(time.strftime("%H:%M:%S ", time.localtime(line.ts)), "dim")
            style = {"error": "red", "warn": "yellow"}.get(line.level, "")
            tag = {"error": "✗ ", "warn": "! "}.get(line.level, "  ")
            out.append(tag + line.text, style)
        return out


class DetailsPanel(Panel):
    def __init__(self, seg_id: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.seg_id = seg_id  # None: follow the table's cursor

    def render(self) -> RenderableType:
        app = self.mon
        row = app.row_by_id(self.seg_id) if self.seg_id else app.selected_row()
        if row is None:
            return Text("no segment selected", style="dim")
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column(overflow="fold")
        for label, value, style in details(row, app.project):
            grid.add_row(label, Text(value, style=style))
        return grid


class DetailsScreen(ModalScreen[None]):
    """Details of one segment over the dashboard (narrow terminals, or enter)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "close", "close", key_display="esc"),
        Binding("q", "app.quit", "quit"),
        Binding("j,down", "move(1)", "next", key_display="↓/j"),
        Binding("k,up", "move(-1)", "previous", key_display="↑/k"),
    ]
    DEFAULT_CSS = """
    DetailsScreen { align: center middle; }
    DetailsScreen > VerticalScroll {
        width: 90%; max-width: 120; height: auto; max-height: 90%;
        border: round $accent; border-title-align: left; background: $surface; padding: 0 1;
    }
    DetailsScreen DetailsPanel { height: auto; }
    """

    def __init__(self, seg_id: str) -> None:
        super().__init__()
        self.seg_id = seg_id

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = f"segment {self.seg_id}"
            yield DetailsPanel(self.seg_id, id="modal-details")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_move(self, step: int) -> None:
        app = self.app
        assert isinstance(app, MonitorApp)
        seg = app.move_selection(step)
        if seg:
            self.seg_id = seg
            self.query_one(DetailsPanel).seg_id = seg
            self.query_one(VerticalScroll).border_title = f"segment {seg}"
            self.query_one(DetailsPanel).refresh(layout=True)


class SegmentTable(DataTable[Any]):
    """The segment table; its bindings show in the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "details", key_display="⏎"),
        Binding("j", "cursor_down", "move", key_display="↑↓ jk"),
        Binding("k", "cursor_up", "up", show=False),
        Binding("g", "scroll_top", "top", show=False),
        Binding("G", "scroll_bottom", "bottom", show=False),
    ]


# Elapsed: the time its latest work took (done, failed, interrupted) or has taken so far (running, submitted);
# "—" for work not started (planned, stale, queued). ETA: only while its clock runs. Same in both layouts.
COMPACT_COLUMNS = [
    ("id", "ID"),
    ("state", "State"),
    ("backend", "Backend"),
    ("progress", "Prog"),
    ("elapsed", "Elapsed"),
    ("eta", "ETA"),
    ("attempts", "Try"),
    ("cost", "Cost"),
]
WIDE_COLUMNS = [
    ("id", "ID"),
    ("state", "State"),
    ("backend", "Backend/model"),
    ("progress", "Progress"),
    ("elapsed", "Elapsed"),
    ("eta", "ETA"),
    ("attempts", "Tries"),
    ("job", "Job id"),
    ("cost", "Cost"),
]
NOTE_COLUMN = ("note", "Note")
TINY_COLUMNS = [c for c in COMPACT_COLUMNS if c[0] != "attempts"]
TINY_TABLE = 70  # below this many columns (under the 80 the dashboard is made for) the tries go
WIDE_TABLE = 90  # table widths from which the long columns fit (without the job id)
JOB_TABLE = 110  # ... with the job id
NOTE_TABLE = 130  # ... and a note column (error or provider message) too


class MonitorApp(App[None]):
    """The dashboard. Everything time-dependent reads `clock` so tests can pin it."""

    TITLE = "ttv monitor"
    CSS_PATH = "monitor.tcss"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "toggle_failed", "failed only"),
        Binding("q", "quit", "quit"),
    ]

    def __init__(
        self,
        project: Path,
        *,
        rest_states: RestStates | None = None,
        replay: bool = False,
        speed: float = 1.0,
        interval: float = 0.5,
        gpu_interval: float = 1.0,
        gpu_sampler: GpuSampler | None = None,
        clock: Callable[[], float] = time.time,
        check_pid: Callable[[int], bool] | None = None,
        autostart: bool = True,
    ) -> None:
        super().__init__()
        self.project = project
        self.replay = replay
        self.interval = interval
        self.gpu_interval = gpu_interval
        self.clock = clock
        self._probe: GpuProbe | None = None
        if gpu_sampler is None:
            self._probe = GpuProbe()
            gpu_sampler = self._probe.sample
        self.gpu_sampler = gpu_sampler
        self.gpu = GpuHistory()
        kwargs: dict[str, Any] = {} if check_pid is None else {"check_pid": check_pid}
        if replay:
            kwargs["check_pid"] = None
        events = project / EVENTS_FILE
        self.source: LiveSource | ReplaySource = ReplaySource(events, speed) if replay else LiveSource(events)
        if isinstance(self.source, ReplaySource):
            kwargs["records_before"] = self.source.t0
        # rest_states: the pipeline's staleness verdict, passed in by the command (the tui may not import the pipeline)
        self.model = MonitorState(project, use_record_status=not replay, rest_states=rest_states, **kwargs)
        self.only_failed = False
        self.autostart = autostart
        self.rows: list[SegmentRow] = []
        self.overall = Overall()
        self._keys: list[str] = []
        self._columns: list[tuple[str, str]] = []
        self._cells: dict[str, dict[str, tuple[str, str]]] = {}
        self._ticks = 0
        self._width = 0
        self._last_refresh = 0.0
        # the dashboard's widgets, kept from on_mount: a details screen may be on top, and during
        # shutdown a query could find nothing
        self._table: SegmentTable | None = None
        self._panels: list[Panel] = []

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield TitleBar(id="title")
        with Horizontal(id="summary"):
            yield OverallPanel(id="overall")
            yield GpuPanel(id="gpus")
        with Horizontal(id="middle"):
            yield SegmentTable(id="segments", cursor_type="row", zebra_stripes=True)
            yield DetailsPanel(id="details")
        yield LogTail(id="log")
        yield Footer()

    @property
    def table(self) -> SegmentTable:
        assert self._table is not None, "the dashboard is not mounted"
        return self._table

    def _live(self) -> bool:
        closing = getattr(self, "_exit", False) or getattr(self, "_closing", False)
        return self._table is not None and self._table.is_attached and not closing

    def on_mount(self) -> None:
        self._table = self.query_one(SegmentTable)
        self._panels = list(self.query(Panel))
        self.query_one("#gpus").border_title = "GPU"
        self.query_one("#overall").border_title = "Progress · spend"
        self.query_one("#log").border_title = "Log"
        self.query_one("#details").border_title = "Details"
        self._apply_width(self.size.width)
        self.sample_gpus_now()
        self.tick()
        if self.autostart:
            self.set_interval(self.interval, self.tick)
            self.set_interval(self.gpu_interval, self.sample_gpus)
        self.table.focus()

    def on_resize(self, event: events.Resize) -> None:
        self._width = event.size.width
        self._apply_width(event.size.width)
        self.refresh_view()

    def _apply_width(self, width: int) -> None:
        self._width = width
        wide = width >= WIDE
        self.screen.set_class(wide, "-wide")
        self.screen.set_class(not wide, "-narrow")
        self.screen.set_class(width >= DETAILS_PANE, "-details")

    # ------------------------------------------------------------------ data

    def now(self) -> float:
        if isinstance(self.source, ReplaySource):
            return self.source.virtual_now()
        return self.clock()

    def status(self) -> tuple[str, str]:
        if isinstance(self.source, ReplaySource):
            src = self.source
            if src.finished:
                return f"replay ×{src.speed:g} finished ({len(src.events)} events)", "info"
            return f"replay ×{src.speed:g} · {src.fraction:.0%} of {len(src.events)} events", "info"
        return self.model.status_line(self.now())

    def tick(self) -> None:
        """Poll the event log and the records; redraw when something changed, and at least once a
        second for the clocks (elapsed, ETA). Never raises."""
        changed = False
        try:
            new_events, reset = self.source.poll()
            if reset:
                self.model.reset_events()
            self.model.apply_many(new_events)
            changed = bool(new_events) or reset
            changed |= self.model.reload_files()
            if self._ticks % max(1, round(2.0 / self.interval)) == 0:  # about every 2 s
                alive = self.model.run.alive
                self.model.check_liveness()
                changed |= alive != self.model.run.alive
            self._ticks += 1
        except Exception as e:  # keep the dashboard alive whatever the project looks like
            self.model.note("warn", f"reading the project failed: {type(e).__name__}: {e}")
            changed = True
        mono = time.monotonic()
        if changed or mono - self._last_refresh >= 1.0:
            self.refresh_view()

    def sample_gpus_now(self) -> None:
        try:
            gpus, reason = self.gpu_sampler()
        except Exception as e:
            gpus, reason = [], f"no NVIDIA GPU ({type(e).__name__}: {e})"
        self.gpu.add(gpus, reason)

    @work(thread=True, exclusive=True, group="gpu")
    def sample_gpus(self) -> None:
        try:
            gpus, reason = self.gpu_sampler()
        except Exception as e:
            gpus, reason = [], f"no NVIDIA GPU ({type(e).__name__}: {e})"
        self.call_from_thread(self._gpu_sampled, gpus, reason)

    def _gpu_sampled(self, gpus: list[dict[str, Any]], reason: str) -> None:
        self.gpu.add(gpus, reason)
        if self._live():
            for w in self._panels:
                if isinstance(w, GpuPanel):
                    w.refresh(layout=True)

    def on_unmount(self) -> None:
        if self._probe is not None:
            self._probe.close()

    # ------------------------------------------------------------------ view

    def refresh_view(self) -> None:
        if not self._live():
            return
        self._last_refresh = time.monotonic()
        now = self.now()
        all_rows = self.model.rows()
        self.overall = self.model.overall(now, all_rows)
        self.rows = [r for r in all_rows if r.state in PROBLEMS] if self.only_failed else all_rows
        self._update_table(now)
        table = self.table
        title = f"Segments ({len(all_rows)})"
        if self.only_failed:
            title = f"Segments · failed only ({len(self.rows)} of {len(all_rows)}) · f shows all"
        table.border_title = title
        for w in self._panels:
            w.refresh(layout=isinstance(w, (GpuPanel, OverallPanel, DetailsPanel)))
        for screen in self.screen_stack:
            if isinstance(screen, DetailsScreen):
                for panel in screen.query(DetailsPanel):
                    panel.refresh(layout=True)

    def _table_width(self) -> int:
        width = self._width or self.size.width
        return width - 64 if width >= DETAILS_PANE else width

    def _row_cells(self, r: SegmentRow, now: float, wide: bool) -> dict[str, tuple[str, str]]:
        elapsed, eta = r.elapsed(now), r.eta(now)
        cost = (
            fmt_usd(r.cost_usd)
            if r.cost_usd
            else (f"~{fmt_usd(r.estimated_cost_usd)}" if r.estimated_cost_usd else "—")
        )
        cells: dict[str, tuple[str, str]] = {
            "id": (r.id, "bold"),
            "state": (r.state, state_style(r.state)),
            "attempts": (str(r.attempts) if r.attempts else "—", "yellow" if r.attempts > 1 else ""),
            "cost": (cost, "" if r.cost_usd else "dim"),
        }
        cells["elapsed"] = (fmt_duration(elapsed), "")
        cells["eta"] = (fmt_duration(eta), "")
        progress = r.progress_text()
        if wide:
            cells["backend"] = (r.backend_model[:40], "")
            frac = r.progress_fraction()
            bar = "━" * int(round(frac * 8)) + "─" * (8 - int(round(frac * 8)))
            not_started = r.state in (PLANNED, STALE, QUEUED)
            shown = r.activity if progress == "—" and r.activity else progress
            cells["progress"] = (f"{bar} {shown}" if not not_started else (r.activity or "—"), "")
            cells["job"] = (r.job_id[:20] or "—", "dim")
            if r.state in PROBLEMS and r.error:
                note = r.error
            else:  # what it does, unless its message says it already ("retry in 4s: 503…")
                word = r.activity.split(" ")[0]
                key = word[:5] if len(word) >= 5 else r.activity  # "retry" of retrying; "in queue" whole
                doing = r.activity if not not_started and key not in r.message else ""
                note = " · ".join(x for x in (doing, r.message) if x)
            cells["note"] = (note, "red" if r.state == "failed" else "dim")
        else:
            cells["backend"] = ((r.backend or "—")[:12], "")
            # numbers when the item reports them, else what it is doing (downloading, in queue…)
            cells["progress"] = ((r.activity[:12] or progress) if progress == "—" else progress, "")
        return cells

    def _update_table(self, now: float) -> None:
        table = self.table
        table_w = self._table_width()
        wide = table_w >= WIDE_TABLE
        keys = [r.id for r in self.rows]
        cells = {r.id: self._row_cells(r, now, wide) for r in self.rows}
        columns = COMPACT_COLUMNS if table_w >= TINY_TABLE else TINY_COLUMNS
        if wide:
            columns = [c for c in WIDE_COLUMNS if c[0] != "job" or table_w >= JOB_TABLE]
            # the note column takes what the others leave (cells have one space of padding each side)
            used = sum(max([len(label)] + [len(cells[k][c][0]) for k in keys]) + 2 for c, label in columns)
            note_w = table_w - used - 3  # padding and the scrollbar
            if table_w >= NOTE_TABLE and note_w >= 12:
                columns = [*columns, NOTE_COLUMN]
                for k in keys:
                    text, style = cells[k]["note"]
                    cells[k]["note"] = (text if len(text) <= note_w else text[: note_w - 1] + "…", style)
        if columns != self._columns or keys != self._keys:
            selected = self._selected_key()
            table.clear(columns=columns != self._columns)
            if columns != self._columns:
                for key, label in columns:
                    table.add_column(label, key=key)
                self._columns = columns
            for k in keys:
                table.add_row(*(Text(*cells[k][c]) for c, _ in columns), key=k)
            self._keys = keys
            if selected in keys:
                table.move_cursor(row=keys.index(selected), animate=False)
        else:
            for k in keys:
                old = self._cells.get(k, {})
                for c, _ in columns:
                    if old.get(c) != cells[k][c]:
                        table.update_cell(k, c, Text(*cells[k][c]), update_width=True)
        self._cells = cells

    def _selected_key(self) -> str | None:
        table = self.table
        if not self._keys or table.row_count == 0:
            return None
        idx = table.cursor_row
        return self._keys[idx] if 0 <= idx < len(self._keys) else None

    def selected_row(self) -> SegmentRow | None:
        key = self._selected_key()
        return self.row_by_id(key) if key else None

    def row_by_id(self, seg_id: str | None) -> SegmentRow | None:
        for r in self.rows:
            if r.id == seg_id:
                return r
        for r in self.model.rows():
            if r.id == seg_id:
                return r
        return None

    def move_selection(self, step: int) -> str | None:
        table = self.table
        if not self._keys:
            return None
        idx = min(max(table.cursor_row + step, 0), len(self._keys) - 1)
        table.move_cursor(row=idx, animate=False)
        return self._keys[idx]

    # ------------------------------------------------------------------ actions

    def action_toggle_failed(self) -> None:
        self.only_failed = not self.only_failed
        self.refresh_view()

    def action_details(self) -> None:
        key = self._selected_key()
        if key is not None:
            self.push_screen(DetailsScreen(key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_details()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self._live():
            for w in self._panels:
                if isinstance(w, DetailsPanel):
                    w.refresh(layout=True)
