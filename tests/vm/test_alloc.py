"""The frame allocator: single frames, contiguous runs, exhaustion, accounting."""

from __future__ import annotations

import errno
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.hw import PhysicalMemory
from vm.alloc import FrameAllocator
from vm.errors import VmError


def _alloc(frames: int = 64, reserved: int = 8) -> tuple[PhysicalMemory, FrameAllocator]:
    mem = PhysicalMemory(frames * 4096)
    return mem, FrameAllocator(mem, reserved)


def test_frames_are_distinct_zeroed_above_the_reserve_and_high_first() -> None:
    mem, a = _alloc()
    mem.write(63 * 4096, b"dirty")
    frames = [a.alloc() for _ in range(56)]
    assert frames[0] == 63 * 4096
    assert len(set(frames)) == 56
    assert all(8 * 4096 <= f < 64 * 4096 and f % 4096 == 0 for f in frames)
    assert mem.read(63 * 4096, 5) == bytes(5)
    assert a.free == 0


def test_exhaustion_is_enomem_and_frees_come_back() -> None:
    _, a = _alloc(16, 4)
    frames = [a.alloc() for _ in range(12)]
    with pytest.raises(VmError) as exc:
        a.alloc()
    assert exc.value.errno == errno.ENOMEM
    a.release(frames[3])
    assert a.free == 1
    assert a.alloc() == frames[3]


def test_contiguous_runs_and_fragmentation() -> None:
    _, a = _alloc(32, 0)
    run = a.alloc_run(8)
    assert run == 24 * 4096  # from the top
    assert all(a.in_use(run + i * 4096) for i in range(8))
    singles = [a.alloc() for _ in range(24)]
    for f in singles[::2]:
        a.release(f)
    assert a.free == 12
    assert a.largest_run() == 1
    with pytest.raises(VmError) as exc:
        a.alloc_run(2)
    assert exc.value.errno == errno.ENOMEM
    with pytest.raises(VmError) as exc:
        a.alloc_run(0)
    assert exc.value.errno == errno.EINVAL
    # singles still work after a run took frames the free stack remembers
    assert a.alloc() in singles[::2]


def test_bad_frees_are_bugs() -> None:
    _, a = _alloc()
    f = a.alloc()
    a.release(f)
    with pytest.raises(RuntimeError):
        a.release(f)
    with pytest.raises(RuntimeError):
        a.release(0)  # reserved
    with pytest.raises(RuntimeError):
        a.release(f + 1)  # unaligned
    with pytest.raises(RuntimeError):
        a.release(1 << 30)  # outside memory
    with pytest.raises(ValueError):
        FrameAllocator(PhysicalMemory(4096), 2)


@given(
    st.lists(
        st.one_of(
            st.tuples(st.just("alloc"), st.just(1)),
            st.tuples(st.just("run"), st.integers(1, 9)),
            st.tuples(st.just("free"), st.integers(0, 100)),
        ),
        max_size=80,
    )
)
def test_allocator_against_a_model(ops: Any) -> None:
    _, a = _alloc(48, 5)
    held: list[int] = []
    for op, arg in ops:
        if op == "alloc":
            try:
                held.append(a.alloc())
            except VmError:
                assert a.free == 0
        elif op == "run":
            try:
                base = a.alloc_run(arg)
                held += [base + i * 4096 for i in range(arg)]
            except VmError:
                assert a.largest_run() < arg
        elif held:
            a.release(held.pop(arg % len(held)))
        assert len(set(held)) == len(held), "a frame was handed out twice"
        assert a.free == 43 - len(held)
        assert sorted(a.used_frames()) == sorted(held)
        assert all(f >= 5 * 4096 for f in held)
    # enough repeated churn never grows the free stack without bound
    assert len(a._stack) <= 2 * a.nframes
