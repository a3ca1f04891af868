"""Fixtures for the shell tests: tiny programs registered in /bin (independent of /bin's own)."""

from __future__ import annotations

import pytest

from userland import libc, programs
from userland.libc import stdio


async def xecho(argv):
    await stdio.puts(" ".join(argv[1:]))
    return 0


async def xcat(argv):
    if len(argv) == 1:
        await stdio.write_all(1, await stdio.read_all(0))
        return 0
    for path in argv[1:]:
        fd = await libc.open(path, libc.O_RDONLY)
        await stdio.write_all(1, await stdio.read_all(fd))
        await libc.close(fd)
    return 0


async def xerr(argv):
    """Write argv[1] to stdout and argv[2] to stderr."""
    await stdio.puts(argv[1])
    await stdio.puts(argv[2], fd=2)
    return 0


async def xexit(argv):
    """``xexit N`` exits with N; ``xexit sigN`` kills itself with signal N."""
    if argv[1].startswith("sig"):
        await libc.kill(await libc.getpid(), int(argv[1][3:]))
    return int(argv[1])


async def xread(argv):
    """Say "reading", then copy standard input to standard output."""
    await stdio.puts("reading")
    await stdio.write_all(1, await stdio.read_all(0))
    return 0


async def xchmod(argv):
    """``xchmod OCTAL PATH``."""
    await libc.chmod(argv[2], int(argv[1], 8))
    return 0


async def xmkdir(argv):
    await libc.mkdir(argv[1])
    return 0


async def xstop(argv):
    """Stop itself with SIGTSTP (as ^Z would); once continued, print "resumed ARGS"."""
    await libc.kill(await libc.getpid(), libc.SIGTSTP)
    await stdio.puts(" ".join(["resumed", *argv[1:]]))
    return 0


async def xpg(argv):
    """Print whether this process leads its own group and owns the terminal."""
    pid = await libc.getpid()
    pgrp = await libc.getpgrp()
    fg = await libc.tcgetpgrp(0) if hasattr(libc, "tcgetpgrp") else pgrp
    await stdio.puts(f"leader={pgrp == pid} foreground={fg == pgrp}")
    return 0


PROGRAMS = {
    "/bin/xecho": xecho,
    "/bin/xcat": xcat,
    "/bin/xerr": xerr,
    "/bin/xexit": xexit,
    "/bin/xstop": xstop,
    "/bin/xread": xread,
    "/bin/xchmod": xchmod,
    "/bin/xmkdir": xmkdir,
    "/bin/xpg": xpg,
}


@pytest.fixture
def xprogs():
    for path, main in PROGRAMS.items():
        programs.register(path, main)
    yield
    for path in PROGRAMS:
        programs.unregister(path)
