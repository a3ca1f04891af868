"""Reads and writes into memory that is not present yet: CPF_TRY, then VM, then retry."""

from __future__ import annotations

import errno
import os

from tests.vfs.support import BUF, LAZY, errno_of, run
from vfs import protocol as P


def test_missing_pages_are_brought_in_by_vm_and_the_copy_retried():
    vm_log = []

    async def user(u):
        out = []
        fd = await u.open("/f", os.O_CREAT | os.O_RDWR)
        await u.write(fd, b"0123456789" * 1000)
        await u.lseek(fd, 0)
        # read into a range nobody has mapped: the file server's copy faults (CPF_TRY),
        # VFS asks VM, and the read runs again
        n = await u.call(P.VfsRead(fd, LAZY + 100, 5000))
        out.append((n, await u.p.peek(LAZY + 100, 10), await u.p.peek(LAZY + 5090, 10)))
        # a write from memory VM will not provide fails with EFAULT
        out.append(await errno_of(u.call(P.VfsWrite(fd, 0x3000_0000, 10))))
        out.append(await errno_of(u.call(P.VfsGetdents(fd, BUF, 100))))
        dfd = await u.open("/", os.O_RDONLY)
        out.append(await u.call(P.VfsGetdents(dfd, LAZY + 3 * 4096, 64)) > 0)
        out.append((await u.fstat(fd)).st_size)
        return out

    out = run({"u": user}, vm_log=vm_log)
    assert out["u"] == [
        (5000, b"0123456789", b"0123456789"),
        errno.EFAULT,
        errno.ENOTDIR,
        True,
        10000,
    ]
    assert vm_log == [
        (LAZY + 100, 5000, True, True),
        (0x3000_0000, 10, False, False),
        (LAZY + 3 * 4096, 64, True, True),
    ]
