"""VM's requests for file-mapped memory (``VmVfsOpen``, ``VmVfsRead``, ``VmVfsClose``).

VM never blocks on VFS: it sends these with ``senda``, any number at a time, and goes
on serving. The dispatcher queues them (``Vfs.vm_queue``) and starts a :class:`VmWork`
item for VM's fproc; a worker bound to VM (a system process, so it may take the spare)
drains the queue, answering each open and read with a ``VfsVmReply`` (sent with
``senda``: VM may be busy). A handle is VFS's own reference to the vnode behind the
descriptor VM named, valid until VM closes it, whatever the process does meanwhile.
"""

from __future__ import annotations

import errno
import itertools
from dataclasses import dataclass

from fs import protocol as fsp
from kernel.com import VM_PROC_NR
from kernel.grants import CPF_WRITE
from kernel.message import Message
from vfs.context import Job, VfsError
from vfs.filp import R_BIT
from vm.protocol import VfsVmReply, VmVfsClose, VmVfsOpen, VmVfsRead

_handles = itertools.count(1)


@dataclass(slots=True)
class VmWork(Message):
    """Internal work item: drain VM's queued requests (never sent)."""


async def _one(job: Job, m: Message) -> VfsVmReply | None:
    vfs = job.vfs
    if isinstance(m, VmVfsClose):
        v = vfs.vm_handles.pop(m.handle, None)
        await job.put_vnode(v)
        return None
    if isinstance(m, VmVfsOpen):
        fp = vfs.fprocs.get(m.ep)
        f = fp.fds.get(m.fd) if fp is not None else None
        if f is None:
            return VfsVmReply(m.req_id, errno.EBADF)
        if not f.mode & R_BIT:
            return VfsVmReply(m.req_id, errno.EACCES)
        v = job.dup_vnode(f.vnode)
        try:
            size = (await job.refresh(v)).size
        except VfsError as exc:
            await job.put_vnode(v)
            return VfsVmReply(m.req_id, exc.errno)
        handle = next(_handles)
        vfs.vm_handles[handle] = v
        return VfsVmReply(m.req_id, 0, handle, size)
    assert isinstance(m, VmVfsRead)
    v = vfs.vm_handles.get(m.handle)
    if v is None:
        return VfsVmReply(m.req_id, errno.EBADF)
    try:
        r = await job.try_copy(
            v.fs_e,
            m.ep,
            m.addr,
            m.length,
            CPF_WRITE,
            lambda gid: fsp.ReqRead(ino=v.ino, pos=m.offset, grant=gid, length=m.length),
        )
    except VfsError as exc:
        return VfsVmReply(m.req_id, exc.errno)
    assert isinstance(r, fsp.IoReply)
    return VfsVmReply(m.req_id, 0, r.count)


async def do_vm_work(job: Job) -> None:
    """Answer every queued VM request (blocks on file servers and VM's own replies)."""
    q = job.vfs.vm_queue
    while q:
        reply = await _one(job, q.popleft())
        if reply is not None:
            try:
                await job.p.senda(VM_PROC_NR, reply)
            except OSError:
                pass  # VM is gone; nothing to answer
