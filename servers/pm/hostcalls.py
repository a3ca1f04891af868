"""PM's start-up, and the requests the host puts in PM's mailbox.

Start-up: PM enters itself (pid 0) and the boot image's other system processes (pids
2, 3, ... in boot order) in its table, then starts init as pid 1 in its kernel slot,
the way it starts every program that is not forked: :func:`start_program`. When RS is
in the boot image, init stays stopped until RS notifies PM that its boot services are
up (:func:`boot_services_up`): MINIX's RS lets init run (``SYS_PRIV_ALLOW``) from its
boot-image loop, so nothing in userland runs before the boot services it depends on
(init's first program opens ``/dev/console`` with the tty driver mapped).

Host requests (see :mod:`servers.pm.host`):

- spawn: a new child of init running ``main(argv)``, as if init had forked and
  exec'd it: stopped in a fresh kernel slot, a new address space with argv (and a
  small default environment) on its stack, VFS told (a fork of init, so it inherits
  init's descriptors), then resumed. Its end is recorded for ``System.wait`` even
  after init reaps it. uid and gid are ``uid``;
- wait: answered when that pid has ended (at once if it already has), with the
  ``subprocess``-style return code: the exit status, or minus the killing signal.
  ChildProcessError for a pid PM does not know;
- meminfo: VM's frame accounting, plus the number of processes in PM's table.
"""

from __future__ import annotations

import errno
import os
from typing import TYPE_CHECKING, Any, Final

import structlog

from kernel.com import RS_PROC_NR
from kernel.endpoint import NONE
from kernel.errors import KernelError
from servers.pm.execve import build_stack, load_image
from servers.pm.forkexit import returncode
from servers.pm.host import HostRequest, MeminfoRequest, SpawnRequest, WaitRequest
from servers.pm.mproc import HOST, PRIV_PROC, ZOMBIE, MProc
from servers.pm.protocol import INIT_PID, MAX_ID, PM_PID, PmVfsFork, PmVfsSetids
from vm.protocol import VmExit, VmInfo, VmInfoReply

if TYPE_CHECKING:
    from collections.abc import Callable

    from servers.pm.execve import Program
    from servers.pm.main import Pm

_log = structlog.get_logger("asynix.pm")

DEFAULT_ENV: Final = (b"PATH=/bin:/usr/bin", b"HOME=/")
"""The environment of init and of host-spawned programs."""


async def startup(pm: Pm) -> None:
    """Enter the system processes, then start init."""
    cfg = pm.config
    table = pm.table
    me = table.add(MProc(PM_PID, pm.proc.endpoint, "pm", PM_PID, flags=PRIV_PROC))
    for ep, label in cfg.system:
        table.add(MProc(table.free_pid(), ep, label, PM_PID, flags=PRIV_PROC))
    pm.rs_booting = any(ep == RS_PROC_NR for ep, _label in cfg.system)
    if cfg.init is not None:
        main, argv = cfg.init
        pm.init = await start_program(
            pm, cfg.runtime.program(main), argv, me, 0, slot=cfg.init_slot, pid=INIT_PID
        )
    _log.info("PM up", processes=len(table), init=pm.init is not None)


async def start_program(
    pm: Pm,
    program: Program,
    argv: list[str],
    parent: MProc,
    uid: int,
    *,
    slot: int | None = None,
    pid: int | None = None,
    flags: int = 0,
    started: Callable[[MProc, int], None] | None = None,
) -> MProc:
    """Start ``program`` as a new child of ``parent`` (init's way, and spawn's).

    ``pid`` INIT_PID makes a session and group leader (init). ``started(mp, status)``
    is called once the process runs (status 0) or has been undone (an errno).

    Raises:
        OSError: EAGAIN (table full), E2BIG, ENOMEM (VM).
    """
    table = pm.table
    if table.full(root=True):
        raise OSError(errno.EAGAIN, "process table full")
    sp, frame = build_stack([os.fsencode(a) for a in argv], list(DEFAULT_ENV))
    name = os.path.basename(argv[0]) if argv and argv[0] else "?"
    image = pm.config.runtime.image(program.main, sp)
    try:
        ep = await pm.proc.spawn(name, image, priv=pm.config.user_priv, slot=slot, stopped=True)
    except KernelError as exc:
        raise OSError(errno.EAGAIN, str(exc)) from None
    pid = table.free_pid() if pid is None else pid
    leader = pid == INIT_PID
    mp = table.add(
        MProc(
            pid,
            ep,
            name,
            parent.pid,
            flags=flags,
            uid=uid,
            euid=uid,
            suid=uid,
            gid=uid,
            egid=uid,
            sgid=uid,
            pgrp=pid if leader else parent.pgrp,
            sid=pid if leader else parent.sid,
        )
    )
    try:
        await load_image(pm, ep, program.text, sp, frame)
    except OSError:
        await _undo(pm, mp)
        raise

    async def told(status: int) -> None:
        if not status and (mp.uid, mp.gid) != (parent.uid, parent.gid):
            # VFS copied the parent's ids with the fork: give it the new ones first.
            await pm.tell_vfs(mp, PmVfsSetids(ep, mp.uid, mp.euid, mp.gid, mp.egid), ready)
        else:
            await ready(status)

    async def ready(status: int) -> None:
        if status:
            await _undo(pm, mp)
        elif leader and pm.rs_booting:
            pm.init_held = True  # init runs once RS's boot services are up
        else:
            await pm.kresume(mp)
        if started is not None:
            started(mp, status)

    parent_ep = NONE if parent.flags & PRIV_PROC else parent.endpoint
    await pm.tell_vfs(mp, PmVfsFork(parent_ep, ep, pid), told)
    return mp


async def boot_services_up(pm: Pm) -> None:
    """RS notified PM: its boot services are up (or given up on); let init run.

    RS notifies PM once, when the last service of its boot table has finished starting
    (MINIX's RS allows init to run from its boot-image loop). init is resumed now if
    it is ready (else as soon as it is); later notifications from RS change nothing.
    """
    if not pm.rs_booting:
        return
    pm.rs_booting = False
    _log.info("boot services up", init_held=pm.init_held)
    if pm.init_held and pm.init is not None:
        pm.init_held = False
        await pm.kresume(pm.init)


async def _undo(pm: Pm, mp: MProc) -> None:
    await pm.kclear(mp.endpoint)
    await pm.vm_call(VmExit(mp.endpoint))
    pm.table.remove(mp)


# -- the mailbox -----------------------------------------------------------------------------


async def drain(pm: Pm) -> None:
    """HARDWARE notified PM: answer every request in the mailbox."""
    host = pm.config.host
    while host.requests:
        req = host.requests.popleft()
        try:
            await _serve(pm, req)
        except OSError as exc:
            req.answer(error=exc)
        except Exception as exc:
            pm.bug(exc, None)
            req.answer(error=exc)


async def _serve(pm: Pm, req: HostRequest) -> None:
    if isinstance(req, SpawnRequest):
        await _spawn(pm, req)
    elif isinstance(req, WaitRequest):
        _wait(pm, req)
    elif isinstance(req, MeminfoRequest):
        await _meminfo(pm, req)
    else:
        req.answer(error=TypeError(f"unknown host request {type(req).__name__}"))


async def _spawn(pm: Pm, req: SpawnRequest) -> None:
    if pm.init is None or not pm.init.alive:
        req.answer(error=RuntimeError("init is not running"))
        return
    if not 0 <= req.uid <= MAX_ID:
        req.answer(error=ValueError(f"bad uid {req.uid}"))
        return

    def started(mp: MProc, status: int) -> None:
        if status:
            req.answer(error=OSError(status, os.strerror(status)))
        else:
            req.answer(mp.pid)

    await start_program(
        pm,
        pm.config.runtime.program(req.main),
        req.argv,
        pm.init,
        req.uid,
        flags=HOST,
        started=started,
    )


def _wait(pm: Pm, req: WaitRequest) -> None:
    pid = req.pid
    if pid in pm.host_exits:
        req.answer(pm.host_exits[pid])
        return
    mp = pm.table.by_pid.get(pid)
    if mp is None or mp.flags & PRIV_PROC:
        req.answer(error=ChildProcessError(errno.ECHILD, f"no process {pid}"))
        return
    if mp.flags & ZOMBIE:
        req.answer(returncode(mp.status))
        return
    mp.flags |= HOST
    pm.host_waits.setdefault(pid, []).append(req)
    pm.config.host.waiting.append(req)


def host_exited(pm: Pm, pid: int) -> None:
    """A host-watched process has ended: answer the host's waits for it."""
    waits = pm.host_waits.pop(pid, [])
    host = pm.config.host
    for req in waits:
        if req in host.waiting:
            host.waiting.remove(req)
        req.answer(pm.host_exits[pid])


async def _meminfo(pm: Pm, req: MeminfoRequest) -> None:
    reply: Any = await pm.proc.sendrec(pm.config.vm, VmInfo())
    if not isinstance(reply, VmInfoReply) or reply.status:
        req.answer(error=OSError(errno.EIO, "VM did not answer VmInfo"))
        return
    req.answer(
        {
            "total_frames": reply.total_frames,
            "free_frames": reply.free_frames,
            "largest_contig": reply.largest_contig,
            "processes": len(pm.table),
        }
    )
