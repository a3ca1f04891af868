"""Advisory record locks: fcntl F_GETLK, F_SETLK, F_SETLKW (MINIX's ``lock.c``).

One system-wide table (``Vfs.locks``, at most ``Vfs.nr_locks`` entries, MINIX's
NR_LOCKS = 8) holds :class:`FileLock` records: an owner (the fproc, so locks are not
inherited by fork and survive exec), a vnode, a type (F_RDLCK or F_WRLCK) and an
inclusive byte range, where :data:`MAX_POS` stands for "to the end, for ever".

Setting a lock follows POSIX rather than MINIX's simpler table walk: the caller's own
locks on that file are rewritten as a byte-range map, so a new lock replaces the
caller's overlapping locks, an unlock in the middle of a lock splits it, and adjacent
ranges of one type merge. The change is all or nothing: when the result would not
fit in the table the call fails with ENOLCK and nothing changes.

A lock that conflicts with another owner's (the ranges overlap and either is a write
lock) fails F_SETLK with EAGAIN. F_SETLKW parks the process instead (``BLOCKED_LOCK``,
the worker goes free, no part of the request is held) after a deadlock check: if the
owners in the way are themselves waiting, transitively, for a lock of the caller,
the call fails with EDEADLK (MINIX does not check; POSIX allows it). Whenever locks
on a vnode are released or downgraded, every process waiting on that vnode is
revived in arrival order: its original fcntl runs again as a fresh call (as MINIX's
``unblock`` re-executes it), so it either gets the lock or parks again. PM's unpause
ends a parked F_SETLKW with EINTR.

A process loses all its locks on a file when it closes any descriptor of that file
(:func:`release`, called by ``vfs.open.close_fd``) and when it exits.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from vfs.context import SUSPEND, Job, Suspend, VfsError, send_reply, start_work
from vfs.filp import R_BIT, W_BIT
from vfs.fproc import BLOCKED_LOCK, BLOCKED_NONE
from vfs.protocol import F_GETLK, F_RDLCK, F_SETLK, F_UNLCK, F_WRLCK, FLOCK

if TYPE_CHECKING:
    from kernel.message import Message
    from vfs.context import Vfs
    from vfs.filp import Filp
    from vfs.fproc import Fproc
    from vfs.vnode import Vnode

MAX_POS: Final = 2**63 - 1
"""The last byte a lock can cover: a lock with l_len 0 reaches it."""

Segment = tuple[int, int, int]
"""(type, first, last) of one lock of one owner."""


@dataclass(slots=True, eq=False)
class FileLock:
    """One record lock: ``owner`` holds bytes ``first..last`` of ``vnode``."""

    owner: Fproc
    vnode: Vnode
    type: int
    first: int
    last: int


@dataclass(slots=True)
class LockWait:
    """What a process parked in F_SETLKW asked for (its ``Fproc.resume``)."""

    msg: Message
    vnode: Vnode
    type: int
    first: int
    last: int


def _overlaps(lk: FileLock, first: int, last: int) -> bool:
    return not (last < lk.first or first > lk.last)


def conflicts(vfs: Vfs, fp: Fproc, v: Vnode, ltype: int, first: int, last: int) -> list[FileLock]:
    """The locks of other owners on ``v`` that a ``ltype`` lock on the range would break."""
    return [
        lk
        for lk in vfs.locks
        if lk.vnode is v
        and lk.owner is not fp
        and _overlaps(lk, first, last)
        and (ltype == F_WRLCK or lk.type == F_WRLCK)
    ]


def carve(segs: list[Segment], first: int, last: int) -> list[Segment]:
    """``segs`` without bytes ``first..last`` (a segment straddling them splits)."""
    out: list[Segment] = []
    for t, a, b in segs:
        if b < first or a > last:
            out.append((t, a, b))
            continue
        if a < first:
            out.append((t, a, first - 1))
        if b > last:
            out.append((t, last + 1, b))
    return out


def apply(segs: list[Segment], ltype: int, first: int, last: int) -> list[Segment]:
    """One owner's locks after setting ``ltype`` (F_UNLCK too) on ``first..last``.

    The result is sorted, without overlaps, with touching ranges of one type merged.
    """
    rest = carve(segs, first, last)
    if ltype != F_UNLCK:
        rest.append((ltype, first, last))
    rest.sort(key=lambda s: s[1])
    out: list[Segment] = []
    for t, a, b in rest:
        if out and out[-1][0] == t and out[-1][2] + 1 >= a:
            out[-1] = (t, out[-1][1], max(out[-1][2], b))
        else:
            out.append((t, a, b))
    return out


def _range(base: int, start: int, length: int) -> tuple[int, int]:
    """First and last byte of a flock range from ``base`` (EINVAL if impossible).

    A negative ``length`` covers the bytes before ``base + start`` (POSIX).
    """
    begin = base + start
    if length > 0:
        first, last = begin, begin + length - 1
    elif length == 0:
        first, last = begin, MAX_POS
    else:
        first, last = begin + length, begin - 1
    if first < 0 or last > MAX_POS or last < first:
        raise VfsError(errno.EINVAL, "bad lock range")
    return first, last


async def _read_flock(job: Job, addr: int) -> tuple[int, int, int, int, int]:
    try:
        data = await job.p.datacopy_from(job.fp.endpoint, addr, FLOCK.size)
    except OSError as exc:
        raise VfsError(errno.EFAULT) from exc
    ltype, whence, start, length, pid = FLOCK.unpack(data)
    return ltype, whence, start, length, pid


async def do_lock(job: Job, f: Filp, cmd: int, arg: int) -> int | Suspend:
    """fcntl(fd, F_GETLK/F_SETLK/F_SETLKW, &flock) on the file of ``f``.

    Errors: EINVAL (bad l_type or l_whence, F_GETLK with F_UNLCK, a range before
    byte 0, a file that is not regular), EBADF (a read lock on a descriptor not open
    for reading, a write lock on one not open for writing), EFAULT, EAGAIN (F_SETLK
    conflict), EDEADLK (F_SETLKW would wait for itself), ENOLCK (table full).
    """
    v = f.vnode
    ltype, whence, start, length, pid = await _read_flock(job, arg)
    if ltype not in (F_RDLCK, F_WRLCK, F_UNLCK) or (cmd == F_GETLK and ltype == F_UNLCK):
        raise VfsError(errno.EINVAL, "bad l_type")
    if not (stat.S_ISREG(v.mode) or stat.S_ISBLK(v.mode)):
        raise VfsError(errno.EINVAL, "not a regular file")
    if cmd != F_GETLK:
        if ltype == F_RDLCK and not f.mode & R_BIT:
            raise VfsError(errno.EBADF, "read lock needs read access")
        if ltype == F_WRLCK and not f.mode & W_BIT:
            raise VfsError(errno.EBADF, "write lock needs write access")
    if whence == os.SEEK_SET:
        base = 0
    elif whence == os.SEEK_CUR:
        base = f.pos
    elif whence == os.SEEK_END:
        base = (await job.refresh(v)).size
    else:
        raise VfsError(errno.EINVAL, "bad l_whence")
    first, last = _range(base, start, length)
    if cmd == F_GETLK:
        return await _getlk(job, arg, v, ltype, first, last, (whence, start, length, pid))
    return await _setlk(job, v, ltype, first, last, wait=cmd != F_SETLK)


async def _getlk(
    job: Job,
    arg: int,
    v: Vnode,
    ltype: int,
    first: int,
    last: int,
    asked: tuple[int, int, int, int],
) -> int:
    """Write back the first lock in the way, or the request with only l_type F_UNLCK."""
    found = conflicts(job.vfs, job.fp, v, ltype, first, last)
    if found:
        lk = found[0]
        length = 0 if lk.last == MAX_POS else lk.last - lk.first + 1
        out = FLOCK.pack(lk.type, os.SEEK_SET, lk.first, length, lk.owner.pid)
    else:
        out = FLOCK.pack(F_UNLCK, *asked)
    await job.copy_out(arg, out)
    return 0


async def _setlk(
    job: Job, v: Vnode, ltype: int, first: int, last: int, *, wait: bool
) -> int | Suspend:
    vfs, fp = job.vfs, job.fp
    if ltype != F_UNLCK:
        blockers = conflicts(vfs, fp, v, ltype, first, last)
        if blockers:
            if not wait:
                raise VfsError(errno.EAGAIN, "lock held by another process")
            if _deadlock(vfs, fp, blockers):
                raise VfsError(errno.EDEADLK)
            return _park(vfs, fp, LockWait(job.msg, v, ltype, first, last))
    mine = [lk for lk in vfs.locks if lk.owner is fp and lk.vnode is v]
    old = [(lk.type, lk.first, lk.last) for lk in sorted(mine, key=lambda lk: lk.first)]
    new = apply(old, ltype, first, last)
    if new == old:
        return 0
    others = [lk for lk in vfs.locks if not (lk.owner is fp and lk.vnode is v)]
    if len(others) + len(new) > vfs.nr_locks:
        raise VfsError(errno.ENOLCK, "lock table full")
    vfs.locks = others + [FileLock(fp, v, t, a, b) for t, a, b in new]
    if ltype != F_WRLCK:  # something was released or downgraded: waiters may go on
        await wake(job, v)
    return 0


def _deadlock(vfs: Vfs, fp: Fproc, blockers: list[FileLock]) -> bool:
    """Whether the owners of ``blockers`` wait, directly or not, for a lock of ``fp``."""
    seen: set[int] = set()
    todo = [lk.owner for lk in blockers]
    while todo:
        owner = todo.pop()
        if owner is fp:
            return True
        if id(owner) in seen or owner.blocked_on != BLOCKED_LOCK:
            continue
        seen.add(id(owner))
        want = owner.resume
        assert isinstance(want, LockWait)
        todo += [
            lk.owner for lk in conflicts(vfs, owner, want.vnode, want.type, want.first, want.last)
        ]
    return False


def _park(vfs: Vfs, fp: Fproc, want: LockWait) -> Suspend:
    fp.blocked_on = BLOCKED_LOCK
    fp.resume = want
    if fp not in vfs.lock_waiters:
        vfs.lock_waiters.append(fp)
    return SUSPEND


async def wake(job: Job, v: Vnode) -> None:
    """Revive every process parked in F_SETLKW on ``v``, oldest first."""
    vfs = job.vfs
    ready = [
        fp
        for fp in vfs.lock_waiters
        if fp.blocked_on == BLOCKED_LOCK
        and isinstance(fp.resume, LockWait)
        and fp.resume.vnode is v
    ]
    # All in one synchronous step: a signal below lets other workers run, and they
    # may wake (or unpause) the same waiters.
    started = []
    for fp in ready:
        vfs.lock_waiters.remove(fp)
        want = fp.resume
        assert isinstance(want, LockWait)
        fp.blocked_on, fp.resume = BLOCKED_NONE, None
        w = start_work(vfs, fp, want.msg)
        if w is not None:
            started.append(w)
    for w in started:
        await w.cond.signal()


async def release(job: Job, fp: Fproc, v: Vnode) -> None:
    """``fp`` closed a descriptor of ``v``: drop all its locks on ``v`` (POSIX)."""
    vfs = job.vfs
    keep = [lk for lk in vfs.locks if not (lk.owner is fp and lk.vnode is v)]
    if len(keep) != len(vfs.locks):
        vfs.locks = keep
        await wake(job, v)


async def release_all(job: Job, fp: Fproc) -> None:
    """``fp`` is exiting: drop every lock it holds and stop waiting for any."""
    forget(job.vfs, fp)
    for v in {id(lk.vnode): lk.vnode for lk in job.vfs.locks if lk.owner is fp}.values():
        await release(job, fp, v)


def forget(vfs: Vfs, fp: Fproc) -> None:
    """Take ``fp`` off the F_SETLKW waiters (it exits or was interrupted)."""
    if fp in vfs.lock_waiters:
        vfs.lock_waiters.remove(fp)
    if fp.blocked_on == BLOCKED_LOCK or isinstance(fp.resume, LockWait):
        fp.blocked_on, fp.resume = BLOCKED_NONE, None


async def unpause(job: Job, fp: Fproc) -> None:
    """PM interrupts ``fp``'s F_SETLKW: it fails with EINTR (reference §9)."""
    forget(job.vfs, fp)
    await send_reply(job.p, fp.endpoint, errno.EINTR)
