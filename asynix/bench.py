"""The benchmark harness behind ``asynix bench``.

A benchmark is a function registered with :func:`benchmark`. It is handed an operation
count and returns the wall-clock seconds that many operations took; the harness turns
that into the figure's unit and, for figures that have one, into a ratio against the
baseline measured in the same run: the round trip of two anyio tasks handing a value
back and forth with Events (the cheapest honest cross-task handoff anyio offers).

A figure is the best of ``repeat`` runs. A figure with a ratio has the baseline measured
again just before each of its runs, and its ratio is its best over the best of those
baselines: a machine whose speed drifts (a busy neighbour, a job on the other core)
moves both sides of the ratio together instead of only the figure measured later. The loops
behind a ratio (the baseline's included) time themselves in laps of a few tens of
milliseconds with a :class:`Stopwatch` and report the pace of their fastest lap: on a
shared machine whose speed swings within a second, that is what the code costs when
nothing interferes, and both sides of the ratio are the same statistic.

Benchmarks are never timed tests: their figures go to ``docs/performance.md``.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import anyio
import anyio.lowlevel

BenchFn = Callable[[int], Awaitable[float]]
Kind = Literal["latency", "rate", "bandwidth", "wall"]

#: Modules whose import registers benchmarks, in the order figures are printed.
_MODULES = (
    "asynix.benchmarks.hw",
    "asynix.benchmarks.ipc",
    "asynix.benchmarks.vm",
    "asynix.benchmarks.pm",
    "asynix.benchmarks.vfs",
    "asynix.benchmarks.dev",
    "asynix.benchmarks.boot",
)


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A registered benchmark: how to run it and how to report it."""

    name: str
    fn: BenchFn
    ops: int
    kind: Kind
    unit: str
    ratio: bool
    goal: str
    scale: float


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure, as printed by ``asynix bench``."""

    name: str
    value: float
    unit: str
    ratio: float | None
    goal: str


_REGISTRY: dict[str, Benchmark] = {}


def benchmark(
    name: str,
    *,
    ops: int,
    kind: Kind,
    unit: str,
    ratio: bool = False,
    goal: str = "",
    scale: float = 1.0,
) -> Callable[[BenchFn], BenchFn]:
    """Register ``fn(n) -> seconds`` as the benchmark ``name``.

    Args:
        name: dotted figure name (``ipc.sendrec``).
        ops: operations per timed run.
        kind: ``latency`` reports microseconds per operation, ``rate`` operations per
            second, ``bandwidth`` ``scale`` bytes per operation as units per second,
            ``wall`` the seconds of one run.
        unit: the unit label printed after the value.
        ratio: also report seconds-per-operation over the baseline round trip.
        goal: the target, as written in the issue, printed beside the figure.
        scale: for ``bandwidth``, bytes moved per operation divided by the unit's size.
    """

    def register(fn: BenchFn) -> BenchFn:
        _REGISTRY[name] = Benchmark(name, fn, ops, kind, unit, ratio, goal, scale)
        return fn

    return register


class Stopwatch:
    """Times a loop of ``n`` operations lap by lap and keeps the fastest lap's pace.

    Use as ``for k in sw.laps(): <do k operations>``, then read :attr:`seconds`.
    """

    def __init__(self, n: int, lap: int) -> None:
        self.n = n
        self.lap = lap
        self.best = float("inf")
        """Seconds per operation in the fastest lap so far."""

    def laps(self) -> Iterator[int]:
        """Yield each lap's operation count (``lap``, the last one less), timing each."""
        left = self.n
        while left > 0:
            k = min(self.lap, left)
            start = time.perf_counter()
            yield k
            self.best = min(self.best, (time.perf_counter() - start) / k)
            left -= k

    @property
    def seconds(self) -> float:
        """What all ``n`` operations take at the fastest lap's pace."""
        return self.best * self.n


BASELINE_LAP = 2000
"""Round trips per lap of the baseline (about 40 ms)."""


async def baseline_roundtrip(n: int) -> float:
    """Seconds for ``n`` round trips of a value between two anyio tasks using Events.

    At the pace of the fastest lap of :data:`BASELINE_LAP` round trips.
    """
    box: list[anyio.Event] = [anyio.Event(), anyio.Event()]

    async def echo() -> None:
        for _ in range(n):
            await box[0].wait()
            box[0] = anyio.Event()
            box[1].set()

    sw = Stopwatch(n, BASELINE_LAP)
    async with anyio.create_task_group() as tg:
        tg.start_soon(echo)
        await anyio.lowlevel.checkpoint()
        for k in sw.laps():
            for _ in range(k):
                box[0].set()
                await box[1].wait()
                box[1] = anyio.Event()
    return sw.seconds


def _load() -> dict[str, Benchmark]:
    for module in _MODULES:
        importlib.import_module(module)
    return _REGISTRY


async def _best_of(fn: BenchFn, ops: int, repeat: int) -> float:
    return min([await fn(ops) for _ in range(repeat)])


def _figure(b: Benchmark, seconds: float, base: float) -> Figure:
    per_op = seconds / b.ops
    if b.kind == "latency":
        value = per_op * 1e6
    elif b.kind == "rate":
        value = b.ops / seconds
    elif b.kind == "bandwidth":
        value = b.ops * b.scale / seconds
    else:
        value = seconds
    return Figure(b.name, value, b.unit, per_op / base if b.ratio else None, b.goal)


async def run(
    names: list[str] | None = None,
    repeat: int = 3,
    report: Callable[[Figure], None] | None = None,
) -> list[Figure]:
    """Run the selected benchmarks (all when ``names`` is empty) and return their figures.

    ``report`` is called with each figure as soon as it is measured.

    Raises:
        KeyError: a name matches no benchmark (the message lists the known ones).
    """
    registry = _load()
    selected = list(registry.values())
    if names:
        selected = [
            b for b in selected if any(b.name == n or b.name.startswith(n + ".") for n in names)
        ]
        if not selected:
            raise KeyError(f"no benchmark named {' '.join(names)}; known: {' '.join(registry)}")
    base = await _best_of(baseline_roundtrip, _BASE_OPS, repeat) / _BASE_OPS
    figures = [Figure("baseline.roundtrip", base * 1e6, "us", 1.0, "")]
    if report is not None:
        report(figures[0])
    for b in selected:
        if b.ratio:
            seconds, own_base = await _interleaved(b, repeat)
            figures.append(_figure(b, seconds, own_base))
        else:
            figures.append(_figure(b, await _best_of(b.fn, b.ops, repeat), base))
        if report is not None:
            report(figures[-1])
    return figures


_BASE_OPS = 20_000


async def _interleaved(b: Benchmark, repeat: int) -> tuple[float, float]:
    """Best seconds of ``b`` and the best per-op baseline, one baseline run before each."""
    best = base = float("inf")
    for _ in range(repeat):
        base = min(base, await baseline_roundtrip(_BASE_OPS) / _BASE_OPS)
        best = min(best, await b.fn(b.ops))
    return best, base


def format_figure(f: Figure, as_json: bool) -> str:
    """Render one figure as a text line or a JSON line."""
    if as_json:
        return json.dumps({"name": f.name, "value": f.value, "unit": f.unit, "ratio": f.ratio})
    ratio = f"  ratio {f.ratio:.2f}" if f.ratio is not None else ""
    goal = f"  (goal: {f.goal})" if f.goal else ""
    return f"{f.name:<20} {f.value:>14,.2f} {f.unit}{ratio}{goal}"


def main(names: list[str], as_json: bool) -> int:
    """Entry point of ``asynix bench``: print every figure, one per line."""

    def report(f: Figure) -> None:
        print(format_figure(f, as_json), flush=True)

    try:
        anyio.run(run, names or None, 3, report, backend="trio")
    except KeyError as exc:
        print(f"asynix bench: {exc.args[0]}")
        return 2
    return 0
