"""Helpers for the process-and-system command tests (test_pcmd_*): test programs, runs."""

from __future__ import annotations

from contextlib import contextmanager

from userland import libc, programs
from userland.libc import stdio


@contextmanager
def installed(**mains):
    """Install each ``name=main`` at ``/bin/name`` for the duration of the block."""
    for name, main in mains.items():
        programs.register(f"/bin/{name}", main)
    try:
        yield
    finally:
        for name in mains:
            programs.unregister(f"/bin/{name}")


async def sleeper(argv):
    """Wait for signals forever; ``sleeper group`` first makes its own process group."""
    if argv[1:] == ["group"]:
        await libc.setpgid(0, 0)
    while True:
        await libc.pause()


async def on_console(argv):
    """Run ``argv[1:]`` with /dev/console as stdin, stdout and stderr; its wait status."""
    fd = await libc.open("/dev/console", libc.O_RDWR)

    async def child():
        for target in (0, 1, 2):
            await libc.dup2(fd, target)
        await libc.execv(argv[1], argv[1:])
        return 127

    pid = await libc.fork(child)
    _, status = await libc.waitpid(pid, 0)
    return libc.waitstatus_to_exitcode(status) & 0xFF


async def timed(argv):
    """Run ``argv[1:]`` and print its status and the kernel time it took (in ms)."""
    start = await libc.monotonic()

    async def child():
        await libc.execv(argv[1], argv[1:])
        return 127

    pid = await libc.fork(child)
    _, status = await libc.waitpid(pid, 0)
    elapsed = await libc.monotonic() - start
    await stdio.puts(f"{libc.waitstatus_to_exitcode(status)} {int(elapsed * 1000)}")
    return 0


async def run_all(system, cases):
    """Run every ``argv`` of ``cases`` in turn; the list of ``(status, output)``."""
    return [await system.run(argv) for argv in cases]
