"""DS's main loop: receive a request, check it, act on the store, answer.

Boot spawns ``make_ds()`` at slot DS_PROC_NR. DS is single-threaded and blocks only
in kernel IPC: it receives one request at a time and answers it with a non-blocking
send (its callers wait in ``sendrec``), so DS never waits for a client and a client
that is gone is simply skipped. Blobs cross by grant: DS copies a published blob
from the caller's grant (``safecopyfrom``) and a retrieved one into it
(``safecopyto``); a bad grant fails the request with the copy's errno.

Authorisation uses the kernel (``getinfo``): only system processes may publish,
delete or subscribe (EPERM otherwise); a key's owner is the publisher's name, which
for a service RS started is its label. RS may delete any key (it discards a
service's saved state on ``refresh``). A malformed request is answered with EINVAL;
an exception in DS's own code is a bug: logged, recorded in :attr:`DsMain.bugs`,
answered with EIO, and DS goes on.
"""

from __future__ import annotations

import errno
from typing import TYPE_CHECKING

import structlog

from kernel.com import RS_PROC_NR
from kernel.endpoint import ANY
from kernel.errors import KernelError
from kernel.message import Message, Notify
from servers.ds.protocol import (
    DS_MAX_MEM,
    DSF_TYPE_LABEL,
    DSF_TYPE_MEM,
    DSF_TYPE_U32,
    DsCheck,
    DsDelete,
    DsPublishLabel,
    DsPublishMem,
    DsPublishU32,
    DsReply,
    DsRetrieveLabel,
    DsRetrieveLabelName,
    DsRetrieveMem,
    DsRetrieveU32,
    DsSubscribe,
)
from servers.ds.store import DataStore, Entry, valid_int, valid_key

if TYPE_CHECKING:
    from kernel.process import Process

_log = structlog.get_logger("asynix.ds")
_U32 = 1 << 32


class DsMain:
    """DS's process body: ``await ds(proc)``.

    Attributes:
        store: the keys and subscriptions (tests read it).
        bugs: exceptions DS's own code raised (each one is a bug).
        rs: RS's endpoint (the one caller that may delete any key).
    """

    def __init__(self, rs: int = RS_PROC_NR) -> None:
        self.store = DataStore()
        self.bugs: list[BaseException] = []
        self.rs = rs

    async def __call__(self, proc: Process) -> None:
        """Serve forever."""
        while True:
            m = await proc.receive(ANY)
            if isinstance(m, Notify):
                continue  # DS expects no notifications; nothing to do with one
            try:
                reply = await self._handle(proc, m)
            except Exception as exc:
                self.bugs.append(exc)
                _log.error("DS bug", mtype=m.mtype, error=repr(exc), exc_info=exc)
                reply = DsReply(errno.EIO)
            try:
                await proc.sendnb(m.m_source, reply)
            except KernelError as exc:
                _log.debug("reply not delivered", dst=m.m_source, error=str(exc))

    async def _handle(self, proc: Process, m: Message) -> DsReply:
        src = m.m_source
        if isinstance(m, DsRetrieveLabel | DsRetrieveU32):
            return self._retrieve(m)
        if isinstance(m, DsRetrieveLabelName):
            label = self.store.label_of(m.endpoint) if valid_int(m.endpoint) else None
            return DsReply(errno.ENOENT) if label is None else DsReply(0, key=label)
        if isinstance(m, DsRetrieveMem):
            return await self._retrieve_mem(proc, m)
        if isinstance(m, DsCheck):
            status, key, flags = self.store.check(src)
            return DsReply(status, key=key, flags=flags)
        if not isinstance(m, DsPublishLabel | DsPublishU32 | DsPublishMem | DsDelete | DsSubscribe):
            return DsReply(errno.ENOSYS)
        try:
            owner, system = await proc.getinfo(src)
        except KernelError:
            return DsReply(errno.ESRCH)  # the caller died meanwhile
        if not system:
            return DsReply(errno.EPERM)
        if isinstance(m, DsSubscribe):
            return await self._subscribe(proc, src, m)
        if isinstance(m, DsDelete):
            if not valid_key(m.key):
                return DsReply(errno.EINVAL)
            return DsReply(self.store.delete(m.key, owner, privileged=src == self.rs))
        return await self._publish(proc, owner, m)

    def _retrieve(self, m: DsRetrieveLabel | DsRetrieveU32) -> DsReply:
        if not valid_key(m.key):
            return DsReply(errno.EINVAL)
        type_ = DSF_TYPE_LABEL if isinstance(m, DsRetrieveLabel) else DSF_TYPE_U32
        status, entry = self.store.retrieve(m.key, type_)
        return DsReply(status, value=0 if entry is None else entry.value)

    async def _retrieve_mem(self, proc: Process, m: DsRetrieveMem) -> DsReply:
        if not valid_key(m.key) or not valid_int(m.grant) or not valid_int(m.length):
            return DsReply(errno.EINVAL)
        if m.length < 0:
            return DsReply(errno.EINVAL)
        status, entry = self.store.retrieve(m.key, DSF_TYPE_MEM)
        if entry is None:
            return DsReply(status)
        data = entry.data[: m.length]
        if data:
            try:
                await proc.safecopyto(m.m_source, m.grant, 0, data)
            except KernelError as exc:
                return DsReply(exc.errno or errno.EIO)
        return DsReply(0, value=len(entry.data))

    async def _publish(
        self, proc: Process, owner: str, m: DsPublishLabel | DsPublishU32 | DsPublishMem
    ) -> DsReply:
        if not valid_key(m.key) or not valid_int(m.flags):
            return DsReply(errno.EINVAL)
        if isinstance(m, DsPublishLabel):
            if not valid_int(m.endpoint):
                return DsReply(errno.EINVAL)
            entry = Entry(DSF_TYPE_LABEL, owner, value=m.endpoint)
        elif isinstance(m, DsPublishU32):
            if not valid_int(m.value) or not 0 <= m.value < _U32:
                return DsReply(errno.EINVAL)
            entry = Entry(DSF_TYPE_U32, owner, value=m.value)
        else:
            if not valid_int(m.grant) or not valid_int(m.length) or m.length < 0:
                return DsReply(errno.EINVAL)
            if m.length > DS_MAX_MEM:
                return DsReply(errno.E2BIG)
            data = b""
            if m.length:
                try:
                    data = await proc.safecopyfrom(m.m_source, m.grant, 0, m.length)
                except KernelError as exc:
                    return DsReply(exc.errno or errno.EIO)
            entry = Entry(DSF_TYPE_MEM, owner, value=len(data), data=data)
        status, notify = self.store.publish(owner, m.key, entry, m.flags)
        for ep in notify:
            await self._notify(proc, ep)
        return DsReply(status)

    async def _subscribe(self, proc: Process, src: int, m: DsSubscribe) -> DsReply:
        if not valid_int(m.flags):
            return DsReply(errno.EINVAL)
        status, pending = self.store.subscribe(src, m.regex, m.flags)
        if status == 0 and pending:
            await self._notify(proc, src)
        return DsReply(status)

    async def _notify(self, proc: Process, ep: int) -> None:
        try:
            await proc.notify(ep)
        except KernelError:
            self.store.unsubscribe(ep)  # a dead subscriber: its endpoint will not return


def make_ds(rs: int = RS_PROC_NR) -> DsMain:
    """DS's process body, for boot to spawn at DS_PROC_NR."""
    return DsMain(rs)
