"""dd: copy a file in blocks.

Operands: ``if=FILE`` (default standard input), ``of=FILE`` (default standard
output; created, and truncated at the ``seek`` offset unless ``conv=notrunc``),
``bs=N`` block size (default 512), ``count=N`` copy at most N input blocks,
``skip=N`` skip N input blocks (seeking, or reading them on a pipe), ``seek=N``
start N blocks into the ``of`` file (standard output is never sought),
``conv=notrunc``. Sizes take the suffixes ``c`` (1), ``w`` (2), ``b`` (512), ``k``
(1024), ``M`` and ``G``.

Each read is one input record, full if it filled the block and partial if not (a
pipe gives partial ones); each is written as it came. At the end dd prints to
standard error, as GNU dd does, ``F+P records in``, ``F+P records out`` and
``N bytes copied`` (without GNU's rate and time). Exit status 0, 1 on an I/O
error (the counts are still printed), 2 on a bad operand.
"""

from __future__ import annotations

import errno
import re
from typing import Final

from userland import libc
from userland.bin._common import fail, usage
from userland.libc import stdio

PROG: Final = "dd"
SYNOPSIS: Final = "dd [if=file] [of=file] [bs=n] [count=n] [skip=n] [seek=n] [conv=notrunc]"

_SUFFIX: Final = {"": 1, "c": 1, "w": 2, "b": 512, "k": 1024, "M": 1024**2, "G": 1024**3}
_SIZES: Final = ("bs", "count", "skip", "seek")


def size(text: str) -> int | None:
    """``text`` as a byte count with an optional suffix, or None."""
    m = re.fullmatch(r"(\d+)([cwbkMG]?)", text)
    return None if m is None else int(m[1]) * _SUFFIX[m[2]]


def _named(exc: OSError, name: str) -> OSError:
    """``exc`` with ``name`` as the file it is about."""
    return OSError(exc.errno, exc.strerror, name)


class _Job:
    """What is being copied, and the counts so far."""

    def __init__(self, settings: dict[str, str]) -> None:
        self.input = settings.get("if")
        self.output = settings.get("of")
        self.notrunc = settings.get("conv") == "notrunc"
        numbers = {k: size(settings.get(k, "")) for k in _SIZES if k in settings}
        self.bs = numbers.get("bs") or 512
        self.count = numbers.get("count")
        self.skip = numbers.get("skip") or 0
        self.seek = numbers.get("seek") or 0
        self.full_in = self.part_in = self.full_out = self.part_out = self.bytes = 0
        self.in_name = self.input or "standard input"
        self.out_name = self.output or "standard output"

    async def _skip(self, fd: int) -> None:
        try:
            await libc.lseek(fd, self.skip * self.bs, libc.SEEK_CUR)
        except OSError as exc:
            if exc.errno != errno.ESPIPE:
                raise
            for _ in range(self.skip):
                if not await libc.read(fd, self.bs):
                    return

    async def _open_output(self) -> int:
        if self.output is None:
            return stdio.STDOUT_FILENO
        fd = await libc.open(self.output, libc.O_WRONLY | libc.O_CREAT, 0o666)
        if self.seek:
            await libc.lseek(fd, self.seek * self.bs, libc.SEEK_SET)
        if not self.notrunc and libc.S_ISREG((await libc.fstat(fd)).st_mode):
            await libc.ftruncate(fd, self.seek * self.bs)
        return fd

    async def copy(self, fd_in: int, fd_out: int) -> None:
        """Copy block by block, counting records."""
        while self.count is None or self.full_in + self.part_in < self.count:
            try:
                block = await libc.read(fd_in, self.bs)
            except OSError as exc:
                raise _named(exc, self.in_name) from None
            if not block:
                return
            if len(block) == self.bs:
                self.full_in += 1
            else:
                self.part_in += 1
            try:
                await stdio.write_all(fd_out, block)
            except OSError as exc:
                raise _named(exc, self.out_name) from None
            if len(block) == self.bs:
                self.full_out += 1
            else:
                self.part_out += 1
            self.bytes += len(block)

    async def run(self) -> int:
        """Do the copy; 0, or 1 after reporting an I/O error."""
        fd_in, fd_out = stdio.STDIN_FILENO, stdio.STDOUT_FILENO
        try:
            try:
                if self.input is not None:
                    fd_in = await libc.open(self.input, libc.O_RDONLY)
                await self._skip(fd_in)
            except OSError as exc:
                raise _named(exc, self.in_name) from None
            try:
                fd_out = await self._open_output()
            except OSError as exc:
                raise _named(exc, self.out_name) from None
            await self.copy(fd_in, fd_out)
            status = 0
        except OSError as exc:
            await fail(PROG, str(exc.filename), exc)
            status = 1
        finally:
            for fd in {fd_in, fd_out} - {stdio.STDIN_FILENO, stdio.STDOUT_FILENO}:
                await libc.close(fd)
        await stdio.write_all(
            stdio.STDERR_FILENO,
            f"{self.full_in}+{self.part_in} records in\n"
            f"{self.full_out}+{self.part_out} records out\n"
            f"{self.bytes} bytes copied\n",
        )
        return status


async def main(argv: list[str]) -> int:
    """Copy as the operands say; 0, 1 on an I/O error, 2 on a bad operand."""
    settings: dict[str, str] = {}
    for arg in argv[1:]:
        key, eq, value = arg.partition("=")
        bad = (
            not eq
            or key not in ("if", "of", "conv", *_SIZES)
            or (key in _SIZES and size(value) is None)
            or (key == "bs" and size(value) == 0)
            or (key == "conv" and value != "notrunc")
        )
        if bad:
            return await usage(PROG, SYNOPSIS, f"invalid operand: {arg}")
        settings[key] = value
    return await _Job(settings).run()
