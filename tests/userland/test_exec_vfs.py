"""exec reads the program file through VFS: paths, permissions and contents count."""

import errno

import pytest

from tests.pm.support import run
from userland import libc, programs


async def hello(argv):
    return 7


@pytest.fixture
def installed():
    programs.register("/bin/hello_exec_vfs", hello)
    yield "/bin/hello_exec_vfs"
    programs.unregister("/bin/hello_exec_vfs")


async def _copy(src, dst, mode):
    fd = await libc.open(src, libc.O_RDONLY)
    data = await libc.read(fd, 4096)
    await libc.close(fd)
    fd = await libc.open(dst, libc.O_WRONLY | libc.O_CREAT | libc.O_TRUNC, mode)
    await libc.write(fd, data)
    await libc.close(fd)


async def _exec_errno(path):
    async def child():
        try:
            await libc.execv(path, [path])
        except OSError as exc:
            return exc.errno
        return 0

    _, status = await libc.waitpid(await libc.fork(child), 0)
    return libc.WEXITSTATUS(status) if libc.WIFEXITED(status) else -1


async def test_a_copy_of_a_program_made_at_run_time_runs(autojump_clock, installed):
    async def prog(argv):
        await _copy(installed, "/tmp/copy", 0o755)
        await libc.chdir("/tmp")
        await libc.execv("copy", ["copy"])  # relative to the cwd, found through VFS
        return 1

    assert await run(prog) == 7


async def test_exec_checks_type_and_permission_as_the_caller(autojump_clock, installed):
    seen = {}

    async def prog(argv):
        await _copy(installed, "/tmp/noexec", 0o644)
        await _copy(installed, "/tmp/rootonly", 0o700)
        fd = await libc.open("/tmp/text", libc.O_WRONLY | libc.O_CREAT, 0o755)
        await libc.write(fd, b"just some text\n")
        await libc.close(fd)
        seen["noexec"] = await _exec_errno("/tmp/noexec")
        seen["dir"] = await _exec_errno("/tmp")
        seen["text"] = await _exec_errno("/tmp/text")
        seen["missing"] = await _exec_errno("/tmp/missing")
        seen["notdir"] = await _exec_errno("/tmp/text/x")
        seen["root"] = await _exec_errno("/tmp/rootonly")

        async def as_user():
            await libc.setuid(100)
            return await _exec_errno("/tmp/rootonly")

        _, status = await libc.waitpid(await libc.fork(as_user), 0)
        seen["user"] = libc.WEXITSTATUS(status)
        return 0

    assert await run(prog) == 0
    assert seen == {
        "noexec": errno.EACCES,
        "dir": errno.EACCES,
        "text": errno.ENOEXEC,
        "missing": errno.ENOENT,
        "notdir": errno.ENOTDIR,
        "root": 7,  # root may run what any execute bit allows
        "user": errno.EACCES,
    }
