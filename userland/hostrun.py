"""The program behind ``System.run`` and ``System.sh``: run a command, collect its output.

:func:`collector` makes a user program (only libc) that the host spawns as a child of
init. It connects a pipe to the command's standard output and standard error, a
second pipe (or ``/dev/null``) to its standard input, forks, and the child execs the
command; a second child feeds the input so a command that writes before it reads
cannot deadlock against its feeder. The collector reads the output to end of file,
waits for the command and leaves the output and the command's status in the
:class:`Collected` the host holds: the one place where a result leaves the simulated
machine other than the console.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from userland import libc
from userland.libc import stdio

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence


@dataclass
class Collected:
    """What a collector found: the command's output and ``subprocess``-style status."""

    output: bytes = b""
    status: int | None = None


def collector(
    argv: Sequence[str],
    stdin: bytes | None,
    env: Mapping[str, str],
    result: Collected,
) -> Callable[[list[str]], Awaitable[int]]:
    """A program running ``argv`` (``argv[0]`` a path) with ``stdin`` and ``env``.

    ``stdin`` None gives the command ``/dev/null``. The program's own exit status is
    0 once it has collected; the command's is in ``result.status``.
    """
    command = list(argv)
    environment = dict(env)

    async def main(_argv: list[str]) -> int:
        out_r, out_w = await libc.pipe()
        if stdin is None:
            in_r = await libc.open("/dev/null", libc.O_RDONLY)
            in_w = -1
        else:
            in_r, in_w = await libc.pipe()

        async def command_child() -> int:
            await libc.dup2(in_r, 0)
            await libc.dup2(out_w, 1)
            await libc.dup2(out_w, 2)
            for fd in {in_r, in_w, out_r, out_w} - {-1, 0, 1, 2}:
                await libc.close(fd)
            try:
                await libc.execve(command[0], command, environment)
            except OSError as exc:
                await stdio.error(command[0], stdio.strerror(exc))
                return 127
            return 127  # pragma: no cover - execve does not return

        pid = await libc.fork(command_child)
        await libc.close(out_w)
        await libc.close(in_r)
        if in_w >= 0:
            assert stdin is not None

            async def feeder() -> int:
                await libc.close(out_r)
                try:
                    await stdio.write_all(in_w, stdin)
                except OSError:
                    return 1
                return 0

            feeder_pid = await libc.fork(feeder)
            await libc.close(in_w)
        result.output = await stdio.read_all(out_r)
        await libc.close(out_r)
        _, status = await libc.waitpid(pid, 0)
        result.status = libc.waitstatus_to_exitcode(status)
        if in_w >= 0:
            await libc.waitpid(feeder_pid, 0)
        return 0

    return main
