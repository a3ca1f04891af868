"""PhysicalMemory: bounds, little-endian words, bulk access."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.hw import FRAME_SIZE, BusError, PhysicalMemory


@pytest.mark.parametrize("size", [0, -4096, 4095, 4097, 6000])
def test_size_must_be_a_positive_multiple_of_a_frame(size):
    with pytest.raises(ValueError, match="multiple of 4096"):
        PhysicalMemory(size)


def test_geometry():
    mem = PhysicalMemory(3 * FRAME_SIZE)
    assert (mem.size, mem.nframes, len(mem), mem.FRAME_SIZE) == (12288, 3, 12288, 4096)
    assert mem.read(0, 12288) == bytes(12288)
    assert mem.view.nbytes == 12288
    assert len(mem.words) == 3072


def test_u32_is_little_endian():
    mem = PhysicalMemory(FRAME_SIZE)
    mem.write_u32(8, 0x11223344)
    assert mem.read(8, 4) == b"\x44\x33\x22\x11"
    assert mem.words[2] == 0x11223344
    mem.write(17, b"\xef\xbe\xad\xde")  # unaligned
    assert mem.read_u32(17) == 0xDEADBEEF
    mem.write_u32(4092, 0xFFFFFFFF)
    assert mem.read_u32(4092) == 0xFFFFFFFF
    with pytest.raises(ValueError):
        mem.write_u32(0, 1 << 32)
    with pytest.raises(ValueError):
        mem.write_u32(0, -1)


@pytest.mark.parametrize(
    ("paddr", "n"), [(-1, 1), (4096, 1), (4095, 2), (0, 4097), (1 << 40, 0), (4096, 0)]
)
def test_out_of_range_is_a_bus_error(paddr, n):
    mem = PhysicalMemory(FRAME_SIZE)
    if (paddr, n) == (4096, 0):
        assert mem.read(paddr, n) == b""  # the empty range at the end is inside
        return
    with pytest.raises(BusError) as info:
        mem.read(paddr, n)
    assert (info.value.paddr, info.value.length, info.value.size) == (paddr, n, 4096)
    assert isinstance(info.value, IndexError)
    with pytest.raises(BusError):
        mem.write(paddr, b"x" * n)
    with pytest.raises(BusError):
        mem.zero(paddr, n)
    assert mem.read(0, 4096) == bytes(4096)  # nothing was written


def test_u32_bounds():
    mem = PhysicalMemory(FRAME_SIZE)
    for paddr in (4093, 4096, -4):
        with pytest.raises(BusError):
            mem.read_u32(paddr)
        with pytest.raises(BusError):
            mem.write_u32(paddr, 1)
    assert str(BusError(0x2000, 4, 0x1000)) == (
        "physical access at 0x2000 (+4 bytes) is outside memory of 0x1000 bytes"
    )


def test_negative_length_is_refused():
    mem = PhysicalMemory(FRAME_SIZE)
    with pytest.raises(ValueError):
        mem.read(0, -1)


@given(
    st.lists(
        st.tuples(st.integers(0, 2 * FRAME_SIZE), st.binary(max_size=300), st.booleans()),
        max_size=20,
    )
)
def test_matches_a_bytearray(ops):
    mem = PhysicalMemory(2 * FRAME_SIZE)
    model = bytearray(2 * FRAME_SIZE)
    for paddr, data, zero in ops:
        end = paddr + len(data)
        if end > len(model):
            with pytest.raises(BusError):
                mem.write(paddr, data)
            continue
        if zero:
            mem.zero(paddr, len(data))
            model[paddr:end] = bytes(len(data))
        else:
            mem.write(paddr, memoryview(bytearray(data)))
            model[paddr:end] = data
        assert mem.read(paddr, len(data)) == bytes(model[paddr:end])
    assert mem.read(0, len(model)) == bytes(model)
