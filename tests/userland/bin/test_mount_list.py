"""mount without operands lists the mount table; libc.getvfsstat on a booted system."""

from __future__ import annotations

import errno
from typing import Any

from chardev.drivers import services as char_drivers
from fs.lib import FsError, handle
from fs.protocol import FsReply
from fs.ramfs import RamFs
from kernel.errors import KernelError
from servers.rs.sef import sef_init_done, sef_receive, sef_startup
from servers.rs.service import ServiceSpec
from tests.pm.support import booted, errno_of
from userland import libc

ROOT = "ramfs on / type ramfs (rw)\n"


async def _fs2(p):
    """An empty ramfs living under RS: fs.lib.serve's loop with the SEF handshake."""
    await sef_startup(p)
    await sef_init_done(p, 0)
    fs = RamFs()
    fs.proc = p
    while True:
        m = await sef_receive(p)  # answers RS's heartbeats
        try:
            reply = await handle(fs, p, m)
        except (FsError, OSError, KernelError):
            reply = FsReply(tid=getattr(m, "tid", 0), status=errno.EIO)
        if reply is not None:
            await p.send(m.m_source, reply)


def _services():
    """The default drivers plus a second ramfs that ``mount -t fs2`` can mount."""
    return [*char_drivers(), ServiceSpec("fs2", lambda: _fs2)]


async def test_mount_lists_mounts_and_umount_removes(autojump_clock):
    async with booted(services=_services()) as system:
        before = await system.run(["/bin/mount"])
        as_user = await system.run(["/bin/mount"], uid=100)
        mounted = await system.sh("mkdir /mnt && mount -t fs2 none /mnt")
        relative = await system.sh("mkdir /mnt/sub && cd /tmp && mount -t fs2 none ../mnt/sub")
        listed = await system.sh("mount")
        unmounted = await system.sh("umount /mnt && mount")
    assert before == (0, ROOT)
    assert as_user == (0, ROOT)
    assert mounted == (0, "")
    # fs2 is already mounted: EBUSY, and the table is unchanged
    assert relative == (1, "mount: ../mnt/sub: Device or resource busy\n")
    assert listed == (0, ROOT + "none on /mnt type fs2 (rw)\n")
    assert unmounted == (0, ROOT)


async def test_mount_records_absolute_path_and_source(autojump_clock):
    async with booted(services=_services()) as system:
        await system.sh("mkdir -p /srv/data")
        out = await system.sh("cd /srv && mount -t fs2 /dev/null ./data/../data && mount")
    assert out == (0, ROOT + "/dev/null on /srv/data type fs2 (rw)\n")


async def test_libc_getvfsstat(autojump_clock):
    seen: dict[str, Any] = {}

    async def prog(argv):
        seen["root"] = await libc.getvfsstat()
        await libc.mkdir("/m")
        fs2 = await libc.service("lookup", "fs2")
        await libc.mount("/m", fs2, 0, "src")
        seen["two"] = [
            (s.f_mntonname, s.f_mntfromname, s.f_fstypename, s.f_flag)
            for s in await libc.getvfsstat()
        ]
        seen["ebusy"] = await errno_of(libc.umount("/"))
        await libc.umount("/m")
        seen["after"] = len(await libc.getvfsstat())
        return 0

    async with booted(services=_services()) as system:
        pid = await system.spawn(prog, ["prog"])
        status = await system.wait(pid)
    assert status == 0
    (root,) = seen["root"]
    assert (root.f_mntonname, root.f_mntfromname, root.f_fstypename) == ("/", "ramfs", "ramfs")
    assert root.f_flag & (libc.ST_RDONLY | libc.ST_NOSUID) == 0
    assert seen["two"] == [("/", "ramfs", "ramfs", 0), ("/m", "src", "fs2", 0)]
    assert seen["ebusy"] != 0
    assert seen["after"] == 1
