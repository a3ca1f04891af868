"""PM's side of the PM <-> VFS protocol, against a stand-in VFS in the boot image.

The stand-in answers every notice and serves one blocking call (``FakeRead``) that
only an unpause ends, with EINTR, as VFS's ``unpause`` does for a blocked pipe read.
"""

import errno
from dataclasses import dataclass

import anyio
import pytest

from asynix.bootimage import BOOT_IMAGE, SYS_PROC, BootEntry
from kernel.com import PM_PROC_NR, VFS_PROC_NR
from kernel.endpoint import ANY, NONE
from kernel.message import Message
from kernel.priv import SYSTEM_PRIV
from servers.pm import protocol as pmp
from tests.pm.support import booted
from userland import libc, programs
from userland.libc._syscall import call


@dataclass(slots=True)
class FakeRead(Message):
    """A call that blocks in the stand-in VFS until PM asks to unpause the caller."""


@dataclass(slots=True)
class FakeReply(Message):
    status: int = 0


def image_with_vfs(log, slow=0.0):
    """The boot image plus a stand-in VFS that takes ``slow`` seconds between messages."""

    async def vfs(proc):
        blocked = set()
        while True:
            if slow:
                await proc.sleep(slow)
            m = await proc.receive(ANY)
            if isinstance(m, FakeRead):
                blocked.add(m.m_source)
                log.append("read blocks")
                continue
            if isinstance(m, pmp.PmVfsUnpause):
                log.append("unpause")
                if m.ep in blocked:
                    blocked.discard(m.ep)
                    await proc.sendnb(m.ep, FakeReply(errno.EINTR))
            elif isinstance(m, pmp.PmVfsFork):
                log.append(("fork", m.parent == NONE, m.child_pid))
            elif isinstance(m, pmp.PmVfsExecRead):
                # Read the program the way VFS would, from the registry.
                path = (await proc.datacopy_from(m.ep, m.path, m.path_len)).decode()
                text = programs.contents(programs.installed()[path])
                await proc.safecopyto(m.m_source, m.grant, 0, text)
                log.append(m.mtype)
                await proc.senda(PM_PROC_NR, pmp.VfsPmReply(m.ep, m.mtype, 0, len(text)))
                continue
            else:
                log.append(m.mtype)
            assert m.m_source == PM_PROC_NR
            await proc.senda(
                PM_PROC_NR, pmp.VfsPmReply(m.ep if hasattr(m, "ep") else m.child, m.mtype)
            )

    entry = BootEntry(VFS_PROC_NR, "vfs", lambda ctx: vfs, SYSTEM_PRIV, SYS_PROC)
    kept = [e for e in BOOT_IMAGE if e.label not in ("vfs", "ramfs", "rs")]  # only PM talks to it
    return (*kept[:2], entry, *kept[2:])


@pytest.mark.parametrize(("policy", "seed"), [("fifo", 0), ("random", 1), ("pct", 1)])
async def test_a_signal_ends_a_call_blocked_in_vfs_with_eintr_and_runs_the_handler(
    autojump_clock, policy, seed
):
    log = []

    async def reader(argv):
        await libc.signal(libc.SIGUSR1, lambda s: log.append("handler"))
        try:
            await call(VFS_PROC_NR, FakeRead())
        except InterruptedError:
            log.append("EINTR")
        return 0

    async def sender(argv):
        await libc.kill(int(argv[1]), libc.SIGUSR1)
        return 0

    async with booted(image=image_with_vfs(log), policy=policy, seed=seed) as system:
        pid = await system.spawn(reader)
        await anyio.sleep(1)  # the reader waits in VFS
        await system.wait(await system.spawn(sender, ["sender", str(pid)]))
        assert await system.wait(pid) == 0
    # The handler ran as the call returned: PM had stopped the reader until VFS had
    # ended its call and PM had marked the signal.
    events = [e for e in log if e in ("read blocks", "unpause", "handler", "EINTR")]
    assert events == ["read blocks", "unpause", "handler", "EINTR"]


async def test_vfs_hears_of_fork_exec_ids_session_and_exit(autojump_clock):
    log = []

    async def after(argv):
        return 3

    async def prog(argv):
        async def child():
            await libc.setsid()
            await libc.setuid(7)
            await libc.execv("/bin/after", ["after"])

        _, status = await libc.waitpid(await libc.fork(child), 0)
        return libc.WEXITSTATUS(status)

    programs.register("/bin/after", after)
    try:
        async with booted(image=image_with_vfs(log)) as system:
            assert log == [("fork", True, 1)]  # init: a new process with nothing open
            pid = await system.spawn(prog)
            assert await system.wait(pid) == 3
    finally:
        programs.unregister("/bin/after")
    assert log[1:] == [
        ("fork", False, pid),  # spawned: a fork of init
        ("fork", False, pid + 1),
        "PmVfsSetsid",
        "PmVfsSetids",
        "PmVfsExecRead",
        "PmVfsExec",
        "PmVfsExit",
        "PmVfsExit",
    ]


async def test_a_signal_for_a_call_still_on_its_way_to_vfs_waits_for_it(autojump_clock):
    """The reader's call is queued at a slow VFS when the signal comes: PM holds the
    signal until VFS has the call (MINIX's DELAY_CALL), then unpauses it."""
    log = []

    async def reader(argv):
        await libc.signal(libc.SIGUSR1, lambda s: log.append("handler"))
        try:
            await call(VFS_PROC_NR, FakeRead())
        except InterruptedError:
            log.append("EINTR")
        return 0

    async def sender(argv):
        await libc.kill(int(argv[1]), libc.SIGUSR1)
        log.append("sent")
        return 0

    async with booted(image=image_with_vfs(log, slow=0.05)) as system:
        await anyio.sleep(1)
        pid = await system.spawn(reader)
        await anyio.sleep(0.01)  # the reader's call waits in VFS's queue
        await system.wait(await system.spawn(sender, ["sender", str(pid)]))
        with anyio.fail_after(100):  # without the delay the reader would wait forever
            assert await system.wait(pid) == 0
    events = [e for e in log if e in ("sent", "read blocks", "unpause", "handler", "EINTR")]
    assert events == ["sent", "read blocks", "unpause", "handler", "EINTR"]
