"""Helpers for the file and text command tests (test_fcmd_*.py)."""

from __future__ import annotations

import pytest

from userland import libc, programs


async def expect(system, argv, output="", status=0, stdin=None):
    """Run ``argv`` and assert its exact output and status."""
    got = await system.run(argv, stdin=stdin)
    assert got == (status, output), f"{argv!r}: {got!r}"


async def usage_error(system, argv, message):
    """Assert ``argv`` is refused with status 2, ``message`` and a usage line."""
    status, out = await system.run(argv)
    assert status == 2, (argv, status, out)
    lines = out.splitlines()
    assert lines[0] == message, (argv, out)
    assert lines[1].startswith("usage: "), (argv, out)
    assert len(lines) == 2, (argv, out)


async def put(system, path, text):
    """Make file ``path`` hold ``text`` (written by /bin/tee)."""
    assert await system.run(["/bin/tee", path], stdin=text) == (0, text)


async def _redirect(argv):
    """``/bin/fcmd-redirect FILE PROG ARG...``: run PROG with standard output on FILE."""
    fd = await libc.open(argv[1], libc.O_WRONLY | libc.O_CREAT | libc.O_TRUNC, 0o644)
    await libc.dup2(fd, 1)
    await libc.close(fd)
    await libc.execv(argv[2], argv[2:])
    return 127


REDIRECT = "/bin/fcmd-redirect"


@pytest.fixture(name="redirect")
def redirect_fixture():
    """Install :data:`REDIRECT` (binary output lands in a file, checked with od)."""
    programs.register(REDIRECT, _redirect)
    yield REDIRECT
    programs.unregister(REDIRECT)


def od_x1(data):
    """What ``od -An -v -t x1`` prints for ``data``."""
    return "".join(
        "".join(f" {b:02x}" for b in data[i : i + 16]) + "\n" for i in range(0, len(data), 16)
    )
