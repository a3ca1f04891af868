"""The root file system's initial tree: what ramfs holds when asynix has booted.

Every program registered when the system boots is a file, mode 0755, at its path
(``/bin/ls``, ``/sbin/init``: its ``#!asynix`` line, see :mod:`userland.programs`).
``/dev`` holds the device nodes of the drivers asynix has, numbered as MINIX numbers
them (``major << 8 | minor``; see :data:`DEVICES`); ``/dev/pts`` starts empty and holds
the pty slaves the pty driver makes (docs/pty.md). ``/tmp`` is world-writable with
the sticky bit; ``/etc`` holds a ``passwd``, ``group`` and ``motd``; ``/home`` holds
``user``'s home; ``/usr`` and ``/var`` exist.

A device node exists whether or not its driver is running: opening a node whose
driver is not there fails with ENXIO, as it does in MINIX.
"""

from __future__ import annotations

import stat
from typing import Final

from fs.ramfs import Entry

MEMORY_MAJOR: Final = 1
TTY_MAJOR: Final = 4
CTTY_MAJOR: Final = 5
PTY_MAJOR: Final = 9
LOG_MAJOR: Final = 15
HELLO_MAJOR: Final = 17


def dev(major: int, minor: int) -> int:
    """A device number: ``major << 8 | minor`` (MINIX's ``makedev``)."""
    return major << 8 | minor


DEVICES: Final[tuple[tuple[str, int, int, int], ...]] = (
    # name       major          minor  mode
    ("ram", MEMORY_MAJOR, 0, 0o600),
    ("mem", MEMORY_MAJOR, 1, 0o640),
    ("kmem", MEMORY_MAJOR, 2, 0o640),
    ("null", MEMORY_MAJOR, 3, 0o666),
    ("zero", MEMORY_MAJOR, 5, 0o666),
    ("full", MEMORY_MAJOR, 7, 0o666),
    ("random", MEMORY_MAJOR, 8, 0o644),
    ("urandom", MEMORY_MAJOR, 9, 0o644),
    ("console", TTY_MAJOR, 0, 0o600),
    ("tty", CTTY_MAJOR, 0, 0o666),
    ("ptmx", PTY_MAJOR, 0, 0o666),
    ("log", LOG_MAJOR, 0, 0o222),
    ("hello", HELLO_MAJOR, 0, 0o444),
)
"""Character devices in /dev: (name, major, minor, permission bits).

The memory minors are MINIX's (ram 0, mem 1, kmem 2, null 3, zero 5); MINIX has no
full and keeps random in a driver of its own, so asynix gives the memory driver
Linux's minors for them (full 7, random 8, urandom 9).
"""

_PASSWD: Final = b"root:x:0:0:root:/root:/bin/sh\nuser:x:100:100:user:/home/user:/bin/sh\n"
_GROUP: Final = b"root:x:0:\nuser:x:100:\n"
_MOTD: Final = b"Welcome to asynix, a MINIX-3-style microkernel simulated in Python.\n"


def tree() -> tuple[Entry, ...]:
    """The initial tree, with the programs registered now in /bin and /sbin."""
    from userland import programs

    out: list[Entry] = [
        Entry("dir", "/bin"),
        Entry("dir", "/sbin"),
        Entry("dir", "/dev"),
        Entry("dir", "/dev/pts"),
        Entry("dir", "/etc"),
        Entry("dir", "/home"),
        Entry("dir", "/home/user", 0o755, uid=100, gid=100),
        Entry("dir", "/root", 0o700),
        Entry("dir", "/tmp", 0o1777),
        Entry("dir", "/usr"),
        Entry("dir", "/var"),
        Entry("file", "/etc/passwd", 0o644, _PASSWD),
        Entry("file", "/etc/group", 0o644, _GROUP),
        Entry("file", "/etc/motd", 0o644, _MOTD),
    ]
    out += [
        Entry("node", f"/dev/{name}", stat.S_IFCHR | mode, rdev=dev(major, minor))
        for name, major, minor, mode in DEVICES
    ]
    made = {e.path for e in out if e.kind == "dir"}
    for path, main in sorted(programs.installed().items()):
        parts = path.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            d = "/" + "/".join(parts[:i])
            if d not in made:
                made.add(d)
                out.append(Entry("dir", d))
        out.append(Entry("file", path, 0o755, programs.contents(main)))
    return tuple(out)
