"""FakeTerminal over the console hardware, with a stand-in echo driver as the TTY."""

from __future__ import annotations

import re
import time
from contextlib import asynccontextmanager

import anyio
import pytest

from asynix import FakeTerminal
from asynix.terminal import CTRL_C, ENTER, ESC, UP, ctrl
from kernel.endpoint import ANY, HARDWARE
from kernel.hw import KEYBOARD_IRQ, RESIZE_IRQ, Console
from kernel.kernel import Kernel
from tests.support import UNIT, Sim, both_backends


@asynccontextmanager
async def echo_terminal(rows=24, cols=80, *, delay=0.0):
    """A console driven by an echo driver (CR becomes CR LF), and a FakeTerminal on it.

    The driver records each resize it reads in ``sim.log``. With ``delay`` it sleeps that
    long (kernel time) before echoing each batch of keys.
    """
    console = Console(rows, cols)
    term = FakeTerminal(console)
    async with Kernel() as k:
        sim = Sim(k)

        async def driver(p):
            while True:
                m = await p.receive(ANY)
                if m.m_source != HARDWARE:
                    continue
                if m.interrupts & (1 << RESIZE_IRQ):
                    sim.log.append(console.screen.take_resize())
                if m.interrupts & (1 << KEYBOARD_IRQ):
                    keys = console.keyboard.read()
                    if delay:
                        await p.sleep(delay)
                    console.screen.write(keys.replace(b"\r", b"\r\n"))

        console.attach(k, sim.spawn("tty", driver))
        yield term, sim
        k.shutdown()


async def test_typed_text_is_echoed_on_the_screen(autojump_clock):
    async with echo_terminal() as (term, _):
        assert term.send("hello") == 5
        m = await term.expect("hello")
        assert m.group(0) == "hello"
        assert term.screen[0] == "hello"
        assert len(term.screen) == 24
        assert term.cursor == (0, 5)
        term.send(b"\rworld\r")
        await term.expect("world")
        assert term.screen[:3] == ["hello", "world", ""]
        assert term.output == b"hello\r\nworld\r\n"
        assert term.text.startswith("hello\nworld\n")


async def test_expect_regex_returns_the_match(autojump_clock):
    async with echo_terminal() as (term, _):
        term.send("status=42" + ENTER.decode())
        m = await term.expect(re.compile(r"status=(\d+)"))
        assert m.group(1) == "42"
        # a str is literal: regex metacharacters in it match only themselves
        term.send("a.c [x]")
        m = await term.expect("[x]")
        assert m.group(0) == "[x]"
        with pytest.raises(TimeoutError):
            await term.expect("a+c", timeout=1)


async def test_expect_waits_for_output_that_arrives_later(autojump_clock):
    async with echo_terminal(delay=3) as (term, _):
        start = anyio.current_time()
        term.send("late")
        await term.expect("late", timeout=5)
        assert 3 <= anyio.current_time() - start < 5


async def test_expect_times_out_on_virtual_time_showing_the_screen(autojump_clock):
    async with echo_terminal() as (term, _):
        term.send("what is shown")
        await term.expect("shown")
        real, virtual = time.monotonic(), anyio.current_time()
        with pytest.raises(TimeoutError) as err:
            await term.expect(re.compile("never"), timeout=600)
        assert anyio.current_time() - virtual == pytest.approx(600)
        assert time.monotonic() - real < 5
        msg = str(err.value)
        assert "'never'" in msg
        assert "600" in msg
        assert "|what is shown" in msg


async def test_two_waiters_are_both_woken(autojump_clock):
    async with echo_terminal() as (term, _):
        found = {}

        async def wait_for(text):
            found[text] = (await term.expect(text)).group(0)

        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_for, "one")
            tg.start_soon(wait_for, "two")
            await anyio.sleep(1)
            term.send("one two")
        assert found == {"one": "one", "two": "two"}


async def test_vt100_clear_and_cursor_movement(autojump_clock):
    async with echo_terminal() as (term, _):
        term.send("first\rsecond\r")
        await term.expect("second")
        term.send(b"\x1b[2J\x1b[H")  # clear the screen, cursor home
        term.send("top")
        await term.expect("top")
        assert term.screen[0] == "top"
        assert "first" not in term.text
        assert "second" not in term.text
        term.send(b"\x1b[5;10HX")  # row 5, column 10 (1-based)
        await term.expect("X")
        assert term.screen[4] == " " * 9 + "X"
        term.send(b"\x1b[1;2HZ")  # overwrite the second character of the top row
        await term.expect("tZp")
        assert term.cursor == (0, 2)
        assert "\x1b" not in term.text
        assert b"\x1b[2J" in term.output


async def test_utf8_keys_and_characters_split_across_writes(autojump_clock):
    async with echo_terminal() as (term, _):
        term.send("héllo wörld")
        await term.expect("héllo wörld")
        assert "héllo wörld".encode() in term.output
    console = Console()
    term = FakeTerminal(console)
    console.screen.write(b"caf\xc3")
    assert term.screen[0] == "caf"
    console.screen.write(b"\xa9")
    assert term.screen[0] == "café"


async def test_resize_changes_screen_and_tells_the_driver(autojump_clock):
    async with echo_terminal(24, 80) as (term, sim):
        term.resize(10, 20)
        assert term.size == (10, 20)
        assert len(term.screen) == 10
        assert term.console.screen.size == (10, 20)
        term.send("a" * 25)
        await term.expect("aaaaa")
        assert term.screen[:2] == ["a" * 20, "a" * 5]  # wraps at the new width
        assert sim.log == [(10, 20)]


def test_control_keys():
    assert ctrl("c") == ctrl("C") == FakeTerminal.CTRL_C == CTRL_C == b"\x03"
    assert ctrl("d") == FakeTerminal.CTRL_D == b"\x04"
    assert ctrl("z") == FakeTerminal.CTRL_Z == b"\x1a"
    assert ctrl("\\") == FakeTerminal.CTRL_BACKSLASH == b"\x1c"
    assert ctrl("[") == ESC == FakeTerminal.ESC
    assert ctrl("@") == b"\x00"
    assert ctrl("?") == FakeTerminal.BACKSPACE == b"\x7f"
    assert FakeTerminal.ENTER == b"\r"
    assert UP == FakeTerminal.UP == b"\x1b[A"
    assert {FakeTerminal.DOWN, FakeTerminal.RIGHT, FakeTerminal.LEFT} == {
        b"\x1b[B",
        b"\x1b[C",
        b"\x1b[D",
    }
    for bad in ("1", "cc", "", "é"):
        with pytest.raises(ValueError, match="control code"):
            ctrl(bad)


def test_send_without_a_driver_queues_and_reports_overrun():
    console = Console(capacity=8)
    term = FakeTerminal(console)
    assert term.send(CTRL_C) == 1
    assert term.send("é") == 2
    assert term.send("123456") == 5
    assert console.keyboard.overruns == 1
    assert console.keyboard.read() == b"\x03\xc3\xa912345"


def test_terminal_renders_output_written_before_it_was_attached():
    console = Console(rows=3, cols=10)
    console.screen.write(b"boot\r\nok")
    term = FakeTerminal(console)
    assert term.screen == ["boot", "ok", ""]
    term.close()
    console.screen.write(b"!")
    assert term.screen == ["boot", "ok", ""]  # switched off: no longer rendering
    assert term.output == b"boot\r\nok!"  # the hardware still keeps every byte


@both_backends
async def test_expect_on_both_backends():
    async with echo_terminal() as (term, _):
        term.send("portable\r")
        m = await term.expect(re.compile(r"port(\w+)"), timeout=100 * UNIT.s)
        assert m.group(1) == "able"
        with pytest.raises(TimeoutError):
            await term.expect("absent", timeout=2 * UNIT.s)


def test_terminal_answers_status_and_identity_queries_on_the_keyboard():
    console = Console()
    FakeTerminal(console)
    console.screen.write(b"\r\nabc\x1b[6n")
    assert console.keyboard.read() == b"\x1b[2;4R"
    console.screen.write(b"\x1b[c")
    assert console.keyboard.read() == b"\x1b[?6c"
    console.screen.write(b"\x1b[5n")
    assert console.keyboard.read() == b"\x1b[0n"


async def test_cursor_position_report_reaches_the_driver(autojump_clock):
    async with echo_terminal() as (term, _):
        term.send(b"xy\x1b[6n")  # echoed back to the screen, which answers on the keyboard
        await term.expect("xy")
        await anyio.sleep(1)
        assert term.output == b"xy\x1b[6n\x1b[1;3R"
        assert term.screen[0] == "xy"


async def test_expect_a_literal_prompt_ending_in_a_space(autojump_clock):
    """A str matches the padded rows, so a trailing space in a prompt counts."""
    from kernel.hw.console import Console

    console = Console(rows=4, cols=20)
    term = FakeTerminal(console)
    console.screen.write(b"name? ")
    m = await term.expect("name? ", timeout=1)
    assert m.group(0) == "name? "
    assert term.screen[0] == "name?"
    with pytest.raises(TimeoutError):
        await term.expect("name?  x", timeout=1)
