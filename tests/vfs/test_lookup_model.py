"""Path lookup against a model: random trees with symlinks, random paths (hypothesis)."""

from __future__ import annotations

import errno
import os
from collections import deque

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vfs.support import run
from vfs import protocol as P

NAMES = ["a", "b", "c"]


class Node:
    def __init__(self, ino, kind, parent=None, target=""):
        self.ino, self.kind, self.target = ino, kind, target
        self.parent = parent or self
        self.entries = {}


class Model:
    """The lookup rules, written down independently of VFS's data structures."""

    def __init__(self):
        self.root = Node(1, "dir")
        self.next = 2

    def walk(self, path, *, follow, parent):
        if not path:
            return errno.ENOENT
        if len(path) + 1 >= P.PATH_MAX:
            return errno.ENAMETOOLONG
        cur = self.root
        comps = deque(c for c in path.split("/") if c)
        trailing = path.endswith("/")
        links = 0
        if parent and not comps:
            return errno.EEXIST
        while comps:
            c = comps.popleft()
            last = not comps
            if len(c) > 255:
                return errno.ENAMETOOLONG
            if cur.kind != "dir":
                return errno.ENOTDIR
            if parent and last:
                return cur, c
            if c == "..":
                if cur is self.root:
                    continue
                nxt = cur.parent
            elif c == ".":
                nxt = cur
            elif c in cur.entries:
                nxt = cur.entries[c]
            else:
                return errno.ENOENT
            if nxt.kind == "link" and (not last or follow or trailing):
                links += 1
                if links > P.SYMLOOP_MAX:
                    return errno.ELOOP
                if nxt.target.startswith("/"):
                    cur = self.root
                comps.extendleft(reversed([x for x in nxt.target.split("/") if x]))
                if last and nxt.target.endswith("/"):
                    trailing = True
                if parent and not comps:
                    return errno.EEXIST
                continue
            cur = nxt
        if trailing and cur.kind != "dir":
            return errno.ENOTDIR
        return cur

    def make(self, path, kind, target=""):
        r = self.walk(path, follow=False, parent=True)
        if isinstance(r, int):
            return r
        d, name = r
        if name in d.entries or name in (".", ".."):
            return errno.EEXIST
        d.entries[name] = Node(self.next, kind, d, target)
        self.next += 1
        return 0

    def stat(self, path, follow):
        r = self.walk(path, follow=follow, parent=False)
        return r if isinstance(r, int) else ("ino", r.ino)


component = st.sampled_from([*NAMES, ".", ".."])
paths = st.builds(
    lambda lead, comps, trail: ("/" if lead else "") + "/".join(comps) + ("/" if trail else ""),
    st.booleans(),
    st.lists(component, min_size=0, max_size=5),
    st.booleans(),
).filter(bool)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("mkdir"), paths),
        st.tuples(st.just("create"), paths),
        st.tuples(st.just("symlink"), paths, paths),
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(ops=ops, queries=st.lists(st.tuples(paths, st.booleans()), min_size=1, max_size=12))
def test_lookup_matches_model(ops, queries):
    model = Model()
    expected_ops = []
    for op in ops:
        if op[0] == "symlink":
            expected_ops.append(model.make(op[1], "link", op[2]))
        else:
            expected_ops.append(model.make(op[1], "dir" if op[0] == "mkdir" else "file"))
    expected_q = [model.stat(p, follow) for p, follow in queries]

    async def user(u):
        got_ops = []
        for op in ops:
            try:
                if op[0] == "mkdir":
                    await u.path_call(P.VfsMkdir, op[1], 0o755)
                elif op[0] == "create":
                    fd = await u.open(op[1], os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                    await u.close(fd)
                else:
                    await u.two_paths(P.VfsSymlink, op[2], op[1])
                got_ops.append(0)
            except OSError as exc:
                got_ops.append(exc.errno)
        got_q = []
        for p, follow in queries:
            try:
                got_q.append(("ino", (await u.stat(p, lstat=not follow)).st_ino))
            except OSError as exc:
                got_q.append(exc.errno)
        return got_ops, got_q

    got_ops, got_q = run({"u": user})["u"]
    assert got_ops == expected_ops
    assert got_q == expected_q
