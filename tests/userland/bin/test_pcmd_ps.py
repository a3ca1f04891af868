"""ps: the header, every process of PM's table (system ones bracketed), states, usage."""

import re

from tests.pm.support import booted
from tests.userland.bin.psupport import installed, run_all
from userland import libc
from userland.libc import stdio

SYSTEM = ["[pm]", "init", "[vm]", "[vfs]", "[ramfs]", "[ds]", "[rs]"]


async def _family(argv):
    """A stopped child, a zombie child, then ``ps ARGS`` as a third child."""

    async def pause():
        while True:
            await libc.pause()

    async def quit_():
        return 0

    stopped = await libc.fork(pause)
    await libc.kill(stopped, libc.SIGSTOP)
    await libc.waitpid(stopped, libc.WUNTRACED)
    zombie = await libc.fork(quit_)
    await libc.sleep(1)

    async def ps():
        await libc.execv("/bin/ps", ["ps", *argv[1:]])
        return 127

    await libc.waitpid(await libc.fork(ps), 0)
    await stdio.puts(f"me={await libc.getpid()} stopped={stopped} zombie={zombie}")
    await libc.kill(stopped, libc.SIGKILL)
    return 0


async def test_ps_formats(autojump_clock):
    with installed(family=_family):
        async with booted() as system:
            results = await run_all(
                system,
                [
                    ["/bin/ps"],
                    ["/bin/ps", "-ef"],
                    ["/bin/ps", "-A", "-l"],
                    ["/bin/family", "-l"],
                    ["/bin/ps", "-x"],
                    ["/bin/ps", "junk"],
                ],
            )
    (s1, short), (s2, full), (s3, long_), (s4, family), *errors = results
    assert (s1, s2, s3, s4) == (0, 0, 0, 0)

    lines = short.splitlines()
    assert lines[0] == "  PID TTY          TIME CMD"
    rows = [re.fullmatch(r" *(\d+) \?        00:00:00 (.*)", line).groups() for line in lines[1:]]
    assert [cmd for _, cmd in rows] == [*SYSTEM, "collect", "ps"]
    assert [int(pid) for pid, _ in rows][:7] == [0, 1, 2, 3, 4, 5, 6]
    assert lines[2] == "    1 ?        00:00:00 init"

    for text in (full, long_):
        lines = text.splitlines()
        assert lines[0] == "  PID  PPID  PGRP   SID   UID STAT CMD"
        assert lines[1] == "    0     0     0     0     0 R    [pm]"
        assert lines[2] == "    1     0     1     1     0 S    init"
        assert lines[3] == "    2     0     0     0     0 S    [vm]"
        collect, ps = lines[-2].split(), lines[-1].split()
        assert collect[1:] == ["1", "1", "1", "0", "S", "collect"]
        assert ps[1:] == [collect[0], "1", "1", "0", "R", "ps"]

    *table, ids = family.splitlines()
    me, stopped, zombie = (int(x.split("=")[1]) for x in ids.split())
    rows = {int(line.split()[0]): line.split()[1:] for line in table[1:]}
    assert rows[me][1:] == ["1", "1", "0", "S", "family"]  # its parent is the collector
    assert rows[stopped] == [str(me), "1", "1", "0", "T", "family"]
    assert rows[zombie] == [str(me), "1", "1", "0", "Z", "family", "<defunct>"]
    assert [r[-1] for pid, r in rows.items() if pid > zombie] == ["ps"]

    usage = "usage: ps [-e | -A] [-f | -l]\n"
    assert errors == [
        (2, "ps: option -x not recognized\n" + usage),
        (2, "ps: junk: unexpected operand\n" + usage),
    ]
