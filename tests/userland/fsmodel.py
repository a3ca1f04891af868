"""A model of the file system one user process sees, for the end-to-end libc tests.

The stateful test (test_fs_stateful.py) gives every user process its own directory
(``/tmp/p<i>``, its cwd) plus one shared read-only file (``/tmp/shared``, root's, 0644).
Each process's operations only touch its own directory or the shared file in ways
whose outcome does not depend on the others (the shared file cannot be written,
unlinked or renamed by a non-root user in the sticky /tmp; only its link count moves,
which the model leaves unknown). So whatever the interleaving, each process's results
are determined by its own operation list, and this model predicts them.

The model follows asynix's VFS + ramfs rules where POSIX leaves a choice (which errno
wins when several apply, EPERM for unlink of a directory, EBADF for ftruncate on a
descriptor not open for writing), and mirrors VFS's path walk (``vfs/lookup.py``):
symlinks followed in the middle of a path and, if asked, at its end, at most 16 per
lookup (ELOOP), an absolute target restarting at the root.

A program is a list of abstract operations (:data:`Op`); :meth:`FsModel.step` turns
one into a concrete call (descriptor choices become descriptor numbers, the lowest
free first, as POSIX says) and the result it must give, so the host computes the
whole expected transcript before the system runs.

Anonymous pipes are modelled too, opened non-blocking (a program alone with its pipe
must never wait): EAGAIN when empty with a writer, end of file without one, EPIPE
with no reader (the program ignores SIGPIPE), ESPIPE for lseek.

:func:`finish` is the tests' deadlock-proof ``system.wait``.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import deque
from dataclasses import dataclass, field
from typing import Any

UID = 1000
UMASK = 0o022
SYMLOOP_MAX = 16
PIPE_BUF = 32768
F_GETFL = 3
F_SETFL = 4
NO_FD = 40
"""A descriptor number no program ever has open."""

SHARED = "/tmp/shared"
SHARED_DATA = b"shared, read-only data\n" * 3

Op = tuple[Any, ...]
Result = tuple[str, Any]


class ModelError(Exception):
    """An errno the model predicts."""

    def __init__(self, code: int) -> None:
        super().__init__(errno.errorcode[code])
        self.code = code


@dataclass(eq=False)
class Node:
    """One inode: a directory, a regular file or a symlink."""

    kind: str  # "dir", "file", "link", "pipe" (an anonymous pipe: data is its buffer)
    mode: int
    uid: int = UID
    data: bytearray = field(default_factory=bytearray)
    entries: dict[str, Node] = field(default_factory=dict)
    target: str = ""
    nlink: int = 0
    parent: Node | None = None
    shared: bool = False

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"

    def fmt(self) -> int:
        kinds = {"dir": stat.S_IFDIR, "file": stat.S_IFREG, "link": stat.S_IFLNK}
        return kinds.get(self.kind, stat.S_IFIFO)


@dataclass(eq=False)
class OpenFile:
    """An open file description (MINIX's filp): shared by dup'd descriptors."""

    node: Node
    read: bool
    write: bool
    append: bool
    nonblock: bool = False
    pos: int = 0


def permitted(node: Node, want: int, uid: int = UID) -> bool:
    """VFS's permission rule (owner, else other bits; gid == uid for test users)."""
    if uid == 0:
        return True
    bits = (node.mode >> 6) & 7 if uid == node.uid else node.mode & 7
    return bits & want == want


class FsModel:
    """The namespace one process sees, its descriptors, and the predicted results."""

    def __init__(self, home: str) -> None:
        self.root = Node("dir", 0o755, uid=0, nlink=3)
        self.root.parent = self.root
        tmp = self._add(self.root, "tmp", Node("dir", 0o1777, uid=0, nlink=2))
        shared = Node("file", 0o644, uid=0, data=bytearray(SHARED_DATA), shared=True)
        self._add(tmp, "shared", shared)
        assert home.startswith("/tmp/")
        self.cwd = self._add(tmp, home[5:], Node("dir", 0o755, nlink=1))
        tmp.nlink += 1
        self.fds: dict[int, OpenFile] = {}

    @staticmethod
    def _add(d: Node, name: str, node: Node) -> Node:
        d.entries[name] = node
        node.nlink += 1
        if node.is_dir:
            node.parent = d
        return node

    # -- path walk (vfs/lookup.py) ----------------------------------------------------------

    def walk(self, path: str, *, follow: bool, parent: bool) -> tuple[Node, str]:
        """Resolve ``path``: its node, or (parent=True) its directory and last name."""
        if not path:
            raise ModelError(errno.ENOENT)
        cur = self.root if path.startswith("/") else self.cwd
        comps = deque(c for c in path.split("/") if c)
        trailing = path.endswith("/")
        links = 0
        if parent and not comps:
            raise ModelError(errno.EEXIST)
        while comps:
            c = comps.popleft()
            last = not comps
            if len(c) > 255:
                raise ModelError(errno.ENAMETOOLONG)
            if not cur.is_dir:
                raise ModelError(errno.ENOTDIR)
            if parent and last:
                return cur, c
            if c == ".." and cur is self.root:
                continue
            nv = self._lookup(cur, c)
            if nv.kind == "link" and (not last or follow or trailing):
                links += 1
                if links > SYMLOOP_MAX:
                    raise ModelError(errno.ELOOP)
                if not nv.target:
                    raise ModelError(errno.ENOENT)
                if nv.target.startswith("/"):
                    cur = self.root
                comps.extendleft(reversed([x for x in nv.target.split("/") if x]))
                if last and nv.target.endswith("/"):
                    trailing = True
                if parent and not comps:
                    raise ModelError(errno.EEXIST)
                continue
            cur = nv
        if trailing and not cur.is_dir:
            raise ModelError(errno.ENOTDIR)
        return cur, ""

    @staticmethod
    def _lookup(d: Node, name: str) -> Node:
        if not permitted(d, 1):
            raise ModelError(errno.EACCES)
        if name == ".":
            return d
        if name == "..":
            assert d.parent is not None
            return d.parent
        node = d.entries.get(name)
        if node is None:
            raise ModelError(errno.ENOENT)
        return node

    def resolve(self, path: str, *, follow: bool = True) -> Node:
        return self.walk(path, follow=follow, parent=False)[0]

    def resolve_parent(self, path: str) -> tuple[Node, str]:
        return self.walk(path, follow=False, parent=True)

    @staticmethod
    def _writable_dir(d: Node) -> None:
        if not d.is_dir:
            raise ModelError(errno.ENOTDIR)
        if not permitted(d, 3):
            raise ModelError(errno.EACCES)

    def _check_new(self, d: Node, name: str) -> None:
        self._writable_dir(d)
        if name in d.entries or name in (".", ".."):
            raise ModelError(errno.EEXIST)
        if d.nlink <= 0:
            raise ModelError(errno.ENOENT)

    @staticmethod
    def _sticky_denied(d: Node, victim: Node) -> bool:
        return bool(d.mode & stat.S_ISVTX) and UID not in (0, d.uid, victim.uid)

    # -- descriptors --------------------------------------------------------------------

    def lowest_fd(self) -> int:
        fd = 0
        while fd in self.fds:
            fd += 1
        return fd

    def pick_fd(self, sel: int) -> int:
        """Descriptor choice ``sel``: the sel-th open descriptor, or one never open."""
        open_fds = sorted(self.fds)
        return open_fds[sel] if sel < len(open_fds) else NO_FD

    def filp(self, fd: int) -> OpenFile:
        f = self.fds.get(fd)
        if f is None:
            raise ModelError(errno.EBADF)
        return f

    # -- operations ---------------------------------------------------------------------

    def step(self, op: Op) -> tuple[Op, Result]:
        """The concrete call for abstract ``op`` and the result it must give."""
        name, *args = op
        if name in (
            "close",
            "read",
            "write",
            "lseek",
            "dup",
            "dup2",
            "fcntl",
            "ftruncate",
            "fstat",
        ):
            args[0] = self.pick_fd(args[0])
        concrete = (name, *args)
        try:
            value = getattr(self, "op_" + name)(*args)
        except ModelError as exc:
            return concrete, ("err", errno.errorcode[exc.code])
        return concrete, ("ok", value)

    def op_open(self, path: str, flags: int, mode: int) -> int:
        acc = flags & os.O_ACCMODE
        rd, wr = acc in (os.O_RDONLY, os.O_RDWR), acc in (os.O_WRONLY, os.O_RDWR)
        fd = self.lowest_fd()
        created = False
        if flags & os.O_CREAT:
            d, name = self.resolve_parent(path)
            try:
                v = self._lookup(d, name)
            except ModelError as exc:
                if exc.code != errno.ENOENT:
                    raise
                self._check_new(d, name)
                v = self._add(d, name, Node("file", mode & 0o7777 & ~UMASK))
                created = True
            else:
                if flags & os.O_EXCL:
                    raise ModelError(errno.EEXIST)
                if v.kind == "link":
                    v = self.resolve(path)
        else:
            v = self.resolve(path, follow=not flags & os.O_NOFOLLOW)
        if v.kind == "link":
            raise ModelError(errno.ELOOP)
        if flags & os.O_DIRECTORY and not v.is_dir:
            raise ModelError(errno.ENOTDIR)
        if v.is_dir and wr:
            raise ModelError(errno.EISDIR)
        if not created and not permitted(v, (4 if rd else 0) | (2 if wr else 0)):
            raise ModelError(errno.EACCES)
        if flags & os.O_TRUNC and wr and v.kind == "file":
            del v.data[:]
        self.fds[fd] = OpenFile(v, rd, wr, bool(flags & os.O_APPEND))
        return fd

    def op_close(self, fd: int) -> None:
        self.filp(fd)
        del self.fds[fd]

    def op_read(self, fd: int, n: int) -> bytes:
        f = self.filp(fd)
        if not f.read:
            raise ModelError(errno.EBADF)
        if f.node.kind == "pipe":
            return self._pipe_read(f, n)
        if f.node.is_dir:
            raise ModelError(errno.EISDIR)
        chunk = bytes(f.node.data[f.pos : f.pos + n])
        f.pos += len(chunk)
        return chunk

    def op_write(self, fd: int, data: bytes) -> int:
        f = self.filp(fd)
        if not f.write:
            raise ModelError(errno.EBADF)
        if f.node.kind == "pipe":
            return self._pipe_write(f, data)
        if not data:
            return 0
        d = f.node.data
        pos = len(d) if f.append else f.pos
        end = pos + len(data)
        if end > len(d):
            d += bytes(end - len(d))
        d[pos:end] = data
        f.pos = end
        return len(data)

    def op_lseek(self, fd: int, offset: int, whence: int) -> int:
        f = self.filp(fd)
        if f.node.kind == "pipe":
            raise ModelError(errno.ESPIPE)
        base = (0, f.pos, len(f.node.data))[whence]
        if base + offset < 0:
            raise ModelError(errno.EINVAL)
        f.pos = base + offset
        return f.pos

    def op_dup(self, fd: int) -> int:
        f = self.filp(fd)
        new = self.lowest_fd()
        self.fds[new] = f
        return new

    def op_pipe(self) -> tuple[int, int]:
        """pipe2(O_NONBLOCK): a program alone with its pipe must never block."""
        node = Node("pipe", 0o600)
        r = self.lowest_fd()
        self.fds[r] = OpenFile(node, read=True, write=False, append=False, nonblock=True)
        w = self.lowest_fd()
        self.fds[w] = OpenFile(node, read=False, write=True, append=False, nonblock=True)
        return r, w

    def _pipe_end_open(self, node: Node, *, read: bool) -> bool:
        return any(f.node is node and (f.read if read else f.write) for f in self.fds.values())

    def _pipe_read(self, f: OpenFile, n: int) -> bytes:
        d = f.node.data
        if not d:
            if not self._pipe_end_open(f.node, read=False):
                return b""
            if f.nonblock:
                raise ModelError(errno.EAGAIN)
            raise AssertionError("the program would block for ever")  # pragma: no cover
        chunk = bytes(d[:n])
        del d[:n]
        return chunk

    def _pipe_write(self, f: OpenFile, data: bytes) -> int:
        if not self._pipe_end_open(f.node, read=True):
            raise ModelError(errno.EPIPE)  # SIGPIPE is ignored by the program
        space = PIPE_BUF - len(f.node.data)
        if len(data) > space:
            assert f.nonblock, "the program would block"
            if len(data) <= PIPE_BUF or not space:
                raise ModelError(errno.EAGAIN)  # an atomic write fits whole or not at all
            data = data[:space]
        f.node.data += data
        return len(data)

    def op_dup2(self, fd: int, fd2: int) -> int:
        f = self.filp(fd)
        self.fds[fd2] = f
        return fd2

    def op_fcntl(self, fd: int, cmd: int, arg: int) -> int:
        """F_GETFL and F_SETFL (O_APPEND is a property of the open file, not the fd)."""
        f = self.filp(fd)
        if cmd == F_GETFL:
            acc = os.O_RDWR if f.read and f.write else os.O_WRONLY if f.write else os.O_RDONLY
            return acc | (os.O_APPEND if f.append else 0) | (os.O_NONBLOCK if f.nonblock else 0)
        assert cmd == F_SETFL
        f.append = bool(arg & os.O_APPEND)
        f.nonblock = bool(arg & os.O_NONBLOCK)
        return 0

    def op_ftruncate(self, fd: int, length: int) -> None:
        f = self.filp(fd)
        if not f.write:
            raise ModelError(errno.EINVAL if f.node.is_dir else errno.EBADF)
        if f.node.kind == "pipe":
            raise ModelError(errno.EINVAL)
        d = f.node.data
        if length < len(d):
            del d[length:]
        else:
            d += bytes(length - len(d))

    def _remove(self, path: str, *, want_dir: bool) -> None:
        d, name = self.resolve_parent(path)
        if name in (".", ".."):  # VFS refuses rmdir's itself; ramfs unlink's, after access
            if not want_dir:
                self._writable_dir(d)
            raise ModelError(errno.EINVAL if name == "." else errno.ENOTEMPTY)
        node = self._lookup(d, name)
        self._writable_dir(d)
        if self._sticky_denied(d, node):
            raise ModelError(errno.EPERM)
        if want_dir and not node.is_dir:
            raise ModelError(errno.ENOTDIR)
        if not want_dir and node.is_dir:
            raise ModelError(errno.EPERM)
        if want_dir and node.entries:
            raise ModelError(errno.ENOTEMPTY)
        self._unlink_entry(d, name)

    @staticmethod
    def _unlink_entry(d: Node, name: str) -> None:
        node = d.entries.pop(name)
        if node.is_dir:
            d.nlink -= 1
            node.nlink = 0
        else:
            node.nlink -= 1

    def op_unlink(self, path: str) -> None:
        self._remove(path, want_dir=False)

    def op_rmdir(self, path: str) -> None:
        self._remove(path, want_dir=True)

    def op_mkdir(self, path: str) -> None:
        d, name = self.resolve_parent(path)
        self._check_new(d, name)
        self._add(d, name, Node("dir", 0o755 & ~UMASK, nlink=1))
        d.nlink += 1

    def op_symlink(self, target: str, path: str) -> None:
        d, name = self.resolve_parent(path)
        self._check_new(d, name)
        self._add(d, name, Node("link", 0o777, target=target))

    def op_link(self, src: str, dst: str) -> None:
        v = self.resolve(src, follow=False)
        d, name = self.resolve_parent(dst)
        if v.is_dir:
            raise ModelError(errno.EPERM)
        self._check_new(d, name)
        self._add(d, name, v)

    def op_rename(self, src: str, dst: str) -> None:
        od, oname = self.resolve_parent(src)
        nd, nname = self.resolve_parent(dst)
        self._writable_dir(od)
        self._writable_dir(nd)
        if {oname, nname} & {".", ".."}:
            raise ModelError(errno.EINVAL)
        node = od.entries.get(oname)
        if node is None:
            raise ModelError(errno.ENOENT)
        if self._sticky_denied(od, node):
            raise ModelError(errno.EPERM)
        if node.is_dir:
            walk = nd
            while True:
                if walk is node:
                    raise ModelError(errno.EINVAL)
                if walk.parent is walk:
                    break
                assert walk.parent is not None
                walk = walk.parent
        victim = nd.entries.get(nname)
        if victim is node:
            return
        if victim is not None:
            if self._sticky_denied(nd, victim):
                raise ModelError(errno.EPERM)
            if node.is_dir and not victim.is_dir:
                raise ModelError(errno.ENOTDIR)
            if not node.is_dir and victim.is_dir:
                raise ModelError(errno.EISDIR)
            if victim.is_dir and victim.entries:
                raise ModelError(errno.ENOTEMPTY)
            self._unlink_entry(nd, nname)
        del od.entries[oname]
        nd.entries[nname] = node
        if node.is_dir and od is not nd:
            od.nlink -= 1
            nd.nlink += 1
            node.parent = nd

    @staticmethod
    def describe(node: Node) -> tuple[int, int | None, int | None]:
        """What a stat must say: (mode, size, nlink); None where it is not predicted."""
        if node.kind == "pipe":
            return stat.S_IFIFO | node.mode, None, None
        size = None if node.is_dir else len(node.target) if node.kind == "link" else len(node.data)
        return node.fmt() | node.mode, size, None if node.shared else node.nlink

    def op_stat(self, path: str) -> tuple[int, int | None, int | None]:
        return self.describe(self.resolve(path))

    def op_lstat(self, path: str) -> tuple[int, int | None, int | None]:
        return self.describe(self.resolve(path, follow=False))

    def op_fstat(self, fd: int) -> tuple[int, int | None, int | None]:
        return self.describe(self.filp(fd).node)

    def op_readlink(self, path: str) -> str:
        v = self.resolve(path, follow=False)
        if v.kind != "link":
            raise ModelError(errno.EINVAL)
        return v.target

    def op_listdir(self, path: str) -> list[str]:
        v = self.resolve(path)
        if not v.is_dir:
            raise ModelError(errno.ENOTDIR)
        return sorted(v.entries)

    # -- the end state ------------------------------------------------------------------

    def shared_links(self) -> int:
        """Names of the shared file this process made (in its own tree)."""

        def count(d: Node) -> int:
            n = 0
            for v in d.entries.values():
                n += v.shared
                if v.is_dir:
                    n += count(v)
            return n

        return count(self.cwd)

    def tree(self) -> dict[str, tuple[int, int | None, int | None]]:
        """Every path under the home directory with what lstat must say of it."""
        out: dict[str, tuple[int, int | None, int | None]] = {}

        def visit(d: Node, prefix: str) -> None:
            for name, v in d.entries.items():
                out[prefix + name] = self.describe(v)
                if v.is_dir:
                    visit(v, prefix + name + "/")

        visit(self.cwd, "")
        return out


LIMIT = 600
"""Virtual seconds a program may take before the tests call it deadlocked."""


async def finish(system: Any, pid: int, limit: float = LIMIT) -> int | str:
    """``system.wait(pid)``, or "deadlock" if it has not ended within ``limit`` virtual s.

    Only the host's wait is cancelled: the system then shuts down as usual, so a
    deadlock fails the test's assertion instead of hanging it or tearing the kernel's
    task group apart.
    """
    import anyio

    with anyio.move_on_after(limit):
        return int(await system.wait(pid))
    return "deadlock"
