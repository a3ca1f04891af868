"""``asynix.boot()``: build the machine, start the boot image, hand back a :class:`System`.

Boot makes the machine (physical memory, an MMU with paging on: CR0 = PE|PG|WP,
CR4 = PSE|PGE), the kernel with the chosen scheduling policy and seed (and a tracer
when ``trace`` names a file), spawns the boot image's system processes in table
order (:mod:`asynix.bootimage`; VM first, which becomes ``kernel.vm_endpoint``), and
waits until RS has started the services of its table (each one up, or given up on)
and init is running. Inside the simulation the order is kept by IPC alone: RS notifies
PM once its boot services are up and PM lets init run only then (see
:mod:`servers.pm.hostcalls`), so init's first program finds the drivers mapped. PM
reports to the host when init first waits for its children (so a system booted
without a first program is idle when boot returns). On
leaving the ``async with`` block the kernel shuts down (every process is cancelled)
and the trace, if any, is written.

The host (your code, outside the simulation) talks to the system through the
:class:`System` it gets: each request goes into PM's host mailbox and PM is
interrupted (see :mod:`servers.pm.host`), so host requests pass through the kernel's
choice points like everything else. A run replays exactly from its seed when the host
makes its requests while the system is idle (on virtual time: after an
``await anyio.sleep(...)``); a request that arrives while processes run lands wherever
trio's own scheduling puts it.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Final

import anyio
import structlog

from asynix.bootimage import BOOT_IMAGE, SYS_PROC, USR_PROC, BootConfig, BootContext
from asynix.terminal import FakeTerminal
from kernel.com import PM_PROC_NR, RS_PROC_NR, VM_PROC_NR
from kernel.endpoint import NONE
from kernel.hw import CR0_PE, CR0_PG, CR0_WP, CR4_PGE, CR4_PSE, MMU, PhysicalMemory
from kernel.hw.console import Console
from kernel.kernel import Kernel
from kernel.policy import make_policy
from kernel.trace import Tracer
from servers.pm.host import HostMailbox, HostRequest, MeminfoRequest, SpawnRequest, WaitRequest
from servers.pm.protocol import HOST_IRQ
from servers.rs.host import RS_HOST_IRQ, KillServiceRequest
from userland import hostrun

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence

    from asynix.bootimage import BootEntry
    from servers.rs.service import ServiceSpec

_log = structlog.get_logger("asynix.boot")

DEFAULT_ENV: Final = {"PATH": "/bin:/sbin", "HOME": "/root", "TERM": "vt100"}
"""The environment :meth:`System.run` and :meth:`System.sh` give a command by default."""

BOOT_TIMEOUT: Final = 60.0
"""Seconds (of the kernel clock) boot waits for init before giving up."""


class System:
    """A booted asynix, as seen from the host.

    Attributes:
        kernel: the kernel (and through it the machine: ``kernel.physmem``,
            ``kernel.mmu``).
        config: the boot options.
        bodies: each boot process's body by label (``bodies["pm"].pm`` is PM's state,
            ``bodies["vm"].server`` VM's), for tests and the fuzzer.
        console: the fake terminal at the console (``send``, ``expect``, ``screen``...);
            the tty driver (``/dev/console``) is on the other side of its hardware.
    """

    def __init__(
        self,
        kernel: Kernel,
        mailbox: HostMailbox,
        config: BootConfig,
        bodies: dict[str, Any],
        console: FakeTerminal | None = None,
    ) -> None:
        self.kernel = kernel
        self.config = config
        self.bodies = bodies
        self.console = console if console is not None else FakeTerminal(Console())
        self._mailbox = mailbox

    async def _request(self, req: HostRequest) -> object:
        mailbox = self._mailbox
        if mailbox.failed is not None:
            raise RuntimeError("PM has failed") from mailbox.failed
        pm = self.kernel.find(PM_PROC_NR)
        if pm is None:
            raise RuntimeError("PM is not running")
        mailbox.requests.append(req)
        self.kernel.interrupt(HOST_IRQ, pm)
        await req.done.wait()
        if req.error is not None:
            raise req.error
        return req.result

    async def spawn(
        self,
        main: Callable[[list[str]], Awaitable[int]],
        argv: Sequence[str] | None = None,
        *,
        uid: int = 0,
    ) -> int:
        """Start ``main(argv)`` as a new child of init owned by ``uid``; returns its pid.

        ``main`` is a user program (``async def main(argv) -> int`` using only libc);
        ``argv`` defaults to ``[main.__name__]``. Returns once the process runs.

        Raises:
            OSError: EAGAIN when the process table is full, E2BIG, ENOMEM.
            ValueError: a bad uid.
        """
        args = [main.__name__] if argv is None else [str(a) for a in argv]
        pid = await self._request(SpawnRequest(main=main, argv=args, uid=uid))
        assert isinstance(pid, int)
        return pid

    async def wait(self, pid: int) -> int:
        """Wait until process ``pid`` has ended; returns like ``subprocess`` returncode.

        The exit status, or minus the number of the signal that killed it. Works for
        any pid PM knows, even after init has reaped it (for processes started with
        :meth:`spawn`, or waited for before they ended).

        Raises:
            ChildProcessError: no such process.
        """
        code = await self._request(WaitRequest(pid=pid))
        assert isinstance(code, int)
        return code

    async def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | str | None = None,
        uid: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        """Run the program at ``argv[0]`` with ``argv``; returns ``(status, output)``.

        A collector process (a child of init owned by ``uid``) forks, the child execs
        the program with a pipe as standard output and standard error and ``stdin``
        (text or bytes; ``/dev/null`` when None) as standard input, and the collector
        reads the output until end of file (:mod:`userland.hostrun`). ``status`` is
        ``subprocess``-style (minus the signal that killed the program); ``output``
        is stdout and stderr interleaved as written, decoded as UTF-8.

        Raises:
            OSError: the collector could not be started (EAGAIN, ENOMEM).
            RuntimeError: the collector died before the program ended.
        """
        data = stdin.encode() if isinstance(stdin, str) else stdin
        result = hostrun.Collected()
        environment = dict(DEFAULT_ENV if env is None else env)
        main = hostrun.collector(argv, data, environment, result)
        code = await self.wait(await self.spawn(main, ["collect", *argv], uid=uid))
        if result.status is None:
            raise RuntimeError(f"the collector of {list(argv)!r} ended with {code}")
        return result.status, result.output.decode("utf-8", "replace")

    async def sh(
        self,
        line: str,
        *,
        stdin: bytes | str | None = None,
        uid: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> tuple[int, str]:
        """Run ``line`` with ``/bin/sh -c``; returns ``(status, output)`` as :meth:`run`."""
        return await self.run(["/bin/sh", "-c", line], stdin=stdin, uid=uid, env=env)

    async def kill_service(self, label: str) -> None:
        """Crash the running instance of service ``label`` as a fault would; RS restarts it.

        The request goes to RS through its host mailbox and an interrupt (so it passes
        through the kernel's choice points); RS kills the instance with SIGSEGV and
        this returns once it is dead. RS then notices the death like any crash (a
        SIGKSIG), tells VFS, and restarts the service with a new endpoint.

        Raises:
            OSError: ESRCH when RS runs no service ``label`` (not in its table, down,
                or a boot process RS does not manage).
            RuntimeError: RS is not running.
        """
        rs_body = self.bodies.get("rs")
        mailbox = getattr(rs_body, "host", None)
        rs = self.kernel.find(RS_PROC_NR)
        if mailbox is None or rs is None:
            raise RuntimeError("RS is not running")
        if mailbox.failed is not None:
            raise RuntimeError("RS has failed") from mailbox.failed
        req = KillServiceRequest(label=label)
        mailbox.requests.append(req)
        self.kernel.interrupt(RS_HOST_IRQ, rs)
        await req.done.wait()
        if req.error is not None:
            raise req.error

    async def meminfo(self) -> dict[str, int]:
        """Memory and process counts: a dict of frames and processes.

        Keys: ``total_frames``, ``free_frames``, ``largest_contig`` (VM's frame
        accounting) and ``processes`` (entries in PM's table).
        """
        info = await self._request(MeminfoRequest())
        assert isinstance(info, dict)
        return info

    @property
    def bugs(self) -> list[BaseException]:
        """Exceptions PM, VM, DS and RS raised from their own code (each one is a bug)."""
        found: list[BaseException] = []
        for body in self.bodies.values():
            found.extend(getattr(body, "bugs", ()))  # DS
            for state in (getattr(body, "pm", None), getattr(body, "server", None)):
                found.extend(getattr(state, "bugs", ()))
            found.extend(getattr(getattr(body, "rs", None), "bugs", ()))
        return found


def _make_machine(memory: int) -> tuple[PhysicalMemory, MMU]:
    physmem = PhysicalMemory(memory)
    mmu = MMU(physmem)
    mmu.cr0 = CR0_PE | CR0_PG | CR0_WP
    mmu.cr4 = CR4_PSE | CR4_PGE
    return physmem, mmu


@asynccontextmanager
async def boot(
    *,
    memory: int = 64 * 2**20,
    seed: int = 0,
    policy: str = "fifo",
    workers: int = 9,
    trace: str | None = None,
    disk: str | None = None,
    init_program: Sequence[str] | None = None,
    max_procs: int | None = None,
    image: Sequence[BootEntry] | None = None,
    services: Sequence[ServiceSpec] | None = None,
    boottime: int | None = None,
) -> AsyncIterator[System]:
    """Boot asynix; ``async with asynix.boot() as system:``.

    Args:
        memory: physical memory in bytes (a multiple of 4096).
        seed: the seed of the scheduling policy (a run replays from it).
        policy: ``"fifo"``, ``"random"`` or ``"pct"``.
        workers: VFS worker tasks (kept for VFS).
        trace: a path that receives the Chrome trace-event/Perfetto JSON at shutdown.
        disk: a disk image file (kept for the disk driver).
        init_program: argv of the first program init starts (none by default).
        max_procs: the size of PM's process table (default: the kernel's NR_PROCS).
        image: the boot image to use instead of :data:`~asynix.bootimage.BOOT_IMAGE`.
        services: RS's service table instead of the default (every character driver,
            :func:`asynix.bootimage.services`).
        boottime: the time of day at boot in Unix seconds (whole seconds; ``date`` and file
            times count from it) instead of what the RTC shows: 2026-01-01 00:00:00 UTC
            on virtual time, the host's clock on real time (:mod:`kernel.hw.rtc`).

    Raises:
        ValueError: a bad memory size or policy name.
        RuntimeError: init did not start.
    """
    config = BootConfig(
        memory=memory,
        seed=seed,
        policy=policy,
        workers=workers,
        trace=trace,
        disk=disk,
        init_program=None if init_program is None else tuple(init_program),
        max_procs=max_procs,
        services=None if services is None else tuple(services),
    )
    table = BOOT_IMAGE if image is None else tuple(image)
    log = _log.bind(seed=seed, policy=policy)
    physmem, mmu = _make_machine(memory)
    kernel = Kernel(physmem, mmu, policy=make_policy(policy, seed), boottime=boottime)
    tracer = Tracer(kernel.clock) if trace is not None else None
    kernel.tracer = tracer
    mailbox = HostMailbox()
    ctx = BootContext(config, kernel, mailbox, table)
    system = System(kernel, mailbox, config, ctx.bodies, FakeTerminal(ctx.console))
    log.info("booting", memory=memory, processes=[e.label for e in table])
    async with kernel:
        try:
            for entry in table:
                body = entry.factory(ctx)
                ctx.bodies[entry.label] = body
                if not entry.flags & SYS_PROC:
                    continue
                p = kernel.spawn(entry.label, body, priv=entry.priv, slot=entry.slot, sig_mgr=NONE)
                if entry.slot == VM_PROC_NR:
                    kernel.vm_endpoint = p.endpoint
            # RS first: PM lets init run only once RS's boot services are up, so an
            # RS that failed would otherwise read as "init did not start".
            if any(e.slot == RS_PROC_NR and e.flags & SYS_PROC for e in table):
                with anyio.move_on_after(BOOT_TIMEOUT):
                    await ctx.rs_mailbox.services_up.wait()
                if ctx.rs_mailbox.failed is not None:
                    raise RuntimeError("RS failed during boot") from ctx.rs_mailbox.failed
            if any(e.flags & USR_PROC for e in table):
                with anyio.move_on_after(BOOT_TIMEOUT):
                    await mailbox.init_running.wait()
                if mailbox.failed is not None:
                    raise RuntimeError("PM failed during boot") from mailbox.failed
                if not mailbox.init_running.is_set():
                    raise RuntimeError("init did not start")
            log.info("running", clock=kernel.clock())
            yield system
        finally:
            system.console.close()
            kernel.shutdown()
            if tracer is not None and trace is not None:
                tracer.write(trace)
