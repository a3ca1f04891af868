"""The device map: which character driver serves which major (MINIX's ``dmap.c``).

RS tells VFS about drivers: :class:`~vfs.protocol.VfsMapdriver` when a driver is up
(again, with a new endpoint, after each restart) and
:class:`~vfs.protocol.VfsServiceDown` when a service has died. Only RS may send either
(EPERM). The dispatcher handles both at once; nothing here blocks.

A :class:`Dmap` entry also carries the select bookkeeping MINIX keeps per major: at
most one ``CdevSelect`` is in flight per major (``sel_busy``), for the filp in
``sel_filp`` (None once that select went away; the reply is still awaited).

When a driver goes (it died, or its major is mapped to a new endpoint), VFS follows
the stated intent of MINIX (reference §6.2) at once: every process suspended on one
of its requests gets EIO, workers waiting for it get EIO, pending selects report its
fds ready, and every filp on its majors becomes FILP_CLOSED (later calls fail with
EIO, close returns 0 without asking any driver).

Device numbers are NetBSD's (MINIX's) ``makedev``: ``major << 8 | minor`` for minors
below 256, with the minor's high bits above the major.
"""

from __future__ import annotations

import errno
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import structlog

from chardev.protocol import CdevSel1Reply, CdevSel2Reply
from kernel.com import RS_PROC_NR
from kernel.endpoint import CLOCK, NONE
from kernel.message import Notify
from vfs.context import send_reply
from vfs.filp import FILP_CLOSED
from vfs.protocol import VfsMapdriver, VfsServiceDown

if TYPE_CHECKING:
    from kernel.message import Message
    from kernel.process import Process
    from vfs.context import Vfs
    from vfs.filp import Filp

log = structlog.get_logger("asynix.vfs.dmap")

NR_DEVICES: Final = 135
"""Majors 0..NR_DEVICES-1 (MINIX's value)."""
TTY_MAJOR: Final = 4
CTTY_MAJOR: Final = 5
"""``/dev/tty``: the caller's controlling terminal."""
PTY_MAJOR: Final = 9
_RS_NOTICES: Final = (VfsMapdriver, VfsServiceDown)


def major(dev: int) -> int:
    """The major number of device ``dev``."""
    return (dev & 0x000F_FF00) >> 8


def minor(dev: int) -> int:
    """The minor number of device ``dev``."""
    return (dev & 0xFF) | ((dev & 0xFFF0_0000) >> 12)


def makedev(maj: int, mnr: int) -> int:
    """The device number of (``maj``, ``mnr``)."""
    return ((maj << 8) & 0x000F_FF00) | ((mnr << 12) & 0xFFF0_0000) | (mnr & 0xFF)


@dataclass(slots=True, eq=False)
class Dmap:
    """One major: its driver and its select query in flight."""

    major: int
    label: str = ""
    endpoint: int = NONE
    sel_busy: bool = False
    sel_filp: Filp | None = None


def driver_of(vfs: Vfs, dev: int) -> Dmap | None:
    """The entry of ``dev``'s major if a driver serves it, else None."""
    d = vfs.dmaps.get(major(dev))
    return d if d is not None and d.endpoint != NONE else None


def majors_of(vfs: Vfs, endpoint: int) -> list[Dmap]:
    """Every entry served by ``endpoint``."""
    return [d for d in vfs.dmaps.values() if d.endpoint == endpoint]


def all_filps(vfs: Vfs) -> list[Filp]:
    """Every filp some descriptor or select holds (each once)."""
    seen: dict[int, Filp] = {}
    for fp in vfs.fprocs.values():
        for f in fp.fds.values():
            seen[id(f)] = f
    for se in vfs.selects:
        if se is not None:
            for g in se.filps.values():
                if g is not None:
                    seen[id(g)] = g
    return list(seen.values())


def invalidate_major(vfs: Vfs, maj: int) -> int:
    """Mark every filp on a character device of ``maj`` FILP_CLOSED; returns how many."""
    n = 0
    for f in all_filps(vfs):
        v = f.vnode
        if stat.S_ISCHR(v.mode) and major(v.rdev) == maj and f.mode != FILP_CLOSED:
            f.mode = FILP_CLOSED
            n += 1
    return n


async def driver_gone(vfs: Vfs, p: Process, endpoint: int, majors: list[Dmap]) -> None:
    """``endpoint`` no longer serves ``majors``: fail, wake and invalidate (never blocks)."""
    from vfs import device, select

    await device.unsuspend_by_endpt(vfs, p, endpoint)
    await select.unsuspend_by_endpt(vfs, p, endpoint, [d.major for d in majors])
    for d in majors:
        d.sel_busy, d.sel_filp = False, None
        n = invalidate_major(vfs, d.major)
        d.endpoint = NONE
        log.info("major unmapped", major=d.major, label=d.label, old=endpoint, filps=n)


async def do_mapdriver(vfs: Vfs, p: Process, label: str, maj: int, endpoint: int) -> int:
    """RS: ``label`` at ``endpoint`` serves ``maj``; returns 0 or an errno.

    A major mapped to a new endpoint has its old driver's requests failed and its filps
    invalidated first (MINIX's ``map_driver`` always invalidates before remapping).
    """
    if not 0 < maj < NR_DEVICES or maj == CTTY_MAJOR:
        return errno.EINVAL
    d = vfs.dmaps.setdefault(maj, Dmap(maj))
    if d.endpoint not in (NONE, endpoint):
        await driver_gone(vfs, p, d.endpoint, [d])
    d.label, d.endpoint = label, endpoint
    d.sel_busy, d.sel_filp = False, None
    vfs.fproc(endpoint).system = True
    log.info("major mapped", major=maj, label=label, endpoint=endpoint)
    return 0


async def do_service_down(vfs: Vfs, p: Process, endpoint: int) -> int:
    """RS: the service at ``endpoint`` died; everything on its majors fails or wakes."""
    await driver_gone(vfs, p, endpoint, majors_of(vfs, endpoint))
    return 0


async def dispatch(vfs: Vfs, p: Process, m: Message) -> bool:
    """Handle ``m`` if it is a driver's select reply, RS's notice or CLOCK's alarm.

    Never blocks; returns whether it was one of those. (A driver's CdevReply, far more
    frequent, goes straight from the dispatcher to :func:`vfs.device.cdev_reply`.)
    """
    # select imports this module: it is imported here, on the branches that need it
    # (an import statement costs a couple of microseconds even once loaded).
    src = m.m_source
    if isinstance(m, CdevSel1Reply):
        from vfs.select import reply1

        await reply1(vfs, p, src, m.minor, m.status)
    elif isinstance(m, CdevSel2Reply):
        from vfs.select import reply2

        await reply2(vfs, p, src, m.minor, m.status)
    elif isinstance(m, _RS_NOTICES):
        if src != RS_PROC_NR:
            status = errno.EPERM
        elif isinstance(m, VfsMapdriver):
            status = await do_mapdriver(vfs, p, m.label, m.major, m.endpoint)
        else:
            status = await do_service_down(vfs, p, m.endpoint)
        await send_reply(p, src, status)
    elif isinstance(m, Notify) and src == CLOCK:
        from vfs.select import expire

        await expire(vfs, p)
    else:
        return False
    return True
