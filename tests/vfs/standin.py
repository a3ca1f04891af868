"""Stand-in character drivers and an RS stand-in for VFS tests (message level).

A :class:`Driver` is a loopback device: what is written to a minor can be read back
from it. Reads of an empty minor wait (or EAGAIN with CDEV_NONBLOCK) until a write
comes; minor PARTIAL moves ``b"abc"`` at once and then waits, so a cancel answers 3.
Minor CLONE answers an open with CDEV_CLONED and a fresh minor; minor TTY answers
CDEV_CTTY to an open without CDEV_NOCTTY. ioctl reverses its argument in place and
answers the request's low byte. Select: RD when data is there, WR always; with
CDEV_NOTIFY, a write later sends a SEL2. ``select_support=False`` answers selects
with EBADF as libchardriver does without a select hook.
"""

from __future__ import annotations

import errno
import os
import stat

from chardev.protocol import (
    CDEV_CLONED,
    CDEV_CTTY,
    CDEV_NOCTTY,
    CDEV_NONBLOCK,
    CDEV_NOTIFY,
    CDEV_OP_RD,
    CDEV_OP_WR,
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
from kernel.com import VFS_PROC_NR
from kernel.endpoint import ANY
from vfs import protocol as P

MAJOR = 17
PARTIAL = 2
CLONE = 3
TTY = 4
SILENT = 5
"""Reads on this minor are never answered (the driver just keeps them)."""
MUTE = 6
"""Reads on this minor are never answered, and neither are cancels of them."""


def dev(minor, major=MAJOR):
    return major << 8 | minor


class Driver:
    def __init__(self, *, select_support=True, first_clone=100):
        self.data = {}
        self.pending = []  # [src, id, grant, count, minor, cum]
        self.watch = {}  # minor -> ops
        self.log = []
        self.select_support = select_support
        self.next_clone = first_clone
        self.stop = False

    async def main(self, u):
        p = u.p
        while not self.stop:
            m = await p.receive(ANY)
            self.log.append(type(m).__name__)
            await self.handle(p, m)

    async def reply(self, p, m, status):
        await p.senda(m.m_source, CdevReply(status, m.id))

    async def handle(self, p, m):
        if isinstance(m, CdevOpen):
            self.log.append(("open", m.minor, m.access))
            if m.minor == CLONE:
                self.next_clone += 1
                return await self.reply(p, m, CDEV_CLONED | self.next_clone)
            if m.minor == TTY and not m.access & CDEV_NOCTTY:
                return await self.reply(p, m, CDEV_CTTY)
            return await self.reply(p, m, 0)
        if isinstance(m, CdevClose):
            self.log.append(("close", m.minor))
            return await self.reply(p, m, 0)
        if isinstance(m, CdevWrite):
            data = await p.safecopyfrom(m.m_source, m.grant, 0, m.count)
            self.log.append(("write", m.minor, m.pos, bytes(data)))
            self.data.setdefault(m.minor, bytearray()).extend(data)
            await self.reply(p, m, m.count)
            await self.serve(p, m.minor)
            return None
        if isinstance(m, CdevRead):
            self.log.append(("read", m.minor, m.pos, m.count))
            req = [m.m_source, m.id, m.grant, m.count, m.minor, 0]
            if m.minor == PARTIAL:
                await p.safecopyto(m.m_source, m.grant, 0, b"abc")
                req[5] = 3
            self.pending.append(req)
            await self.serve(p, m.minor)
            if req in self.pending and m.flags & CDEV_NONBLOCK:
                self.pending.remove(req)
                await p.senda(m.m_source, CdevReply(req[5] or -errno.EAGAIN, m.id))
            return None
        if isinstance(m, CdevIoctl):
            self.log.append(("ioctl", m.minor, m.request, m.grant))
            size = (m.request >> 16) & 0x1FFF
            if m.grant >= 0:
                arg = await p.safecopyfrom(m.m_source, m.grant, 0, size)
                await p.safecopyto(m.m_source, m.grant, 0, bytes(reversed(arg)))
            return await self.reply(p, m, m.request & 0xFF)
        if isinstance(m, CdevCancel):
            self.log.append(("cancel", m.minor, m.id))
            if m.minor == MUTE:
                return None
            for req in self.pending:
                if req[1] == m.id and req[4] == m.minor:
                    self.pending.remove(req)
                    return await p.senda(m.m_source, CdevReply(req[5] or -errno.EAGAIN, m.id))
            return None  # nothing pending: no reply (libchardriver's EDONTREPLY)
        if isinstance(m, CdevSelect):
            self.log.append(("select", m.minor, m.ops))
            if not self.select_support:
                return await p.senda(m.m_source, CdevSel1Reply(-errno.EBADF, m.minor))
            ops = m.ops & 7
            ready = ops & (CDEV_OP_WR | (CDEV_OP_RD if self.data.get(m.minor) else 0))
            if m.ops & CDEV_NOTIFY and ops & ~ready:
                self.watch[m.minor] = self.watch.get(m.minor, 0) | (ops & ~ready)
            return await p.senda(m.m_source, CdevSel1Reply(ready, m.minor))
        return None

    async def serve(self, p, minor):
        buf = self.data.get(minor)
        for req in list(self.pending):
            if req[4] != minor or not buf or minor in (SILENT, MUTE):
                continue
            src, rid, grant, count, _, cum = req
            chunk = bytes(buf[: count - cum])
            del buf[: len(chunk)]
            await p.safecopyto(src, grant, cum, chunk)
            self.pending.remove(req)
            await p.senda(src, CdevReply(cum + len(chunk), rid))
        if self.watch.get(minor, 0) & CDEV_OP_RD and self.data.get(minor):
            self.watch[minor] &= ~CDEV_OP_RD
            await p.senda(VFS_PROC_NR, CdevSel2Reply(CDEV_OP_RD, minor))


async def rs_call(p, msg):
    r = await p.sendrec(VFS_PROC_NR, msg)
    return r.status


async def mknod(u, path, minor, major=MAJOR, mode=0o666):
    return await u.path_call(P.VfsMknod, path, stat.S_IFCHR | mode, dev(minor, major))


def fdset(*fds, nfds=None):
    n = nfds if nfds is not None else (max(fds) + 1 if fds else 1)
    out = bytearray((n + 7) // 8)
    for fd in fds:
        out[fd // 8] |= 1 << (fd % 8)
    return bytes(out)


def unset(data):
    return {i * 8 + b for i, byte in enumerate(data) for b in range(8) if byte >> b & 1}


SETS = 0x1000_3000  # inside the BUF pages of tests.vfs.support


async def select(u, nfds, r=(), w=(), x=(), wait=-1.0):
    """select through VFS; returns (count, rset, wset, xset) or raises OSError."""
    n = (nfds + 7) // 8
    addrs = []
    for i, fds in enumerate((r, w, x)):
        if fds is None:
            addrs.append(0)
            continue
        at = SETS + i * 64
        await u.p.poke(at, fdset(*fds, nfds=max(nfds, 1))[: max(n, 1)])
        addrs.append(at)
    msg = P.VfsSelect(nfds, *addrs, wait)
    count = await u.call(msg)
    out = [count]
    out.extend([unset(await u.p.peek(at, n)) if at and n else set() for at in addrs])
    return tuple(out)


O_NB = os.O_NONBLOCK
