"""System.run: a command's output (stdout and stderr, in order), its status, its input."""

from __future__ import annotations

import pytest

from tests.pm.support import booted
from userland import programs
from userland.libc import stdio


async def _shout(argv: list[str]) -> int:
    await stdio.puts(" ".join(argv[1:]))
    data = await stdio.read_all(0)
    await stdio.write_all(2, data.upper())
    return 3


@pytest.fixture
def shout():
    programs.register("/bin/shout", _shout)
    yield
    programs.unregister("/bin/shout")


async def test_run_collects_output_status_and_input(autojump_clock, shout) -> None:
    async with booted() as system:
        assert await system.run(["/bin/shout", "hi", "there"], stdin="abc") == (3, "hi there\nABC")
        assert await system.run(["/bin/shout"]) == (3, "\n")
        status, out = await system.run(["/bin/nonesuch"])
        assert status == 127
        assert out == "/bin/nonesuch: No such file or directory\n"
