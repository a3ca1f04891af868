"""File-mapped memory on a booted system: VM reads the pages through VFS."""

import errno

from tests.pm.support import run
from userland import libc


async def test_mmap_of_a_file_reads_its_pages_through_vfs(autojump_clock):
    seen = {}

    async def prog(argv):
        fd = await libc.open("/tmp/data", libc.O_RDWR | libc.O_CREAT, 0o644)
        await libc.write(fd, b"A" * 4096 + b"second page")
        addr = await libc.mmap(0, 8192, libc.PROT_READ, libc.MAP_PRIVATE, fd, 0)
        await libc.close(fd)  # the mapping outlives the descriptor
        seen["first"] = await libc.peek(addr, 4)
        seen["second"] = await libc.peek(addr + 4096, 12)
        at = await libc.mmap(0, 4096, libc.PROT_READ, libc.MAP_PRIVATE, fd=77)
        seen["ebadf"] = at
        return 0

    async def guarded(argv):
        try:
            return await prog(argv)
        except OSError as exc:
            seen["ebadf"] = exc.errno
            return 0

    assert await run(guarded) == 0
    assert seen == {"first": b"AAAA", "second": b"second page\0", "ebadf": errno.EBADF}
