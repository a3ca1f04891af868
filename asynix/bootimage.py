"""The boot image: which processes a booted asynix starts, in which slots, in what order.

This is MINIX's ``kernel/table.c``: one row per boot process, in boot order. A row
names the process-table slot (from :mod:`kernel.com`), a label, a factory that makes
its body from the boot context, its privileges and its flags:

- ``SYS_PROC``: a system process; boot spawns it itself, in table order, with no
  signal manager until RS exists (then RS);
- ``USR_PROC``: a user process; PM starts it (a fresh address space, argv on the
  stack). Only init is one. Its factory returns the program's ``main``, not a body.

VM comes first (every other process's memory depends on it and ``kernel.vm_endpoint``
must name it before anything faults), then PM, VFS and the root file system (ramfs,
populated from :mod:`asynix.rootfs`), DS, then RS (after VFS and DS, so that the
``VfsMapdriver`` and ``DsPublishLabel`` of the services it starts reach live servers);
init last.

The drivers are not boot-image rows: RS starts them from its *service table*
(:func:`services`; by default the character drivers of :mod:`chardev.drivers`), so
that it is their signal manager and restarts them when they die. The boot context
carries the machine's console hardware (:attr:`BootContext.console`), which RS's table
hands to the tty driver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from kernel.com import (
    DS_PROC_NR,
    INIT_PROC_NR,
    PM_PROC_NR,
    ROOT_FS_PROC_NR,
    RS_PROC_NR,
    VFS_PROC_NR,
    VM_PROC_NR,
)
from kernel.hw.console import Console
from kernel.priv import SYSTEM_PRIV, USER_PRIV, Priv

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from kernel.kernel import Kernel
    from servers.pm.host import HostMailbox
    from servers.rs.host import RsHostMailbox
    from servers.rs.service import ServiceSpec

SYS_PROC: Final = 0x1
"""A system process: boot spawns it."""
USR_PROC: Final = 0x2
"""A user process: PM starts it (init)."""

VFS_PRIV: Final = Priv(magic_grants=True)
"""VFS: a system process that may grant other processes' memory (magic grants)."""
USER_PROC_PRIV: Final = USER_PRIV.allowing(PM_PROC_NR, VM_PROC_NR, VFS_PROC_NR, RS_PROC_NR)
"""User processes: sendrec only, to PM, VM, VFS and RS."""


@dataclass(frozen=True)
class BootConfig:
    """The options of :func:`asynix.boot` (see there)."""

    memory: int = 64 * 2**20
    seed: int = 0
    policy: str = "fifo"
    workers: int = 9
    trace: str | None = None
    disk: str | None = None
    init_program: Sequence[str] | None = None
    max_procs: int | None = None
    services: Sequence[ServiceSpec] | None = None


@dataclass
class BootContext:
    """What a factory may use to build its process: the machine and the options.

    Attributes:
        config: the boot options.
        kernel: the kernel (its physical memory and MMU are the machine).
        mailbox: the host mailbox (PM's "device").
        image: the whole boot image (PM learns the other system processes from it).
        bodies: the process bodies made so far, by label (``asynix.System`` keeps them
            so that tests can read a server's state).
        rs_mailbox: RS's host mailbox (``System.kill_service`` posts there).
        console: the console hardware (keyboard and screen) the tty driver drives and
            ``System.console`` sits at.
    """

    config: BootConfig
    kernel: Kernel
    mailbox: HostMailbox
    image: Sequence[BootEntry]
    bodies: dict[str, Any] = field(default_factory=dict)
    rs_mailbox: RsHostMailbox = field(default_factory=lambda: _new_rs_mailbox())
    console: Console = field(default_factory=Console)


def _new_rs_mailbox() -> RsHostMailbox:
    from servers.rs.host import RsHostMailbox

    return RsHostMailbox()


@dataclass(frozen=True)
class BootEntry:
    """One row of the boot image."""

    slot: int
    label: str
    factory: Callable[[BootContext], Any]
    priv: Priv
    flags: int


def _vm(ctx: BootContext) -> Any:  # noqa: ANN401 - a process body
    from vm.server import make_vm

    return make_vm()


def _pm(ctx: BootContext) -> Any:  # noqa: ANN401 - a process body
    from servers.pm.main import PmConfig, make_pm
    from userland.programs import RUNTIME

    system = [(e.slot, e.label) for e in ctx.image if e.flags & SYS_PROC and e.slot != PM_PROC_NR]
    init = next((e for e in ctx.image if e.flags & USR_PROC), None)
    argv = ["init", *(ctx.config.init_program or ())]
    kwargs: dict[str, Any] = {}
    if ctx.config.max_procs is not None:
        kwargs["max_procs"] = ctx.config.max_procs
    return make_pm(
        PmConfig(
            runtime=RUNTIME,
            host=ctx.mailbox,
            user_priv=USER_PROC_PRIV,
            system=system,
            init=None if init is None else (init.factory(ctx), argv),
            init_slot=INIT_PROC_NR if init is None else init.slot,
            vfs=VFS_PROC_NR if any(e.slot == VFS_PROC_NR for e in ctx.image) else None,
            **kwargs,
        )
    )


def _vfs(ctx: BootContext) -> Any:  # noqa: ANN401 - a process body
    from vfs.main import make_vfs

    return make_vfs(workers=ctx.config.workers)


def _ramfs(ctx: BootContext) -> Any:  # noqa: ANN401 - a process body
    from asynix.rootfs import tree
    from fs.ramfs import make_ramfs

    return make_ramfs(tree())


def _ds(ctx: BootContext) -> Any:  # noqa: ANN401 - a process body
    from servers.ds.main import make_ds

    return make_ds()


def services(config: BootConfig, console: Console | None = None) -> Sequence[ServiceSpec]:
    """RS's service table: ``config.services``, or by default every character driver.

    A driver is one row of :data:`chardev.drivers.DRIVERS` (label, factory, major); the
    tty driver drives ``console``.
    """
    if config.services is not None:
        return config.services
    from chardev.drivers import services as char_drivers

    return char_drivers(console=console)


def _rs(ctx: BootContext) -> Any:  # noqa: ANN401 - a process body
    from servers.rs.main import RsConfig, make_rs

    def present(slot: int) -> int | None:
        return slot if any(e.slot == slot for e in ctx.image) else None

    return make_rs(
        RsConfig(
            services=services(ctx.config, ctx.console),
            host=ctx.rs_mailbox,
            ds=present(DS_PROC_NR),
            vfs=present(VFS_PROC_NR),
        )
    )


def _init(ctx: BootContext) -> Any:  # noqa: ANN401 - a program main
    from userland import init

    return init.main


BOOT_IMAGE: Final[tuple[BootEntry, ...]] = (
    #          slot           label   factory  privileges       flags
    BootEntry(VM_PROC_NR, "vm", _vm, SYSTEM_PRIV, SYS_PROC),
    BootEntry(PM_PROC_NR, "pm", _pm, SYSTEM_PRIV, SYS_PROC),
    BootEntry(VFS_PROC_NR, "vfs", _vfs, VFS_PRIV, SYS_PROC),
    BootEntry(ROOT_FS_PROC_NR, "ramfs", _ramfs, SYSTEM_PRIV, SYS_PROC),
    BootEntry(DS_PROC_NR, "ds", _ds, SYSTEM_PRIV, SYS_PROC),
    BootEntry(RS_PROC_NR, "rs", _rs, SYSTEM_PRIV, SYS_PROC),
    BootEntry(INIT_PROC_NR, "init", _init, USER_PROC_PRIV, USR_PROC),
)
"""The boot image, in boot order."""
