"""true, false, yes, pwd, env, uname, date, clear, tty, sync, sleep, kill: exact output."""

from tests.pm.support import booted
from tests.userland.bin.psupport import installed, run_all, sleeper, timed
from userland import libc
from userland.libc import stdio


async def _yes_until_closed(argv):
    r, w = await libc.pipe()

    async def child():
        await libc.dup2(w, 1)
        await libc.close(w)
        await libc.close(r)  # else the writer itself keeps the pipe readable
        await libc.execv("/bin/yes", ["yes", *argv[1:]])
        return 127

    pid = await libc.fork(child)
    await libc.close(w)
    data = await libc.read(r, 12)
    await libc.close(r)
    _, status = await libc.waitpid(pid, 0)
    await stdio.puts(f"{data!r} {libc.waitstatus_to_exitcode(status)}")
    return 0


async def test_small_commands(autojump_clock):
    cases = [
        ["/bin/true", "ignored"],
        ["/bin/false"],
        ["/bin/pwd"],
        ["/bin/pwd", "-P"],
        ["/bin/pwd", "-x"],
        ["/bin/pwd", "extra"],
        ["/bin/uname"],
        ["/bin/uname", "-a"],
        ["/bin/uname", "-s", "-r", "-m"],
        ["/bin/uname", "-n", "-v"],
        ["/bin/uname", "-q"],
        ["/bin/date"],
        ["/bin/date", "-u", "+%Y-%m-%d %H:%M:%S %j %A %% %q"],
        ["/bin/date", "+%D %T %r %c"],
        ["/bin/date", "0101"],
        ["/bin/clear"],
        ["/bin/tty"],
        ["/bin/tty", "-s"],
        ["/bin/tty", "x"],
        ["/bin/sync"],
        ["/bin/sync", "x"],
        ["/bin/yesrun"],
        ["/bin/yesrun", "hello", "there"],
    ]
    with installed(yesrun=_yes_until_closed):
        async with booted() as system:
            results = await run_all(system, cases)
    usage = "usage: uname [-amnrsv]\n"
    assert results == [
        (0, ""),
        (1, ""),
        (0, "/\n"),
        (0, "/\n"),
        (2, "pwd: option -x not recognized\nusage: pwd [-L | -P]\n"),
        (2, "pwd: too many arguments\nusage: pwd [-L | -P]\n"),
        (0, "asynix\n"),
        (0, "asynix asynix 3.4.0 asynix i386\n"),
        (0, "asynix 3.4.0 i386\n"),
        (0, "asynix asynix\n"),
        (2, "uname: option -q not recognized\n" + usage),
        (0, "Thu Jan  1 00:00:00 UTC 2026\n"),
        (0, "2026-01-01 00:00:00 001 Thursday % %q\n"),
        (0, "01/01/26 00:00:00 12:00:00 AM Thu Jan  1 00:00:00 2026\n"),
        (2, "date: setting the time is not supported\nusage: date [-u] [+format]\n"),
        (0, "\x1b[H\x1b[2J"),
        (1, "not a tty\n"),
        (1, ""),
        (2, "tty: too many arguments\nusage: tty [-s]\n"),
        (0, ""),
        (2, "sync: too many arguments\nusage: sync\n"),
        (0, repr(b"y\n" * 6) + f" -{libc.SIGPIPE}\n"),
        (0, repr(b"hello there\n") + f" -{libc.SIGPIPE}\n"),
    ]


async def test_pwd_follows_chdir_and_logical_pwd(autojump_clock):
    async def prog(argv):
        await libc.mkdir("/tmp/real")
        await libc.symlink("/tmp/real", "/tmp/link")
        await libc.chdir("/tmp/link")
        libc.putenv("PWD", "/tmp/link")
        for args in (["pwd"], ["pwd", "-P"], ["pwd", "-L", "-P"], ["pwd", "-P", "-L"]):

            async def child(args=args):
                await libc.execv("/bin/pwd", args)
                return 127

            await libc.waitpid(await libc.fork(child), 0)
        libc.putenv("PWD", "/tmp/../tmp/link")
        await libc.waitpid(await libc.fork(child), 0)
        return 0

    with installed(pwdprog=prog):
        async with booted() as system:
            out = await system.run(["/bin/pwdprog"])
    assert out == (0, "/tmp/link\n/tmp/real\n/tmp/real\n/tmp/link\n/tmp/real\n")


async def test_env(autojump_clock):
    cases = [
        ["/bin/env"],
        ["/bin/env", "-i"],
        ["/bin/env", "-i", "A=1", "B=x=y", "/bin/env"],
        ["/bin/env", "-u", "HOME", "-uTERM", "X=", "env"],
        ["/bin/env", "-", "PATH=/sbin", "env"],
        ["/bin/env", "-i", "echo", "hi"],
        ["/bin/env", "nosuch"],
        ["/bin/env", "/etc/passwd"],
        ["/bin/env", "-u"],
        ["/bin/env", "-z"],
    ]
    async with booted() as system:
        results = await run_all(system, cases)
    usage = "usage: env [-i] [-u name]... [name=value]... [utility [argument...]]\n"
    assert results == [
        (0, "PATH=/bin:/sbin\nHOME=/root\nTERM=vt100\n"),
        (0, ""),
        (0, "A=1\nB=x=y\n"),
        (0, "PATH=/bin:/sbin\nX=\n"),
        (127, "env: env: No such file or directory\n"),
        (0, "hi\n"),
        (127, "env: nosuch: No such file or directory\n"),
        (126, "env: /etc/passwd: Permission denied\n"),
        (2, "env: option requires an argument -- u\n" + usage),
        (2, "env: invalid option -- z\n" + usage),
    ]


async def test_env_runs_a_file_that_is_no_program_as_a_script(autojump_clock):
    # execvp's rule (XSH exec): ENOEXEC means "a shell script"; env used to stop at it
    async with booted() as system:
        script = "echo script $0 $1\nexit 3\n"
        made = await system.sh(f"printf '{script}' > /tmp/s; chmod 755 /tmp/s; echo made")
        assert made == (0, "made\n")
        assert await system.run(["/bin/env", "/tmp/s", "arg"]) == (3, "script /tmp/s arg\n")
        status, _ = await system.run(["/bin/env", "PATH=/tmp", "s"])
        assert status == 3
        assert await system.run(["/bin/env", ""]) == (127, "env: : No such file or directory\n")


async def test_sleep_takes_kernel_time(autojump_clock):
    cases = [
        ["/bin/timed", "/bin/sleep", "5"],
        ["/bin/timed", "/bin/sleep", "0.25"],
        ["/bin/timed", "/bin/sleep", "1m", ".5"],
        ["/bin/timed", "/bin/sleep", "0"],
        ["/bin/sleep"],
        ["/bin/sleep", "-1"],
        ["/bin/sleep", "1x"],
        ["/bin/date"],
    ]
    with installed(timed=timed):
        async with booted() as system:
            results = await run_all(system, cases)
    usage = "usage: sleep time[s|m|h|d]...\n"
    # Kernel time also counts the simulated CPU's ticks (1 µs per kernel entry): a run
    # takes its sleep plus a few ms of exec and exit.
    timings = [tuple(int(x) for x in out.split()) for _, out in results[:4]]
    for (status, ms), want in zip(timings, (5000, 250, 60500, 0), strict=True):
        assert status == 0
        assert want <= ms < want + 20
    assert results[4:] == [
        (2, "sleep: missing operand\n" + usage),
        (2, "sleep: invalid time interval '-1'\n" + usage),
        (2, "sleep: invalid time interval '1x'\n" + usage),
        (0, "Thu Jan  1 00:01:05 UTC 2026\n"),
    ]


async def test_kill(autojump_clock):
    async with booted() as system:
        term = await system.spawn(sleeper, ["sleeper"])
        nine = await system.spawn(sleeper, ["sleeper"])
        hup = await system.spawn(sleeper, ["sleeper"])
        group = await system.spawn(sleeper, ["sleeper", "group"])
        await libc_settle(system)
        results = await run_all(
            system,
            [
                ["/bin/kill", str(term)],
                ["/bin/kill", "-9", str(nine)],
                ["/bin/kill", "-s", "hup", str(hup)],
                ["/bin/kill", "-0", str(group)],
                ["/bin/kill", "-0", "99", "x", str(group)],
                ["/bin/kill", "-SIGUSR1", "--", f"-{group}"],
                ["/bin/kill", "-l"],
                ["/bin/kill", "-l", "9", "130", "99"],
                ["/bin/kill"],
                ["/bin/kill", "-BOGUS", "1"],
                ["/bin/kill", "-s"],
                ["/bin/kill", "-s", "0", "0"],
            ],
        )
        codes = [await system.wait(pid) for pid in (term, nine, hup, group)]
    assert codes == [-libc.SIGTERM, -libc.SIGKILL, -libc.SIGHUP, -libc.SIGUSR1]
    usage = "usage: kill [-s signal | -signal] pid... | kill -l [exit_status]\n"
    names = (
        "HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD"
        " CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS\n"
    )
    assert results == [
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (
            1,
            "kill: 99: No such process\nkill: x: arguments must be process or job IDs\n",
        ),
        (0, ""),
        (0, names),
        (1, "KILL\nINT\nkill: 99: invalid signal\n"),
        (2, "kill: no process id\n" + usage),
        (2, "kill: BOGUS: invalid signal\n" + usage),
        (2, "kill: option requires an argument -- s\n" + usage),
        (0, ""),
    ]


async def libc_settle(system):
    """Let freshly spawned sleepers reach pause (one more command round trip)."""
    assert await system.run(["/bin/true"]) == (0, "")
