"""Helpers for VFS tests: ramfs + VFS on a bare kernel, user processes with address spaces."""

from __future__ import annotations

import trio
from trio.testing import MockClock

from fs import ramfs
from kernel.com import ROOT_FS_PROC_NR, VFS_PROC_NR, VM_PROC_NR
from kernel.kernel import Kernel
from kernel.priv import SYSTEM_PRIV, USER_PRIV, Priv
from tests.support import Machine, Sim
from vfs import protocol as P
from vfs.main import make_vfs

PATHS = 0x1000_0000
BUF = 0x1000_2000
BUF_PAGES = 16
LAZY = 0x2000_0000
LAZY_PAGES = 4
"""A range of every user's address space that is not mapped until VM is asked."""


def _vm_standin(machine, log):
    """A test VM that answers VmHandleMem by mapping pages of the LAZY range only."""
    from kernel.endpoint import ANY
    from kernel.hw import PG_P
    from vm.protocol import VmHandleMem, VmReply

    async def vm(p):
        while True:
            m = await p.receive(ANY)
            if not isinstance(m, VmHandleMem):
                continue
            cr3 = p.kernel.lookup(m.ep).cr3
            ok = m.addr >= LAZY and m.addr + m.length <= LAZY + LAZY_PAGES * 4096
            log.append((m.addr, m.length, m.write, ok))
            if ok:
                for va in range(m.addr & ~0xFFF, m.addr + m.length, 4096):
                    if not machine.pte(cr3, va) & PG_P:
                        machine.map(cr3, va)
            await p.send(m.m_source, VmReply(0 if ok else 14))

    return vm


class User:
    """A user process's door to VFS: arguments poked into its own memory, then sendrec."""

    def __init__(self, p):
        self.p = p

    async def call(self, msg):
        r = await self.p.sendrec(VFS_PROC_NR, msg)
        if r.status:
            raise OSError(r.status, f"{type(msg).__name__}")
        return r.value if not r.value2 else (r.value, r.value2)

    async def path(self, s, slot=0):
        data = (s.encode() if isinstance(s, str) else s) + b"\0"
        addr = PATHS + slot * 4096
        await self.p.poke(addr, data)
        return addr, len(data)

    async def open(self, path, flags=0, mode=0o666):
        a, n = await self.path(path)
        return await self.call(P.VfsOpen(a, n, flags, mode))

    async def close(self, fd):
        return await self.call(P.VfsClose(fd))

    async def write(self, fd, data, at=BUF):
        await self.p.poke(at, data)
        return await self.call(P.VfsWrite(fd, at, len(data)))

    async def read(self, fd, n, at=BUF):
        count = await self.call(P.VfsRead(fd, at, n))
        return await self.p.peek(at, count)

    async def lseek(self, fd, off, whence=0):
        return await self.call(P.VfsLseek(fd, off, whence))

    async def stat(self, path, *, lstat=False):
        a, n = await self.path(path)
        cls = P.VfsLstat if lstat else P.VfsStat
        await self.call(cls(a, n, BUF))
        return P.unpack_stat(await self.p.peek(BUF, P.STAT.size))

    async def fstat(self, fd):
        await self.call(P.VfsFstat(fd, BUF))
        return P.unpack_stat(await self.p.peek(BUF, P.STAT.size))

    async def path_call(self, cls, path, *args):
        a, n = await self.path(path)
        return await self.call(cls(a, n, *args))

    async def two_paths(self, cls, p1, p2):
        a, n = await self.path(p1, 0)
        b, m = await self.path(p2, 1)
        return await self.call(cls(a, n, b, m))

    async def listdir(self, path):
        from fs.protocol import unpack_dirents

        fd = await self.open(path, 0)
        names = []
        while True:
            n = await self.call(P.VfsGetdents(fd, BUF, 4096))
            if n == 0:
                break
            names += [name.decode() for _, name in unpack_dirents(await self.p.peek(BUF, n))]
        await self.close(fd)
        return names

    async def getcwd(self):
        n = await self.call(P.VfsGetcwd(BUF, 4096))
        return (await self.p.peek(BUF, n - 1)).decode()

    async def readlink(self, path):
        a, n = await self.path(path)
        count = await self.call(P.VfsReadlink(a, n, BUF, 4096))
        return (await self.p.peek(BUF, count)).decode()


async def errno_of(coro):
    try:
        await coro
    except OSError as exc:
        return exc.errno
    return 0


def run(
    users,
    *,
    workers=9,
    pm=None,
    policy=None,
    timeout=10_000,
    fs_main=None,
    system=(),
    on_start=None,
    extra_fs=(),
    vm_log=None,
    ignore=(),
    slots=None,
):
    """Boot ramfs + VFS and run ``users`` ({name: async fn(User)}); returns their results.

    ``slots`` ({name: slot}) puts users in fixed process slots (an RS stand-in at
    RS_PROC_NR); names in ``system`` get SYSTEM_PRIV (stand-in drivers); names in
    ``ignore`` are not waited for (servers that never return).

    ``pm``: an optional async fn(p, eps) run as the PM stand-in (it gets the endpoints
    of the users by name).
    """
    out = {}

    async def outer():
        m = Machine()
        async with Kernel(m.physmem, m.mmu, policy=policy) as k:
            sim = Sim(k)
            eps = {}
            pm_ep = None
            if pm is not None:

                async def pm_body(p):
                    await p.sleep(0.5)
                    return await pm(p, eps)

                pm_ep = sim.spawn("pm", pm_body).endpoint
            if vm_log is not None:
                sim.spawn("vm", _vm_standin(m, vm_log), slot=VM_PROC_NR)
            sim.spawn("ramfs", fs_main or ramfs.main, slot=ROOT_FS_PROC_NR)
            for name in extra_fs:
                eps[name] = sim.spawn(name, ramfs.main).endpoint
            kw = {"pm": pm_ep} if pm_ep is not None else {}
            vfs_main = make_vfs(workers=workers, on_start=on_start, **kw)
            sim.spawn("vfs", vfs_main, slot=VFS_PROC_NR, priv=Priv(magic_grants=True))
            for name, fn in users.items():

                async def body(p, fn=fn):
                    await p.sleep(1)
                    u = User(p)
                    u.eps = eps
                    return await fn(u)

                priv = SYSTEM_PRIV if name in system else USER_PRIV.allowing(VFS_PROC_NR)
                proc = sim.spawn(name, body, priv=priv, slot=(slots or {}).get(name))
                cr3 = m.space()
                m.map(cr3, PATHS)
                m.map(cr3, PATHS + 4096)
                for i in range(BUF_PAGES):
                    m.map(cr3, BUF + i * 4096)
                proc.cr3 = cr3
                eps[name] = proc.endpoint
            with trio.fail_after(timeout):
                await sim.wait(*(u for u in users if u not in ignore))
            k.shutdown()
        out.update(sim.results)
        out["errors"] = sim.errors

    trio.run(outer, clock=MockClock(autojump_threshold=0))
    servers = ("vfs", "ramfs", "pm", "vm", *extra_fs, *ignore)
    errors = {k: v for k, v in out.pop("errors").items() if k not in servers}
    assert not errors, errors
    return out
