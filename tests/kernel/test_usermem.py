"""A process's own loads and stores: the MMU with its CR3, page faults sent to VM."""

from __future__ import annotations

import signal

from kernel.endpoint import ANY
from kernel.hw import PF_P, PF_U, PF_W
from kernel.kernel import Kernel
from kernel.message import CALL_SEND, FROM_KERNEL
from tests.support import Machine, Sim, vm_standin

HEAP = 0x1000_0000


async def test_faults_go_to_vm_and_the_access_reruns(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()
        m.map(cr3, HEAP + 0x1000, writable=False)
        served = []
        vm = sim.spawn("vm", vm_standin(m, {cr3: (HEAP, HEAP + 0x4000)}, served))
        k.vm_endpoint = vm.endpoint

        async def user(p):
            await p.poke(HEAP + 0xFFE, b"straddle")  # first page missing, second read-only
            return await p.peek(HEAP + 0xFFE, 8), await p.peek(HEAP + 0x2000, 4)

        u = sim.spawn("user", user)
        u.cr3 = cr3
        await sim.wait("user")
        k.shutdown()
    assert sim.results["user"] == (b"straddle", b"\0" * 4)
    status = CALL_SEND | FROM_KERNEL
    assert served == [
        ("pf", "user", HEAP + 0xFFE, PF_W | PF_U, status, True),
        ("pf", "user", HEAP + 0x1000, PF_P | PF_W | PF_U, status, True),
        ("pf", "user", HEAP + 0x2000, PF_U, status, True),
    ]


async def test_bad_access_kills_with_sigsegv_and_manager_hears(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()
        served = []
        vm = sim.spawn("vm", vm_standin(m, {cr3: (HEAP, HEAP + 0x1000)}, served))
        k.vm_endpoint = vm.endpoint

        async def manager(p):
            await p.receive(ANY)
            return await p.getksig()

        async def user(p):
            await p.peek(0, 4)  # NULL
            sim.log.append("survived")

        mgr = sim.spawn("mgr", manager)
        u = sim.spawn("user", user, sig_mgr=mgr.endpoint)
        u.cr3 = cr3
        await sim.wait("mgr")
        k.shutdown()
    assert sim.log == []
    assert sim.results["mgr"] == (u.endpoint, 1 << signal.SIGSEGV)


async def test_no_vm_means_sigsegv(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)

        async def manager(p):
            await p.receive(ANY)
            return await p.getksig()

        mgr = sim.spawn("mgr", manager)
        u = sim.spawn("user", lambda p: p.poke(HEAP, b"x"), sig_mgr=mgr.endpoint)
        u.cr3 = m.space()
        await sim.wait("mgr")
        k.shutdown()
    assert sim.results["mgr"] == (u.endpoint, 1 << signal.SIGSEGV)


async def test_supervisor_page_is_not_user_accessible(autojump_clock):
    m = Machine()
    async with Kernel(m.physmem, m.mmu) as k:
        sim = Sim(k)
        cr3 = m.space()
        m.map(cr3, 0xF000_0000, user=False)
        served = []
        vm = sim.spawn("vm", vm_standin(m, {}, served))
        k.vm_endpoint = vm.endpoint
        u = sim.spawn("user", lambda p: p.peek(0xF000_0000, 4))
        u.cr3 = cr3
        await sim.wait("user")
        k.shutdown()
    assert served == [("pf", "user", 0xF000_0000, PF_P | PF_U, CALL_SEND | FROM_KERNEL, False)]
    assert "user" not in sim.results
