r"""pty: Unix98 pseudo-terminals, a driver process of their own (label ``pty``, major 9).

A pty is a pair: the *master*, which a terminal emulator (or a test) holds, and the
*slave* ``/dev/pts/N``, a terminal like the console: a
:class:`~chardev.tty.terminal.Terminal` of its own (line discipline, termios settings,
window size, session, foreground group, job control; docs/tty.md). What the master
writes is typed on the slave (input processing, echo back to the master, ^C/^\\/^Z to
the slave's foreground group); what the slave writes is output-processed (OPOST/ONLCR)
and read from the master.

**Minors** (all on PTY_MAJOR, so that VFS's TIOCSCTTY and CDEV_CTTY work on slaves):
``0`` is ``/dev/ptmx``, the clone device; pty N has master minor ``128 + N`` and slave
minor ``192 + N`` (N < :data:`NR_PTYS` = 64). Opening ``/dev/ptmx`` allocates the lowest
free N and answers CDEV_CLONED with its master minor (VFS makes a fresh vnode for it).
A master minor cannot be opened by number (ENXIO: masters exist only through ptmx);
a slave minor of no pty is ENXIO, of a pty that is still locked (no ``unlockpt``) or
whose master is gone EIO.

**/dev/pts.** MINIX runs PTYFS, a file server that ``/etc/rc`` mounts on /dev/pts and
that the tty driver tells about slaves appearing and going. asynix has no rc and VFS
mounts only the root file system at boot (a system process has no address space to
hand mount(2) a path), so the driver keeps the nodes in the root file system's
``/dev/pts`` directory itself, speaking the ordinary file-server protocol as VFS does
(lookup, mknod, unlink; each lookup's reference is given straight back). The node
belongs to the opener of ptmx (mode 0620, its effective uid and gid, as devpts makes
it): ``open`` runs on the main thread and cannot wait, so it asks PM who the opener is
(``TTYQ_OWNER``, an asynchronous question like job control's) and the node is made when
the answer arrives (as root if PM cannot be reached); TIOCGPTN and TIOCSPTLCK — hence
``ptsname``, ``grantpt`` and ``unlockpt`` — wait for it, so a program that names the
slave finds its node. It disappears when both sides are closed. The file server never
waits for the driver, so these calls cannot deadlock with VFS waiting for the open or
close.

**Buffers.** Slave input is the discipline's queue (MAX_INPUT cells): a master write
stops on a full raw-mode queue until the slave reads. Slave output and echo go to an
output buffer of :data:`OUT_MAX` bytes: a slave write stops while it is full until the
master reads; echo beyond it is dropped, as Linux's n_tty drops it. Input written to
the master before the slave is opened (or between a slave close and a reopen) stays
queued for the next slave reader.

**Hang-ups** (Linux's rules, which the issue asks for):

- The master's close hangs the slave up (:meth:`Terminal.hang_up
  <chardev.tty.terminal.Terminal.hang_up>`, the terminal's one hang-up path): waiting
  and later slave reads return 0 (EOF), slave writes fail with EIO, and the session
  leader whose controlling terminal the slave is gets SIGHUP (then SIGCONT) exactly
  once; the slave is no session's any more, so the leader's own exit later hangs up
  nothing.
- The last close of the slave: master writes fail with EIO; master reads return what
  is left, then EIO. Reopening the slave clears this.
- When both sides are closed, the pty and its node are freed.

**ioctl**: the terminal requests of :mod:`chardev.tty.ioctl` on either side (the
master's act on its slave, as on Linux: a TIOCSWINSZ from either side is SIGWINCH to
the slave's foreground group); on the master TIOCGPTN (the index N) and TIOCSPTLCK
(lock or unlock the slave: ``unlockpt``).

**select**: master readable with output queued or the slave closed, writable while the
slave's queue can take a byte or the slave is closed (the write fails at once); slave
readable when the discipline says so or after a hang-up, writable while the output
buffer has room or after a hang-up.

**Crash.** A pty crash does not touch the console (MINIX keeps ptys inside its tty
driver; here they are a process of their own). The restarted driver has lost every
pty: VFS fails their descriptors with EIO, and ``init_restart`` removes the nodes the
old instance left in /dev/pts.
"""

from __future__ import annotations

import errno
import stat
import struct
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from chardev.protocol import _IOR, _IOW, CDEV_CLONED, CDEV_OP_RD, CDEV_OP_WR
from chardev.tty.base import TerminalDriver
from chardev.tty.ioctl import terminal_ioctl
from chardev.tty.linedisc import MAX_INPUT
from chardev.tty.terminal import Terminal
from fs import protocol as fsp
from kernel.com import ROOT_FS_PROC_NR
from kernel.grants import CPF_READ, CPF_WRITE
from servers.pm.protocol import TTYQ_OWNER, PmTtyAnswer, PmTtyQuery

if TYPE_CHECKING:
    from collections.abc import Iterable

    from chardev.grant import Grant
    from kernel.message import Message

PTY_MAJOR: Final = 9
"""The major of /dev/ptmx, the masters and the slaves."""
PTMX_MINOR: Final = 0
MASTER_BASE: Final = 128
SLAVE_BASE: Final = 192
NR_PTYS: Final = 64
OUT_MAX: Final = 2048
"""Bytes of slave output (and echo) a pty holds for its master."""

TIOCGPTN: Final = _IOR("T", 0x30, 4)
"""Master: the pty's index N (a u32), Linux's request in NetBSD's encoding."""
TIOCSPTLCK: Final = _IOW("T", 0x31, 4)
"""Master: lock (non-zero i32) or unlock (0) the slave; ``unlockpt`` unlocks."""

NODE_MODE: Final = stat.S_IFCHR | 0o620
PTS_PATH: Final = (b"dev", b"pts")
"""Where the slave nodes live in the root file system."""
_U32: Final = struct.Struct("<I")
_I32: Final = struct.Struct("<i")
_CHUNK: Final = 1024
_DIRENTS: Final = 1024
"""Bytes of directory entries asked for at a time when clearing /dev/pts."""


def master_minor(index: int) -> int:
    """The master minor of pty ``index``."""
    return MASTER_BASE + index


def slave_minor(index: int) -> int:
    """The slave minor of pty ``index`` (``/dev/pts/<index>``)."""
    return SLAVE_BASE + index


def _split(minor: int) -> tuple[int, bool] | None:
    """(index, is_master) of a master or slave minor; None for any other."""
    if MASTER_BASE <= minor < MASTER_BASE + NR_PTYS:
        return minor - MASTER_BASE, True
    if SLAVE_BASE <= minor < SLAVE_BASE + NR_PTYS:
        return minor - SLAVE_BASE, False
    return None


@dataclass(eq=False)
class _Pty:
    """One pseudo-terminal: its slave's terminal and the master's output buffer.

    The terminal's ``changed`` condition serves both sides: it is broadcast on every
    change a waiting reader or writer, on either side, may await.
    """

    index: int
    term: Terminal
    out: bytearray = field(default_factory=bytearray)
    locked: bool = True
    named: bool = False
    """The slave's node exists (made once PM named the opener; see the module doc)."""
    slave_opens: int = 0
    slave_closed: bool = False
    """The slave was opened and all its opens are closed again."""

    @property
    def master_open(self) -> bool:
        """The master is still open: its close hung the slave up."""
        return not self.term.hung_up

    def echo(self, data: bytes) -> None:
        """Queue the slave's echo for the master; what the full buffer cannot take is lost."""
        self.out += data[: max(0, OUT_MAX - len(self.out))]

    def input_room(self) -> int:
        """Bytes a master write can hand the discipline now (canonical mode never refuses)."""
        if self.term.linedisc.canonical:
            return _CHUNK
        return MAX_INPUT - self.term.linedisc.queued

    def master_ready(self) -> int:
        """The select ops ready on the master."""
        rd = CDEV_OP_RD if self.out or self.slave_closed else 0
        wr = CDEV_OP_WR if self.slave_closed or self.input_room() > 0 else 0
        return rd | wr

    def slave_ready(self) -> int:
        """The select ops ready on the slave."""
        hung = not self.master_open
        rd = CDEV_OP_RD if hung or self.term.linedisc.readable() else 0
        wr = CDEV_OP_WR if hung or len(self.out) < OUT_MAX else 0
        return rd | wr


class Pty(TerminalDriver):
    """The Unix98 pty driver: /dev/ptmx, the masters, and the slaves /dev/pts/N."""

    major = PTY_MAJOR

    def __init__(self, fs: int = ROOT_FS_PROC_NR) -> None:
        """Keep the slave nodes in file server ``fs`` (the root file system)."""
        super().__init__()
        self.fs = fs
        self.ptys: dict[int, _Pty] = {}
        self._tid = 0

    def _pty(self, minor: int) -> tuple[_Pty, bool] | None:
        where = _split(minor)
        if where is None or where[0] not in self.ptys:
            return None
        return self.ptys[where[0]], where[1]

    def terminals(self) -> Iterable[Terminal]:
        """The slaves' terminals."""
        return [pty.term for pty in self.ptys.values()]

    async def terminal_changed(self, term: Terminal) -> None:
        """Wake both sides' waiters and send the select notifications now due."""
        await super().terminal_changed(term)
        pty = self.ptys.get(term.minor - SLAVE_BASE)
        if pty is not None and pty.term is term:
            await self.notify_select(master_minor(pty.index), pty.master_ready())
            await self.notify_select(slave_minor(pty.index), pty.slave_ready())

    async def init_restart(self, state: bytes | None) -> None:
        """Every pty died with the old instance: remove the nodes it left in /dev/pts."""
        try:
            pts = await self._pts_dir()
            for name in await self._stale_nodes(pts):
                await self._named(fsp.ReqUnlink(dir=pts), name)
        except OSError as exc:
            self.log.warning("cannot clear /dev/pts", error=str(exc))

    # -- open and close (main thread) ----------------------------------------------------

    async def open(self, minor: int, access: int, user: int) -> int:
        """Open /dev/ptmx (a new pty), or a slave whose pty is unlocked and has a master."""
        if minor == PTMX_MINOR:
            return await self._clone(user)
        where = _split(minor)
        if where is None or where[1]:
            return -errno.ENXIO  # masters exist only through /dev/ptmx
        pty = self.ptys.get(where[0])
        if pty is None:
            return -errno.ENXIO
        if pty.locked or not pty.master_open:
            return -errno.EIO
        pty.slave_opens += 1
        if pty.slave_closed:
            pty.slave_closed = False
            await self.terminal_changed(pty.term)
        return await pty.term.open(access, user)

    async def _clone(self, user: int) -> int:
        """A new pty for ``user``; its node comes when PM says whose it is."""
        index = next((i for i in range(NR_PTYS) if i not in self.ptys), None)
        if index is None:
            return -errno.EAGAIN
        pty = self.ptys[index] = _Pty(index, Terminal(self, slave_minor(index)))

        async def owner(answer: PmTtyAnswer) -> None:
            if self.ptys.get(index) is pty:
                await self._make_node(pty, answer.uid, answer.gid)

        if await self.pm_ask(PmTtyQuery(TTYQ_OWNER, user, 0, 0, 0, 0), owner) is None:
            await self._make_node(pty, 0, 0)
        return CDEV_CLONED | master_minor(index)

    async def close(self, minor: int) -> int:
        """The master's close hangs up; the last slave close makes master I/O fail."""
        found = self._pty(minor)
        if found is None:
            return 0
        pty, master = found
        if master:
            await pty.term.hang_up(carrier=True)
        else:
            pty.slave_opens -= 1
            if pty.slave_opens == 0:
                pty.slave_closed = True
            await self.terminal_changed(pty.term)
        if not pty.master_open and pty.slave_opens == 0:
            del self.ptys[pty.index]
            if pty.named:
                await self._remove_node(pty.index)
        return 0

    # -- requests ------------------------------------------------------------------------

    async def read(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Master: the slave's output. Slave: what its terminal delivers."""
        found = self._pty(minor)
        if found is None:
            return -errno.EIO
        pty, master = found
        if not master:
            return await pty.term.read(grant, count, user)
        if count <= 0:
            return -errno.EINVAL if count < 0 else 0
        while not pty.out:
            if pty.slave_closed:
                return -errno.EIO
            await self.wait(pty.term.changed)
        data = bytes(pty.out[:count])
        await grant.write(0, data)
        del pty.out[: len(data)]
        await self.terminal_changed(pty.term)
        return len(data)

    async def write(
        self, minor: int, pos: int, grant: Grant, count: int, flags: int, user: int
    ) -> int:
        """Master: type the bytes on the slave. Slave: output them to the master."""
        found = self._pty(minor)
        if found is None:
            return -errno.EIO
        if count < 0:
            return -errno.EINVAL
        pty, master = found
        if master:
            return await self._master_write(pty, grant, count)
        return await self._slave_write(pty, grant, count, user)

    async def _master_write(self, pty: _Pty, grant: Grant, count: int) -> int:
        done = 0
        while done < count:
            if pty.slave_closed:
                return done or -errno.EIO
            room = pty.input_room()
            if room <= 0:
                await self.wait(pty.term.changed)  # the slave's queue is full: wait for a read
                continue
            data = await grant.read(done, min(room, count - done))
            done += (await pty.term.receive(data, pty.echo)).consumed
        return done

    async def _slave_write(self, pty: _Pty, grant: Grant, count: int, user: int) -> int:
        if status := await pty.term.check_write(user):
            return -status
        done = 0
        while done < count:
            if not pty.master_open:
                return done or -errno.EIO
            room = OUT_MAX - len(pty.out)
            if room <= 0:
                await self.wait(pty.term.changed)  # the master has not read: wait for it
                continue
            data = await grant.read(done, min(room, _CHUNK, count - done))
            pty.out += pty.term.linedisc.write(data)
            done += len(data)
            await self.terminal_changed(pty.term)
        return done

    async def ioctl(self, minor: int, request: int, grant: Grant, user: int, flags: int) -> int:
        """The terminal requests on either side; TIOCGPTN and TIOCSPTLCK on the master."""
        found = self._pty(minor)
        if found is None:
            return -errno.EIO
        pty, master = found
        status = await terminal_ioctl(pty.term, request, grant, user, direct=not master)
        if status is not None:
            return status
        if master and request in (TIOCGPTN, TIOCSPTLCK):
            while not pty.named:  # ptsname and unlockpt name a node: let it exist first
                await self.wait_for_pm(pty.term.changed, user)
            if request == TIOCGPTN:
                await grant.write(0, _U32.pack(pty.index))
            else:
                (lock,) = _I32.unpack(await grant.read(0, _I32.size))
                pty.locked = lock != 0
            return 0
        return -errno.ENOTTY

    async def select(self, minor: int, ops: int) -> int:
        """See the module doc for when each side is readable and writable."""
        found = self._pty(minor)
        if found is None:
            return -errno.EIO
        pty, master = found
        return ops & (pty.master_ready() if master else pty.slave_ready())

    # -- /dev/pts in the root file system --------------------------------------------------

    async def _make_node(self, pty: _Pty, uid: int, gid: int) -> None:
        """Make ``pty``'s slave node, owned by ``uid``:``gid``; wake who waits for it."""
        rdev = (PTY_MAJOR << 8) | slave_minor(pty.index)
        name = str(pty.index)
        try:
            pts = await self._pts_dir()
            # As root, who may write /dev/pts; then the node is given to its owner.
            await self._named(fsp.ReqMknod(dir=pts, mode=NODE_MODE, rdev=rdev), name)
            if uid or gid:
                node = await self._named(fsp.ReqLookup(dir=pts), name)
                if not isinstance(node, fsp.NodeReply):
                    raise OSError(errno.EIO, "file server answered a lookup without a node")
                try:
                    await self._fs_call(fsp.ReqChown(ino=node.ino, uid=uid, gid=gid))
                finally:
                    await self._fs_call(fsp.ReqPutnode(ino=node.ino, count=1))
        except OSError as exc:
            self.log.warning("cannot make the slave node", pty=pty.index, error=str(exc))
        pty.named = True  # or could not be: ptsname must not wait for ever
        await self.terminal_changed(pty.term)

    async def _remove_node(self, index: int) -> None:
        try:
            await self._named(fsp.ReqUnlink(dir=await self._pts_dir()), str(index))
        except OSError as exc:
            self.log.warning("cannot remove the slave node", pty=index, error=str(exc))

    async def _stale_nodes(self, pts: int) -> list[str]:
        """The names in /dev/pts that look like slave nodes (``0`` .. ``NR_PTYS - 1``)."""
        names: list[str] = []
        pos = 0
        while True:
            buf = bytearray(_DIRENTS)
            req = fsp.ReqGetdents(ino=pts, pos=pos, length=len(buf))
            req.grant = self.proc.grant_buffer(self.fs, buf, CPF_WRITE)
            try:
                reply = await self._fs_call(req)
            finally:
                self.proc.revoke(req.grant)
            if not isinstance(reply, fsp.IoReply) or reply.count <= 0:
                return names
            for _ino, raw in fsp.unpack_dirents(bytes(buf[: reply.count])):
                name = raw.decode(errors="replace")
                if name.isdigit() and str(int(name)) == name and int(name) < NR_PTYS:
                    names.append(name)
            pos = reply.pos

    async def _pts_dir(self) -> int:
        """The inode of /dev/pts (looked up each time: root may have remade it)."""
        ino = fsp.ROOT_INO
        for name in PTS_PATH:
            reply = await self._named(fsp.ReqLookup(dir=ino), name.decode())
            if not isinstance(reply, fsp.NodeReply):
                raise OSError(errno.EIO, "file server answered a lookup without a node")
            ino = reply.ino
            await self._fs_call(fsp.ReqPutnode(ino=ino, count=1))
        return ino

    async def _named(
        self, req: fsp.ReqLookup | fsp.ReqMknod | fsp.ReqUnlink, name: str
    ) -> fsp.NodeReply | fsp.FsReply | fsp.IoReply:
        """Send ``req`` with ``name`` granted to the file server (as root)."""
        buf = bytearray(name.encode())
        req.grant = self.proc.grant_buffer(self.fs, buf, CPF_READ)
        req.length = len(buf)
        try:
            return await self._fs_call(req)
        finally:
            self.proc.revoke(req.grant)

    async def _fs_call(self, req: fsp.FsRequest) -> fsp.NodeReply | fsp.FsReply | fsp.IoReply:
        self._tid += 1
        req.tid = self._tid
        reply: Message = await self.proc.sendrec(self.fs, req)
        if not isinstance(reply, fsp.NodeReply | fsp.FsReply | fsp.IoReply):
            raise OSError(errno.EIO, f"file server answered {type(reply).__name__}")
        if reply.status:
            raise OSError(reply.status, errno.errorcode.get(reply.status, "error"))
        return reply


__all__ = [
    "MASTER_BASE",
    "NR_PTYS",
    "OUT_MAX",
    "PTMX_MINOR",
    "PTY_MAJOR",
    "SLAVE_BASE",
    "TIOCGPTN",
    "TIOCSPTLCK",
    "Pty",
    "master_minor",
    "slave_minor",
]
