"""Standard streams: whole writes, whole reads, lines, and error messages.

The small layer C's stdio gives commands, without its buffering: :func:`write_all`
writes every byte (looping over short writes), :func:`puts` writes text to standard
output, :func:`error` prints ``prog: message`` to standard error, :func:`read_all`
reads to end of file, and :class:`LineReader` hands out one line at a time from a
descriptor (what ``fgets`` does). Text is UTF-8; undecodable bytes are kept with
``surrogateescape`` so binary data survives a round trip through ``str``.

Every call here blocks only inside :func:`~userland.libc.files.read` and
:func:`~userland.libc.files.write` (that is, in VFS).
"""

from __future__ import annotations

import os
from typing import Final

from userland.libc.files import IO_CHUNK, read, write

STDIN_FILENO: Final = 0
STDOUT_FILENO: Final = 1
STDERR_FILENO: Final = 2
ENCODING: Final = "utf-8"
ERRORS: Final = "surrogateescape"


def encode(text: str | bytes) -> bytes:
    """``text`` as bytes (UTF-8, surrogate escapes restored)."""
    return text if isinstance(text, bytes) else text.encode(ENCODING, ERRORS)


def decode(data: bytes) -> str:
    """``data`` as text (UTF-8, undecodable bytes kept as surrogate escapes)."""
    return data.decode(ENCODING, ERRORS)


async def write_all(fd: int, data: str | bytes) -> None:
    """Write all of ``data`` to ``fd``, looping over short writes.

    Raises:
        OSError: as :func:`~userland.libc.files.write` (EPIPE, EBADF, EIO...).
    """
    view = memoryview(encode(data))
    while view:
        n = await write(fd, view)
        view = view[n:]


async def puts(text: str | bytes = "", fd: int = STDOUT_FILENO, end: str = "\n") -> None:
    """Write ``text`` and ``end`` to ``fd`` (standard output by default)."""
    await write_all(fd, encode(text) + encode(end))


async def error(prog: str, message: str) -> None:
    """Print ``prog: message`` to standard error (ignoring a standard error that fails)."""
    try:
        await write_all(STDERR_FILENO, f"{prog}: {message}\n")
    except OSError:
        pass


def strerror(exc: OSError) -> str:
    """The message ``exc`` carries, as C's ``strerror`` would give it."""
    if exc.errno is None:
        return str(exc)
    return os.strerror(exc.errno)


async def read_all(fd: int) -> bytes:
    """Read ``fd`` to end of file.

    Raises:
        OSError: as :func:`~userland.libc.files.read`.
    """
    chunks: list[bytes] = []
    while chunk := await read(fd, IO_CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)


class LineReader:
    """Lines from a descriptor, read ahead in chunks (``fgets``).

    A reader on a terminal in canonical mode gets one line per read, so it never
    reads past the line it returns; on a pipe or file it reads ahead.
    """

    def __init__(self, fd: int, chunk: int = 4096) -> None:
        self.fd = fd
        self._chunk = chunk
        self._buf = b""
        self._eof = False

    async def readline(self) -> bytes:
        """The next line, with its newline; a last line may lack it; ``b""`` at EOF.

        Raises:
            OSError: as :func:`~userland.libc.files.read`.
        """
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line, self._buf = self._buf[: nl + 1], self._buf[nl + 1 :]
                return line
            if self._eof:
                line, self._buf = self._buf, b""
                return line
            chunk = await read(self.fd, self._chunk)
            if chunk:
                self._buf += chunk
            else:
                self._eof = True

    async def read_rest(self) -> bytes:
        """Everything left: what is buffered, then the descriptor to end of file."""
        rest, self._buf = self._buf, b""
        if self._eof:
            return rest
        return rest + await read_all(self.fd)

    def __aiter__(self) -> LineReader:
        return self

    async def __anext__(self) -> bytes:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line
