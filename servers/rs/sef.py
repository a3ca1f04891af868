"""SEF: the few calls a service makes to live under RS (MINIX's System Event Framework).

A service that RS starts (a driver, a file server) runs this handshake::

    async def main(proc: Process) -> None:
        init = await sef_startup(proc)          # RS's RsInit: FRESH, RESTART or LU
        state = ...                             # restore from DS if init asks for it
        await sef_init_done(proc, 0)            # RS may now publish us
        while True:
            msg = await proc.receive(ANY)
            if await sef_handle(proc, msg):     # RS's heartbeat: answered
                continue
            ...                                 # the service's own work

or, equivalently, ``msg = await sef_receive(proc)`` which answers heartbeats itself.

State that must survive a crash or a live update is kept in DS:
``await sef_save_state(proc, label, data)`` whenever it changes, and on a restart or
an update ``await sef_restore_state(proc, init)`` returns what the previous instance
saved (None for a fresh start or when nothing was saved).

Every message a service sends RS goes with ``senda`` (never blocks): RS may itself
be waiting on VFS or DS, which may be waiting on this service, and a blocking send
would close a cycle. Services RS starts are system processes, so ``senda`` is
allowed. RS is at ``RS_PROC_NR`` (it is never restarted, so its endpoint is its slot);
``rs`` overrides that for tests.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

from kernel.com import DS_PROC_NR, RS_PROC_NR
from kernel.endpoint import ANY
from kernel.errors import KernelError
from kernel.message import Notify
from servers.ds.client import ds_publish_mem, ds_retrieve_mem
from servers.ds.protocol import DS_MAX_MEM, DSF_OVERWRITE
from servers.rs.protocol import RsAlive, RsInit, RsInitReply, state_key

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.process import Process


async def sef_startup(proc: Process, *, rs: int = RS_PROC_NR) -> RsInit:
    """Wait for RS's :class:`RsInit` and return it; call first thing in a service's main.

    Anything else that arrives before it (a stray heartbeat, a message from another
    process) is dropped, as MINIX's SEF does before init: the service is not up yet.
    ``init.init_type`` is SEF_INIT_FRESH, SEF_INIT_RESTART or SEF_INIT_LU;
    ``init.state_key`` names the DS blob holding saved or handed-over state ('' if none).
    """
    while True:
        msg = await proc.receive(rs)
        if isinstance(msg, RsInit):
            return msg


async def sef_init_done(proc: Process, status: int = 0, *, rs: int = RS_PROC_NR) -> None:
    """Tell RS initialisation is over: ``status`` 0, or an errno (RS then gives up on us).

    Only after this does RS publish the service's label in DS and map its major in VFS.
    """
    await proc.senda(rs, RsInitReply(status=status))


async def sef_handle(proc: Process, msg: Message, *, rs: int = RS_PROC_NR) -> bool:
    """Answer ``msg`` if it is RS's heartbeat ping; returns whether it was one.

    A service's receive loop calls this on every message and skips those it consumed.
    A service that stops answering for two heartbeat periods is killed and restarted.
    """
    if not isinstance(msg, Notify) or msg.m_source != rs:
        return False
    try:
        await proc.senda(rs, RsAlive())
    except KernelError:
        pass  # RS gone or our queue full: RS will see the missed beat, nothing else to do
    return True


async def sef_receive(proc: Process, src: int = ANY, *, rs: int = RS_PROC_NR) -> Message:
    """Receive from ``src`` like ``proc.receive``, answering RS's heartbeats on the way."""
    while True:
        msg = await proc.receive(src)
        if not await sef_handle(proc, msg, rs=rs):
            return msg


async def sef_save_state(proc: Process, label: str, data: bytes, *, ds: int = DS_PROC_NR) -> None:
    """Save ``data`` (at most DS_MAX_MEM bytes) for this service's next instance.

    Raises:
        KernelError: DS's errno (E2BIG for too much data), or EDEADSRCDST without DS.
    """
    await ds_publish_mem(proc, state_key(label), data, DSF_OVERWRITE, ds=ds)


async def sef_restore_state(proc: Process, init: RsInit, *, ds: int = DS_PROC_NR) -> bytes | None:
    """The state the previous instance saved, if ``init`` hands some over; else None."""
    if not init.state_key:
        return None
    try:
        return await ds_retrieve_mem(proc, init.state_key, DS_MAX_MEM, ds=ds)
    except KernelError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise


__all__ = [
    "sef_handle",
    "sef_init_done",
    "sef_receive",
    "sef_restore_state",
    "sef_save_state",
    "sef_startup",
]
