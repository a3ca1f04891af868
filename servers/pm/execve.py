"""exec: replacing a process's image, and laying out a new one (MINIX's libexec way).

A user program is a Python coroutine function; its "binary" is a file whose contents
name that function. PM asks the :class:`Runtime` boot gave it to find the program
(``load(path)``: the registry of ``/bin`` today, a file read through VFS once VFS
exists) and to make the process body that runs it (``image(main, sp)``: libc's
``_start``, which reads argc/argv/envp from the stack at ``sp``).

The address space of a new image (VM's layout, PM's conventions):

- text at :data:`TEXT_BASE`: the program file's bytes, read-only and executable;
- the heap right after the text (VmSetHeap), grown by brk;
- the stack: :data:`STACK_SIZE` bytes below :data:`STACK_TOP`, with the argument
  frame at its top: ``argc``, the argv pointers, 0, the envp pointers, 0, then the
  NUL-terminated strings (32-bit little-endian words, as on i386).

exec reads the path and the caller's relocatable frame (see
:class:`~servers.pm.protocol.PmExec`) with kernel copies, checks everything it can
(EFAULT, ENAMETOOLONG, E2BIG, EINVAL, ENOENT, ENOEXEC) while the caller can still be
told, then passes the point of no return: VFS closes the close-on-exec descriptors,
VM gives the process a new address space, PM copies the image in and the kernel
restarts the process in the new image with the same endpoint. Caught signals go back
to their default action; ignored ones stay ignored; the mask, pending signals and the
alarm survive. A failure past the point of no return kills the process (SIGKILL).
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

import structlog

from kernel.errors import KernelError
from kernel.grants import CPF_WRITE
from servers.pm import signals
from servers.pm.mproc import EXECED, MProc
from servers.pm.protocol import ARG_MAX, PATH_MAX, SIGKILL, PmVfsExec, w_termsig
from vm.protocol import (
    KERNEL_BASE,
    MAP_ANON,
    MAP_FIXED,
    MAP_PRIVATE,
    PAGE_SIZE,
    PROT_EXEC,
    PROT_READ,
    PROT_WRITE,
    VmExecNew,
    VmMmap,
    VmMprotect,
    VmSetHeap,
)

if TYPE_CHECKING:
    from kernel.kernel import ProcMain
    from servers.pm.main import Pm
    from servers.pm.protocol import PmExec, PmReply

_log = structlog.get_logger("asynix.pm")

TEXT_BASE: Final = 0x0804_8000
"""Where a program's text goes (the i386 ELF convention)."""
STACK_TOP: Final = KERNEL_BASE - PAGE_SIZE
"""The end of the stack (one unmapped page below the kernel)."""
STACK_SIZE: Final = 256 * 1024
"""The stack's size; its pages are backed on first touch."""
PROGRAM_MAX: Final = 64 * 1024
"""The largest program file exec reads (ENOMEM beyond)."""
_MAP: Final = MAP_PRIVATE | MAP_ANON | MAP_FIXED
_U32: Final = struct.Struct("<I")


ProgramMain = Callable[[list[str]], Awaitable[int]]
"""A user program's entry point: ``async def main(argv) -> int``."""


class Program(NamedTuple):
    """A loaded program: its file's bytes (the text) and its entry point."""

    text: bytes
    main: ProgramMain


class Runtime(Protocol):
    """What PM needs from userland to start programs (supplied by boot)."""

    def load(self, path: str) -> Program:
        """The program at ``path``.

        Raises:
            OSError: ENOENT (no such file), ENOEXEC (not a program), EACCES.
        """
        ...

    def from_file(self, text: bytes) -> Program:
        """The program whose file holds ``text`` (read through VFS).

        Raises:
            OSError: ENOEXEC (not a program).
        """
        ...

    def program(self, main: ProgramMain) -> Program:
        """The program whose entry point is ``main`` (for ``System.spawn``)."""
        ...

    def image(self, main: ProgramMain, sp: int) -> ProcMain:
        """The process body that runs ``main`` with the argument frame at ``sp``."""
        ...


def _page_up(n: int) -> int:
    return (n + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def build_stack(argv: list[bytes], envp: list[bytes]) -> tuple[int, bytes]:
    """The argument frame for the top of a new stack; returns ``(sp, frame)``.

    Raises:
        OSError: E2BIG when the frame exceeds ARG_MAX.
    """
    header = 4 * (len(argv) + len(envp) + 3)
    strings = b"".join(s + b"\0" for s in (*argv, *envp))
    size = (header + len(strings) + 15) & ~15
    if size > ARG_MAX:
        raise OSError(errno.E2BIG, "argument list too long")
    sp = STACK_TOP - size
    words = [len(argv)]
    at = sp + header
    for i, s in enumerate((*argv, *envp)):
        if i == len(argv):
            words.append(0)
        words.append(at)
        at += len(s) + 1
    if not envp:
        words.append(0)
    words.append(0)
    frame = b"".join(_U32.pack(w) for w in words) + strings
    return sp, frame.ljust(size, b"\0")


def parse_frame(frame: bytes) -> tuple[list[bytes], list[bytes]]:
    """Read libc's relocatable frame (offsets from its start) into argv and envp.

    Raises:
        OSError: EINVAL when the frame is malformed.
    """
    n = len(frame)

    def word(at: int) -> int:
        if at + 4 > n:
            raise OSError(errno.EINVAL, "argument frame truncated")
        value: int = _U32.unpack_from(frame, at)[0]
        return value

    def string(off: int) -> bytes:
        end = frame.find(b"\0", off)
        if off >= n or end < 0:
            raise OSError(errno.EINVAL, "argument string out of the frame")
        return frame[off:end]

    argc = word(0)
    if argc > n // 4:
        raise OSError(errno.EINVAL, f"argc {argc}")
    argv = [string(word(4 + 4 * i)) for i in range(argc)]
    at = 4 + 4 * argc
    if word(at) != 0:
        raise OSError(errno.EINVAL, "argv is not NULL-terminated")
    at += 4
    envp: list[bytes] = []
    while (off := word(at)) != 0:
        envp.append(string(off))
        at += 4
    return argv, envp


async def load_image(pm: Pm, ep: int, text: bytes, sp: int, frame: bytes) -> None:
    """Give ``ep`` a fresh address space holding ``text`` and the stack ``frame``.

    Raises:
        OSError: the errno VM or the copy failed with (the process is half-built).
    """
    steps: list[Any] = []
    size = _page_up(max(len(text), 1))
    steps.append(VmExecNew(ep))
    steps.append(VmMmap(TEXT_BASE, size, PROT_READ | PROT_WRITE, _MAP, for_ep=ep))
    for msg in steps:
        r = await pm.vm_call(msg)
        if r.status:
            raise OSError(r.status, os.strerror(r.status))
    try:
        if text:
            await pm.proc.datacopy_to(ep, TEXT_BASE, text)
        for msg in (
            VmMprotect(TEXT_BASE, size, PROT_READ | PROT_EXEC, for_ep=ep),
            VmSetHeap(ep, TEXT_BASE + size),
            VmMmap(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE, _MAP, for_ep=ep),
        ):
            r = await pm.vm_call(msg)
            if r.status:
                raise OSError(r.status, os.strerror(r.status))
        await pm.proc.datacopy_to(ep, sp, frame)
    except KernelError as exc:
        raise OSError(exc.errno, str(exc)) from None


async def _copy_in(pm: Pm, mp: MProc, addr: int, length: int) -> bytes:
    # Kernel copies are supervisor accesses: a user pointer into the kernel's mapping
    # would be readable, so user ranges are checked here.
    if addr < 0 or addr + length > KERNEL_BASE:
        raise OSError(errno.EFAULT, "bad address")
    try:
        return await pm.proc.datacopy_from(mp.endpoint, addr, length)
    except KernelError:
        raise OSError(errno.EFAULT, "bad address") from None


async def do_exec(pm: Pm, mp: MProc, m: PmExec) -> PmReply | None:
    """execve: check and read everything, then replace the image (no reply on success).

    With VFS in the boot image the program file is read through VFS
    (:class:`PmVfsExecRead`: VFS checks the path and the execute permission as the
    caller); without it, from the runtime's registry.
    """
    from servers.pm.protocol import PmReply

    if m.path_len <= 0:
        return PmReply(errno.ENOENT)
    if m.path_len > PATH_MAX:
        return PmReply(errno.ENAMETOOLONG)
    if not 12 <= m.frame_len <= ARG_MAX:
        return PmReply(errno.E2BIG if m.frame_len > ARG_MAX else errno.EINVAL)
    try:
        raw = await _copy_in(pm, mp, m.path, m.path_len)
        if b"\0" in raw:
            raise OSError(errno.EINVAL, "NUL in path")
        path = os.fsdecode(raw)
        argv, envp = parse_frame(await _copy_in(pm, mp, m.frame, m.frame_len))
        sp, frame = build_stack(argv, envp)
        if pm.config.vfs is None:
            program = pm.config.runtime.load(path)
    except OSError as exc:
        return PmReply(exc.errno or errno.EINVAL)
    if pm.config.vfs is None:
        await _point_of_no_return(pm, mp, path, program, sp, frame)
        return None
    await _read_program(pm, mp, m, path, sp, frame)
    return None


async def _read_program(pm: Pm, mp: MProc, m: PmExec, path: str, sp: int, frame: bytes) -> None:
    """Have VFS read the program into a buffer of PM's, then go on with exec."""
    from servers.pm.protocol import PmReply, PmVfsExecRead

    assert pm.config.vfs is not None
    buf = bytearray(PROGRAM_MAX)
    gid = pm.proc.grant_buffer(pm.config.vfs, buf, CPF_WRITE)
    ep = mp.endpoint

    async def loaded(status: int) -> None:
        pm.proc.revoke(gid)
        if not mp.alive or mp.endpoint != ep:
            return
        try:
            if status:
                raise OSError(status, os.strerror(status))
            program = pm.config.runtime.from_file(bytes(buf[: mp.vfs_value]))
        except OSError as exc:
            await pm.reply(ep, PmReply(exc.errno or errno.ENOEXEC))
            return
        await _point_of_no_return(pm, mp, path, program, sp, frame)

    await pm.tell_vfs(mp, PmVfsExecRead(ep, m.path, m.path_len, gid, PROGRAM_MAX), loaded)


async def _point_of_no_return(
    pm: Pm, mp: MProc, path: str, program: Program, sp: int, frame: bytes
) -> None:
    """VFS closes the close-on-exec descriptors; then the new image replaces the old."""
    name = os.path.basename(path) or path
    ep = mp.endpoint

    async def replace(status: int) -> None:
        # Past the point of no return: any failure now kills the process.
        if not mp.alive or mp.endpoint != ep:
            return
        try:
            await load_image(pm, ep, program.text, sp, frame)
            await pm.proc.exec(ep, pm.config.runtime.image(program.main, sp), name)
        except (OSError, KernelError) as exc:
            _log.info("exec failed past the point of no return", pid=mp.pid, error=str(exc))
            from servers.pm.forkexit import exit_proc

            await exit_proc(pm, mp, w_termsig(SIGKILL))
            return
        mp.name = name
        mp.flags |= EXECED
        signals.reset_on_exec(mp)

    await pm.tell_vfs(mp, PmVfsExec(ep), replace)
