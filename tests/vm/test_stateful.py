"""Random programs of mmap, munmap, mprotect, fork, writes, reads and exits against a model.

Each program is drawn whole by hypothesis and run in one go (hypothesis-trio is
broken, so no RuleBasedStateMachine over trio): once on VM's operations directly, and
once on the real system, where each step is a real user process's IPC, page fault or
a system process's kernel copy, and VM's invariant checker (VmCheck) runs after every
step. A failing program is printed step by step (and hypothesis prints it too).
"""

from __future__ import annotations

import errno
import signal
import zlib
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings

from kernel.com import VM_PROC_NR
from kernel.errors import KernelError
from kernel.message import Message
from tests.vm.harness import booted
from tests.vm.model import ARENA, MAX_PROCS, PAGES, PROGRAMS, Model, clamp, describe
from tests.vm.simple import Segv, box
from vm import fork, mmap
from vm.errors import VmError
from vm.protocol import (
    MAP_ANON,
    MAP_FIXED,
    MAP_PRIVATE,
    MAP_SHARED,
    VmCheck,
    VmFork,
    VmInfo,
    VmMmap,
    VmMprotect,
    VmMunmap,
)

P = 4096
COORD_SLOT = 20


def _flags(shared: bool, fixed: bool) -> int:
    return (MAP_SHARED if shared else MAP_PRIVATE) | MAP_ANON | (MAP_FIXED if fixed else 0)


def _mmap_expect(model: Model, who: int, first: int, n: int, fixed: bool, got: int) -> bool:
    """Check where VM put a mapping; returns whether it landed in the arena."""
    addr = ARENA + first * P
    if fixed or model.free(who, first, n):
        assert got == addr, f"mmap at {got:#x}, expected {addr:#x}"
        return True
    assert not ARENA - n * P < got < ARENA + PAGES * P, f"mmap hint ignored badly: {got:#x}"
    return False


# -- VM's operations alone ---------------------------------------------------------------


@settings(max_examples=300)
@given(PROGRAMS)
def test_programs_on_vm_operations(program: Any) -> None:
    try:
        _run_direct(program)
    except BaseException:
        print("failing program:\n" + describe(program))
        raise


def _run_direct(program: list[tuple[Any, ...]]) -> None:
    b = box(memory=4 * 2**20)
    model = Model()
    spaces = {100: b.space(100)}
    model.spawn(100)
    live = [100]
    next_pid = 101
    for step in program:
        if not live:
            spaces[next_pid] = b.space(next_pid)
            model.spawn(next_pid)
            live.append(next_pid)
            next_pid += 1
        op, who = step[0], live[step[1] % len(live)]
        sp = spaces[who]
        died = False
        if op == "mmap":
            _, _, first, n, prot, shared, fixed = step
            n = clamp(first, n)
            m = VmMmap(ARENA + first * P, n * P, prot, _flags(shared, fixed))
            mmap.validate_mmap(m)
            got = mmap.mmap_anon(b.vm, sp, m)
            if _mmap_expect(model, who, first, n, fixed, got):
                model.munmap(who, first, n)
                model.mmap(who, first, n, prot, shared)
        elif op == "munmap":
            _, _, first, n = step
            n = clamp(first, n)
            mmap.unmap(b.vm, sp, ARENA + first * P, n * P)
            model.munmap(who, first, n)
        elif op == "mprotect":
            _, _, first, n, prot = step
            n = clamp(first, n)
            code = 0
            try:
                mmap.protect(b.vm, sp, ARENA + first * P, n * P, prot)
            except VmError as exc:
                code = exc.errno or 0
            assert code in (0, errno.ENOMEM)
            assert (code == 0) == model.mprotect(who, first, n, prot), step
        elif op == "fork":
            if len(live) < MAX_PROCS:
                spaces[next_pid] = fork.fork(b.vm, sp, next_pid, f"p{next_pid}", eager=False)
                model.fork(who, next_pid)
                live.append(next_pid)
                next_pid += 1
        elif op in ("write", "kwrite"):
            _, _, target, off, value = step
            page = model.page(who, target)
            va = ARENA + page * P + off
            if model.writable(who, page):
                b.write(sp, va, bytes([value]))
                model.write(who, page, off, value)
            else:
                died = _expect_segv(b.write, sp, va, bytes([value]))
        elif op in ("read", "kread"):
            _, _, target = step
            page = model.page(who, target)
            va = ARENA + page * P
            if model.readable(who, page):
                assert b.read(sp, va, P) == model.read(who, page), step
            else:
                died = _expect_segv(b.read, sp, va, 1)
        elif op == "exit":
            died = True
        if died:
            b.vm.free_space(sp)
            model.exit(who)
            live.remove(who)
        b.ok()
    for who in live:
        b.vm.free_space(spaces[who])
    b.ok()
    assert b.vm.alloc.free == b.vm.baseline_free


def _expect_segv(fn: Any, *args: Any) -> bool:
    try:
        fn(*args)
    except Segv:
        return True
    raise AssertionError("the access should have been refused")


# -- the real system ---------------------------------------------------------------------


@dataclass(slots=True)
class Cmd(Message):
    op: str
    args: tuple[int, ...] = ()


@dataclass(slots=True)
class Done(Message):
    status: int = 0
    value: int = 0


async def _user(p: Any) -> None:
    """A user process that runs the coordinator's commands until told to exit."""
    done = Done()
    coord = p.kernel.proc_at(COORD_SLOT).endpoint
    while True:
        cmd = await p.sendrec(coord, done)
        done = Done()
        if cmd.op == "exit":
            return
        if cmd.op == "write":
            await p.poke(cmd.args[0], bytes([cmd.args[1]]))
        elif cmd.op == "read":
            done.value = zlib.crc32(await p.peek(cmd.args[0], P))
        else:
            msg = {"mmap": VmMmap, "munmap": VmMunmap, "mprotect": VmMprotect}[cmd.op](*cmd.args)
            r = await p.sendrec(VM_PROC_NR, msg)
            done.status, done.value = r.status, r.value


@settings(max_examples=120, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(program=PROGRAMS)
async def test_programs_on_the_real_system(autojump_clock: Any, program: Any) -> None:
    async with booted(memory=8 * 2**20) as h:

        async def coordinator(p: Any) -> None:
            try:
                await _coordinate(h, p, program)
            except BaseException:
                print("failing program:\n" + describe(program))
                print("VM report:", h.server.report)
                raise

        await h.run(coordinator, slot=COORD_SLOT)


async def _coordinate(h: Any, p: Any, program: list[tuple[Any, ...]]) -> None:
    model = Model()
    first_ep = await h.user(p, "p0", _user, priv=_user_priv())
    await p.receive(first_ep)
    model.spawn(first_ep)
    live = [first_ep]
    spawned = 1

    async def command(ep: int, op: str, *args: int) -> Done | None:
        """Run one command in ``ep``; None if the process died doing it."""
        await p.send(ep, Cmd(op, args))
        try:
            r = await p.receive(ep)
        except KernelError:
            return None
        assert isinstance(r, Done)
        return r

    async def check() -> None:
        r = await p.sendrec(VM_PROC_NR, VmCheck())
        assert r.status == 0, "\n".join(h.server.report)

    for step in program:
        if not live:
            ep = await h.user(p, f"p{spawned}", _user, priv=_user_priv())
            spawned += 1
            await p.receive(ep)
            model.spawn(ep)
            live.append(ep)
        op, who = step[0], live[step[1] % len(live)]
        died = False
        if op == "mmap":
            _, _, first, n, prot, shared, fixed = step
            n = clamp(first, n)
            r = await command(who, "mmap", ARENA + first * P, n * P, prot, _flags(shared, fixed))
            assert r is not None and r.status == 0, r
            if _mmap_expect(model, who, first, n, fixed, r.value):
                model.munmap(who, first, n)
                model.mmap(who, first, n, prot, shared)
        elif op == "munmap":
            _, _, first, n = step
            n = clamp(first, n)
            r = await command(who, "munmap", ARENA + first * P, n * P)
            assert r is not None and r.status == 0, r
            model.munmap(who, first, n)
        elif op == "mprotect":
            _, _, first, n, prot = step
            n = clamp(first, n)
            r = await command(who, "mprotect", ARENA + first * P, n * P, prot)
            assert r is not None
            assert (r.status == 0) == model.mprotect(who, first, n, prot), r
            assert r.status in (0, errno.ENOMEM)
        elif op == "fork":
            if len(live) < MAX_PROCS:
                child = h.spawn(f"p{spawned}", _user, priv=_user_priv(), stopped=True)
                spawned += 1
                r = await p.sendrec(VM_PROC_NR, VmFork(who, child.endpoint))
                assert r.status == 0, r
                h.k.resume(child)
                await p.receive(child.endpoint)
                model.fork(who, child.endpoint)
                live.append(child.endpoint)
        elif op == "write":
            _, _, target, off, value = step
            page = model.page(who, target)
            r = await command(who, "write", ARENA + page * P + off, value)
            died = r is None
            assert died != model.writable(who, page), step
            if not died:
                model.write(who, page, off, value)
        elif op == "read":
            _, _, target = step
            page = model.page(who, target)
            r = await command(who, "read", ARENA + page * P)
            died = r is None
            assert died != model.readable(who, page), step
            if r is not None:
                assert r.value == zlib.crc32(model.read(who, page)), step
        elif op == "kwrite":
            _, _, target, off, value = step
            page = model.page(who, target)
            code = 0
            try:
                await p.datacopy_to(who, ARENA + page * P + off, bytes([value]))
            except KernelError as exc:
                code = exc.errno or 0
            assert code == (0 if model.writable(who, page) else errno.EFAULT), step
            if not code:
                model.write(who, page, off, value)
        elif op == "kread":
            _, _, target = step
            page = model.page(who, target)
            got, code = b"", 0
            try:
                got = await p.datacopy_from(who, ARENA + page * P, P)
            except KernelError as exc:
                code = exc.errno or 0
            assert code == (0 if model.readable(who, page) else errno.EFAULT), step
            if not code:
                assert got == model.read(who, page), step
        elif op == "exit":
            assert await command(who, "exit") is None
        if died or op == "exit":
            await h.wait_dead(p, who)
            assert bool(h.deaths[who] & (1 << signal.SIGSEGV)) == died
            model.exit(who)
            live.remove(who)
        await check()
    for ep in live:
        assert await command(ep, "exit") is None
    await h.wait_dead(p, *live)
    await check()
    info = await p.sendrec(VM_PROC_NR, VmInfo())
    assert info.free_frames == h.vm.baseline_free


def _user_priv() -> Any:
    from tests.vm.harness import USER

    return USER.allowing(COORD_SLOT)
