"""service, mount, umount: RS restarts a driver that keeps working; errors and usage."""

from tests.pm.support import booted
from tests.userland.bin.psupport import installed, run_all
from userland import libc
from userland.libc import stdio


async def _readhello(argv):
    try:
        fd = await libc.open("/dev/hello", libc.O_RDONLY)
        await stdio.write_all(1, await libc.read(fd, 100))
        await libc.close(fd)
    except OSError as exc:
        await stdio.error("readhello", stdio.strerror(exc))
        return 1
    return 0


async def test_service(autojump_clock):
    with installed(readhello=_readhello):
        async with booted() as system:
            results = await run_all(
                system,
                [
                    ["/bin/service", "lookup", "hello"],
                    ["/bin/service", "restart", "hello"],
                    ["/bin/service", "lookup", "hello"],
                    ["/bin/readhello"],
                    ["/bin/service", "refresh", "hello"],
                    ["/bin/service", "update", "hello"],
                    ["/bin/readhello"],
                    ["/bin/service", "down", "hello"],
                    ["/bin/readhello"],
                    ["/bin/service", "down", "hello", "nosuch"],
                    ["/bin/service", "up", "hello"],
                    ["/bin/service", "up", "hello"],
                    ["/bin/readhello"],
                    ["/bin/service"],
                    ["/bin/service", "start", "hello"],
                    ["/bin/service", "up"],
                ],
            )
            as_user = await system.run(["/bin/service", "restart", "hello"], uid=100)
            lookup_as_user = await system.run(["/bin/service", "lookup", "tty"], uid=100)
    (s1, first), _, (s3, second), *rest = results
    assert (s1, s3) == (0, 0)
    label, old = first.split()
    assert label == "hello"
    assert second.split()[0] == "hello"
    assert second.split()[1] != old  # a new instance, a new endpoint
    usage = "usage: service up|down|restart|refresh|update|lookup label...\n"
    hello = (0, "Hello, World!\n")
    assert [results[1], *rest] == [
        (0, ""),
        hello,
        (0, ""),
        (0, ""),
        hello,
        (0, ""),
        (1, "readhello: No such device or address\n"),
        (1, "service: hello: No such process\nservice: nosuch: No such process\n"),
        (0, ""),
        (1, "service: hello: Device or resource busy\n"),
        hello,
        (2, "service: missing action\n" + usage),
        (2, "service: start: unknown action\n" + usage),
        (2, "service: missing label\n" + usage),
    ]
    assert as_user == (1, "service: hello: Operation not permitted\n")
    assert lookup_as_user[0] == 0
    assert lookup_as_user[1].startswith("tty ")


async def test_mount_umount_sync(autojump_clock):
    async with booted() as system:
        results = await run_all(
            system,
            [
                ["/bin/mount"],
                ["/bin/mount", "none", "/tmp"],
                ["/bin/mount", "-t", "nosuchfs", "none", "/tmp"],
                ["/bin/mount", "-t", "hello", "/nonexistent", "/tmp"],
                ["/bin/mount", "-t", "hello", "/etc/passwd", "/tmp"],
                ["/bin/umount", "/tmp", "/nonexistent"],
                ["/bin/umount"],
                ["/bin/sync"],
            ],
        )
        as_user = await system.run(["/bin/mount", "-t", "hello", "none", "/tmp"], uid=100)
    usage = "usage: mount -t type source dir\n"
    assert results == [
        (0, "ramfs on / type ramfs (rw)\n"),  # no operands: the mount table
        (2, usage),
        (1, "mount: nosuchfs: No such process\n"),
        (1, "mount: /nonexistent: No such file or directory\n"),
        (1, "mount: /etc/passwd: Block device required\n"),
        (
            1,
            "umount: /tmp: Invalid argument\numount: /nonexistent: No such file or directory\n",
        ),
        (2, "umount: missing operand\nusage: umount dir...\n"),
        (0, ""),
    ]
    assert as_user == (1, "mount: /tmp: Operation not permitted\n")
