"""init, pid 1: starts the first program and reaps every orphan.

PM lets init run only once RS has brought up its boot services (each one started, or
given up on after its init timeout), as MINIX's RS allows init to run from its
boot-image loop: the first program finds the boot drivers (the console among them)
ready, and needs no retrying.

init blocks SIGCHLD and catches it, starts the configured first program (its
``argv[1:]``: fork, then exec), then loops: collect every zombie child with
``waitpid(-1, WNOHANG)``, and when there is none, ``sigsuspend`` with SIGCHLD
unblocked until the next child ends. Blocking SIGCHLD outside sigsuspend closes the
race between "no zombie yet" and going to sleep. PM gives init only the signals it
catches, so nothing else can kill it.
"""

from __future__ import annotations

from userland import libc


def _child_ended(sig: int) -> None:
    """SIGCHLD handler: nothing to do here; the main loop reaps."""


async def _start(argv: list[str]) -> None:
    async def child() -> int:
        await libc.sigprocmask(libc.SIG_SETMASK, ())
        try:
            await libc.execv(argv[0], argv)
        except OSError:
            return 127
        return 127  # pragma: no cover - execv does not return

    try:
        await libc.fork(child)
    except OSError:
        pass  # the system still runs; nothing to reap


async def main(argv: list[str]) -> int:
    """Run init forever."""
    await libc.sigprocmask(libc.SIG_BLOCK, {libc.SIGCHLD})
    await libc.signal(libc.SIGCHLD, _child_ended)
    if len(argv) > 1:
        await _start(argv[1:])
    while True:
        try:
            pid, _status = await libc.waitpid(-1, libc.WNOHANG)
        except ChildProcessError:
            pid = 0
        if pid == 0:
            await libc.sigsuspend(())
