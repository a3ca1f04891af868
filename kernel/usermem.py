"""A process touching its own memory: loads and stores through the MMU, and page faults.

This is the simulated CPU executing a user process's memory instructions (libc's
``peek`` and ``poke``, and every structure libc lays out in the process's heap and
stack). Accesses are user-mode translations through the MMU with the process's page
directory loaded in CR3 (loading a different one flushes the TLB, as a context switch
does), so the TLB, the A/D bits and the U/S and R/W rights all apply.

An access that faults is a page fault: the kernel sends :class:`~kernel.vmmsg.VmPagefault`
to VM on the process's behalf and blocks the thread until VM clears the fault, then
the access runs again (a string instruction restarts after the bytes it already
moved). Without a VM server, or if the faulting process is VM itself, the process
dies of SIGSEGV, as it does when VM decides the access is bad.
"""

from __future__ import annotations

import signal
from typing import TYPE_CHECKING

import structlog

from kernel import ipc
from kernel.hw import PageFault
from kernel.message import CALL_SEND, FROM_KERNEL, stamp
from kernel.proc import BLOCK_PAGEFAULT, MF_SENDING_FROM_KERNEL, RTS_SENDING
from kernel.vmmsg import VmPagefault

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from kernel.hw import MMU
    from kernel.kernel import Kernel
    from kernel.proc import Proc, Thread

_log = structlog.get_logger("asynix.kernel")


def _load(k: Kernel, p: Proc) -> MMU:
    """The MMU with ``p``'s page directory in CR3 (a switch of directory flushes the TLB)."""
    mmu = k.mmu
    assert mmu is not None
    if p.cr3 is None:
        raise PageFault(0, 0)
    if mmu.cr3 != p.cr3:
        mmu.cr3 = p.cr3
    return mmu


def load(k: Kernel, p: Proc, addr: int, n: int) -> bytes:
    """Read ``n`` bytes at ``addr`` as ``p`` (user mode); raises PageFault."""
    mmu = _load(k, p)
    view = mmu.physmem.view
    if 0 < n <= 0x1000 - (addr & 0xFFF):  # within one page: one translation
        pa = mmu.translate(addr & 0xFFFFFFFF, False, True)
        return bytes(view[pa : pa + n])
    out = bytearray(n)
    done = 0
    while done < n:
        va = addr + done
        chunk = min(n - done, 0x1000 - (va & 0xFFF))
        pa = mmu.translate(va & 0xFFFFFFFF, False, True)
        out[done : done + chunk] = view[pa : pa + chunk]
        done += chunk
    return bytes(out)


def store(k: Kernel, p: Proc, addr: int, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` at ``addr`` as ``p`` (user mode); raises PageFault part-way."""
    mmu = _load(k, p)
    view = mmu.physmem.view
    if type(data) is bytes and 0 < len(data) <= 0x1000 - (addr & 0xFFF):
        # Within one page (most stores): one translation, no view of the source.
        pa = mmu.translate(addr & 0xFFFFFFFF, True, True)
        view[pa : pa + len(data)] = data
        return
    src = memoryview(data).cast("B")
    n = src.nbytes
    done = 0
    while done < n:
        va = addr + done
        chunk = min(n - done, 0x1000 - (va & 0xFFF))
        pa = mmu.translate(va & 0xFFFFFFFF, True, True)
        view[pa : pa + chunk] = src[done : done + chunk]
        done += chunk


def pagefault(k: Kernel, thread: Thread, fault: PageFault) -> Awaitable[None]:
    """Send the fault to VM on ``thread``'s behalf; await the result to wait until VM clears it.

    (A function returning the wait, not a coroutine: one frame less on every fault.)
    """
    p = thread.proc
    vm = k.find(k.vm_endpoint)
    if vm is None or vm is p or p.cr3 is None:
        if vm is p:
            _log.error("page fault in VM", addr=fault.cr2, error_code=fault.error_code)
        k.kill(p, signal.SIGSEGV)
        return thread.parker.park()  # cancelled: the process is gone
    msg = VmPagefault(fault.cr2, fault.error_code)
    stamp(msg, p.endpoint)
    if k.tracer is not None:
        k.tracer.event("pagefault", p, addr=fault.cr2, error_code=fault.error_code)
    thread.blocked |= BLOCK_PAGEFAULT
    if ipc.will_receive(vm, p.endpoint):
        ipc.deliver(k, vm, msg, CALL_SEND | FROM_KERNEL)
    else:
        p.sendmsg = msg
        p.sendto = vm.endpoint
        p.rts |= RTS_SENDING
        p.misc |= MF_SENDING_FROM_KERNEL
        vm.caller_q.append(p)
    return k.block(thread)


def clear_pagefault(k: Kernel, p: Proc) -> None:
    """VM's VMCTL_CLEAR_PAGEFAULT: let ``p``'s faulting thread run its access again."""
    for thread in p.threads:
        if thread.blocked & BLOCK_PAGEFAULT:
            # Kernel.wake() inlined: this ends every page fault.
            thread.blocked &= ~BLOCK_PAGEFAULT
            if not thread.blocked:
                k.make_ready(thread)
