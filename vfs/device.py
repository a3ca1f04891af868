"""Character-device requests: open, close, read, write, ioctl, cancel (MINIX's ``cdev.c``).

Two kinds of waiting (reference §1, §4.2):

- **open, close and cancel hold the worker.** :func:`driver_call` sends the request
  with ``senda``, registers the worker in ``Vfs.cdev_waiting`` under (driver endpoint,
  request id) and waits on the worker's condition until the dispatcher hands it the
  driver's :class:`~chardev.protocol.CdevReply`.
- **read, write and ioctl suspend the process.** :func:`cdev_io` grants the user's
  buffer to the driver (a magic grant on the caller's address space), records a
  :class:`CdevWait` in the fproc (``BLOCKED_CDEV``) *before* sending, sends with
  ``senda`` and returns SUSPEND: the worker goes free. (It never waits, so the
  dispatcher runs a read or write itself when it can: :mod:`vfs.main`.) The driver's
  reply, matched by ``id`` (the user's endpoint), reaches :func:`cdev_reply` on the
  dispatcher, which revokes the grant and answers the process with the count or the
  error.

A request id is the user's endpoint: a process has at most one call in VFS, so at most
one request outstanding. Driver statuses are negative errnos. As in MINIX, EINTR from
a driver for a request that was not cancelled becomes EAGAIN, and EAGAIN in answer to
a cancel becomes EINTR (some drivers use one where the other is meant). A reply for
no pending request is logged and dropped.

``/dev/tty`` (major 5) stands for the caller's controlling terminal: its open and
close are not forwarded; its I/O goes to the terminal recorded in ``Fproc.tty``, which
an open answered with CDEV_CTTY set (ENXIO without one). When a session leader with a
controlling terminal exits, every process loses that terminal (MINIX's ``free_proc``).
An open answered with CDEV_CLONED gets a fresh vnode of VFS's own for the new minor
(MINIX asks PFS for a new inode), which then lives as long as its filp.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from chardev.protocol import (
    CDEV_CLONED,
    CDEV_CTTY,
    CDEV_MINOR_MASK,
    CDEV_NOCTTY,
    CDEV_NOFLAGS,
    CDEV_NONBLOCK,
    CDEV_R_BIT,
    CDEV_W_BIT,
    CdevCancel,
    CdevClose,
    CdevIoctl,
    CdevOpen,
    CdevRead,
    CdevReply,
    CdevWrite,
)
from kernel.endpoint import NONE
from kernel.grants import CPF_READ, CPF_WRITE
from vfs.context import SUSPEND, Job, Suspend, VfsError, send_reply
from vfs.dmap import CTTY_MAJOR, PTY_MAJOR, TTY_MAJOR, driver_of, major, makedev, minor
from vfs.filp import FILP_CLOSED, R_BIT, W_BIT
from vfs.fproc import BLOCKED_CDEV, BLOCKED_NONE
from vfs.protocol import IOC_IN, IOC_OUT, IOCPARM_MASK, TIOCSCTTY, VfsIoctl
from vfs.tll import TLL
from vfs.vnode import Vnode

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.process import Process
    from vfs.context import Vfs
    from vfs.filp import Filp
    from vfs.fproc import Fproc

log = structlog.get_logger("asynix.vfs.device")

READ, WRITE, IOCTL = "read", "write", "ioctl"


@dataclass(slots=True, eq=False)
class CdevWait:
    """What a process suspended on a driver waits for (MINIX's ``fp_cdev``)."""

    driver: int
    dev: int
    grant: int
    """The grant of the user's buffer to the driver, or -1."""
    filp: Filp
    op: str
    count: int
    """Bytes asked for (read/write); a larger answer is a driver bug."""


def cdev_map(fp: Fproc, dev: int) -> int:
    """The device ``dev`` stands for: /dev/tty is the controlling terminal (ENXIO)."""
    if major(dev) == CTTY_MAJOR:
        if not fp.tty:
            raise VfsError(errno.ENXIO, "no controlling terminal")
        return fp.tty
    return dev


def _driver(vfs: Vfs, dev: int) -> int:
    d = driver_of(vfs, dev)
    if d is None:
        raise VfsError(errno.ENXIO, f"no driver for major {major(dev)}")
    return d.endpoint


async def driver_call(job: Job, driver: int, req: Message) -> int:
    """Send ``req`` to ``driver`` and wait for its CdevReply; returns the raw status.

    Holds the worker (open, close, cancel). The wait ends with -EIO if the driver dies.
    """
    vfs, w = job.vfs, job.worker
    key = (driver, job.fp.endpoint)
    w.reply = None
    vfs.cdev_waiting[key] = w
    try:
        await job.p.senda(driver, req)
    except OSError as exc:
        vfs.cdev_waiting.pop(key, None)
        raise VfsError(errno.EIO, f"driver {driver} unreachable: {exc}") from exc
    while w.reply is None:
        await w.cond.wait()
    reply, w.reply = w.reply, None
    status = getattr(reply, "status", -errno.EIO)
    return status if isinstance(status, int) else -errno.EIO


def _anon_vnode(vfs: Vfs, old: Vnode, dev: int, fp: Fproc) -> Vnode:
    from vfs.pipe import new_anon_ino

    ino = new_anon_ino()
    mode = stat.S_IFCHR | (old.mode & 0o7777)
    v = Vnode(NONE, ino, mode, 0, old.uid, old.gid, dev, TLL(vfs.kernel), old.vmnt)
    v.ref = 1
    vfs.vnodes[(NONE, ino)] = v
    return v


async def cdev_open(job: Job, v: Vnode, bits: int, flags: int) -> Vnode:
    """Open the character device ``v`` for an open(2); returns the vnode for the filp.

    The caller's reference to ``v`` passes to the result (a clone's fresh vnode takes
    its place). Raises VfsError (ENXIO without a driver, the driver's error).
    """
    fp = job.fp
    if major(v.rdev) == CTTY_MAJOR:
        cdev_map(fp, v.rdev)
        return v  # /dev/tty: nothing is sent, I/O goes to fp.tty
    dev = v.rdev
    driver = _driver(job.vfs, dev)
    access = (CDEV_R_BIT if bits & R_BIT else 0) | (CDEV_W_BIT if bits & W_BIT else 0)
    if flags & os.O_NOCTTY or not fp.sesldr or fp.tty:
        access |= CDEV_NOCTTY
    status = await driver_call(job, driver, CdevOpen(minor(dev), access, fp.endpoint, fp.endpoint))
    if status < 0:
        raise VfsError(-status)
    if status & CDEV_CLONED:
        dev = makedev(major(dev), status & CDEV_MINOR_MASK)
        clone = _anon_vnode(job.vfs, v, dev, fp)
        await job.put_vnode(v)
        v = clone
    if status & CDEV_CTTY:
        fp.tty = dev
    return v


async def cdev_close(job: Job, f: Filp) -> None:
    """The last descriptor of ``f`` closed: tell the driver (errors are ignored)."""
    v = f.vnode
    if f.mode == FILP_CLOSED or major(v.rdev) == CTTY_MAJOR:
        return
    d = driver_of(job.vfs, v.rdev)
    if d is None:
        return
    try:
        status = await driver_call(job, d.endpoint, CdevClose(minor(v.rdev), job.fp.endpoint))
    except VfsError:
        return
    if status < 0:
        log.debug("driver close failed", dev=v.rdev, error=-status)


async def cdev_io(
    vfs: Vfs, p: Process, fp: Fproc, f: Filp, op: str, buf: int, n: int, request: int = 0
) -> Suspend:
    """Start a read, write or ioctl on a character device and suspend the process.

    ``p`` is the VFS thread carrying out the call (a worker, or the dispatcher for a
    read or write it starts itself). Never waits: it grants, sends with ``senda`` and
    returns SUSPEND. Raises VfsError (ENXIO without a controlling terminal, EIO).
    """
    dev = cdev_map(fp, f.vnode.rdev)
    d = driver_of(vfs, dev)
    if d is None:
        raise VfsError(errno.EIO, f"no driver for major {major(dev)}")
    driver = d.endpoint
    flags = CDEV_NONBLOCK if f.flags & os.O_NONBLOCK else CDEV_NOFLAGS
    grant = -1
    msg: Message
    if op == IOCTL:
        size = (request >> 16) & IOCPARM_MASK
        access = (CPF_READ if request & IOC_IN else 0) | (CPF_WRITE if request & IOC_OUT else 0)
        if size and access and buf:
            grant = p.grant_magic(driver, fp.endpoint, buf, size, access)
        if request == TIOCSCTTY and major(dev) in (TTY_MAJOR, PTY_MAJOR):
            fp.tty = dev  # recorded blindly, before the driver answers (MINIX's way)
        msg = CdevIoctl(minor(dev), request, grant, fp.endpoint, flags, fp.endpoint)
    else:
        access = CPF_WRITE if op == READ else CPF_READ
        grant = p.grant_magic(driver, fp.endpoint, buf, n, access)
        cls = CdevRead if op == READ else CdevWrite
        msg = cls(minor(dev), f.pos, grant, n, flags, fp.endpoint)
    # Recorded before the send: the reply may be handled as soon as we yield.
    fp.blocked_on = BLOCKED_CDEV
    fp.resume = CdevWait(driver, dev, grant, f, op, n)
    try:
        await p.senda(driver, msg)
    except OSError as exc:
        if fp.blocked_on == BLOCKED_CDEV:
            fp.blocked_on, fp.resume = BLOCKED_NONE, None
        if grant >= 0:
            p.revoke(grant)
        raise VfsError(errno.EIO, f"driver {driver} unreachable: {exc}") from exc
    return SUSPEND


async def do_ioctl(job: Job) -> int | Suspend:
    """ioctl(fd, request, arg): ENOTTY unless a character device."""
    from vfs.open import get_filp

    m = job.msg
    assert isinstance(m, VfsIoctl)
    if not isinstance(m.request, int) or not isinstance(m.arg, int):
        raise VfsError(errno.EINVAL, "malformed ioctl")
    f = get_filp(job.fp, m.fd)
    if not stat.S_ISCHR(f.vnode.mode):
        raise VfsError(errno.ENOTTY)
    return await cdev_io(job.vfs, job.p, job.fp, f, IOCTL, m.arg, 0, m.request)


CANCEL_TIMEOUT = 1.0
"""Seconds of kernel time VFS waits for a driver to answer a cancel before it gives up."""


def _result(cw: CdevWait, status: int, *, cancel: bool) -> tuple[int, int]:
    """(errno, value) for the user from a driver's status."""
    if status < 0:
        err = -status
        if cancel and err == errno.EAGAIN:
            err = errno.EINTR
        elif not cancel and err == errno.EINTR:
            err = errno.EAGAIN
        return err, 0
    if cw.op != IOCTL:
        if status > cw.count:
            log.warning("driver answered more than asked", driver=cw.driver, status=status)
            return errno.EIO, 0
        cw.filp.pos += status
    return 0, status


async def _finish(p: Process, fp: Fproc, cw: CdevWait, status: int, *, cancel: bool) -> None:
    if cw.grant >= 0:
        try:
            p.revoke(cw.grant)
        except OSError:
            pass
    err, value = _result(cw, status, cancel=cancel)
    await send_reply(p, fp.endpoint, err, value)


async def revive(vfs: Vfs, p: Process, fp: Fproc, status: int) -> None:
    """End ``fp``'s suspended driver request with ``status`` (never blocks)."""
    cw = fp.resume
    assert isinstance(cw, CdevWait)
    fp.blocked_on, fp.resume = BLOCKED_NONE, None
    await _finish(p, fp, cw, status, cancel=False)


async def cdev_reply(vfs: Vfs, p: Process, m: CdevReply) -> None:
    """A driver's CdevReply, on the dispatcher: wake the worker or revive the process."""
    src = m.m_source
    if not isinstance(m.status, int) or not isinstance(m.id, int):
        log.warning("garbage driver reply", driver=src, status=repr(m.status))
        return
    w = vfs.cdev_waiting.pop((src, m.id), None)
    if w is not None:
        w.reply = m
        await w.cond.signal()
        return
    fp = vfs.fprocs.get(m.id)
    cw = fp.resume if fp is not None and fp.blocked_on == BLOCKED_CDEV else None
    if fp is None or not isinstance(cw, CdevWait) or cw.driver != src:
        log.warning("driver reply for no pending request", driver=src, id=m.id)
        return
    await revive(vfs, p, fp, m.status)


async def cancel(job: Job, fp: Fproc) -> None:
    """PM's unpause of a process suspended on a driver: cancel and answer (§9).

    Holds the worker until the driver answers the cancel; its answer (or the request's
    own late completion, whichever comes first) ends the call: a partial count, or
    EINTR.
    """
    from vfs import select

    cw = fp.resume
    assert isinstance(cw, CdevWait)
    fp.blocked_on, fp.resume = BLOCKED_NONE, None
    key = (cw.driver, fp.endpoint)
    job.vfs.cancel_deadlines[key] = job.p.now() + CANCEL_TIMEOUT
    await select.arm(job.vfs, job.p)
    try:
        status = await driver_call(job, cw.driver, CdevCancel(minor(cw.dev), fp.endpoint))
    except VfsError as exc:
        status = -exc.errno
    finally:
        job.vfs.cancel_deadlines.pop(key, None)
    await _finish(job.p, fp, cw, status, cancel=True)


async def expire_cancels(vfs: Vfs, now: float) -> None:
    """Give up on cancels a driver has not answered by their deadline (never blocks).

    The waiting worker gets -EINTR as if the driver had answered so; the driver's late
    answer, if it ever comes, finds no request pending and is dropped.
    """
    for key, deadline in list(vfs.cancel_deadlines.items()):
        if deadline > now:
            continue
        del vfs.cancel_deadlines[key]
        w = vfs.cdev_waiting.pop(key, None)
        if w is not None:
            log.warning("driver did not answer a cancel", driver=key[0], id=key[1])
            w.reply = CdevReply(-errno.EINTR, key[1])
            await w.cond.signal()


async def forget(job: Job, fp: Fproc) -> None:
    """``fp`` is exiting: drop its select or its driver request (cancel not awaited).

    A session leader with a controlling terminal takes the terminal away from every
    process that has it (MINIX's ``free_proc``): their ``/dev/tty`` is ENXIO from now.
    PM has told the terminal's driver, which sends the hang-up signals.
    """
    from vfs import select

    if fp.sesldr and fp.tty:
        for other in job.vfs.fprocs.values():
            if other.tty == fp.tty:
                other.tty = 0
    await select.forget(job.vfs, job.p, fp, reply=False)
    cw = fp.resume
    if fp.blocked_on != BLOCKED_CDEV or not isinstance(cw, CdevWait):
        return
    fp.blocked_on, fp.resume = BLOCKED_NONE, None
    try:
        await job.p.senda(cw.driver, CdevCancel(minor(cw.dev), fp.endpoint))
    except OSError:
        pass
    if cw.grant >= 0:
        job.p.revoke(cw.grant)


async def unsuspend_by_endpt(vfs: Vfs, p: Process, driver: int) -> None:
    """``driver`` is gone: every request suspended or waited for on it fails with EIO."""
    for fp in list(vfs.fprocs.values()):
        cw = fp.resume
        if fp.blocked_on == BLOCKED_CDEV and isinstance(cw, CdevWait) and cw.driver == driver:
            await revive(vfs, p, fp, -errno.EIO)
    for key in [k for k in vfs.cdev_waiting if k[0] == driver]:
        w = vfs.cdev_waiting.pop(key)
        w.reply = CdevReply(status=-errno.EIO, id=key[1])
        await w.cond.signal()
