"""select(2) (MINIX's ``select.c``; reference §7).

A system-wide table of :data:`~vfs.protocol.MAXSELECTS` entries (``Vfs.selects``).
``do_select`` claims its slot before its first ``await`` (ENOSPC when none is free)
and keeps ``starting`` set while it may still yield, so that no reply can complete the
select half-built. Each descriptor named in a set gets one of three types:

- a regular file is always ready for everything asked;
- a pipe or FIFO is judged by its state (readable: data, or no writer left; writable:
  room, or no reader left, which also counts as an exceptional condition); every
  change of a pipe's state (:func:`pipe_event`, called by :mod:`vfs.pipe`) re-judges
  the selects waiting on it;
- a character device asks its driver with ``CdevSelect`` (with CDEV_NOTIFY when the
  select may block). At most one query is in flight per major (``Dmap.sel_busy``);
  queries that must wait are marked FSF_UPDATE on their filp and sent when the
  major's reply arrives (:func:`restart_filps`). A late ``CdevSel2Reply`` completes
  every select waiting on that device. A negative status from the driver (EBADF from
  a driver without select) fails the select with that error.

Anything else (a directory, a block device) is EBADF, as is a closed descriptor. A
descriptor whose driver died (FILP_CLOSED) is ready for reading and writing.

A select that must wait suspends its process (``BLOCKED_SELECT``) and frees its
worker; it completes on whatever thread makes it ready (the dispatcher for driver
replies, timeouts and driver deaths; a worker for pipe changes). Completion first
detaches the entry (synchronously, so nothing completes it twice), then copies the
result sets to the user (only on success) and replies. Each selected filp holds a
reference (``count``) and ``selectors`` until then, so a descriptor closed by another
process sharing it never leaves the select with a freed filp.

Timeouts run on the kernel clock: VFS keeps one kernel alarm set to the earliest
deadline; CLOCK's notification reaches the dispatcher, which calls :func:`expire`.
A timeout that fires while driver answers are still awaited turns the select into a
poll that completes once they arrive. PM's unpause ends a select with EINTR and the
user's sets untouched (:func:`forget`).
"""

from __future__ import annotations

import errno
import stat
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import structlog

from chardev.protocol import CDEV_NOTIFY, CDEV_OP_ERR, CDEV_OP_RD, CDEV_OP_WR, CdevSelect
from vfs.context import SUSPEND, Job, Suspend, VfsError, send_reply
from vfs.dmap import driver_of, major, majors_of, minor
from vfs.filp import FILP_CLOSED, R_BIT, W_BIT
from vfs.fproc import BLOCKED_NONE, BLOCKED_SELECT
from vfs.protocol import FD_SETSIZE, MAXSELECTS, PIPE_BUF, VfsSelect

if TYPE_CHECKING:
    from kernel.process import Process
    from vfs.context import Vfs
    from vfs.filp import Filp
    from vfs.fproc import Fproc
    from vfs.vnode import Vnode

log = structlog.get_logger("asynix.vfs.select")

SEL_RD: Final = CDEV_OP_RD
SEL_WR: Final = CDEV_OP_WR
SEL_ERR: Final = CDEV_OP_ERR
SEL_NOTIFY: Final = CDEV_NOTIFY
SEL_ALL: Final = SEL_RD | SEL_WR | SEL_ERR

FSF_UPDATE: Final = 0o1
"""The driver must be asked again (a query for this filp is waiting its turn)."""
FSF_BUSY: Final = 0o2
"""A query for this filp is in flight."""
FSF_RD_BLOCK: Final = 0o10
FSF_WR_BLOCK: Final = 0o20
FSF_ERR_BLOCK: Final = 0o40
FSF_BLOCKED: Final = 0o70
"""The driver was asked to notify us about these ops."""

T_CHAR, T_FILE, T_PIPE = "char", "file", "pipe"


def _block_bits(ops: int) -> int:
    return (ops & SEL_ALL) << 3


def _ops_of_block(flags: int) -> int:
    return (flags & FSF_BLOCKED) >> 3


@dataclass(slots=True, eq=False)
class SelectEntry:
    """One select in progress."""

    fp: Fproc
    nfds: int
    vir: tuple[int, int, int]
    """The user's read, write and except sets (0: not given)."""
    block: bool = True
    want: dict[int, int] = field(default_factory=dict)
    filps: dict[int, Filp | None] = field(default_factory=dict)
    """The filp of each fd (None: invalidated when the select started)."""
    types: dict[int, str] = field(default_factory=dict)
    ready: dict[int, int] = field(default_factory=dict)
    error: int = 0
    starting: bool = True
    deadline: float | None = None
    done: bool = False

    @property
    def nready(self) -> int:
        """(fd, set) pairs ready: an fd ready for reading and writing counts twice."""
        return sum((ops & SEL_ALL).bit_count() for ops in self.ready.values())

    def ops2tab(self, fd: int, ops: int) -> None:
        """Record ``ops`` (those asked for) as ready on ``fd``."""
        got = ops & self.want.get(fd, 0)
        if got:
            self.ready[fd] = self.ready.get(fd, 0) | got


def init(vfs: Vfs) -> None:
    """Make the empty select table."""
    if not vfs.selects:
        vfs.selects = [None] * MAXSELECTS


def _active(vfs: Vfs) -> list[SelectEntry]:
    return [se for se in vfs.selects if se is not None and not se.done]


def _deferred(se: SelectEntry) -> bool:
    if se.starting:
        return True
    for fd, f in se.filps.items():
        if f is not None and se.types[fd] == T_CHAR and f.select_flags & (FSF_UPDATE | FSF_BUSY):
            return True
    return False


def _bits(data: bytes, nfds: int) -> set[int]:
    return {fd for fd in range(nfds) if data[fd // 8] >> (fd % 8) & 1}


def _pack(fds: set[int], nfds: int) -> bytes:
    out = bytearray((nfds + 7) // 8)
    for fd in fds:
        out[fd // 8] |= 1 << (fd % 8)
    return bytes(out)


def pipe_ready(f: Filp) -> int:
    """The ops ready on a pipe or FIFO end now."""
    v = f.vnode
    data = v.pipe or b""
    r = 0
    if f.mode & R_BIT and (data or v.writers == 0):
        r |= SEL_RD
    if f.mode & W_BIT:
        if v.readers == 0:
            r |= SEL_WR | SEL_ERR
        elif len(data) < PIPE_BUF:
            r |= SEL_WR
    return r


# -- the call ------------------------------------------------------------------------


async def do_select(job: Job) -> int | Suspend:
    """select(nfds, readfds, writefds, exceptfds, timeout) -> ready count."""
    m = job.msg
    assert isinstance(m, VfsSelect)
    vfs, fp = job.vfs, job.fp
    init(vfs)
    if not all(isinstance(x, int) for x in (m.nfds, m.readfds, m.writefds, m.exceptfds)):
        raise VfsError(errno.EINVAL, "malformed select")
    if not 0 <= m.nfds <= FD_SETSIZE:
        raise VfsError(errno.EINVAL, "nfds")
    try:
        slot = vfs.selects.index(None)
    except ValueError:
        raise VfsError(errno.ENOSPC, "select table full") from None
    se = SelectEntry(fp, m.nfds, (m.readfds, m.writefds, m.exceptfds))
    vfs.selects[slot] = se  # claimed before any await
    try:
        await _copy_in(job, se)
        timeout = m.timeout
        if not isinstance(timeout, int | float) or timeout != timeout:
            raise VfsError(errno.EINVAL, "timeout")
        if timeout < 0 and timeout != -1:
            raise VfsError(errno.EINVAL, "negative timeout")
        se.block = timeout != 0
        _pass1(se)
        await _pass2(job, se)
    except BaseException:
        _detach(vfs, se)
        raise
    se.starting = False
    if (se.nready or se.error or not se.block) and not _deferred(se):
        _detach(vfs, se)
        if se.error:
            raise VfsError(se.error)
        await _copy_out(job.p, se)
        return se.nready
    fp.blocked_on, fp.resume = BLOCKED_SELECT, se
    if timeout > 0:
        se.deadline = job.p.now() + timeout
        await arm(vfs, job.p)
    return SUSPEND


async def _copy_in(job: Job, se: SelectEntry) -> None:
    n = (se.nfds + 7) // 8
    for i, addr in enumerate(se.vir):
        if not addr or not n:
            continue
        try:
            data = await job.p.datacopy_from(se.fp.endpoint, addr, n)
        except OSError as exc:
            raise VfsError(errno.EFAULT) from exc
        for fd in _bits(data, se.nfds):
            se.want[fd] = se.want.get(fd, 0) | (SEL_RD, SEL_WR, SEL_ERR)[i]


def _pass1(se: SelectEntry) -> None:
    """Check every descriptor and take a reference on its filp (EBADF)."""
    for fd in sorted(se.want):
        f = se.fp.fds.get(fd)
        if f is None:
            raise VfsError(errno.EBADF, f"fd {fd}")
        if f.mode == FILP_CLOSED:
            se.filps[fd], se.types[fd] = None, T_CHAR
            continue
        mode = f.vnode.mode
        if stat.S_ISCHR(mode):
            kind = T_CHAR
        elif stat.S_ISREG(mode):
            kind = T_FILE
        elif stat.S_ISFIFO(mode):
            kind = T_PIPE
        else:
            raise VfsError(errno.EBADF, f"fd {fd} cannot be selected")
        se.filps[fd], se.types[fd] = f, kind
        f.selectors += 1
        f.count += 1


async def _pass2(job: Job, se: SelectEntry) -> None:
    """Find what is ready now; register interest (or ask drivers) for the rest."""
    for fd in sorted(se.want):
        ops = se.want[fd]
        f = se.filps[fd]
        if f is None or f.mode == FILP_CLOSED:
            se.ops2tab(fd, SEL_RD | SEL_WR)
            continue
        if ops & SEL_RD and not f.mode & R_BIT:
            se.ops2tab(fd, SEL_RD)
            ops &= ~SEL_RD
        if ops & SEL_WR and not f.mode & W_BIT:
            se.ops2tab(fd, SEL_WR)
            ops &= ~SEL_WR
        kind = se.types[fd]
        if kind == T_FILE:
            se.ops2tab(fd, ops)
        elif kind == T_PIPE:
            se.ops2tab(fd, pipe_ready(f))
        elif ops and (f.select_ops & ops) != ops:
            f.select_ops |= ops
            try:
                await request_char(job.vfs, job.p, se.fp, f, f.select_ops, se.block)
            except VfsError as exc:
                se.error = exc.errno
        if se.error:
            break


# -- character devices ----------------------------------------------------------------


async def request_char(vfs: Vfs, p: Process, fp: Fproc, f: Filp, ops: int, block: bool) -> None:
    """Ask the driver about ``ops`` on ``f``, now or when its major is free (never blocks).

    Raises:
        VfsError: ENXIO (no controlling terminal), EIO (no driver, another device
            already selected through this filp).
    """
    from vfs.device import cdev_map

    dev = cdev_map(fp, f.vnode.rdev)
    if f.select_dev and f.select_dev != dev:
        raise VfsError(errno.EIO, "filp selected as another device")
    f.select_dev = dev
    if not block and not f.select_flags & (FSF_UPDATE | FSF_BUSY):
        # a registered notification is outstanding: those ops are not ready yet
        ops &= ~_ops_of_block(f.select_flags)
        if not ops & SEL_ALL:
            return
    f.select_flags |= FSF_UPDATE
    if block:
        ops |= SEL_NOTIFY
        f.select_flags |= _block_bits(ops)
    if f.select_flags & FSF_BUSY:
        return
    d = driver_of(vfs, dev)
    if d is None:
        f.select_flags &= ~(FSF_UPDATE | FSF_BLOCKED)
        raise VfsError(errno.EIO, "no driver")
    if d.sel_busy:
        return
    f.select_flags = (f.select_flags & ~FSF_UPDATE) | FSF_BUSY
    d.sel_busy, d.sel_filp = True, f  # before the send: the reply may come at once
    try:
        await p.senda(d.endpoint, CdevSelect(minor(dev), ops))
    except OSError as exc:
        d.sel_busy, d.sel_filp = False, None
        f.select_flags &= ~(FSF_BUSY | FSF_BLOCKED)
        raise VfsError(errno.EIO, f"driver unreachable: {exc}") from exc


async def reply1(vfs: Vfs, p: Process, src: int, mnr: int, status: int) -> None:
    """A driver's CdevSel1Reply: the answer to the query in flight on its major."""
    if not isinstance(status, int) or not isinstance(mnr, int):
        log.warning("garbage select reply", driver=src)
        return
    for d in majors_of(vfs, src):
        if not d.sel_busy:
            continue
        f = d.sel_filp
        if f is not None and minor(f.select_dev) != mnr:
            continue  # another major of this driver, or a reply still to come
        d.sel_busy, d.sel_filp = False, None
        if f is not None:
            f.select_flags &= ~FSF_BUSY
            if not f.select_flags & (FSF_UPDATE | FSF_BLOCKED):
                f.select_ops = 0
            elif status > 0 and not f.select_flags & FSF_UPDATE:
                f.select_ops &= ~status
            if status > 0:
                f.select_flags &= ~_block_bits(status)
            elif status < 0:
                f.select_flags &= ~FSF_BLOCKED
            await _filp_status(vfs, p, f, status)
        await restart_filps(vfs, p)
        return
    log.warning("select reply with no query in flight", driver=src, minor=mnr)


async def _filp_status(vfs: Vfs, p: Process, f: Filp, status: int) -> None:
    touched = []
    for se in _active(vfs):
        for fd, g in se.filps.items():
            if g is f:
                if status >= 0:
                    se.ops2tab(fd, status)
                else:
                    se.error = -status
                touched.append(se)
    for se in touched:
        await restart_proc(vfs, p, se)


async def reply2(vfs: Vfs, p: Process, src: int, mnr: int, status: int) -> None:
    """A driver's CdevSel2Reply: completes every select waiting on that device."""
    if not isinstance(status, int) or not isinstance(mnr, int) or status == 0:
        log.warning("bad late select reply", driver=src, status=repr(status))
        return
    majors = {d.major for d in majors_of(vfs, src)}
    touched = []
    for se in _active(vfs):
        for fd, f in se.filps.items():
            if f is None or se.types[fd] != T_CHAR or not f.select_dev:
                continue
            if major(f.select_dev) not in majors or minor(f.select_dev) != mnr:
                continue
            if status > 0:
                if not f.select_flags & FSF_UPDATE:
                    f.select_ops &= ~status
                f.select_flags &= ~_block_bits(status)
                se.ops2tab(fd, status)
            else:
                f.select_flags &= ~FSF_BLOCKED
                se.error = -status
            touched.append(se)
    for se in touched:
        await restart_proc(vfs, p, se)
    await restart_filps(vfs, p)


async def restart_filps(vfs: Vfs, p: Process) -> None:
    """Send the queries that waited for their major to be free."""
    for se in _active(vfs):
        if not _deferred(se):
            continue
        for fd, f in list(se.filps.items()):
            if se.done or f is None or se.types[fd] != T_CHAR:
                continue
            if f.select_flags & FSF_BUSY or not f.select_flags & FSF_UPDATE:
                continue
            try:
                await request_char(vfs, p, se.fp, f, f.select_ops, se.block)
            except VfsError as exc:
                se.error = exc.errno
        await restart_proc(vfs, p, se)


# -- completion -----------------------------------------------------------------------


async def restart_proc(vfs: Vfs, p: Process, se: SelectEntry) -> None:
    """Complete ``se`` if it has an answer and no driver reply is still awaited."""
    if se.done:
        return
    if (se.nready or se.error or not se.block) and not _deferred(se):
        await complete(vfs, p, se)


def _release(vfs: Vfs, f: Filp) -> None:
    f.selectors -= 1
    f.count -= 1
    if f.count <= 0:  # pragma: no cover - the selecting process holds a descriptor
        log.error("select held the last reference of a filp")
    if f.selectors == 0:
        f.select_ops = f.select_flags = f.select_dev = 0
        for d in vfs.dmaps.values():
            if d.sel_filp is f:
                d.sel_filp = None  # the reply is still awaited: the major stays busy


def _detach(vfs: Vfs, se: SelectEntry) -> None:
    """Take ``se`` out of the table and drop its filps (synchronous)."""
    if se.done:
        return
    se.done = True
    for i, other in enumerate(vfs.selects):
        if other is se:
            vfs.selects[i] = None
    for f in se.filps.values():
        if f is not None:
            _release(vfs, f)
    if se.fp.resume is se:
        se.fp.blocked_on, se.fp.resume = BLOCKED_NONE, None


async def _copy_out(p: Process, se: SelectEntry) -> None:
    for i, addr in enumerate(se.vir):
        if not addr or not se.nfds:
            continue
        bit = (SEL_RD, SEL_WR, SEL_ERR)[i]
        fds = {fd for fd, ops in se.ready.items() if ops & bit}
        try:
            await p.datacopy_to(se.fp.endpoint, addr, _pack(fds, se.nfds))
        except OSError as exc:
            raise VfsError(errno.EFAULT) from exc


async def complete(vfs: Vfs, p: Process, se: SelectEntry) -> None:
    """Finish a suspended select: copy the sets out (on success) and answer."""
    _detach(vfs, se)
    if se.error:
        await send_reply(p, se.fp.endpoint, se.error)
        return
    try:
        await _copy_out(p, se)
    except VfsError as exc:
        await send_reply(p, se.fp.endpoint, exc.errno)
        return
    await send_reply(p, se.fp.endpoint, 0, se.nready)


async def forget(vfs: Vfs, p: Process, fp: Fproc, *, reply: bool) -> None:
    """End ``fp``'s select without a result: EINTR (unpause), or silently (exit)."""
    se = fp.resume
    if fp.blocked_on != BLOCKED_SELECT or not isinstance(se, SelectEntry):
        return
    _detach(vfs, se)
    if reply:
        await send_reply(p, fp.endpoint, errno.EINTR)


# -- events ---------------------------------------------------------------------------


async def pipe_event(vfs: Vfs, p: Process, v: Vnode) -> None:
    """The state of pipe ``v`` changed: complete the selects it made ready."""
    if not any(vfs.selects):
        return  # the common case: nobody selects
    for se in _active(vfs):
        # a select still starting is marked too: it may have judged this pipe already
        for fd, f in se.filps.items():
            if f is not None and f.vnode is v and se.types[fd] == T_PIPE:
                se.ops2tab(fd, pipe_ready(f))
        await restart_proc(vfs, p, se)


async def unsuspend_by_endpt(vfs: Vfs, p: Process, driver: int, majors: list[int]) -> None:
    """``driver`` died: its fds in pending selects are ready for reading and writing."""
    touched = []
    for se in _active(vfs):
        for fd, f in se.filps.items():
            if f is None or se.types[fd] != T_CHAR:
                continue
            dev = f.select_dev or f.vnode.rdev
            if major(dev) not in majors:
                continue
            f.select_flags = f.select_ops = 0
            se.ops2tab(fd, SEL_RD | SEL_WR)
            touched.append(se)
    for se in touched:
        await restart_proc(vfs, p, se)


async def arm(vfs: Vfs, p: Process) -> None:
    """Set VFS's kernel alarm to the earliest select or cancel deadline (or cancel it)."""
    deadlines = [se.deadline for se in _active(vfs) if se.deadline is not None]
    deadlines += vfs.cancel_deadlines.values()
    if not deadlines:
        await p.setalarm(None)
        return
    await p.setalarm(max(0.0, min(deadlines) - p.now()))


async def expire(vfs: Vfs, p: Process) -> None:
    """CLOCK's notification: time out the selects (and driver cancels) now due."""
    from vfs.device import expire_cancels

    now = p.now()
    await expire_cancels(vfs, now)
    for se in _active(vfs):
        if se.deadline is None or se.deadline > now:
            continue
        se.deadline = None
        if _deferred(se):
            se.block = False  # finish as a poll once the drivers have answered
        else:
            await complete(vfs, p, se)
    await arm(vfs, p)
