"""The VM server on a running kernel: faults, fork, kernel copies, privileges, bad input."""

from __future__ import annotations

import errno
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from kernel.com import PM_PROC_NR, VM_PROC_NR
from kernel.endpoint import ANY
from kernel.errors import KernelError
from kernel.grants import CPF_TRY, CPF_WRITE
from kernel.message import Message
from kernel.priv import Priv
from kernel.vmmsg import VmPagefault
from tests.vm.harness import (
    ANON,
    RW,
    SHARED_ANON,
    USER,
    VM,
    Harness,
    booted,
    call,
    file_server,
    mmap,
)
from vm.mmap import HEAP_DEFAULT, STACK_TOP, TEXT_BASE
from vm.protocol import (
    IPC_CREAT,
    IPC_RMID,
    KERNEL_BASE,
    MAP_CONTIG,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    PROT_EXEC,
    PROT_NONE,
    PROT_READ,
    VfsVmReply,
    VmBrk,
    VmCheck,
    VmExecNew,
    VmExit,
    VmFork,
    VmHandleMem,
    VmInfo,
    VmInfoReply,
    VmMapPhys,
    VmMmap,
    VmMprotect,
    VmMunmap,
    VmReply,
    VmSetHeap,
    VmShmat,
    VmShmctl,
    VmShmdt,
    VmShmget,
    VmVfsOpen,
    VmVfsRead,
)

P = 4096

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from kernel.process import Process


@dataclass(slots=True)
class Hello(Message):
    n: int = 0


async def _n(p: Process, ep: int) -> int:
    """Receive a Hello from ``ep``; its number."""
    m = await p.receive(ep)
    assert isinstance(m, Hello)
    return m.n


async def _segv(h: Harness, p: Process, fn: Callable[[Process], Awaitable[Any]]) -> int | None:
    """Run user ``fn`` and return the signal that killed it (None for a normal exit)."""
    ep = await h.user(p, "victim", fn)
    await h.wait_dead(p, ep)
    return h.killed_by(ep)


async def test_page_faults_zero_fill_and_bad_accesses_are_sigsegv(autojump_clock: Any) -> None:
    async with booted() as h:

        async def good(p: Process) -> Any:
            a = await mmap(p, 4 * P)
            await p.poke(a + P - 2, b"abcd")
            return await p.peek(a + P - 4, 8), await p.peek(a + 3 * P, 2)

        async def null(p: Process) -> Any:
            await p.peek(0, 1)

        async def kernel(p: Process) -> Any:
            await p.peek(KERNEL_BASE + 0x100, 1)

        async def read_only(p: Process) -> Any:
            a = await mmap(p, P, prot=PROT_READ)
            assert await p.peek(a, 4) == bytes(4)
            await p.poke(a, b"x")

        async def prot_none(p: Process) -> Any:
            a = await mmap(p, P, prot=PROT_NONE)
            await p.peek(a, 1)

        async def unmapped(p: Process) -> Any:
            a = await mmap(p, 2 * P)
            await p.poke(a, b"x")
            await call(p, VmMunmap(a, P))
            await p.peek(a, 1)  # was in the TLB: VM must have invalidated it

        async def protected_later(p: Process) -> Any:
            a = await mmap(p, P)
            await p.poke(a, b"x")
            await call(p, VmMprotect(a, P, PROT_READ))
            assert await p.peek(a, 1) == b"x"
            await p.poke(a, b"y")

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "good", good)
            await h.wait_dead(p, ep)
            return [
                await _segv(h, p, fn)
                for fn in (null, kernel, read_only, prot_none, unmapped, protected_later)
            ]

        killed = await h.run(driver)
        assert h.results["good"] == (b"\0\0abcd\0\0", b"\0\0")
        assert killed == [signal.SIGSEGV] * 6
        assert h.check() == []
        assert h.vm.alloc.free == h.vm.baseline_free


async def test_fork_private_is_copy_on_write_shared_is_shared(autojump_clock: Any) -> None:
    priv, shared = 0x3000_0000, 0x3100_0000
    async with booted() as h:
        seen = {}

        async def parent(p: Process) -> Any:
            await mmap(p, 2 * P, addr=priv, flags=ANON | MAP_FIXED)
            await mmap(p, 2 * P, addr=shared, flags=SHARED_ANON | MAP_FIXED)
            await p.poke(priv, b"parent")
            await p.poke(shared, b"parent")
            await p.sendrec(30, Hello())  # A: the driver forks us
            await p.poke(priv, b"PARENT")
            await p.sendrec(30, Hello())  # B: the child writes meanwhile
            seen["parent"] = (await p.peek(priv, 6), await p.peek(shared, 6))

        async def child(p: Process) -> Any:
            seen["child before"] = (await p.peek(priv, 6), await p.peek(shared, 6))
            await p.sendrec(30, Hello())  # C
            await p.poke(priv + 1, b"C")
            await p.poke(shared + 1, b"C")
            seen["child"] = (await p.peek(priv, 6), await p.peek(shared, 6))

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "parent", parent, priv=USER.allowing(30))
            await p.receive(ep)  # A
            kid = await h.fork(p, ep, "child", child)
            await p.receive(kid)  # C
            await p.send(ep, Hello())
            await p.receive(ep)  # B
            await p.send(kid, Hello())
            await h.wait_dead(p, kid)
            await p.send(ep, Hello())
            await h.wait_dead(p, ep)
            return (await call(p, VmCheck())).status

        assert await h.run(driver, slot=30) == 0
    assert seen["child before"] == (b"parent", b"parent")
    assert seen["child"] == (b"pCrent", b"pCrent")
    assert seen["parent"] == (b"PARENT", b"pCrent")


async def test_kernel_copies_fault_in_pages_and_break_cow(autojump_clock: Any) -> None:
    async with booted() as h:

        async def user(p: Process) -> Any:
            a = await mmap(p, 4 * P)
            await p.poke(a, b"original")
            await p.sendrec(30, Hello(a))
            return await p.peek(a, 8)

        async def child(p: Process) -> Any:
            await p.sendrec(30, Hello())
            return await p.peek(h.notes["addr"], 8)

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "user", user, priv=USER.allowing(30))
            a = await _n(p, ep)
            h.notes["addr"] = a
            kid = await h.fork(p, ep, "child", child)
            await p.receive(kid)
            # a driver writes into the user's buffer: a COW page (write memory request)
            await p.datacopy_to(ep, a, b"written!")
            # reads of untouched pages back them with zeros; a range spans pages
            out = await p.datacopy_from(ep, a + P - 2, 4)
            assert await p.datacopy_from(ep, a + 2 * P, 3) == bytes(3)
            with pytest.raises(KernelError) as exc:
                await p.datacopy_from(ep, a + 8 * P, 1)  # nothing mapped there
            assert exc.value.errno == errno.EFAULT
            await p.send(kid, Hello())
            await p.send(ep, Hello())
            await h.wait_dead(p, ep, kid)
            return out

        assert await h.run(driver, slot=30) == bytes(4)
        assert h.results["user"] == b"written!"
        assert h.results["child"] == b"original"
        assert h.check() == []


async def test_cpf_try_then_handlemem_then_retry(autojump_clock: Any) -> None:
    async with booted() as h:

        async def user(p: Process) -> Any:
            a = await mmap(p, 2 * P)
            gid = p.grant_direct(ANY, a, 2 * P, CPF_WRITE | CPF_TRY)
            await p.sendrec(30, Hello(gid))
            return await p.peek(a + P, 5), h.notes["addr"]

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "user", user, priv=USER.allowing(30))
            gid = await _n(p, ep)
            with pytest.raises(KernelError) as exc:
                await p.safecopyto(ep, gid, P, b"hello")  # not present: fails at once
            assert exc.value.errno == errno.EFAULT
            space = h.vm.spaces[ep]
            h.notes["addr"] = space.regions[0].start
            r = await call(p, VmHandleMem(ep, h.notes["addr"] + P, 5, True))
            assert r.status == 0
            await p.safecopyto(ep, gid, P, b"hello")
            r = await call(p, VmHandleMem(ep, 0x1000, 5, True))
            assert r.status == errno.EFAULT
            r = await call(p, VmHandleMem(ep, h.notes["addr"], 0, True))
            assert r.status == errno.EINVAL
            await p.send(ep, Hello())
            await h.wait_dead(p, ep)

        h.notes["addr"] = 0
        await h.run(driver, slot=30)
        assert h.results["user"][0] == b"hello"


async def test_privileged_requests_from_a_user_are_eperm(autojump_clock: Any) -> None:
    async with booted() as h:

        async def user(p: Process) -> Any:
            me = p.endpoint
            other = h.k.lookup(h.notes["other"]).endpoint
            requests = [
                VmFork(me, other),
                VmExit(other),
                VmExecNew(other),
                VmSetHeap(me, HEAP_DEFAULT),
                VmHandleMem(other, 0x1000, 1, False),
                VmMapPhys(0x1000, P),
                VmMmap(0, P, RW, ANON, for_ep=other),
                VmMunmap(0x1000, P, for_ep=other),
                VmMprotect(0x1000, P, RW, for_ep=other),
                VmBrk(0, for_ep=other),
            ]
            return [(await call(p, m)).status for m in requests]

        async def driver(p: Process) -> Any:
            h.notes["other"] = await h.user(p, "other", lambda q: q.sleep(100))
            ep = await h.user(p, "user", user)
            await h.wait_dead(p, ep)

        await h.run(driver)
        assert h.results["user"] == [errno.EPERM] * 10


async def test_bad_input_gets_errors_and_vm_survives(autojump_clock: Any) -> None:
    async with booted() as h:

        async def user(p: Process) -> Any:
            a = await mmap(p, 2 * P)
            out = [
                (await call(p, VmMmap(0, 0, RW, ANON))).status,
                (await call(p, VmMmap(0x1001, P, RW, ANON | MAP_FIXED))).status,
                (await call(p, VmMmap(0, P, 0x40, ANON))).status,
                (await call(p, VmMunmap(a + 1, P))).status,
                (await call(p, VmMunmap(a, 0))).status,
                (await call(p, VmMprotect(a, 8 * P, PROT_READ))).status,
                (await call(p, VmBrk(0x100))).status,
                (await call(p, VmShmat(77, 0, 0))).status,
                (await call(p, VmShmdt(a))).status,
                (await call(p, VmShmctl(77, IPC_RMID))).status,
                (await call(p, VmShmget(5, P, 0))).status,
                (await call(p, Hello())).status,  # not a VM request
                (await call(p, VmPagefault(a, 0))).status,  # forged: not from the kernel
                (await call(p, VmMmap(0, 2**40, RW, ANON))).status,
            ]
            await p.poke(a, b"still fine")
            return out, await p.peek(a, 10)

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "user", user, priv=USER)
            await h.wait_dead(p, ep)
            r = await call(p, VmExit(ep))  # PM telling VM twice
            bogus = [
                (await call(p, VmExecNew(54321))).status,
                (await call(p, VmFork(54321, 54322))).status,
                (await call(p, VmFork(VM_PROC_NR, p.endpoint))).status,
                (await call(p, VmSetHeap(p.endpoint, 0x2000))).status,
            ]
            return r.status, bogus

        status, bogus = await h.run(driver)
        out, data = h.results["user"]
        E = errno
        assert out == [
            E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.EINVAL, E.ENOMEM, E.ENOMEM,
            E.EINVAL, E.EINVAL, E.EINVAL, E.ENOENT, E.ENOSYS, E.EPERM, E.ENOMEM,
        ]  # fmt: skip
        assert data == b"still fine"
        assert status == errno.EINVAL
        assert bogus == [errno.EINVAL] * 4
        assert h.server.bugs == []


async def test_exec_the_libexec_way_and_brk(autojump_clock: Any) -> None:
    async with booted() as h:
        image = b"\x7fELF program text" * 100

        async def program(p: Process) -> Any:
            text = await p.peek(TEXT_BASE, len(image))
            argv = await p.peek(STACK_TOP - 16, 16)
            brk0 = (await call(p, VmBrk(0))).value
            r = await call(p, VmBrk(brk0 + 3 * P))
            await p.poke(brk0 + 3 * P - 4, b"heap")
            shrink = await call(p, VmBrk(brk0 + 1))
            try_text = await call(p, VmMprotect(TEXT_BASE, P, RW))
            return text == image, argv, brk0, r.value - brk0, shrink.value, try_text.status

        async def pm(p: Process) -> Any:
            kid = h.spawn("prog", program, priv=USER, stopped=True)
            ep = kid.endpoint
            size = (len(image) + P - 1) & ~(P - 1)
            fixed = MAP_PRIVATE | 0x1000 | MAP_FIXED
            for step in (
                VmExecNew(ep),
                VmMmap(TEXT_BASE, size, RW, fixed, for_ep=ep),
                VmMmap(STACK_TOP - 16 * P, 16 * P, RW, fixed, for_ep=ep),
            ):
                assert (await call(p, step)).status == 0
            await p.datacopy_to(ep, TEXT_BASE, image)
            await p.datacopy_to(ep, STACK_TOP - 16, b"argv\0envp\0\0\0\0\0\0\0")
            for later in (
                VmMprotect(TEXT_BASE, size, PROT_READ | PROT_EXEC, for_ep=ep),
                VmSetHeap(ep, TEXT_BASE + size),
            ):
                assert (await call(p, later)).status == 0
            h.k.resume(kid)
            await h.wait_dead(p, ep)
            return TEXT_BASE + size

        heap = await h.run(pm, slot=PM_PROC_NR + 40)
        ok, argv, brk0, grown, shrunk, try_text = h.results["prog"]
        assert ok and argv.startswith(b"argv\0envp\0")
        assert brk0 == heap and grown == 3 * P and shrunk == heap + 1
        assert try_text == 0  # private text may be made writable again (no maxprot on it)
        assert h.vm.alloc.free == h.vm.baseline_free


async def test_shm_between_unrelated_processes(autojump_clock: Any) -> None:
    async with booted() as h:

        async def writer(p: Process) -> Any:
            sid = (await call(p, VmShmget(1234, 3 * P, IPC_CREAT))).value
            a = (await call(p, VmShmat(sid, 0, 0))).value
            await p.poke(a + 2 * P, b"via shm")
            await p.sendrec(30, Hello(sid))
            assert (await call(p, VmShmdt(a))).status == 0
            return sid

        async def reader(p: Process) -> Any:
            sid = (await call(p, VmShmget(1234, P, 0))).value
            a = (await call(p, VmShmat(sid, 0, 0))).value
            data = await p.peek(a + 2 * P, 7)
            assert (await call(p, VmShmctl(sid, IPC_RMID))).status == 0
            return data, (await call(p, VmShmget(1234, P, 0))).status

        async def driver(p: Process) -> Any:
            w = await h.user(p, "writer", writer, priv=USER.allowing(30))
            await p.receive(w)
            r = await h.user(p, "reader", reader)
            await h.wait_dead(p, r)
            await p.send(w, Hello())
            await h.wait_dead(p, w)

        await h.run(driver, slot=30)
        assert h.results["reader"] == (b"via shm", errno.ENOENT)
        assert not h.vm.shm.objects
        assert h.vm.alloc.free == h.vm.baseline_free


async def test_map_phys_and_contiguous_memory(autojump_clock: Any) -> None:
    async with booted() as h:
        h.machine.physmem.write(0x7000, b"frame buffer")

        async def user(p: Process) -> Any:
            a = await mmap(p, 3 * P, flags=ANON | MAP_CONTIG)
            await p.poke(a, b"dma")
            return await p.peek(h.notes["fb"], 12)

        async def driver(p: Process) -> Any:
            r = await call(p, VmMapPhys(0x7000, 12))
            assert r.status == errno.EINVAL  # the driver itself has no address space
            ep = h.spawn("user", user, priv=USER, stopped=True).endpoint
            assert (await call(p, VmExecNew(ep))).status == 0
            r = await call(p, VmMapPhys(0x7000, 12, for_ep=ep))
            assert r.status == 0
            h.notes["fb"] = r.value
            h.k.resume(h.k.lookup(ep))
            await h.wait_dead(p, ep)

        await h.run(driver)
        assert h.results["user"] == b"frame buffer"
        assert h.vm.alloc.free == h.vm.baseline_free


async def test_running_out_of_memory_is_never_a_crash(autojump_clock: Any) -> None:
    async with booted(memory=2 * 2**20) as h:  # 256 frames for everyone

        async def hog(p: Process) -> Any:
            a = await mmap(p, 400 * P)
            big = await call(p, VmMmap(0, 400 * P, RW, ANON | 0x0008))  # MAP_PREALLOC
            contig = await call(p, VmMmap(0, 300 * P, RW, ANON | MAP_CONTIG))
            h.notes["statuses"] = (big.status, contig.status)
            for i in range(400):
                await p.poke(a + i * P, b"x")  # runs out part-way: SIGSEGV

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "hog", hog)
            await h.wait_dead(p, ep)
            info = await p.sendrec(VM, VmInfo())
            assert isinstance(info, VmInfoReply)
            return h.killed_by(ep), info.free_frames, info.total_frames

        killed, free, total = await h.run(driver)
        assert h.notes["statuses"] == (errno.ENOMEM, errno.ENOMEM)
        assert killed == signal.SIGSEGV
        assert (free, total) == (h.vm.baseline_free, 512)
        assert h.check() == []


async def test_file_mappings_through_a_stand_in_vfs(autojump_clock: Any) -> None:
    async with booted() as h:
        content = bytes(range(256)) * 20  # 5120 bytes: a page and a bit
        files: dict[tuple[int, int], bytes] = {}
        log: list[Message] = []
        h.spawn("vfs", file_server(files, log), slot=VFS_SLOT, sig_mgr=0)

        async def user(p: Process) -> Any:
            a = (await call(p, VmMmap(0, 3 * P, RW, MAP_PRIVATE, fd=3))).value
            first = await p.peek(a + 250, 10)
            await p.poke(a, b"private")  # a write copies: the file is untouched
            b = (await call(p, VmMmap(0, 2 * P, PROT_READ, MAP_SHARED, fd=3, offset=P))).value
            again = await p.peek(b, 4)
            tail = await p.peek(a + P + 1020, 8)  # past the end of the file: zeros
            bad = await call(p, VmMmap(0, P, PROT_READ, MAP_PRIVATE, fd=9))
            wshared = await call(p, VmMmap(0, P, RW, MAP_SHARED, fd=3))
            await call(p, VmMunmap(a, 3 * P))
            await call(p, VmMunmap(b, 2 * P))
            return first, again, tail, bad.status, wshared.status

        async def driver(p: Process) -> Any:
            proc = h.spawn("user", user, priv=USER, stopped=True)
            files[(proc.endpoint, 3)] = content
            assert (await call(p, VmExecNew(proc.endpoint))).status == 0
            h.k.resume(proc)
            await h.wait_dead(p, proc.endpoint)
            return [type(m).__name__ for m in log]

        kinds = await h.run(driver)
        first, again, tail, bad, wshared = h.results["user"]
        assert first == content[250:260]
        assert again == content[P : P + 4]
        assert tail == content[P + 1020 : P + 1024] + bytes(4)
        assert (bad, wshared) == (9, errno.ENXIO)
        assert kinds.count("VmVfsOpen") == 3 and kinds.count("VmVfsClose") == 2
        assert kinds.count("VmVfsRead") == 3
        assert h.vm.alloc.free == h.vm.baseline_free


VFS_SLOT = 1


async def test_a_process_killed_while_its_page_is_read_in(autojump_clock: Any) -> None:
    async with booted() as h:
        files: dict[tuple[int, int], bytes] = {}
        log: list[Message] = []
        h.spawn("vfs", file_server(files, log, delay=1.0), slot=VFS_SLOT, sig_mgr=0)

        async def user(p: Process) -> Any:
            a = (await call(p, VmMmap(0, P, PROT_READ, MAP_PRIVATE, fd=4))).value
            await p.peek(a, 1)  # VFS takes a second to answer

        async def driver(p: Process) -> Any:
            proc = h.spawn("user", user, priv=USER, stopped=True)
            files[(proc.endpoint, 4)] = b"slow file"
            await call(p, VmExecNew(proc.endpoint))
            h.k.resume(proc)
            await p.sleep(1.5)  # the open is answered, the read is in flight
            await p.kill(proc.endpoint, signal.SIGKILL)
            await h.wait_dead(p, proc.endpoint)
            await p.sleep(3)  # VFS answers a read for a process that is gone
            return (await call(p, VmCheck())).status

        assert await h.run(driver) == 0
        assert h.vm.alloc.free == h.vm.baseline_free
        assert not h.vm.files.fills


async def test_pse_machine_with_the_kernel_in_large_pages(autojump_clock: Any) -> None:
    async with booted(pse=True) as h:

        async def user(p: Process) -> Any:
            a = await mmap(p, P)
            await p.poke(a, b"ok")
            await p.peek(KERNEL_BASE, 1)

        async def driver(p: Process) -> Any:
            return await _segv(h, p, user)

        assert await h.run(driver) == signal.SIGSEGV
        assert h.vm.kmap.tables == []


async def test_vm_info_and_a_silent_notification(autojump_clock: Any) -> None:
    async with booted() as h:

        async def driver(p: Process) -> Any:
            await p.notify(VM)  # a plain notification is ignored
            info = await p.sendrec(VM, VmInfo())
            return info

        info = await h.run(driver)
        assert info.status == 0
        assert info.total_frames == 4096
        assert info.free_frames == h.vm.baseline_free == info.largest_contig
        assert h.vm.baseline_free == 4096 - 256 - 1  # the kernel's shared page table


async def test_a_bug_in_vm_is_reported_not_fatal(
    autojump_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with booted() as h:

        def broken(self: Any, m: Any) -> Any:
            raise ZeroDivisionError("a bug")

        async def driver(p: Process) -> Any:
            # VM started before this process ran (it was spawned first)
            monkeypatch.setattr(type(h.server), "_info", broken)
            h.server._handlers[VmInfo] = h.server._info
            r = await call(p, VmInfo())
            ok = await call(p, VmMmap(0, 0, RW, ANON))  # VM still serves
            return r.status, ok.status

        assert await h.run(driver) == (errno.EIO, errno.EINVAL)
        assert len(h.server.bugs) == 1
        h.server.bugs.clear()


async def test_system_processes_may_act_for_others(autojump_clock: Any) -> None:
    async with booted() as h:

        async def user(p: Process) -> Any:
            await p.sendrec(30, Hello())
            return await p.peek(0x5000_0000, 3)

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "user", user, priv=USER.allowing(30))
            await p.receive(ep)
            r = await call(p, VmMmap(0x5000_0000, P, RW, ANON | MAP_FIXED, for_ep=ep))
            assert r.value == 0x5000_0000
            await p.datacopy_to(ep, 0x5000_0000, b"pm!")
            await p.send(ep, Hello())
            await h.wait_dead(p, ep)

        await h.run(driver, slot=30)
        assert h.results["user"] == b"pm!"
        assert Priv().sys_proc


async def test_vfs_own_copy_into_a_file_page_needs_handlemem(autojump_clock: Any) -> None:
    """MINIX's vfs_avail rule and the CPF_TRY-style recovery, with VFS never blocking on VM."""
    async with booted() as h:
        events: list[str] = []

        async def vfs(p: Process) -> None:
            handles: dict[int, bytes] = {}
            while True:
                m = await p.receive(ANY)
                if isinstance(m, VmVfsOpen):
                    handles[7] = b"file contents"
                    await p.send(m.m_source, VfsVmReply(m.req_id, 0, 7, 13))
                elif isinstance(m, VmVfsRead):
                    events.append("read")
                    data = handles[m.handle][m.offset : m.offset + m.length]
                    await p.datacopy_to(m.ep, m.addr, data)
                    await p.send(m.m_source, VfsVmReply(m.req_id, 0, len(data)))
                elif isinstance(m, Hello):  # the user's "read into my mapped buffer"
                    h.notes["user"], h.notes["buf"] = m.m_source, m.n
                    try:
                        await p.datacopy_to(m.m_source, m.n, b"READ")
                    except KernelError as exc:
                        events.append(f"copy {errno.errorcode[exc.errno or 0]}")
                        # never block on VM: ask asynchronously, keep serving
                        await p.senda(VM, VmHandleMem(m.m_source, m.n, 4, True))
                elif isinstance(m, VmReply):
                    events.append(f"handlemem {m.status}")
                    await p.datacopy_to(h.notes["user"], h.notes["buf"], b"READ")
                    await p.send(h.notes["user"], Hello())

        async def user(p: Process) -> Any:
            a = (await call(p, VmMmap(0, P, RW, MAP_PRIVATE, fd=5))).value
            await p.sendrec(VFS_SLOT, Hello(a))
            return await p.peek(a, 13)

        async def driver(p: Process) -> None:
            ep = await h.user(p, "user", user, priv=USER.allowing(VFS_SLOT))
            await h.wait_dead(p, ep)

        h.spawn("vfs", vfs, slot=VFS_SLOT, sig_mgr=0)
        await h.run(driver)
        assert events == ["copy EFAULT", "read", "handlemem 0"]
        assert h.results["user"] == b"READ contents"
        assert h.check() == []


async def test_file_mapping_errors_without_vfs_and_failed_reads(autojump_clock: Any) -> None:
    async with booted() as h:

        async def no_vfs(p: Process) -> Any:
            return (await call(p, VmMmap(0, P, PROT_READ, MAP_PRIVATE, fd=3))).status

        async def driver(p: Process) -> Any:
            ep = await h.user(p, "no_vfs", no_vfs)
            await h.wait_dead(p, ep)

        await h.run(driver)
        assert h.results["no_vfs"] == errno.EIO  # nobody at VFS's slot

    async with booted() as h:

        async def failing_vfs(p: Process) -> None:
            while True:
                m = await p.receive(ANY)
                if isinstance(m, VmVfsOpen):
                    await p.send(m.m_source, VfsVmReply(m.req_id, 0, 1, P))
                elif isinstance(m, VmVfsRead):
                    await p.send(m.m_source, VfsVmReply(m.req_id, errno.EIO))

        async def reader(p: Process) -> Any:
            a = (await call(p, VmMmap(0, P, PROT_READ, MAP_PRIVATE, fd=3))).value
            await p.peek(a, 1)

        async def driver2(p: Process) -> Any:
            return await _segv(h, p, reader)

        h.spawn("vfs", failing_vfs, slot=VFS_SLOT, sig_mgr=0)
        assert await h.run(driver2) == signal.SIGSEGV
        assert h.check() == []
        assert h.vm.alloc.free == h.vm.baseline_free
