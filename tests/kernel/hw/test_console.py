"""The console hardware: keyboard interrupts and overruns, screen output, resize."""

from __future__ import annotations

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kernel.endpoint import ANY, CLOCK, HARDWARE
from kernel.hw import KEYBOARD_IRQ, RESIZE_IRQ, Console, Keyboard, Screen
from kernel.kernel import Kernel
from kernel.message import CALL_NOTIFY, Notify
from tests.support import UNIT, Sim, both_backends


def test_irq_numbers():
    assert KEYBOARD_IRQ == 1  # the PC keyboard's line
    assert RESIZE_IRQ not in (KEYBOARD_IRQ, 0)


@both_backends
async def test_press_interrupts_the_driver_which_reads_the_keys():
    console = Console()
    async with Kernel() as k:
        sim = Sim(k)

        async def driver(p):
            got = []
            while sum(len(keys) for *_, keys in got) < 5:
                m = await p.receive(ANY)
                assert isinstance(m, Notify)
                got.append(
                    (m.m_source == HARDWARE, p.status, m.interrupts, console.keyboard.read())
                )
            return got

        proc = sim.spawn("tty", driver)
        console.keyboard.attach(k, proc)
        assert console.keyboard.driver is proc
        await anyio.sleep(UNIT.s)
        assert console.keyboard.press(b"hi") == 2
        await anyio.sleep(UNIT.s)
        assert console.keyboard.press(b"abc") == 3
        await sim.wait("tty")
        k.shutdown()
    bit = 1 << KEYBOARD_IRQ
    assert sim.results["tty"] == [(True, CALL_NOTIFY, bit, b"hi"), (True, CALL_NOTIFY, bit, b"abc")]
    assert console.keyboard.pending == 0


async def test_keys_typed_before_attach_interrupt_at_attach(autojump_clock):
    console = Console()
    console.keyboard.press(b"early")
    async with Kernel() as k:
        sim = Sim(k)

        async def driver(p):
            m = await p.receive(ANY)
            return m.interrupts, console.keyboard.read()

        console.keyboard.attach(k, sim.spawn("tty", driver))
        await sim.wait("tty")
        k.shutdown()
    assert sim.results["tty"] == (1 << KEYBOARD_IRQ, b"early")


async def test_keyboard_and_resize_interrupts_coalesce_in_one_notify(autojump_clock):
    console = Console()
    async with Kernel() as k:
        sim = Sim(k)

        async def driver(p):
            await p.sleep(10)  # both lines are raised while the driver is busy
            m = await p.receive(ANY)
            return m.interrupts, console.keyboard.read(), console.screen.take_resize()

        console.attach(k, sim.spawn("tty", driver))
        await anyio.sleep(1)
        console.keyboard.press(b"x")
        console.screen.resize(30, 100)
        await sim.wait("tty")
        k.shutdown()
    assert sim.results["tty"] == ((1 << KEYBOARD_IRQ) | (1 << RESIZE_IRQ), b"x", (30, 100))


async def test_detached_keyboard_raises_nothing(autojump_clock):
    console = Console()
    async with Kernel() as k:
        sim = Sim(k)

        async def driver(p):
            await p.setalarm(5)
            m = await p.receive(ANY)
            return m.m_source

        proc = sim.spawn("tty", driver)
        console.keyboard.attach(k, proc)
        console.keyboard.detach()
        console.keyboard.press(b"lost?")
        await sim.wait("tty")
        k.shutdown()
    assert sim.results["tty"] == CLOCK  # the alarm, not the keyboard
    assert console.keyboard.read() == b"lost?"  # the keys stay in the controller


def test_full_keyboard_drops_and_counts_overruns():
    kb = Keyboard(capacity=4)
    assert kb.press(b"abcdef") == 4
    assert kb.overruns == 2
    assert kb.pending == 4
    assert kb.press(b"g") == 0
    assert kb.overruns == 3
    assert kb.read(3) == b"abc"
    assert kb.press(b"hij") == 3
    assert kb.overruns == 3
    assert kb.read() == b"dhij"
    assert kb.read() == b""


def test_keyboard_rejects_silly_capacity():
    with pytest.raises(ValueError, match="capacity"):
        Keyboard(capacity=0)


def test_screen_keeps_every_byte_and_tells_listeners():
    screen = Screen()
    heard: list[bytes] = []
    stop = screen.listen(heard.append)
    assert screen.write(b"hello ") == 6
    assert screen.write(bytearray(b"world")) == 5
    assert screen.write(b"") == 0
    stop()
    stop()  # stopping twice is harmless
    screen.write(b"!")
    assert screen.output == b"hello world!"
    assert heard == [b"hello ", b"world"]
    assert all(type(chunk) is bytes for chunk in heard)


def test_screen_resize_sets_flag_until_taken():
    screen = Screen(24, 80)
    assert screen.size == (24, 80)
    assert screen.take_resize() is None
    screen.resize(50, 132)
    screen.resize(40, 120)
    assert screen.resized
    assert screen.size == (40, 120)
    assert screen.take_resize() == (40, 120)
    assert not screen.resized
    assert screen.take_resize() is None
    with pytest.raises(ValueError, match="size"):
        screen.resize(0, 80)
    with pytest.raises(ValueError, match="size"):
        Screen(24, -1)
    assert screen.size == (40, 120)


async def test_pending_resize_interrupts_at_attach(autojump_clock):
    console = Console(rows=10, cols=20)
    console.screen.resize(12, 34)
    async with Kernel() as k:
        sim = Sim(k)

        async def driver(p):
            m = await p.receive(ANY)
            return m.interrupts, console.screen.take_resize()

        console.screen.attach(k, sim.spawn("tty", driver))
        await sim.wait("tty")
        k.shutdown()
    assert sim.results["tty"] == (1 << RESIZE_IRQ, (12, 34))


@given(
    capacity=st.integers(1, 16),
    ops=st.lists(
        st.one_of(
            st.binary(max_size=20).map(lambda b: ("press", b)),
            st.one_of(st.none(), st.integers(0, 20)).map(lambda n: ("read", n)),
        ),
        max_size=30,
    ),
)
def test_keyboard_is_a_bounded_fifo_that_counts_every_dropped_byte(capacity, ops):
    kb = Keyboard(capacity)
    model = bytearray()
    dropped = 0
    for op, arg in ops:
        if op == "press":
            taken = kb.press(arg)
            assert taken == min(len(arg), capacity - len(model))
            model += arg[:taken]
            dropped += len(arg) - taken
        else:
            got = kb.read(arg)
            n = len(model) if arg is None else min(arg, len(model))
            assert got == bytes(model[:n])
            del model[:n]
        assert kb.pending == len(model) <= capacity
        assert kb.overruns == dropped
    assert kb.read() == bytes(model)
