"""A bench for character drivers on a bare kernel: real DS, an RS stand-in, a VFS stand-in.

The RS stand-in starts one driver (SEF init FRESH), answers nothing else, counts
heartbeat answers, restarts the driver when it dies (SEF init RESTART, with RS's state
key) and performs a live update when asked (``RsUpdate``). The VFS stand-in is a
system process with an address space: it grants the driver its own buffer at BUF,
sends CDEV requests with ``senda`` and receives the replies, as VFS does.
"""

from __future__ import annotations

import signal

import anyio

import chardev
from chardev.protocol import (
    CDEV_R_BIT,
    CDEV_W_BIT,
    CdevCancel,
    CdevClose,
    CdevIoctl,
    CdevOpen,
    CdevRead,
    CdevReply,
    CdevSel1Reply,
    CdevSel2Reply,
    CdevSelect,
    CdevWrite,
)
from kernel.com import DS_PROC_NR, RS_PROC_NR
from kernel.endpoint import ANY, CLOCK, NONE, SYSTEM
from kernel.errors import ENOTREADY, KernelError
from kernel.grants import CPF_READ, CPF_WRITE
from kernel.kernel import Kernel
from kernel.message import Notify
from kernel.priv import SYSTEM_PRIV
from servers.ds.main import make_ds
from servers.rs.protocol import (
    SEF_INIT_FRESH,
    SEF_INIT_LU,
    SEF_INIT_RESTART,
    RsAlive,
    RsInit,
    RsInitReply,
    RsUpdate,
    state_key,
)
from tests.support import UNIT, Machine, Sim

BUF = 0x0804_8000
BUF_PAGES = 8
USER = 4242
"""The id (a user endpoint) the VFS stand-in puts in its requests by default."""


class RsStandin:
    """Starts, watches and restarts one driver."""

    def __init__(self, label, factory, faults=None, period=None):
        self.label = label
        self.period = period
        self.factory = factory
        self.faults = faults
        self.endpoint = NONE
        self.up = []  # (endpoint, init type) of each instance that finished init
        self.deaths = []  # (endpoint, signal set)
        self.alive = 0
        self.lu_old = NONE
        self._init_types = {}

    async def _start(self, p, init_type):
        body = chardev.run(self.factory, self.label, faults=self.faults)
        ep = await p.spawn(self.label, body, priv=SYSTEM_PRIV)
        self._init_types[ep] = init_type
        key = "" if init_type == SEF_INIT_FRESH else state_key(self.label)
        await p.senda(ep, RsInit(init_type, self.label, key))
        return ep

    async def __call__(self, p):
        await self._start(p, SEF_INIT_FRESH)
        if self.period:
            await p.setalarm(self.period)
        while True:
            m = await p.receive(ANY)
            if isinstance(m, Notify) and m.m_source == CLOCK:
                if self.endpoint != NONE:
                    await p.notify(self.endpoint)
                await p.setalarm(self.period)
                continue
            if isinstance(m, RsInitReply):
                assert m.status == 0
                self.endpoint = m.m_source
                self.up.append((m.m_source, self._init_types[m.m_source]))
                if self.lu_old != NONE:
                    old, self.lu_old = self.lu_old, NONE
                    await p.clear(old)
            elif isinstance(m, RsAlive):
                self.alive += 1
            elif isinstance(m, RsUpdate):
                self.lu_old = self.endpoint
                await p.stop(self.endpoint)
                self.endpoint = NONE
                await self._start(p, SEF_INIT_LU)
            elif isinstance(m, Notify) and m.m_source == SYSTEM:
                while True:
                    ep, sigs = await p.getksig()
                    if ep == NONE:
                        break
                    self.deaths.append((ep, sigs))
                    await p.clear(ep)
                    if self.lu_old == NONE:
                        self.endpoint = NONE
                        await self._start(p, SEF_INIT_RESTART)


class Vfs:
    """The VFS stand-in's calls, made from its process ``p``."""

    def __init__(self, p, rs):
        self.p = p
        self.rs = rs
        self.backlog = []  # SEL2 notifications that arrived while waiting for a reply

    @property
    def drv(self):
        return self.rs.endpoint

    async def until_up(self, n=1):
        while len(self.rs.up) < n:
            await self.p.sleep(0.01)
        return self.drv

    async def _reply(self, id_):
        while True:
            m = await self.p.receive(self.drv)
            if isinstance(m, CdevReply) and m.id == id_:
                return m.status
            if isinstance(m, CdevSel2Reply):
                self.backlog.append(m)
                continue
            raise AssertionError(f"unexpected {m!r}")

    async def no_reply(self, wait=None):
        """True if nothing arrives from the driver within ``wait`` seconds (a tick)."""
        assert not self.backlog, self.backlog
        await self.p.sleep(UNIT.s if wait is None else wait)
        try:
            m = await self.p.receive_nb(self.drv)
        except KernelError as exc:
            return exc.errno == ENOTREADY
        raise AssertionError(f"unexpected {m!r}")

    async def send(self, msg):
        await self.p.senda(self.drv, msg)

    async def open(self, minor, access=CDEV_R_BIT | CDEV_W_BIT, id_=USER):
        await self.send(CdevOpen(minor, access, id_, id_))
        return await self._reply(id_)

    async def close(self, minor, id_=USER):
        await self.send(CdevClose(minor, id_))
        return await self._reply(id_)

    def grant(self, n, access):
        return self.p.grant_direct(self.drv, BUF, n, access)

    async def start_read(self, minor, n, pos=0, flags=0, id_=USER):
        gid = self.grant(n, CPF_WRITE)
        await self.send(CdevRead(minor, pos, gid, n, flags, id_))
        return gid

    async def finish_read(self, gid, id_=USER):
        status = await self._reply(id_)
        self.p.revoke(gid)
        data = await self.p.peek(BUF, status) if status > 0 else b""
        return status, data

    async def read(self, minor, n, pos=0, flags=0, id_=USER):
        gid = await self.start_read(minor, n, pos, flags, id_)
        return await self.finish_read(gid, id_)

    async def write(self, minor, data, pos=0, flags=0, id_=USER):
        await self.p.poke(BUF, data)
        gid = self.grant(len(data), CPF_READ)
        await self.send(CdevWrite(minor, pos, gid, len(data), flags, id_))
        status = await self._reply(id_)
        self.p.revoke(gid)
        return status

    async def ioctl(self, minor, request, arg=b"", id_=USER):
        gid = -1
        if arg:
            await self.p.poke(BUF, arg)
            gid = self.grant(len(arg), CPF_READ | CPF_WRITE)
        await self.send(CdevIoctl(minor, request, gid, id_, 0, id_))
        status = await self._reply(id_)
        if gid != -1:
            self.p.revoke(gid)
        return status

    async def cancel(self, minor, id_=USER):
        await self.send(CdevCancel(minor, id_))
        return await self._reply(id_)

    async def select(self, minor, ops):
        await self.send(CdevSelect(minor, ops))
        m = await self.p.receive(self.drv)
        assert isinstance(m, CdevSel1Reply), m
        assert m.minor == minor
        return m.status

    async def sel2(self):
        m = self.backlog.pop(0) if self.backlog else await self.p.receive(self.drv)
        assert isinstance(m, CdevSel2Reply), m
        return m.minor, m.status


async def bench(factory, script, *, label="drv", faults=None, period=None, policy=None):
    """Run ``script(vfs, rs, kernel)`` in a VFS stand-in against driver ``label``.

    Returns ``(result, rs, ds)``. DS is the real one; RS is :class:`RsStandin`.
    """
    m = Machine()
    async with Kernel(m.physmem, m.mmu, policy=policy) as k:
        rs = RsStandin(label, factory, faults, period)
        ds = make_ds(rs=RS_PROC_NR)
        k.spawn("ds", ds, slot=DS_PROC_NR)
        k.spawn("rs", rs, slot=RS_PROC_NR)
        sim = Sim(k)
        cr3 = m.space()
        for i in range(BUF_PAGES):
            m.map(cr3, BUF + i * 4096)

        async def vfs(p):
            vfs = Vfs(p, rs)
            await vfs.until_up()
            return await script(vfs, rs, k)

        proc = sim.spawn("vfs", vfs)
        proc.cr3 = cr3
        with anyio.fail_after(10_000):
            await sim.wait("vfs")
        k.shutdown()
    if "vfs" in sim.errors:
        raise sim.errors["vfs"]
    assert not ds.bugs, ds.bugs
    return sim.results["vfs"], rs, ds


CRASH = 1 << signal.SIGSEGV
"""The signal set the kernel reports for a crashed process."""


class Holder:
    """Stands where Vfs expects an RS stand-in, for runs with the real RS."""

    def __init__(self):
        self.endpoint = NONE
        self.up = [None]


async def lookup(p, label, not_ep=NONE):
    """Poll the real RS until ``label`` runs at an endpoint other than ``not_ep``."""
    from servers.rs.protocol import RsLookup

    for _ in range(1000):
        reply = await p.sendrec(RS_PROC_NR, RsLookup(label))
        if reply.status == 0 and reply.value != not_ep:
            return reply.value
        await p.sleep(0.05)
    raise AssertionError(f"{label} never came up")


async def bench_rs(specs, script):
    """Run ``script(vfs, holder, kernel)`` against the real RS and DS serving ``specs``."""
    from servers.rs.host import RsHostMailbox
    from servers.rs.main import RsConfig, make_rs

    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        ds = make_ds()
        k.spawn("ds", ds, slot=DS_PROC_NR)
        rs = make_rs(RsConfig(services=specs, host=RsHostMailbox(), vfs=None))
        k.spawn("rs", rs, slot=RS_PROC_NR)
        sim = Sim(k)
        cr3 = m.space()
        for i in range(BUF_PAGES):
            m.map(cr3, BUF + i * 4096)
        holder = Holder()

        async def vfs(p):
            return await script(Vfs(p, holder), holder, k)

        proc = sim.spawn("vfs", vfs)
        proc.cr3 = cr3
        with anyio.fail_after(10_000):
            await sim.wait("vfs")
        k.shutdown()
    if "vfs" in sim.errors:
        raise sim.errors["vfs"]
    assert ds.bugs == [] and rs.rs.bugs == []
    return sim.results["vfs"], rs.rs, ds
