"""Messages the kernel itself sends to the VM server.

Only the page-fault notice lives here: the rest of VM's protocol belongs to the VM
server's own ``protocol`` module. The kernel sends :class:`VmPagefault` on behalf of
the faulting process (its ``m_source`` is that process, the receiver's IPC status
carries FROM_KERNEL), exactly as MINIX's ``exception.c`` does; the process stays
blocked, with no reply message, until VM clears the fault or kills it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.message import Message


@dataclass(slots=True)
class VmPagefault(Message):
    """The process ``m_source`` faulted at ``addr`` with x86 error code ``flags``."""

    addr: int
    flags: int
