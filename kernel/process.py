"""The handle a simulated process uses to reach the kernel (MINIX's libsys).

A server, driver or the kernel side of libc is ``async def main(proc: Process)``;
every method here is a trap into the kernel and a choice point. Only the thread that
holds the CPU may trap: a call from any other (a thread of a process that was killed
and is unwinding) fails with EDEADSRCDST.

IPC: :meth:`send`, :meth:`sendnb`, :meth:`receive`, :meth:`sendrec`, :meth:`notify`,
:meth:`senda`. Kernel calls (checked against the process's privileges, ECALLDENIED
otherwise): alarms and sleeping, threads, kernel signals, killing and clearing
processes, and the grant and copy calls added by :mod:`kernel.safecopy`.
"""

from __future__ import annotations

import errno as _errno
from typing import TYPE_CHECKING, Any

import anyio.abc
import anyio.lowlevel

from kernel import errors, ipc
from kernel.errors import KernelError
from kernel.message import CALL_SEND, CALL_SENDNB, Message
from kernel.proc import BLOCK_SLEEP, Proc, Thread

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.kernel import Kernel
    from kernel.priv import Priv


class Process:
    """One thread's door into the kernel."""

    __slots__ = ("_tg", "kernel", "proc", "thread")

    def __init__(self, kernel: Kernel, proc: Proc, thread: Thread) -> None:
        self.kernel = kernel
        self.proc = proc
        self.thread = thread
        self._tg: anyio.abc.TaskGroup | None = None

    @property
    def endpoint(self) -> int:
        """This process's endpoint."""
        return self.proc.endpoint

    @property
    def name(self) -> str:
        """This process's name (its label in the boot image)."""
        return self.proc.name

    @property
    def status(self) -> int:
        """The IPC status of the last message received: CALL_SEND, CALL_SENDREC, ..."""
        return self.proc.ipc_status

    def _enter(self) -> Thread:
        thread = self.thread
        if self.kernel.current is not thread:
            raise KernelError(errors.EDEADSRCDST, f"{thread.name} does not hold the CPU")
        return thread

    def _kcall(self, name: str) -> Thread:
        thread = self._enter()
        if not self.proc.priv.may_call(name):
            raise KernelError(errors.ECALLDENIED, f"{self.proc.name} may not call {name}")
        return thread

    # -- IPC ---------------------------------------------------------------------------

    async def send(self, dst: int, msg: Message) -> None:
        """Send ``msg`` to ``dst``, blocking until it is received."""
        await ipc.send(self.kernel, self._enter(), dst, msg, CALL_SEND)

    async def sendnb(self, dst: int, msg: Message) -> None:
        """Send without blocking; ENOTREADY if ``dst`` is not receiving from us."""
        await ipc.send(self.kernel, self._enter(), dst, msg, CALL_SENDNB)

    async def receive(self, src: int) -> Message:
        """Receive from ``src`` (an endpoint or ANY)."""
        return await ipc.receive(self.kernel, self._enter(), src)

    async def receive_nb(self, src: int) -> Message:
        """Receive only what is already pending; ENOTREADY otherwise."""
        return await ipc.receive(self.kernel, self._enter(), src, nonblock=True)

    async def sendrec(self, dst: int, msg: Message) -> Message:
        """Send ``msg`` to ``dst`` and wait for its reply."""
        return await ipc.sendrec(self.kernel, self._enter(), dst, msg)

    async def notify(self, dst: int) -> None:
        """Send a notification to ``dst``; never blocks."""
        await ipc.notify(self.kernel, self._enter(), dst)

    async def senda(self, dst: int, msg: Message, flags: int = 0) -> ipc.AsyncEntry:
        """Send ``msg`` asynchronously; returns the entry that records its outcome."""
        return await ipc.senda(self.kernel, self._enter(), dst, msg, flags)

    # -- time --------------------------------------------------------------------------

    def now(self) -> float:
        """The kernel clock, in seconds."""
        return self.kernel.clock()

    async def setalarm(self, seconds: float | None) -> float:
        """Kernel call: CLOCK notifies in ``seconds`` (None cancels); returns old time left."""
        thread = self._kcall("setalarm")
        if seconds is not None and seconds < 0:
            raise KernelError(_errno.EINVAL, "negative alarm")
        left = self.kernel.set_alarm(self.proc, None if seconds is None else self.now() + seconds)
        await self.kernel.yield_cpu(thread)
        return left

    async def sleep(self, seconds: float) -> None:
        """Block this thread for ``seconds`` of kernel time."""
        thread = self._enter()
        if seconds < 0:
            raise KernelError(_errno.EINVAL, "negative sleep")
        thread.blocked |= BLOCK_SLEEP
        self.kernel.set_alarm(self.proc, self.now() + seconds, thread)
        await self.kernel.block(thread)

    async def yield_(self) -> None:
        """A bare choice point: let the policy run someone else if it wants."""
        await self.kernel.yield_cpu(self._enter())

    # -- threads and processes ---------------------------------------------------------

    def start_thread(self, name: str, fn: Callable[[Process], Awaitable[Any]]) -> Process:
        """Start another thread of this process running ``fn(handle)``; returns its handle."""
        self._enter()
        from kernel.process import Process as _P

        holder: list[Process] = []

        async def body() -> None:
            await fn(holder[0])

        thread = self.kernel.start_thread(self, name, body)
        handle = _P(self.kernel, self.proc, thread)
        handle._tg = self._tg
        holder.append(handle)
        return handle

    async def spawn(
        self,
        name: str,
        main: Callable[[Process], Awaitable[Any]],
        *,
        priv: Priv,
        slot: int | None = None,
        sig_mgr: int | None = None,
    ) -> int:
        """Kernel call: create a process running ``main``; returns its endpoint."""
        thread = self._kcall("spawn")
        p = self.kernel.spawn(
            name, main, priv=priv, slot=slot, sig_mgr=self.endpoint if sig_mgr is None else sig_mgr
        )
        await self.kernel.yield_cpu(thread)
        return p.endpoint

    async def getksig(self) -> tuple[int, int]:
        """Kernel call: the next (endpoint, signal set) for this signal manager, or (NONE, 0)."""
        thread = self._kcall("getksig")
        result = self.kernel.getksig(self.proc)
        await self.kernel.yield_cpu(thread)
        return result

    async def kill(self, endpoint: int, signo: int) -> None:
        """Kernel call: end ``endpoint`` as if it died of ``signo``; its manager is told."""
        thread = self._kcall("kill")
        target = self.kernel.lookup(endpoint)
        if target.slot < 0:
            raise KernelError(_errno.EPERM, "cannot kill a kernel task")
        self.kernel.kill(target, signo)
        await self.kernel.yield_cpu(thread)

    async def clear(self, endpoint: int) -> None:
        """Kernel call: release the slot of ``endpoint`` (killing it first if alive)."""
        thread = self._kcall("clear")
        self.kernel.clear(endpoint)
        await self.kernel.yield_cpu(thread)

    async def exit(self) -> None:
        """End this process (normal exit)."""
        self._enter()
        self.kernel.kill(self.proc, 0)
        await anyio.lowlevel.checkpoint()
