"""A caught signal interrupts a read blocked in the console driver (PM -> VFS -> CdevCancel)."""

import errno

from tests.pm.support import run
from userland import libc


async def test_a_caught_signal_interrupts_a_console_read(autojump_clock):
    seen = {}

    async def prog(argv):
        await libc.signal(libc.SIGALRM, lambda s: seen.setdefault("handler", s))
        fd = await libc.open("/dev/console", libc.O_RDWR | libc.O_NOCTTY)
        await libc.alarm(1)
        try:
            await libc.read(fd, 10)
        except OSError as exc:
            seen["errno"] = exc.errno
        return 0

    assert await run(prog) == 0
    assert seen == {"handler": libc.SIGALRM, "errno": errno.EINTR}
