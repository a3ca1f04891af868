"""Regular-file I/O against a model: random writes, reads, seeks and truncates (hypothesis)."""

from __future__ import annotations

import os

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.vfs.support import run
from vfs import protocol as P

ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.binary(min_size=0, max_size=9000)),
        st.tuples(st.just("read"), st.integers(0, 12000)),
        st.tuples(st.just("seek"), st.integers(0, 20000)),
        st.tuples(st.just("truncate"), st.integers(0, 20000)),
        st.tuples(st.just("dup")),
    ),
    max_size=15,
)


def model(ops, append):
    data, pos, out = bytearray(), 0, []
    for op in ops:
        if op[0] == "write":
            if not op[1]:
                out.append(0)  # a write of nothing changes nothing: size, position
                continue
            if append:
                pos = len(data)
            end = pos + len(op[1])
            if end > len(data):
                data += bytes(end - len(data))
            data[pos:end] = op[1]
            pos = end
            out.append(len(op[1]))
        elif op[0] == "read":
            chunk = bytes(data[pos : pos + op[1]])
            pos += len(chunk)
            out.append(chunk)
        elif op[0] == "seek":
            pos = op[1]
            out.append(pos)
        elif op[0] == "truncate":
            if op[1] < len(data):
                del data[op[1] :]
            else:
                data += bytes(op[1] - len(data))
            out.append(0)
        else:
            out.append(pos)  # a dup shares the position
    return out, len(data)


@settings(max_examples=40, deadline=None)
@given(ops=ops, append=st.booleans())
def test_file_io_matches_model(ops, append):
    async def user(u):
        flags = os.O_CREAT | os.O_RDWR | (os.O_APPEND if append else 0)
        fd = await u.open("/f", flags, 0o644)
        out = []
        for op in ops:
            if op[0] == "write":
                out.append(await u.write(fd, op[1]))
            elif op[0] == "read":
                out.append(await u.read(fd, op[1]))
            elif op[0] == "seek":
                out.append(await u.lseek(fd, op[1]))
            elif op[0] == "truncate":
                out.append(await u.call(P.VfsFtruncate(fd, op[1])))
            else:
                d = await u.call(P.VfsDup(fd))
                out.append(await u.lseek(d, 0, os.SEEK_CUR))
                await u.close(d)
        return out, (await u.stat("/f")).st_size

    got = run({"u": user})["u"]
    assert got == model(ops, append)
