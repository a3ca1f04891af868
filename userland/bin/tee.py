"""tee: copy standard input to standard output and to files.

Each file is created or truncated (``-a``: appended to); ``-i`` ignores SIGINT. A
file that cannot be opened or written is reported and dropped; the copy goes on to
the others, and the status is then 1.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import USAGE, fail, getopts
from userland.libc import stdio

PROG: Final = "tee"
SYNOPSIS: Final = "tee [-ai] [file...]"


async def main(argv: list[str]) -> int:
    """Copy standard input until end of file; 1 if any file failed."""
    parsed = await getopts(PROG, argv, "ai", SYNOPSIS)
    if parsed is None:
        return USAGE
    opts, operands = parsed
    flags = {opt for opt, _ in opts}
    if "-i" in flags:
        await libc.signal(libc.SIGINT, libc.SIG_IGN)
    mode = libc.O_APPEND if "-a" in flags else libc.O_TRUNC
    status = 0
    outputs: dict[int, str] = {stdio.STDOUT_FILENO: "standard output"}
    for name in operands:
        try:
            outputs[await libc.open(name, libc.O_WRONLY | libc.O_CREAT | mode, 0o666)] = name
        except OSError as exc:
            await fail(PROG, name, exc)
            status = 1
    while data := await libc.read(stdio.STDIN_FILENO, libc.IO_CHUNK):
        for fd, name in list(outputs.items()):
            try:
                await stdio.write_all(fd, data)
            except OSError as exc:
                await fail(PROG, name, exc)
                del outputs[fd]
                status = 1
    for fd in outputs:
        if fd != stdio.STDOUT_FILENO:
            await libc.close(fd)
    return status
