"""The start of every exec'd program (C's crt0): ``_start``.

PM builds the new image's stack and asks for the process body with
:func:`image`; the body is ``_start``: it makes the process the current one for
libc, reads argc, argv and envp back from its own stack with loads (they are in
simulated memory, where PM put them), runs ``main(argv)`` and exits with its result.
An exception escaping ``main`` is reported and the process exits with status 1, as
a Python program does.
"""

from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, Final

from userland.libc._context import LibcProc, enter
from userland.libc.process import run_and_exit

if TYPE_CHECKING:
    from kernel.kernel import ProcMain
    from kernel.process import Process
    from servers.pm.execve import ProgramMain

_U32: Final = struct.Struct("<I")
_CHUNK: Final = 256


async def _cstr(h: Process, addr: int) -> bytes:
    """The NUL-terminated string at ``addr``, read a page piece at a time."""
    out = bytearray()
    while True:
        n = min(_CHUNK, 0x1000 - (addr & 0xFFF))
        chunk = await h.peek(addr, n)
        end = chunk.find(b"\0")
        if end >= 0:
            out += chunk[:end]
            return bytes(out)
        out += chunk
        addr += n


async def _words_until_zero(h: Process, addr: int) -> list[int]:
    words: list[int] = []
    while True:
        word: int = _U32.unpack(await h.peek(addr, 4))[0]
        if word == 0:
            return words
        words.append(word)
        addr += 4


async def read_frame(h: Process, sp: int) -> tuple[list[str], dict[str, str]]:
    """Argv and the environment from the argument frame at ``sp``."""
    argc: int = _U32.unpack(await h.peek(sp, 4))[0]
    raw = await h.peek(sp + 4, 4 * argc)
    argv = [os.fsdecode(await _cstr(h, p)) for (p,) in _U32.iter_unpack(raw)]
    env: dict[str, str] = {}
    for p in await _words_until_zero(h, sp + 8 + 4 * argc):
        key, _, value = os.fsdecode(await _cstr(h, p)).partition("=")
        env[key] = value
    return argv, env


def image(main: ProgramMain, sp: int) -> ProcMain:
    """The process body that starts ``main`` with the argument frame at ``sp``."""

    async def _start(h: Process) -> None:
        h.take_signals()  # marks meant for the old image's handlers, which are gone
        proc = LibcProc(h)
        enter(proc)
        argv, proc.environ = await read_frame(h, sp)
        await run_and_exit(main, argv)

    return _start
