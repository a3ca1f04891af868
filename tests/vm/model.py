"""A model of what each process should read back, and random programs to check VM against it.

Programs work on an arena of :data:`PAGES` pages at :data:`ARENA` in every process. The
model keeps, per process, each mapped arena page's protection and its contents (a
dict offset -> byte) in a :class:`Cell`; private pages get their own cell on fork,
shared ones keep the same cell, so a write through one is seen by every sharer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from vm.protocol import PROT_NONE, PROT_READ, PROT_WRITE

ARENA = 0x4000_0000
PAGES = 8
P = 4096
PROTS = (PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE)
MAX_PROCS = 6


class Cell:
    """The contents of one page of memory (shared pages share the cell)."""

    __slots__ = ("data",)

    def __init__(self, data: dict[int, int] | None = None) -> None:
        self.data = {} if data is None else data


@dataclass
class MPage:
    prot: int
    shared: bool
    cell: Cell = field(default_factory=Cell)


class Model:
    """What every process's arena holds."""

    def __init__(self) -> None:
        self.procs: dict[int, dict[int, MPage]] = {}

    def spawn(self, pid: int) -> None:
        self.procs[pid] = {}

    def free(self, pid: int, first: int, n: int) -> bool:
        return all(p not in self.procs[pid] for p in range(first, first + n))

    def mmap(self, pid: int, first: int, n: int, prot: int, shared: bool) -> None:
        for p in range(first, first + n):
            self.procs[pid][p] = MPage(prot, shared)

    def munmap(self, pid: int, first: int, n: int) -> None:
        for p in range(first, first + n):
            self.procs[pid].pop(p, None)

    def mprotect(self, pid: int, first: int, n: int, prot: int) -> bool:
        pages = self.procs[pid]
        if any(p not in pages for p in range(first, first + n)):
            return False
        for p in range(first, first + n):
            pages[p].prot = prot
        return True

    def fork(self, pid: int, child: int) -> None:
        self.procs[child] = {
            p: MPage(m.prot, m.shared, m.cell if m.shared else Cell(dict(m.cell.data)))
            for p, m in self.procs[pid].items()
        }

    def readable(self, pid: int, page: int) -> bool:
        m = self.procs[pid].get(page)
        return m is not None and m.prot != PROT_NONE

    def writable(self, pid: int, page: int) -> bool:
        m = self.procs[pid].get(page)
        return m is not None and bool(m.prot & PROT_WRITE)

    def write(self, pid: int, page: int, off: int, value: int) -> None:
        self.procs[pid][page].cell.data[off] = value

    def read(self, pid: int, page: int) -> bytes:
        """The whole page as the process should see it."""
        out = bytearray(P)
        for off, value in self.procs[pid][page].cell.data.items():
            out[off] = value
        return bytes(out)

    def exit(self, pid: int) -> None:
        del self.procs[pid]

    def page(self, pid: int, target: int) -> int:
        """The arena page an access ``target`` names for ``pid``."""
        mapped = sorted(self.procs[pid])
        if target < PAGES or not mapped:
            return target % PAGES
        return mapped[target % len(mapped)]


_who = st.integers(0, MAX_PROCS - 1)
_page = st.integers(0, PAGES - 1)
_target = st.integers(0, 3 * PAGES - 1)
"""An access target: below PAGES a raw arena page, else one of the process's mapped pages."""
_len = st.integers(1, 4)
_prot = st.sampled_from(PROTS)
_off = st.one_of(st.sampled_from([0, 1, 2, 1000, P - 1]), st.integers(0, P - 1))
_byte = st.integers(1, 255)
_mmap = st.tuples(st.just("mmap"), _who, _page, _len, _prot, st.booleans(), st.booleans())
_write = st.tuples(st.just("write"), _who, _target, _off, _byte)
_read = st.tuples(st.just("read"), _who, _target)

OPS = st.one_of(
    _mmap,
    _mmap,
    st.tuples(st.just("munmap"), _who, _page, _len),
    st.tuples(st.just("mprotect"), _who, _page, _len, _prot),
    st.tuples(st.just("fork"), _who),
    st.tuples(st.just("fork"), _who),
    _write,
    _write,
    _write,
    _read,
    _read,
    st.tuples(st.just("kwrite"), _who, _target, _off, _byte),
    st.tuples(st.just("kread"), _who, _target),
    st.tuples(st.just("exit"), _who),
)
"""One step of a program: (op, process index modulo the live ones, arguments...).

When no process is left, the next step starts a fresh one first.
"""

_RW = PROT_READ | PROT_WRITE
_PREAMBLE = st.tuples(
    *[
        st.one_of(
            st.none(),
            st.tuples(
                st.just("mmap"),
                st.just(0),
                st.just(page),
                st.just(1),
                st.sampled_from((_RW, _RW, _RW, PROT_READ)),
                st.booleans(),
                st.just(True),
            ),
        )
        for page in range(PAGES)
    ]
).map(lambda steps: [s for s in steps if s is not None])
"""Most programs start with most of the arena mapped, private and shared mixed."""

PROGRAMS = st.tuples(_PREAMBLE, st.lists(OPS, min_size=8, max_size=40)).map(lambda t: t[0] + t[1])


def clamp(first: int, n: int) -> int:
    """``n`` cut so that ``[first, first+n)`` stays inside the arena."""
    return min(n, PAGES - first)


def describe(program: list[tuple[Any, ...]]) -> str:
    """The program, one step per line, for a failure message."""
    return "\n".join(f"  {i:2}: {step}" for i, step in enumerate(program))
