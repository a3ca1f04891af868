"""Kernel copies: safecopy through grants, vircopy, and the VM suspend-and-retry flow.

Every copy goes through the page tables of each side (:mod:`kernel.hw.copy`). A side
is a virtual range of a process with an address space (``Proc.cr3``), a physical
range (endpoint NONE, privileged callers only), or a Python buffer of the calling
server (servers keep their own data as Python objects; every byte that crosses into
or out of a user process still goes through a grant and the MMU).

When a copy reaches a page that is not there or not writable (reference §2.4-§2.5):

- with CPF_TRY on the grant (or ``try_=True`` on vircopy), the call fails with EFAULT
  at once and the grant is marked faulted, so its owner sees GRANT_FAULTED on revoke;
- otherwise the caller is suspended, a request for the *whole* side that faulted is
  pushed on the kernel's LIFO list of memory requests, VM is sent SIGKMEM if the list
  was empty, and when VM answers the whole kernel call runs again from the start
  (re-verifying the grant), or fails with VM's error.

Bytes copied before a fault stay copied, as in MINIX; the retry copies them again.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from kernel.com import KERNEL_BASE
from kernel.errors import KernelError
from kernel.hw.copy import CopyFault, copy_virt, read_virt, write_virt
from kernel.proc import BLOCK_VM

if TYPE_CHECKING:
    from collections.abc import Callable

    from kernel.kernel import Kernel
    from kernel.proc import Proc, Thread

_log = structlog.get_logger("asynix.kernel")

Buffer = bytes | bytearray | memoryview
"""A server-local buffer side of a copy (bytes only as a source): of bytes, a byte each."""


@dataclass(slots=True)
class VirSide:
    """A virtual range in ``proc``'s address space, or physical when ``proc`` is None."""

    proc: Proc | None
    addr: int


Side = VirSide | Buffer


@dataclass(slots=True)
class MemRequest:
    """A request for VM to make ``[addr, addr+length)`` of ``target`` available."""

    caller: Thread
    target: Proc
    addr: int
    length: int
    write: bool


class NeedsVM(Exception):
    """One attempt at a copy faulted: ``length`` bytes at ``addr`` of ``target`` are needed."""

    def __init__(self, target: Proc, addr: int, length: int, write: bool) -> None:
        super().__init__(target.name, addr, length, write)
        self.target, self.addr, self.length, self.write = target, addr, length, write


def _cr3(side: VirSide, n: int) -> int | None:
    if side.proc is None:
        return None
    if side.proc.cr3 is None:
        raise KernelError(errno.EFAULT, f"{side.proc.name} has no address space")
    # Kernel copies are supervisor accesses: without this check a user pointer (or a
    # grant) into the kernel's mapping would read or write the kernel.
    if side.addr < 0 or side.addr + n > KERNEL_BASE:
        raise KernelError(errno.EFAULT, f"{side.addr:#x}+{n:#x} is not user memory")
    return side.proc.cr3


def copy(k: Kernel, src: Side, dst: Side, n: int) -> None:
    """One attempt at copying ``n`` bytes from ``src`` to ``dst``.

    Raises:
        NeedsVM: a page of a virtual side faulted (the whole side is named).
        KernelError: EFAULT for a side without an address space or physical memory
            out of range; EINVAL for a negative length or a bad buffer.
    """
    if n < 0:
        raise KernelError(errno.EINVAL, f"negative copy length {n}")
    if n == 0:
        return
    mmu = k.mmu
    if mmu is None and (isinstance(src, VirSide) or isinstance(dst, VirSide)):
        raise KernelError(errno.EFAULT, "this machine has no memory")
    try:
        if isinstance(src, VirSide) and isinstance(dst, VirSide):
            assert mmu is not None
            copy_virt(mmu, _cr3(src, n), src.addr, _cr3(dst, n), dst.addr, n)
        elif isinstance(src, VirSide):
            assert mmu is not None
            if isinstance(dst, VirSide | bytes) or len(dst) < n:
                raise KernelError(errno.EINVAL, "local buffer read-only or shorter than the copy")
            dst[:n] = read_virt(mmu, _cr3(src, n), src.addr, n)
        elif isinstance(dst, VirSide):
            assert mmu is not None
            write_virt(mmu, _cr3(dst, n), dst.addr, src if len(src) == n else memoryview(src)[:n])
        else:
            if isinstance(dst, bytes) or len(src) < n or len(dst) < n:
                raise KernelError(errno.EINVAL, "buffer read-only or shorter than the copy")
            dst[:n] = src[:n]
    except CopyFault as fault:
        side = src if fault.side == "src" else dst
        assert isinstance(side, VirSide)
        if side.proc is None:
            raise KernelError(errno.EFAULT, "physical address out of range") from None
        raise NeedsVM(side.proc, side.addr, n, fault.side == "dst") from None
    except (ValueError, IndexError) as exc:
        raise KernelError(errno.EFAULT, str(exc)) from None


async def with_vm(
    k: Kernel, thread: Thread, attempt: Callable[[], None], on_try_fault: Callable[[], None] | None
) -> None:
    """Run the kernel call ``attempt`` until it succeeds, suspending on VM as needed.

    ``on_try_fault`` is given for CPF_TRY calls: a fault then marks the grant (through
    the callback) and fails with EFAULT instead of asking VM.
    """
    while True:
        try:
            attempt()
            return
        except NeedsVM as exc:
            need = exc
        if on_try_fault is not None:
            on_try_fault()
        await wait_vm(k, thread, need, try_=on_try_fault is not None)


async def wait_vm(k: Kernel, thread: Thread, need: NeedsVM, *, try_: bool) -> None:
    """An attempt at a kernel call faulted with ``need``: wait until it may run again.

    Returns once VM has made the memory available; the caller then runs the whole call
    again from the start (re-verifying any grant), as MINIX does.

    Raises:
        KernelError: EFAULT at once with ``try_`` (CPF_TRY: the caller has marked its
            grant) or when no VM can help (none, or VM itself faulted); VM's error
            when it could not make the memory available.
    """
    missing = KernelError(errno.EFAULT, f"page of {need.target.name} not present")
    if try_:
        raise missing
    vm = k.find(k.vm_endpoint)
    if vm is thread.proc:
        _log.error("VM faulted on a kernel copy", target=need.target.name, addr=need.addr)
    if vm is None or vm is thread.proc:
        raise missing
    was_empty = not k.vmrequests
    k.vmrequests.append(MemRequest(thread, need.target, need.addr, need.length, need.write))
    if was_empty:
        from kernel.kernel import SIGKMEM

        k.send_sig(vm, SIGKMEM)
    thread.blocked |= BLOCK_VM
    await k.block(thread)
    result = thread.wake_value
    if result:
        assert isinstance(result, int)
        raise KernelError(result, f"VM could not make {need.target.name}'s memory available")


def take_request(k: Kernel) -> MemRequest | None:
    """VM's VMCTL_MEMREQ_GET: the newest pending request, unlinked; None when none remain."""
    while k.vmrequests:
        req = k.vmrequests.pop()
        if req.caller.proc.alive and req.target.alive:
            return req
    return None


def reply_request(k: Kernel, req: MemRequest, result: int) -> None:
    """VM's VMCTL_MEMREQ_REPLY: resume the suspended caller (0) or fail it with ``result``."""
    if req.caller.blocked & BLOCK_VM:
        k.wake(req.caller, BLOCK_VM, result)
