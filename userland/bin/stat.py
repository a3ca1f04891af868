"""stat: show a file's status.

For each operand (not following a final symbolic link; ``-L`` follows it)::

      File: /etc/passwd
      Size: 69            Type: regular file
    Device: 0,1   Inode: 12   Links: 1
    Access: (0644/-rw-r--r--)  Uid: (    0/    root)   Gid: (    0/    root)
    Access: 2026-01-01 00:00:00
    Modify: 2026-01-01 00:00:00
    Change: 2026-01-01 00:00:00

A symbolic link's ``File:`` line adds `` -> target``; a device's ``Device:`` line
adds ``Device type: major,minor``. Times are the machine's calendar time (UTC) to
the second. The layout is GNU's, without the ``Blocks``/``IO Block`` fields (file
servers report no blocks) and with device numbers as ``major,minor``.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts, id_names, mode_string, usage, wallclock
from userland.libc import stdio

PROG: Final = "stat"
SYNOPSIS: Final = "stat [-L] file..."

_TYPE_NAMES: Final = {
    "-": "regular file",
    "d": "directory",
    "l": "symbolic link",
    "c": "character special file",
    "b": "block special file",
    "p": "fifo",
    "s": "socket",
}


def _time(t: float) -> str:
    return wallclock(t).strftime("%Y-%m-%d %H:%M:%S")


def describe(
    name: str,
    st: libc.stat_result,
    target: str | None,
    users: dict[int, str],
    groups: dict[int, str],
) -> str:
    """The lines ``stat`` prints for ``name``."""
    mode = mode_string(st.st_mode)
    file_line = f"  File: {name}" + (f" -> {target}" if target is not None else "")
    dev = f"{libc.major(st.st_dev)},{libc.minor(st.st_dev)}"
    device_line = f"Device: {dev}   Inode: {st.st_ino}   Links: {st.st_nlink}"
    if mode[0] in "cb":
        device_line += f"   Device type: {libc.major(st.st_rdev)},{libc.minor(st.st_rdev)}"
    user = users.get(st.st_uid, str(st.st_uid))
    group = groups.get(st.st_gid, str(st.st_gid))
    return "\n".join(
        [
            file_line,
            f"  Size: {st.st_size:<12}  Type: {_TYPE_NAMES.get(mode[0], 'unknown')}",
            device_line,
            f"Access: ({libc.S_IMODE(st.st_mode):04o}/{mode})  "
            f"Uid: ({st.st_uid:5d}/{user:>8})   Gid: ({st.st_gid:5d}/{group:>8})",
            f"Access: {_time(st.st_atime)}",
            f"Modify: {_time(st.st_mtime)}",
            f"Change: {_time(st.st_ctime)}",
            "",
        ]
    )


async def main(argv: list[str]) -> int:
    """Describe each operand; 1 if any could not be examined."""
    parsed = await getopts(PROG, argv, "L", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    if not operands:
        return await usage(PROG, SYNOPSIS, "missing operand")
    users, groups = await id_names("/etc/passwd"), await id_names("/etc/group")
    status = 0
    out: list[str] = []
    for name in operands:
        try:
            st = await (libc.stat(name) if opts else libc.lstat(name))
            target = None
            if libc.S_ISLNK(st.st_mode):
                target = str(await libc.readlink(name))
        except OSError as exc:
            await fail(PROG, name, exc)
            status = 1
            continue
        out.append(describe(name, st, target, users, groups))
    await stdio.write_all(stdio.STDOUT_FILENO, "".join(out))
    return status
