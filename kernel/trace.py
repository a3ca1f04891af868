"""Recording what the kernel does: structlog events and a Perfetto timeline.

The kernel hands every IPC event, kernel call, process start, exit and crash, and
every CPU switch to its :class:`Tracer`. A tracer keeps the events in memory (so tests
can compare two runs event for event), emits each one through structlog at debug
level with the process bound as context when asked to, and writes the run as Chrome
trace-event JSON, which the Perfetto UI opens as a timeline with one track per
process. Timestamps are simulated time in microseconds, nudged to be strictly
increasing, so two runs with one seed give identical files.

When neither a trace file nor logging is wanted the kernel holds no tracer and pays
one ``is None`` test per event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog

from kernel.endpoint import NR_TASKS

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel.proc import Proc, Thread

Event = tuple[float, str, str, int, dict[str, object]]
"""(timestamp in µs, event kind, process name, process track, details)."""


class Tracer:
    """Collects kernel events; see the module docstring."""

    def __init__(self, clock: Callable[[], float], *, log: bool = False) -> None:
        self._clock = clock
        self._last = -1.0
        self._log = structlog.get_logger("asynix.kernel") if log else None
        self.events: list[Event] = []
        self._names: dict[int, dict[str, None]] = {}
        self._running: tuple[float, Thread] | None = None
        self._slices: list[tuple[float, float, int, str]] = []

    def _now(self) -> float:
        ts = float(int(self._clock() * 1e6))
        if ts <= self._last:
            ts = self._last + 1.0
        self._last = ts
        return ts

    def event(self, kind: str, proc: Proc, **details: object) -> None:
        """Record that ``proc`` did ``kind`` (send, receive, notify, crash...)."""
        track = proc.slot + NR_TASKS
        # A slot serves many processes and a process is renamed by exec: the track is
        # named after every name it had, in order ("collect / sh").
        self._names.setdefault(track, {})[proc.name] = None
        self.events.append((self._now(), kind, proc.name, track, details))
        if self._log is not None:
            self._log.debug(kind, **{"proc": proc.name, "endpoint": proc.endpoint, **details})

    def switch(self, nxt: Thread | None) -> None:
        """The CPU passes to ``nxt`` (None: idle)."""
        now = self._now()
        if self._running is not None:
            start, thread = self._running
            self._slices.append((start, now - start, thread.proc.slot + NR_TASKS, thread.name))
        self._running = (now, nxt) if nxt is not None else None

    def signature(self) -> list[tuple[str, str, tuple[tuple[str, Any], ...]]]:
        """The run's events without timestamps, for comparing runs."""
        return [(kind, name, tuple(sorted(d.items()))) for _, kind, name, _, d in self.events]

    def chrome_trace(self) -> dict[str, Any]:
        """The run as a Chrome trace-event document (opens in the Perfetto UI)."""
        out: list[dict[str, Any]] = [
            {"ph": "M", "name": "process_name", "pid": 1, "tid": 0, "args": {"name": "asynix"}}
        ]
        out += [
            {
                "ph": "M",
                "name": "thread_name",
                "pid": 1,
                "tid": track,
                "args": {"name": " / ".join(names)},
            }
            for track, names in sorted(self._names.items())
        ]
        out += [
            {"ph": "X", "name": name, "cat": "cpu", "pid": 1, "tid": track, "ts": ts, "dur": dur}
            for ts, dur, track, name in self._slices
        ]
        for ts, kind, _name, track, details in self.events:
            out.append(
                {
                    "ph": "i",
                    "s": "t",
                    "name": kind,
                    "cat": "ipc",
                    "pid": 1,
                    "tid": track,
                    "ts": ts,
                    "args": {k: str(v) for k, v in details.items()},
                }
            )
            flow = details.get("msg_id")
            if flow is not None and kind in ("send", "deliver"):
                ph = "s" if kind == "send" else "f"
                ev: dict[str, Any] = {
                    "ph": ph,
                    "name": "msg",
                    "cat": "flow",
                    "id": flow,
                    "pid": 1,
                    "tid": track,
                    "ts": ts,
                }
                if ph == "f":
                    ev["bp"] = "e"
                out.append(ev)
        return {"traceEvents": out, "displayTimeUnit": "ns"}

    def write(self, path: str | Path) -> None:
        """Write the Chrome trace-event JSON to ``path``."""
        self.switch(None)
        Path(path).write_text(json.dumps(self.chrome_trace(), indent=0))
