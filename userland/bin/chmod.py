"""chmod: change permission bits.

The mode is octal (``755``) or symbolic (``u+x,go-w,a=r``, ``g=u``, ``+X``; a clause
naming no one acts on everyone, minus the umask's bits, as POSIX says). ``-R`` is not
supported.
"""

from __future__ import annotations

from typing import Final

from userland import libc
from userland.bin._common import apply_mode, fail, usage

PROG: Final = "chmod"
SYNOPSIS: Final = "chmod mode file..."


async def main(argv: list[str]) -> int:
    """Apply the mode to each operand; 1 if any failed, 2 on a bad mode."""
    args = argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if len(args) < 2:
        return await usage(PROG, SYNOPSIS, "missing operand")
    spec, files = args[0], args[1:]
    mask = await libc.umask(0)
    await libc.umask(mask)
    if apply_mode(spec, 0, mask) is None:
        return await usage(PROG, SYNOPSIS, f"invalid mode: {spec}")
    status = 0
    for path in files:
        try:
            st = await libc.stat(path)
            mode = apply_mode(spec, st.st_mode, mask, is_dir=libc.S_ISDIR(st.st_mode))
            assert mode is not None  # checked above: the spec parses
            await libc.chmod(path, mode)
        except OSError as exc:
            await fail(PROG, path, exc)
            status = 1
    return status
