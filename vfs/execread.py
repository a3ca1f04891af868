"""exec's file access: reading a program for PM (``PmVfsExecRead``).

In MINIX, VFS does exec's file work: it resolves the path as the process would, checks
that the file is a regular file the process may execute, and reads it. Here PM keeps
the rest of exec (the new address space, the stack, the kernel's image switch), so
VFS's part is a read on the process's behalf, run as postponed PM work in a worker
bound to that process (its root, cwd and effective ids apply, and no call of its own
is in progress). The file's bytes go straight from the file server into PM's buffer:
VFS passes PM's grant on to the file server as an indirect grant.

Nothing of the process changes here; closing its close-on-exec descriptors is the
later ``PmVfsExec``, past exec's point of no return.
"""

from __future__ import annotations

import errno
import stat
from typing import TYPE_CHECKING

from fs import protocol as fsp
from vfs import lookup
from vfs.context import VfsError, permitted

if TYPE_CHECKING:
    from servers.pm.protocol import PmVfsExecRead
    from vfs.context import Job


async def read_program(job: Job, m: PmVfsExecRead) -> int:
    """Check and read the program ``m`` names into PM's grant; returns its length.

    Raises:
        VfsError: the lookup's errno; EACCES for a file that is not regular or not
            executable by the process; ENOMEM when it is larger than PM's buffer.
    """
    path = await job.copy_path(m.path, m.path_len)
    v = await lookup.resolve(job, path)
    try:
        if not stat.S_ISREG(v.mode) or not permitted(job.fp, v, 1):
            raise VfsError(errno.EACCES, "not an executable regular file")
        size = (await job.refresh(v)).size
        if size > m.size:
            raise VfsError(errno.ENOMEM, f"program of {size} bytes")
        gid = job.p.grant_indirect(v.fs_e, m.m_source, m.grant)
        try:
            r = await job.fs_call(v.fs_e, fsp.ReqRead(ino=v.ino, pos=0, grant=gid, length=size))
        finally:
            job.p.revoke(gid)
        if not isinstance(r, fsp.IoReply):
            raise VfsError(errno.EIO, f"file server answered {r.mtype}")
        return r.count
    finally:
        await job.put_vnode(v)
