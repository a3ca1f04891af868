"""VM's requests for file-mapped memory: open a handle, read pages into a process, close."""

from __future__ import annotations

import errno
import os

import trio
from trio.testing import MockClock

from fs import ramfs
from kernel.com import ROOT_FS_PROC_NR, VFS_PROC_NR, VM_PROC_NR
from kernel.kernel import Kernel
from kernel.priv import USER_PRIV, Priv
from tests.support import Machine, Sim
from tests.vfs.support import BUF, PATHS, User
from vfs.main import make_vfs
from vm.protocol import VmVfsClose, VmVfsOpen, VmVfsRead


def test_vm_opens_reads_and_closes_a_file_handle():
    box = {}

    async def main():
        nonlocal u_ep
        m = Machine()
        async with Kernel(m.physmem, m.mmu) as k:
            sim = Sim(k)
            sim.spawn("vm", vm_full, slot=VM_PROC_NR)
            sim.spawn("ramfs", ramfs.main, slot=ROOT_FS_PROC_NR)
            sim.spawn("vfs", make_vfs(), slot=VFS_PROC_NR, priv=Priv(magic_grants=True))
            proc = sim.spawn("u", user_body, priv=USER_PRIV.allowing(VFS_PROC_NR))
            cr3 = m.space()
            for va in (PATHS, PATHS + 4096, *(BUF + i * 4096 for i in range(4))):
                m.map(cr3, va)
            proc.cr3 = cr3
            u_ep = proc.endpoint
            box["machine"] = (m, cr3)
            await sim.wait("vm", "u")
            k.shutdown()
        assert not {k: v for k, v in sim.errors.items() if k not in ("vfs", "ramfs")}, sim.errors
        box["results"] = sim.results

    async def user_body(p):
        u = User(p)
        fd = await u.open("/lib", os.O_CREAT | os.O_RDWR)
        await u.write(fd, b"A" * 4096 + b"B" * 100)
        wfd = await u.open("/w", os.O_CREAT | os.O_WRONLY)
        box["fds"] = (fd, wfd)
        while "closed" not in box:
            await p.sleep(1)
        return await p.peek(BUF, 8), await p.peek(BUF + 4096, 8)

    async def vm_full(p):
        while "fds" not in box:
            await p.sleep(0.1)
        fd, wfd = box["fds"]
        out = []
        await p.senda(VFS_PROC_NR, VmVfsOpen(1, u_ep, fd))
        await p.senda(VFS_PROC_NR, VmVfsOpen(2, u_ep, wfd))
        await p.senda(VFS_PROC_NR, VmVfsOpen(3, u_ep, 77))
        rs = {}
        for _ in range(3):
            r = await p.receive(VFS_PROC_NR)
            rs[r.req_id] = r
        out.append([(i, rs[i].status, rs[i].size) for i in (1, 2, 3)])
        h = rs[1].value
        await p.senda(VFS_PROC_NR, VmVfsRead(4, h, 0, 4096, u_ep, BUF))
        await p.senda(VFS_PROC_NR, VmVfsRead(5, h, 4096, 4096, u_ep, BUF + 4096))
        for _ in range(2):
            r = await p.receive(VFS_PROC_NR)
            rs[r.req_id] = r
        out.append([(i, rs[i].status, rs[i].value) for i in (4, 5)])
        await p.senda(VFS_PROC_NR, VmVfsClose(h))
        await p.senda(VFS_PROC_NR, VmVfsRead(6, h, 0, 10, u_ep, BUF))
        r = await p.receive(VFS_PROC_NR)
        out.append((r.req_id, r.status))
        box["closed"] = True
        return out

    u_ep = 0
    trio.run(main, clock=MockClock(autojump_threshold=0))
    res = box["results"]
    assert res["vm"] == [
        [(1, 0, 4196), (2, errno.EACCES, 0), (3, errno.EBADF, 0)],
        [(4, 0, 4096), (5, 0, 100)],
        (6, errno.EBADF),
    ]
    assert res["u"] == (b"A" * 8, b"B" * 8)
