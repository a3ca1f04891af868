"""Redirections: opening files and moving descriptors (XCU 2.7).

The shell expands a command's redirection targets first (:class:`Resolved`,
built by the executor), then applies them in order with open/dup2/close, so
``>f 2>&1`` sends both to ``f`` while ``2>&1 >f`` sends standard error to the
old standard output. A child applies them for good before exec; the shell
itself, running a builtin, a function or a compound command, saves the
descriptors it replaces (on copies at 10 and up, close-on-exec) and restores
them afterwards.

A here-document's text reaches the command through a pipe when it fits in
the pipe at once, otherwise through an unlinked temporary file in ``/tmp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from userland import libc
from userland.libc import stdio

SAVED_FD_MIN: Final = 10
_OPEN_FLAGS: Final = {
    "<": libc.O_RDONLY,
    ">": libc.O_WRONLY | libc.O_CREAT | libc.O_TRUNC,
    ">|": libc.O_WRONLY | libc.O_CREAT | libc.O_TRUNC,
    ">>": libc.O_WRONLY | libc.O_CREAT | libc.O_APPEND,
    "<>": libc.O_RDWR | libc.O_CREAT,
}


class RedirectError(Exception):
    """A redirection failed; the message is what the shell prints after ``sh: ``."""


@dataclass(frozen=True, slots=True)
class Resolved:
    """A redirection with its target expanded.

    A path, a descriptor word, or the text of a here-document (``op`` ``<<``).
    """

    fd: int
    op: str
    target: str


Saved = list[tuple[int, int | None]]
"""Descriptors replaced by :func:`apply` with ``save``: (fd, its copy or None if it was closed)."""


async def apply(redirects: list[Resolved], *, save: bool) -> Saved:
    """Apply ``redirects`` in order; with ``save``, return what :func:`restore` needs.

    Raises:
        RedirectError: a file could not be opened or a descriptor is bad (the
            redirections applied so far are undone when ``save`` is set).
    """
    saved: Saved = []
    try:
        for r in redirects:
            if save and all(fd != r.fd for fd, _ in saved):
                saved.append((r.fd, await _save(r.fd)))
            await _apply_one(r)
    except RedirectError:
        await restore(saved)
        raise
    return saved


async def restore(saved: Saved) -> None:
    """Put back the descriptors :func:`apply` replaced."""
    for fd, copy in reversed(saved):
        if copy is None:
            await _close_quietly(fd)
        else:
            await libc.dup2(copy, fd)
            await libc.close(copy)


async def _save(fd: int) -> int | None:
    try:
        copy = await libc.fcntl(fd, libc.F_DUPFD, SAVED_FD_MIN)
    except OSError:
        return None  # not open: restoring means closing it
    await libc.fcntl(copy, libc.F_SETFD, libc.FD_CLOEXEC)
    return copy


async def _close_quietly(fd: int) -> None:
    try:
        await libc.close(fd)
    except OSError:
        pass


async def _move(src: int, fd: int) -> None:
    if src != fd:
        await libc.dup2(src, fd)
        await libc.close(src)


async def _apply_one(r: Resolved) -> None:
    if r.op in _OPEN_FLAGS:
        try:
            opened = await libc.open(r.target, _OPEN_FLAGS[r.op], 0o666)
        except OSError as exc:
            raise RedirectError(f"{r.target}: {stdio.strerror(exc)}") from None
        await _move(opened, r.fd)
    elif r.op in ("<&", ">&"):
        if r.target == "-":
            await _close_quietly(r.fd)
            return
        if not r.target.isdigit():
            raise RedirectError(f"{r.target}: ambiguous redirect")
        src = int(r.target)
        if src == r.fd:
            return
        try:
            await libc.dup2(src, r.fd)
        except OSError:
            raise RedirectError(f"{r.target}: Bad file descriptor") from None
    else:
        await _move(await _heredoc_fd(r.target), r.fd)


async def _heredoc_fd(text: str) -> int:
    """A descriptor open for reading on ``text``."""
    data = stdio.encode(text)
    if len(data) <= libc.PIPE_BUF:
        r, w = await libc.pipe()
        if data:
            await stdio.write_all(w, data)
        await libc.close(w)
        return r
    path = f"/tmp/.sh-heredoc-{await libc.getpid()}"
    try:
        fd = await libc.open(path, libc.O_RDWR | libc.O_CREAT | libc.O_TRUNC, 0o600)
    except OSError as exc:
        raise RedirectError(f"here-document: {stdio.strerror(exc)}") from None
    await libc.unlink(path)
    await stdio.write_all(fd, data)
    await libc.lseek(fd, 0, libc.SEEK_SET)
    return fd
