"""ls: list directory contents.

Operands (default ``.``) that are not directories are listed first, then each
directory's entries, sorted by name (byte order), with a ``name:`` header when
there are several operands. Options: ``-a`` include names starting with ``.``
(and ``.`` and ``..``), ``-d`` list directories themselves, ``-1`` one name a line,
``-l`` long format::

    drwxr-xr-x 2 root root    0 Jan  1 00:00 bin
    crw-rw-rw- 1 root root 1, 3 Jan  1 00:00 null
    lrwxrwxrwx 1 user user    9 Jan  1 00:05 motd -> /etc/motd

(mode, links, owner and group names from ``/etc/passwd`` and ``/etc/group`` or their
numbers, size or ``major, minor`` for a device, modification time as ``Mon DD
HH:MM``, name, link target; columns aligned). Unlike GNU ls there is no ``total``
line (file servers report no blocks) and the time never shows a year.

Output to a terminal is in columns fitting its width unless ``-1`` or ``-l``; to
anything else one name a line. A command-line symbolic link is followed, except
under ``-l`` or ``-d``; entries inside a directory never are.
"""

from __future__ import annotations

import posixpath
from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, id_names, mode_string, wallclock
from userland.libc import stdio

PROG: Final = "ls"
SYNOPSIS: Final = "ls [-1adl] [file...]"
_DEFAULT_WIDTH: Final = 80

Entry = tuple[str, str, libc.stat_result]
"""An entry to list: its name as shown, its path, and its status."""


class _Lister:
    """One run of ``ls``: options, names of users and groups, the output so far."""

    def __init__(self, flags: set[str]) -> None:
        self.all = "-a" in flags
        self.dirs_as_files = "-d" in flags
        self.long = "-l" in flags
        self.one = "-1" in flags
        self.users: dict[int, str] = {}
        self.groups: dict[int, str] = {}
        self.columns = 0  # terminal width; 0: one name a line

    async def setup(self) -> None:
        """Read what the listing needs from the system: names, terminal width."""
        if self.long:
            self.users = await id_names("/etc/passwd")
            self.groups = await id_names("/etc/group")
        elif not self.one and await libc.isatty(stdio.STDOUT_FILENO):
            try:
                self.columns = (await libc.tcgetwinsize(stdio.STDOUT_FILENO))[1]
            except OSError:
                self.columns = 0
            self.columns = self.columns or _DEFAULT_WIDTH

    async def entries(self, path: str) -> list[Entry]:
        """The entries of directory ``path`` to list, sorted, with their status."""
        names = [str(n) for n in await libc.listdir(path)]
        if self.all:
            names += [".", ".."]
        else:
            names = [n for n in names if not n.startswith(".")]
        out: list[Entry] = []
        for name in sorted(names, key=stdio.encode):
            child = posixpath.join(path, name)
            try:
                out.append((name, child, await libc.lstat(child)))
            except OSError as exc:  # removed meanwhile
                await fail(PROG, child, exc)
        return out

    async def render(self, entries: list[Entry]) -> str:
        """``entries`` as the listing shows them."""
        if not entries:
            return ""
        if self.long:
            return await self._long(entries)
        names = [name for name, _, _ in entries]
        if not self.columns:
            return "".join(f"{n}\n" for n in names)
        return _columns(names, self.columns)

    async def _long(self, entries: list[Entry]) -> str:
        rows: list[list[str]] = []
        for name, path, st in entries:
            mode = mode_string(st.st_mode)
            if mode[0] in "cb":
                size = f"{libc.major(st.st_rdev)}, {libc.minor(st.st_rdev)}"
            else:
                size = str(st.st_size)
            shown = name
            if mode[0] == "l":
                try:
                    shown += " -> " + str(await libc.readlink(path))
                except OSError:
                    pass
            rows.append(
                [
                    mode,
                    str(st.st_nlink),
                    self.users.get(st.st_uid, str(st.st_uid)),
                    self.groups.get(st.st_gid, str(st.st_gid)),
                    size,
                    _when(st.st_mtime),
                    shown,
                ]
            )
        widths = [max(len(row[i]) for row in rows) for i in range(5)]
        return "".join(
            f"{r[0]} {r[1]:>{widths[1]}} {r[2]:<{widths[2]}} {r[3]:<{widths[3]}} "
            f"{r[4]:>{widths[4]}} {r[5]} {r[6]}\n"
            for r in rows
        )


def _when(t: float) -> str:
    """File time ``t`` as ``Mon DD HH:MM`` (the day blank-padded)."""
    d = wallclock(t)
    return f"{d:%b} {d.day:2d} {d:%H:%M}"


def _columns(names: list[str], width: int) -> str:
    """``names`` down then across, in as many columns as ``width`` holds."""
    col = max(len(n) for n in names) + 2
    ncols = max(1, width // col)
    nrows = -(-len(names) // ncols)
    lines = []
    for r in range(nrows):
        row = names[r::nrows]
        lines.append("".join(n.ljust(col) for n in row[:-1]) + row[-1] + "\n")
    return "".join(lines)


async def main(argv: list[str]) -> int:
    """List the operands; 1 if any could not be listed."""
    parsed = await getopts(PROG, argv, "1adl", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    lister = _Lister({opt for opt, _ in opts})
    await lister.setup()
    status = 0
    files: list[Entry] = []
    dirs: list[Entry] = []
    follow = not (lister.long or lister.dirs_as_files)
    for path in sorted(operands or ["."], key=stdio.encode):
        try:
            st = await (libc.stat(path) if follow else libc.lstat(path))
        except OSError as exc:
            await fail(PROG, path, exc)
            status = 1
            continue
        is_dir = libc.S_ISDIR(st.st_mode) and not lister.dirs_as_files
        (dirs if is_dir else files).append((path, path, st))
    sections = [await lister.render(files)] if files else []
    for name, path, _ in dirs:
        try:
            body = await lister.render(await lister.entries(path))
        except OSError as exc:
            await fail(PROG, path, exc)
            status = 1
            continue
        several = len(operands) > 1
        sections.append(f"{name}:\n{body}" if several else body)
    await stdio.write_all(stdio.STDOUT_FILENO, "\n".join(sections))
    return status
