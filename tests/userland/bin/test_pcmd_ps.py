"""ps: the header, every process of PM's table (system ones bracketed), states, terminals."""

import re

import anyio

from tests.pm.support import booted
from tests.userland.bin.psupport import installed, run_all
from userland import getty, libc
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
        assert lines[0] == "  PID  PPID  PGRP   SID   UID STAT TTY      CMD"
        assert lines[1] == "    0     0     0     0     0 R    ?        [pm]"
        assert lines[2] == "    1     0     1     1     0 S    ?        init"
        assert lines[3] == "    2     0     0     0     0 S    ?        [vm]"
        collect, ps = lines[-2].split(), lines[-1].split()
        assert collect[1:] == ["1", "1", "1", "0", "S", "?", "collect"]
        assert ps[1:] == [collect[0], "1", "1", "0", "R", "?", "ps"]

    *table, ids = family.splitlines()
    me, stopped, zombie = (int(x.split("=")[1]) for x in ids.split())
    rows = {int(line.split()[0]): line.split()[1:] for line in table[1:]}
    assert rows[me][1:] == ["1", "1", "0", "S", "?", "family"]  # its parent is the collector
    assert rows[stopped] == [str(me), "1", "1", "0", "T", "?", "family"]
    assert rows[zombie] == [str(me), "1", "1", "0", "Z", "?", "family", "<defunct>"]
    assert [r[-1] for pid, r in rows.items() if pid > zombie] == ["ps"]

    usage = "usage: ps [-e | -A] [-f | -l]\n"
    assert errors == [
        (2, "ps: option -x not recognized\n" + usage),
        (2, "ps: junk: unexpected operand\n" + usage),
    ]


def _rows(text):
    """``ps`` output as {pid: (tty, cmd)}, the header checked."""
    lines = text.splitlines()
    assert lines[0] == "  PID TTY          TIME CMD"
    rows = {}
    for line in lines[1:]:
        pid, tty, cmd = re.fullmatch(r" *(\d+) (\S+) +00:00:00 (.*)", line).groups()
        assert line.index("00:00:00") == 15  # TTY is 8 wide, whatever the name
        rows[int(pid)] = (tty, cmd)
    return rows


async def _type(console, keys):
    """Type ``keys`` + Enter at the console shell; the lines printed before its next prompt."""
    mark = len(console.output)
    console.send(f"{keys}\r")
    with anyio.fail_after(60):
        while not console.output[mark:].endswith(b"\n# "):  # noqa: ASYNC110
            await anyio.sleep(0.05)
    return console.output[mark:].decode(errors="replace").split("\r\n")[1:-1]


async def test_ps_shows_the_console_as_the_shells_terminal(autojump_clock):
    async with booted() as system:
        getty_pid = await system.spawn(getty.main, ["getty", "/dev/console"])
        await system.console.expect("# ", timeout=10)
        on_console = _rows("\n".join(await _type(system.console, "ps")))
        status, elsewhere = await system.run(["/bin/ps"])
        long_ = await _type(system.console, "ps -l")
        await _type(system.console, "sleep 100 &")
        with_job = _rows("\n".join(await _type(system.console, "ps")))
    # getty execs the shell in the session it made on the console; ps is the shell's child.
    assert on_console[getty_pid] == ("console", "sh")
    assert [row for pid, row in on_console.items() if pid > getty_pid] == [("console", "ps")]
    assert on_console[1] == ("?", "init")
    assert on_console[0] == ("?", "[pm]")

    assert status == 0
    others = _rows(elsewhere)
    assert others[getty_pid] == ("console", "sh")
    assert [row for pid, row in others.items() if pid > getty_pid][-2:] == [
        ("?", "collect"),
        ("?", "ps"),
    ]
    sh = next(line for line in long_ if line.split()[0] == str(getty_pid))
    assert sh == f"{getty_pid:>5}     1 {getty_pid:>5} {getty_pid:>5}     0 S    console  sh"
    # A background job is in the session too: the terminal is the session's.
    assert sorted(row for pid, row in with_job.items() if pid > getty_pid) == [
        ("console", "ps"),
        ("console", "sleep"),
    ]


async def test_ps_shows_a_pty_session_until_its_leader_exits(autojump_clock):
    async def prog(argv):
        master = await libc.posix_openpt(libc.O_RDWR | libc.O_NOCTTY)
        await libc.unlockpt(master)
        name = await libc.ptsname(master)
        r, w = await libc.pipe()

        async def member():
            await libc.signal(libc.SIGHUP, libc.SIG_IGN)  # outlives the leader's hang-up
            for fd in (1, 2, r):  # the collector reads the output until end of file
                await libc.close(fd)
            await libc.write(w, b"m")
            await libc.close(w)
            while True:
                await libc.pause()

        async def leader():
            await libc.close(master)
            await libc.setsid()
            await libc.open(name, libc.O_RDWR)  # becomes the controlling terminal
            await libc.fork(member)
            await libc.write(w, b"l")
            while True:
                await libc.pause()

        async def ps():
            await libc.execv("/bin/ps", ["ps"])
            return 127

        leader_pid = await libc.fork(leader)
        assert await libc.read(r, 1) + await libc.read(r, 1) in (b"lm", b"ml")
        await libc.waitpid(await libc.fork(ps), 0)
        await stdio.puts(f"name={name} leader={leader_pid}")
        await libc.kill(leader_pid, libc.SIGKILL)
        await libc.waitpid(leader_pid, 0)
        await libc.sleep(1)  # PM hangs the session up as the leader exits
        await libc.waitpid(await libc.fork(ps), 0)
        await libc.close(master)
        return 0

    with installed(ptyps=prog):
        async with booted() as system:
            status, out = await system.run(["/bin/ptyps"])
            # The member, orphaned to init, is killed by the test, not left running.
            members = [p.pid for p in await _procs(system) if p.name == "ptyps"]
    assert status == 0, out
    lines = out.splitlines()
    cut = next(i for i, line in enumerate(lines) if line.startswith("name="))
    before, ids, after = lines[:cut], lines[cut], lines[cut + 1 :]
    name, leader = (x.split("=")[1] for x in ids.split())
    assert name.startswith("/dev/pts/")
    tty = name.removeprefix("/dev/")
    rows = _rows("\n".join(before))
    ptyps = sorted(pid for pid, (_, cmd) in rows.items() if cmd == "ptyps")
    assert len(ptyps) == 3
    me, member = (pid for pid in ptyps if pid != int(leader))
    assert rows[int(leader)] == (tty, "ptyps")
    assert rows[member] == (tty, "ptyps")
    assert rows[me] == ("?", "ptyps")
    assert [row for pid, row in rows.items() if pid > max(ptyps)] == [("?", "ps")]

    rows = _rows("\n".join(after))
    assert int(leader) not in rows
    assert rows[member] == ("?", "ptyps")  # still in the session, which has no terminal now
    assert members == [member]


async def _procs(system):
    """PM's table, read by a process of its own, after killing the leftover pty member."""
    seen = {}

    async def look(argv):
        procs = await libc.getprocs()
        for p in procs:
            if p.name == "ptyps":
                await libc.kill(p.pid, libc.SIGKILL)
        seen["procs"] = procs
        return 0

    await system.wait(await system.spawn(look, ["look"]))
    return seen["procs"]
