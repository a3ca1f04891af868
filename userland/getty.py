"""getty, ``/sbin/getty TTY [PROGRAM ARG...]``: open a terminal as a session's own.

getty starts a new session (``setsid``), opens the terminal, which becomes the
session's controlling terminal because getty leads the session and the terminal has
none, makes it standard input, output and error, and execs the program (``/bin/sh``
by default) in that session. This is what MINIX's ``getty`` and ``login`` do for a
line of ``/etc/ttys``, without the password: asynix has no login.

The terminal is opened once, without retrying: init runs only after RS has brought
up its boot services (the tty driver among them), as in MINIX, so a terminal that
fails to open (ENXIO: no driver serves it) is an error getty reports
(``getty: TTY: reason``, status 1), not something to wait for.
"""

from __future__ import annotations

from userland import libc
from userland.libc import stdio

DEFAULT_PROGRAM = ("/bin/sh", "-i")


async def main(argv: list[str]) -> int:
    """Run getty; returns only on failure (127 when the program cannot be exec'd)."""
    if len(argv) < 2:
        await stdio.error("getty", "usage: getty TTY [PROGRAM ARG...]")
        return 2
    tty = argv[1]
    command = argv[2:] or list(DEFAULT_PROGRAM)
    try:
        await libc.setsid()
    except OSError:
        pass  # already a session leader: keep the session
    try:
        fd = await libc.open(tty, libc.O_RDWR)
    except OSError as exc:
        await stdio.error("getty", f"{tty}: {stdio.strerror(exc)}")
        return 1
    for target in (0, 1, 2):
        if fd != target:
            await libc.dup2(fd, target)
    if fd > 2:
        await libc.close(fd)
    home = "/root" if await libc.getuid() == 0 else "/home/user"
    env = {"PATH": "/bin:/sbin", "HOME": home, "TERM": "vt100", "SHELL": command[0]}
    try:
        await libc.execve(command[0], command, env)
    except OSError as exc:
        await stdio.error("getty", f"{command[0]}: {stdio.strerror(exc)}")
    return 127
