"""Grants and kernel copies: every flag, ranges, rights, revocation, chains, CPF_TRY, VM."""

from __future__ import annotations

import errno

import pytest

from kernel import errors
from kernel.endpoint import ANY, NONE
from kernel.errors import KernelError
from kernel.grants import CPF_READ, CPF_TRY, CPF_WRITE, GRANT_FAULTED, GrantTable
from kernel.kernel import Kernel
from kernel.priv import SYSTEM_PRIV, USER_PRIV, Priv
from tests.support import Machine, Sim, vm_standin

BUF = 0x0804_8000


def _owner(sim, m, name="owner", text=b"hello, grants", writable=True):
    """A process with an address space holding ``text`` at BUF; it runs ``body`` later."""
    cr3 = m.space()
    m.map(cr3, BUF, writable=writable)
    m.poke(cr3, BUF, text) if writable else m.physmem.write(m.pte(cr3, BUF) & ~0xFFF, text)
    return cr3


async def _errno_of(coro):
    with pytest.raises(KernelError) as exc:
        await coro
    return exc.value.errno


async def test_direct_grant_read_write_rights_and_range(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = _owner(sim, m)
        grants = {}

        async def owner(p):
            grants["r"] = p.grant_direct(user.endpoint, BUF, 13, CPF_READ)
            grants["w"] = p.grant_direct(user.endpoint, BUF, 13, CPF_WRITE)
            grants["any"] = p.grant_direct(ANY, BUF, 5, CPF_READ | CPF_WRITE)
            grants["other"] = p.grant_direct(12345, BUF, 5, CPF_READ)
            await p.sleep(100)

        async def user(p):
            await p.sleep(1)
            o = own.endpoint
            out = [
                await p.safecopyfrom(o, grants["r"], 0, 13),
                await p.safecopyfrom(o, grants["r"], 7, 6),
            ]
            await p.safecopyto(o, grants["w"], 7, b"GRANT")
            out.append(await p.safecopyfrom(o, grants["any"], 0, 5))
            out += [
                await _errno_of(p.safecopyto(o, grants["r"], 0, b"x")),  # no write right
                await _errno_of(p.safecopyfrom(o, grants["w"], 0, 1)),  # no read right
                await _errno_of(p.safecopyfrom(o, grants["r"], 10, 4)),  # past the end
                await _errno_of(p.safecopyfrom(o, grants["r"], -1, 1)),  # before the start
                await _errno_of(p.safecopyfrom(o, grants["other"], 0, 1)),  # not for us
                await _errno_of(p.safecopyfrom(o, 999, 0, 1)),  # no such grant
                await _errno_of(p.safecopyfrom(o, -1, 0, 1)),  # GRANT_INVALID
                await _errno_of(p.safecopyfrom(54321, grants["r"], 0, 1)),  # no such granter
            ]
            return out

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        user = sim.spawn("user", user)
        await sim.wait("user")
        k.shutdown()
    assert not sim.errors, sim.errors
    assert sim.results["user"] == [
        b"hello, grants",
        b"grants",
        b"hello",
        errno.EPERM,
        errno.EPERM,
        errno.EPERM,
        errno.EPERM,
        errno.EPERM,
        errno.EPERM,
        errno.EINVAL,
        errno.EINVAL,
    ]
    assert m.peek(cr3, BUF, 13) == b"hello, GRANTs"


async def test_revoked_id_never_valid_again(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = _owner(sim, m)
        ids = {}

        async def owner(p):
            ids["old"] = p.grant_direct(ANY, BUF, 5, CPF_READ)
            await p.sleep(1)
            assert p.revoke(ids["old"]) == 0
            ids["new"] = p.grant_direct(ANY, BUF, 5, CPF_READ)
            await p.sleep(100)

        async def user(p):
            first = await p.safecopyfrom(own.endpoint, ids["old"], 0, 5)
            await p.sleep(2)
            return (
                first,
                await _errno_of(p.safecopyfrom(own.endpoint, ids["old"], 0, 5)),
                await p.safecopyfrom(own.endpoint, ids["new"], 0, 5),
            )

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        sim.spawn("user", user)
        await sim.wait("user")
        k.shutdown()
    assert sim.results["user"] == (b"hello", errno.EPERM, b"hello")
    assert ids["new"] & 0xFFFFF == ids["old"] & 0xFFFFF
    assert ids["new"] != ids["old"]


def test_grant_ids_never_repeat_and_bad_arguments():
    t = GrantTable(max_entries=2)
    seen = set()
    for _ in range(50):
        gid = t.direct(ANY, 0, 10, CPF_READ)
        assert gid not in seen
        seen.add(gid)
        t.revoke(gid)
    for access in (0, 0x100, CPF_TRY):
        with pytest.raises(KernelError) as exc:
            t.direct(ANY, 0, 10, access)
        assert exc.value.errno == errno.EINVAL
    with pytest.raises(KernelError) as exc:
        t.direct(ANY, 0xFFFFF000, 0x2000, CPF_READ)
    assert exc.value.errno == errno.EINVAL
    t.direct(ANY, 0, 1, CPF_READ)
    t.direct(ANY, 0, 1, CPF_READ)
    with pytest.raises(KernelError) as exc:
        t.direct(ANY, 0, 1, CPF_READ)
    assert exc.value.errno == errno.ENOSPC
    with pytest.raises(KernelError) as exc:
        t.revoke(12345)
    assert exc.value.errno == errno.EINVAL


async def test_indirect_chains_and_depth_limit(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = _owner(sim, m)
        hops = []  # (process, grant id it holds for the next one)

        async def owner(p):
            hops.append((p.endpoint, p.grant_direct(relays[0].endpoint, BUF, 13, CPF_READ)))
            await p.sleep(100)

        async def relay(p, i):
            await p.sleep(i + 1)
            prev_ep, prev_gid = hops[-1]
            nxt = relays[i + 1].endpoint if i + 1 < len(relays) else reader.endpoint
            hops.append((p.endpoint, p.grant_indirect(nxt, prev_ep, prev_gid)))
            await p.sleep(100)

        async def reader(p):
            await p.sleep(20)
            out = []
            for depth in (1, 5, 6):  # read through the chain ending at hop `depth`
                ep, gid = hops[depth]
                try:
                    out.append(await p.safecopyfrom(ep, gid, 0, 5))
                except KernelError as exc:
                    out.append(exc.errno)
            return out

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        relays = [sim.spawn(f"relay{i}", lambda p, i=i: relay(p, i)) for i in range(6)]
        reader = sim.spawn("reader", reader)
        await sim.wait("reader")
        k.shutdown()
    # hop 1 is for relay1, not the reader; hop 5 (5 indirections) works; hop 6 is too deep
    assert sim.results["reader"] == [errno.EPERM, errno.EPERM, errno.ELOOP]


async def test_indirect_grant_for_the_reader(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = _owner(sim, m)
        ids = {}

        async def owner(p):
            ids["a"] = p.grant_direct(relay.endpoint, BUF, 13, CPF_READ | CPF_WRITE)
            await p.sleep(100)

        async def relay_fn(p):
            await p.sleep(1)
            ids["b"] = p.grant_indirect(reader.endpoint, own.endpoint, ids["a"])
            ids["bad"] = p.grant_indirect(own.endpoint, own.endpoint, ids["a"])
            await p.sleep(100)

        async def reader_fn(p):
            await p.sleep(2)
            await p.safecopyto(relay.endpoint, ids["b"], 0, b"HELLO")
            return await p.safecopyfrom(relay.endpoint, ids["b"], 0, 13), await _errno_of(
                p.safecopyfrom(relay.endpoint, ids["bad"], 0, 1)
            )

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        relay = sim.spawn("relay", relay_fn)
        reader = sim.spawn("reader", reader_fn)
        await sim.wait("reader")
        k.shutdown()
    assert sim.results["reader"] == (b"HELLO, grants", errno.EPERM)


async def test_magic_grants_only_for_privileged_granters(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = _owner(sim, m)
        ids = {}

        async def vfs(p):
            ids["magic"] = p.grant_magic(fs.endpoint, own.endpoint, BUF, 13, CPF_READ)
            await p.sleep(100)

        async def plain(p):
            return await _errno_of(
                _sync(lambda: p.grant_magic(fs.endpoint, own.endpoint, BUF, 1, CPF_READ))
            )

        async def fs_fn(p):
            await p.sleep(1)
            return await p.safecopyfrom(vfs_p.endpoint, ids["magic"], 6, 7)

        own = sim.spawn("owner", lambda p: p.sleep(100))
        own.cr3 = cr3
        vfs_p = sim.spawn("vfs", vfs, priv=Priv(magic_grants=True))
        fs = sim.spawn("fs", fs_fn)
        sim.spawn("plain", plain)
        await sim.wait("fs", "plain")
        k.shutdown()
    assert sim.results["fs"] == b" grants"
    assert sim.results["plain"] == errno.EPERM


async def _sync(fn):
    return fn()


async def test_cpf_try_fails_fast_and_marks_the_grant(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()
        m.map(cr3, BUF)  # the first page is there, the second is not
        served = []
        vm = sim.spawn("vm", vm_standin(m, {cr3: (BUF, BUF + 0x2000)}, served))
        k.vm_endpoint = vm.endpoint
        ids = {}

        async def owner(p):
            ids["try"] = p.grant_direct(ANY, BUF, 0x2000, CPF_WRITE | CPF_TRY)
            ids["plain"] = p.grant_direct(ANY, BUF, 0x2000, CPF_WRITE)
            await p.sleep(5)
            return p.revoke(ids["try"]), p.revoke(ids["plain"])

        async def fs(p):
            await p.sleep(1)
            code = await _errno_of(p.safecopyto(own.endpoint, ids["try"], 0, b"x" * 0x2000))
            vm_calls = len(served)
            await p.safecopyto(own.endpoint, ids["plain"], 0, b"y" * 0x2000)
            return code, vm_calls

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        sim.spawn("fs", fs)
        await sim.wait("fs", "owner")
        k.shutdown()
    assert sim.results["fs"] == (errno.EFAULT, 0)
    assert sim.results["owner"] == (GRANT_FAULTED, 0)
    # without CPF_TRY, VM was asked for the whole destination side, then the copy re-ran
    assert served == [("owner", BUF, 0x2000, True, True)]
    assert m.peek(cr3, BUF, 0x2000) == b"y" * 0x2000


async def test_vm_suspend_retry_and_refusal(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()
        m.map(cr3, BUF, writable=False)  # read-only, like a COW page
        m.physmem.write(m.pte(cr3, BUF) & ~0xFFF, b"original")
        served = []
        vm = sim.spawn("vm", vm_standin(m, {cr3: (BUF, BUF + 0x3000)}, served))
        k.vm_endpoint = vm.endpoint

        async def owner(p):
            p.grant_direct(ANY, BUF, 0x4000, CPF_READ | CPF_WRITE)  # id 0
            await p.sleep(100)

        async def driver(p):
            await p.sleep(1)
            out = [await p.safecopyfrom(own.endpoint, 0, 0, 8)]
            await p.safecopyto(own.endpoint, 0, 0, b"written!")  # WP: the read-only page faults
            out.append(
                await p.safecopyfrom(own.endpoint, 0, 0x1000, 4)
            )  # missing page, mapped zeroed
            out.append(await _errno_of(p.safecopyfrom(own.endpoint, 0, 0x3000, 4)))  # VM refuses
            return out

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        sim.spawn("driver", driver)
        await sim.wait("driver")
        k.shutdown()
    assert sim.results["driver"] == [b"original", b"\0" * 4, errno.EFAULT]
    assert m.peek(cr3, BUF, 8) == b"written!"
    assert served == [
        ("owner", BUF, 8, True, True),
        ("owner", BUF + 0x1000, 4, False, True),
        ("owner", BUF + 0x3000, 4, False, False),
    ]


async def test_copy_without_vm_fails_with_efault(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()

        async def owner(p):
            p.grant_direct(ANY, BUF, 16, CPF_READ)
            await p.sleep(100)

        async def reader(p):
            await p.sleep(1)
            return await _errno_of(p.safecopyfrom(own.endpoint, 0, 0, 16))

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        sim.spawn("reader", reader)
        await sim.wait("reader")
        k.shutdown()
    assert sim.results["reader"] == errno.EFAULT


async def test_vircopy_between_spaces_physical_and_privilege(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        a_cr3, b_cr3 = m.space(), m.space()
        m.map(a_cr3, BUF)
        m.map(b_cr3, BUF + 0x10000)
        m.poke(a_cr3, BUF, b"across spaces")
        phys = m.frame()
        m.physmem.write(phys, b"physical")

        async def sysproc(p):
            await p.vircopy(a.endpoint, BUF, b.endpoint, BUF + 0x10000, 13)
            await p.vircopy(NONE, phys, b.endpoint, BUF + 0x10020, 8)
            return await _errno_of(
                p.vircopy(a.endpoint, BUF + 0x5000, b.endpoint, BUF, 4, try_=True)
            )

        async def user(p):
            return await _errno_of(p.vircopy(a.endpoint, BUF, b.endpoint, BUF, 4))

        a = sim.spawn("a", lambda p: p.sleep(100))
        a.cr3 = a_cr3
        b = sim.spawn("b", lambda p: p.sleep(100))
        b.cr3 = b_cr3
        sim.spawn("sys", sysproc)
        sim.spawn("user", user, priv=USER_PRIV)
        await sim.wait("sys", "user")
        k.shutdown()
    assert m.peek(b_cr3, BUF + 0x10000, 13) == b"across spaces"
    assert m.peek(b_cr3, BUF + 0x10020, 8) == b"physical"
    assert sim.results["sys"] == errno.EFAULT
    assert sim.results["user"] == errors.ECALLDENIED


async def test_grantee_death_and_granter_death(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = _owner(sim, m)
        ids = {}

        async def owner(p):
            ids["g"] = p.grant_direct(ANY, BUF, 5, CPF_READ)
            await p.sleep(1)

        async def reader(p):
            first = await p.safecopyfrom(own.endpoint, ids["g"], 0, 5)
            await p.sleep(2)  # the owner has exited by now
            return first, await _errno_of(p.safecopyfrom(own.endpoint, ids["g"], 0, 5))

        own = sim.spawn("owner", owner, priv=SYSTEM_PRIV)
        own.cr3 = cr3
        sim.spawn("reader", reader)
        await sim.wait("reader")
        k.shutdown()
    assert sim.results["reader"] == (b"hello", errno.EINVAL)


async def test_buffer_grants_between_servers(autojump_clock):
    async with Kernel() as k:  # no memory at all: servers exchange Python buffers
        sim = Sim(k)
        buf = bytearray(b"server data!")
        ids = {}

        async def owner(p):
            ids["r"] = p.grant_buffer(reader.endpoint, buf, CPF_READ | CPF_WRITE)
            ids["ro"] = p.grant_buffer(reader.endpoint, buf, CPF_READ)
            await p.sleep(100)

        async def reader_fn(p):
            await p.sleep(1)
            got = await p.safecopyfrom(own.endpoint, ids["r"], 7, 5)
            await p.safecopyto(own.endpoint, ids["r"], 0, b"SERVER")
            return (
                got,
                await _errno_of(p.safecopyto(own.endpoint, ids["ro"], 0, b"x")),
                await _errno_of(p.safecopyfrom(own.endpoint, ids["r"], 8, 5)),
            )

        own = sim.spawn("owner", owner)
        reader = sim.spawn("reader", reader_fn)
        await sim.wait("reader")
        k.shutdown()
    assert sim.results["reader"] == (b"data!", errno.EPERM, errno.EPERM)
    assert buf == bytearray(b"SERVER data!")


async def test_datacopy_to_and_from_a_user_space(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()
        m.map(cr3, BUF)

        async def server(p):
            await p.datacopy_to(user.endpoint, BUF + 10, b"from the server")
            got = await p.datacopy_from(user.endpoint, BUF + 10, 15)
            return got, await _errno_of(p.datacopy_to(user.endpoint, BUF + 0x1000, b"x", try_=True))

        user = sim.spawn("user", lambda p: p.sleep(100))
        user.cr3 = cr3
        sim.spawn("srv", server)
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == (b"from the server", errno.EFAULT)
    assert m.peek(cr3, BUF + 10, 15) == b"from the server"


async def test_copies_never_reach_the_kernel_mapping(autojump_clock):
    from kernel.com import KERNEL_BASE

    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()
        m.map(cr3, KERNEL_BASE, user=False)  # the kernel's page, supervisor-only
        m.map(cr3, KERNEL_BASE - 0x1000)
        ids = {}

        async def owner(p):
            ids["k"] = p.grant_direct(ANY, KERNEL_BASE, 16, CPF_READ)
            ids["edge"] = p.grant_direct(ANY, KERNEL_BASE - 8, 16, CPF_READ)
            await p.sleep(100)

        async def server(p):
            await p.sleep(1)
            return [
                await _errno_of(p.safecopyfrom(own.endpoint, ids["k"], 0, 16)),
                await _errno_of(p.safecopyfrom(own.endpoint, ids["edge"], 0, 16)),
                await p.safecopyfrom(own.endpoint, ids["edge"], 0, 8),
                await _errno_of(p.datacopy_from(own.endpoint, KERNEL_BASE, 4)),
                await _errno_of(p.datacopy_to(own.endpoint, KERNEL_BASE - 2, b"abcd")),
            ]

        own = sim.spawn("owner", owner)
        own.cr3 = cr3
        sim.spawn("srv", server)
        await sim.wait("srv")
        k.shutdown()
    assert sim.results["srv"] == [errno.EFAULT, errno.EFAULT, b"\0" * 8, errno.EFAULT, errno.EFAULT]
