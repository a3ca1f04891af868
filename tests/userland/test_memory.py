"""libc memory: peek/poke, malloc/free, brk/sbrk, mmap/munmap/mprotect, and isolation."""

import errno

import anyio
import pytest

from tests.pm.support import booted, run
from userland import libc

RW = libc.PROT_READ | libc.PROT_WRITE
ANON = libc.MAP_ANON | libc.MAP_PRIVATE


async def test_malloc_free_and_the_bytes_live_in_simulated_memory(autojump_clock):
    seen = {}

    async def prog(argv):
        a = await libc.malloc(10)
        b = await libc.malloc(100)
        c = await libc.malloc(0)
        seen["distinct"] = len({a, b, c}) == 3 and 0 not in (a, b, c)
        seen["aligned"] = all(x % 16 == 0 for x in (a, b, c))
        await libc.poke(a, b"0123456789")
        await libc.poke(b, b"x" * 100)
        seen["a"] = await libc.peek(a, 10)
        await libc.free(a)
        seen["reuse"] = await libc.malloc(8) == a  # first fit takes the freed hole
        with pytest.raises(OSError) as exc:
            await libc.free(a + 1)
        seen["bad free"] = exc.value.errno
        await libc.free(0)
        z = await libc.calloc(4, 8)
        seen["calloc"] = await libc.peek(z, 32)
        r = await libc.realloc(b, 5000)
        seen["realloc"] = await libc.peek(r, 100)
        with pytest.raises(OSError):
            await libc.malloc(-1)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "distinct": True,
        "aligned": True,
        "a": b"0123456789",
        "reuse": True,
        "bad free": errno.EINVAL,
        "calloc": bytes(32),
        "realloc": b"x" * 100,
    }


async def test_malloc_grows_the_heap_with_brk(autojump_clock):
    seen = {}

    async def prog(argv):
        start = await libc.sbrk(0)
        big = await libc.malloc(1 << 20)
        await libc.poke(big + (1 << 20) - 4, b"tail")
        seen["tail"] = await libc.peek(big + (1 << 20) - 4, 4)
        seen["grew"] = await libc.brk(0) - start >= 1 << 20
        blocks = [await libc.malloc(5000) for _ in range(50)]
        for blk in blocks:
            await libc.free(blk)
        seen["coalesced"] = await libc.malloc(200_000) == blocks[0]
        return 0

    assert await run(prog) == 0
    assert seen == {"tail": b"tail", "grew": True, "coalesced": True}


async def test_brk_and_sbrk(autojump_clock):
    seen = {}

    async def prog(argv):
        old = await libc.sbrk(8192)
        seen["now"] = await libc.brk(0) - old
        await libc.poke(old + 8000, b"ok")
        seen["peek"] = await libc.peek(old + 8000, 2)
        with pytest.raises(OSError) as exc:
            await libc.brk(0x1000)  # below the heap
        seen["low"] = exc.value.errno
        with pytest.raises(OSError) as exc:
            await libc.brk(0xF800_0000)  # into the kernel
        seen["high"] = exc.value.errno
        await libc.brk(old)
        await libc.peek(old + 8000, 2)  # unmapped now: SIGSEGV
        return 0

    assert await run(prog) == -libc.SIGSEGV
    assert seen == {"now": 8192, "peek": b"ok", "low": errno.ENOMEM, "high": errno.ENOMEM}


async def test_mmap_munmap_mprotect(autojump_clock):
    seen = {}

    async def prog(argv):
        addr = await libc.mmap(0, 3 * 4096, RW, ANON)
        await libc.poke(addr + 4096 * 2, b"mapped")
        seen["read"] = await libc.peek(addr + 4096 * 2, 6)
        seen["fresh"] = await libc.peek(addr, 16)
        for args in (
            (0, 0, RW, ANON),
            (0, 4096, 0x80, ANON),
            (0x1234, 4096, RW, ANON | libc.MAP_FIXED),
        ):
            with pytest.raises(OSError) as exc:
                await libc.mmap(*args)
            seen.setdefault("errors", []).append(exc.value.errno)
        await libc.munmap(addr, 4096)
        await libc.mprotect(addr + 4096, 4096, libc.PROT_READ)
        seen["ro read"] = await libc.peek(addr + 4096, 2)

        async def writes_ro():
            await libc.poke(addr + 4096, b"no")
            return 0

        async def reads_unmapped():
            await libc.peek(addr, 1)
            return 0

        for child in (writes_ro, reads_unmapped):
            _, status = await libc.waitpid(await libc.fork(child), 0)
            seen.setdefault("children", []).append(libc.WTERMSIG(status))
        with pytest.raises(OSError) as exc:
            await libc.mprotect(addr, 4096, libc.PROT_READ)  # not mapped any more
        seen["mprotect hole"] = exc.value.errno
        return 0

    assert await run(prog) == 0
    assert seen == {
        "read": b"mapped",
        "fresh": bytes(16),
        "errors": [errno.EINVAL, errno.EINVAL, errno.EINVAL],
        "ro read": bytes(2),
        "children": [libc.SIGSEGV, libc.SIGSEGV],
        "mprotect hole": errno.ENOMEM,
    }


async def test_shared_mapping_is_shared_across_fork(autojump_clock):
    seen = {}

    async def prog(argv):
        shared = await libc.mmap(0, 4096, RW, libc.MAP_ANON | libc.MAP_SHARED)
        private = await libc.mmap(0, 4096, RW, ANON)

        async def child():
            await libc.poke(shared, b"from child")
            await libc.poke(private, b"from child")
            return 0

        await libc.waitpid(await libc.fork(child), 0)
        seen["shared"] = await libc.peek(shared, 10)
        seen["private"] = await libc.peek(private, 10)
        return 0

    assert await run(prog) == 0
    assert seen == {"shared": b"from child", "private": bytes(10)}


async def test_peek_poke_argument_errors(autojump_clock):
    seen = []

    async def prog(argv):
        with pytest.raises(OSError) as exc:
            await libc.peek(0x1000_0000, -1)
        seen.append(exc.value.errno)
        return 0

    assert await run(prog) == 0
    assert seen == [errno.EINVAL]


async def test_a_process_cannot_reach_another_processes_memory(autojump_clock):
    """Same virtual address, different memory; no kernel copies; no VM requests for others."""
    from kernel.com import VM_PROC_NR
    from userland.libc._context import handle
    from userland.libc._syscall import call
    from vm.protocol import VmMmap, VmMunmap

    seen = {}

    async def owner(argv):
        addr = await libc.malloc(64)
        await libc.poke(addr, b"the owner's secret")
        seen["addr"] = addr
        seen["ep"] = handle().endpoint
        await libc.pause()
        return 0

    async def intruder(argv):
        addr = seen["addr"]
        mine = await libc.malloc(64)
        seen["same address"] = mine == addr
        seen["sees"] = await libc.peek(addr, 18)
        h = handle()
        for attempt in (
            lambda: h.datacopy_from(seen["ep"], addr, 18),
            lambda: h.datacopy_to(seen["ep"], addr, b"x"),
            lambda: h.vircopy(seen["ep"], addr, h.endpoint, mine, 18),
        ):
            try:
                await attempt()
                seen.setdefault("copies", []).append("allowed")
            except OSError as exc:
                seen.setdefault("copies", []).append(exc.errno)
        for msg in (
            VmMmap(0, 4096, RW, ANON, for_ep=seen["ep"]),
            VmMunmap(addr & ~0xFFF, 4096, for_ep=seen["ep"]),
        ):
            with pytest.raises(PermissionError):
                await call(VM_PROC_NR, msg)
        return 0

    async with booted() as system:
        victim = await system.spawn(owner, uid=1000)
        await anyio.sleep(1)  # the owner has set up and waits
        assert await system.wait(await system.spawn(intruder, uid=1000)) == 0

        async def check(argv):
            await libc.kill(int(argv[1]), libc.SIGTERM)
            return 0

        await system.wait(await system.spawn(check, ["check", str(victim)]))
        assert await system.wait(victim) == -libc.SIGTERM
    from kernel.errors import ECALLDENIED

    assert seen["same address"] is True
    assert seen["sees"] == bytes(18)
    assert seen["copies"] == [ECALLDENIED] * 3
