"""A whole session on the fake terminal: getty, the shell, real /bin commands, ^C, ^Z, ^D.

What a user at the console does, end to end: every command is a /bin program the shell
fork/execs, ^C and ^Z reach the foreground job through the tty's job control, and bad
input at the keyboard (binary garbage, a line past the canonical limit, a storm of
resizes) leaves the system and the shell working.
"""

from __future__ import annotations

import re

import anyio
import pytest

from asynix.terminal import CTRL_C, CTRL_D, CTRL_Z
from tests.pm.support import booted
from userland import getty


class Session:
    """The console with a shell on it: type a line, wait for the next prompt."""

    def __init__(self, system) -> None:
        self.console = system.console

    async def line(self, keys: str) -> list[str]:
        """Type ``keys`` + Enter; return the lines printed before the next prompt."""
        mark = len(self.console.output)
        self.console.send(f"{keys}\r")
        # The raw output, not the screen expect() watches, shows where the prompt is.
        with anyio.fail_after(60):
            while not self.console.output[mark:].endswith(b"\n# "):  # noqa: ASYNC110
                await anyio.sleep(0.05)
        out = self.console.output[mark:].decode(errors="replace")
        lines = out.split("\r\n")[1:-1]  # after the echoed line, before the prompt
        return lines


@pytest.fixture
async def session(autojump_clock):
    async with booted() as system:
        pid = await system.spawn(getty.main, ["getty", "/dev/console"])
        await system.console.expect("# ", timeout=10)
        yield system, Session(system), pid


async def test_pipeline_on_the_screen(session) -> None:
    _, sh, _ = session
    assert await sh.line("echo one two three | wc -w") == ["3"]
    assert await sh.line("ls /dev | grep -c tty") == ["1"]
    assert await sh.line("cd /tmp && echo hello > f && cat f && pwd") == ["hello", "/tmp"]
    assert await sh.line("service restart hello && cat /dev/hello") == ["Hello, World!"]


async def test_ctrl_c_stops_yes_into_cat(session) -> None:
    system, sh, _ = session
    c = system.console
    c.send("yes | cat\r")
    await c.expect(re.compile(r"^y\ny\ny$", re.MULTILINE), timeout=10)
    mark = len(c.output)
    c.send(CTRL_C)
    # The echo of ^C, then maybe what cat still had in flight, then the prompt.
    await c.expect(re.compile(r"^#$", re.MULTILINE), timeout=10)
    assert b"^C" in c.output[mark:]
    assert await sh.line("echo status $?") == ["status 130"]
    assert await sh.line("jobs") == []


async def test_ctrl_z_then_fg(session) -> None:
    system, sh, _ = session
    c = system.console
    c.send("sleep 30\r")
    await anyio.sleep(1)
    c.send(CTRL_Z)
    await c.expect(re.compile(r"^\[1\]\+  Stopped  sleep 30\n#$", re.MULTILINE), timeout=10)
    assert await sh.line("jobs") == ["[1]+  Stopped  sleep 30"]
    before = anyio.current_time()
    assert await sh.line("fg && echo slept") == ["sleep 30", "slept"]
    assert 25 < anyio.current_time() - before < 60  # the rest of the 30 s, on the kernel clock
    assert await sh.line("jobs") == []


async def test_ctrl_d_ends_the_shell_and_getty(session) -> None:
    system, _, pid = session
    system.console.send(CTRL_D)
    assert await system.wait(pid) == 0


async def test_bad_input_at_the_keyboard(session) -> None:
    system, sh, _ = session
    c = system.console
    # Binary garbage (no ^D at a line start: that is end of file), then ^C to drop it.
    c.send(bytes(range(0x80, 0x100)) + b"\x1b[99;99Hjunk\x00\x01\x02" + CTRL_C)
    await c.expect(re.compile(r"\^C\n#$", re.MULTILINE), timeout=10)
    assert await sh.line("echo ok") == ["ok"]
    # A line past the canonical limit (MAX_CANON, 255): the excess is dropped and the
    # line still ends (typed in pieces: the keyboard's own buffer holds 4096 bytes).
    c.send("echo ")
    for _ in range(4):
        c.send("x" * 1000)
        await anyio.sleep(0.5)
    out = await sh.line("")
    assert len(out) == 1
    assert set(out[0]) == {"x"}
    assert 200 < len(out[0]) < 255
    # A storm of resizes; the last size wins.
    for i in range(60):
        c.resize(10 + i % 30, 40 + i % 50)
    c.resize(24, 80)
    assert await sh.line("stty size") == ["24 80"]
    assert await sh.line("echo still here") == ["still here"]
    assert "sh" in [p.name for p in system.kernel.procs()]
