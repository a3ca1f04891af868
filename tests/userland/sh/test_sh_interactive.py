"""The interactive shell on the console: prompt, continuation lines, job control, ^D.

Keys typed while the shell is busy are echoed by the terminal at once (canonical mode),
before the shell writes its next prompt; so a report that the shell writes after reading
such a typed-ahead line follows that prompt on the same row (``# [1]+  Done  xstop b``).
That is what sh does on a real terminal too. The helpers below therefore look for a
report at the start of a row or after prompts, and in everything the shell has written
(:attr:`FakeTerminal.output`), not on the 24 rows still on the screen.
"""

import re

import anyio
import pytest

from tests.pm.support import booted

SCHEDULES = [
    pytest.param({}, id="default"),
    # PCT seeds under which the background job ended while Enter was typed ahead (the
    # report then followed a prompt on its row, which the session's first version missed)
    pytest.param({"policy": "pct", "seed": 6}, id="pct6"),
    pytest.param({"policy": "pct", "seed": 11}, id="pct11"),
    pytest.param({"policy": "pct", "seed": 28}, id="pct28"),
]


def _shell_running(system):
    # exec names a process after its program (MINIX's sys_exec sets p_name).
    return "sh" in [p.name for p in system.kernel.procs()]


class Session:
    """A user at the console typing into the interactive shell."""

    def __init__(self, console):
        self.c = console

    def mark(self):
        """Where the output is now: :meth:`transcript` from here on."""
        return len(self.c.output)

    def transcript(self, since):
        """What was written to the screen since ``since``, with newlines for CRLF."""
        return self.c.output[since:].decode(errors="replace").replace("\r\n", "\n")

    async def run(self, keys, expect):
        self.c.send(keys)
        await self.c.expect(expect, timeout=10)

    async def idle(self, tag):
        """Run ``xecho TAG`` and wait until its output is followed by a prompt: every key
        typed before has been read, and the shell waits at its prompt."""
        self.c.send(f"xecho {tag}\r")
        # (reports of jobs that ended may come between the output and the prompt)
        done = re.compile(rf"(?:^|# ){re.escape(tag)}\n(?:\[\d+\].*\n)*# \Z", re.MULTILINE)
        for _ in range(100):
            if done.search(self.transcript(0)):
                return
            await anyio.sleep(0.1)
        raise AssertionError(f"never idle; output: {self.transcript(0)[-600:]!r}")

    async def reported(self, report, since):
        """Press Enter until the shell writes the row ``report`` (after ``since``), then
        wait until it is idle and check that it wrote the report exactly once.

        A background job ends whenever the scheduler lets it; the shell reports it before
        the first prompt after that (possibly right after a prompt, see the module
        docstring).
        """
        row = re.compile(rf"^(?:# )*{re.escape(report)}$", re.MULTILINE)
        for k in range(50):
            if row.search(self.transcript(since)):
                await self.idle(f"idle{k}")
                text = self.transcript(since)
                assert len(row.findall(text)) == 1, f"not reported once: {text!r}"
                return
            self.c.send("\r")
            await anyio.sleep(0.1)
        raise AssertionError(f"never reported: {report}; output: {self.transcript(since)!r}")


@pytest.mark.parametrize("sched", SCHEDULES)
async def test_interactive_session_on_the_console(autojump_clock, xprogs, sched):
    async with booted(init_program=["/sbin/getty", "/dev/console"], **sched) as system:
        c = system.console
        s = Session(c)
        run = s.run

        await c.expect("# ", timeout=10)  # root's prompt
        await run("xecho hi\r", re.compile(r"^hi\n#$", re.MULTILINE))
        await run("xecho $(xecho sub) | xcat\r", re.compile(r"^sub\n#$", re.MULTILINE))
        await run("xpg\r", re.compile(r"^leader=True foreground=True\n#$", re.MULTILINE))
        # PS2: the command goes on
        await run("if true\r", re.compile(r"^# if true\n>$", re.MULTILINE))
        await run("then xecho yes; fi\r", re.compile(r"^yes\n#$", re.MULTILINE))
        await run(
            "fi\r", re.compile(r"^sh: syntax error: unexpected 'fi'\n#$", re.MULTILINE)
        )  # an error keeps the shell
        await run("xstop\r", re.compile(r"^\[1\]\+  Stopped  xstop\n#$", re.MULTILINE))
        await run("jobs\r", re.compile(r"^# jobs\n\[1\]\+  Stopped  xstop\n#$", re.MULTILINE))
        await run("fg %1\r", re.compile(r"^resumed\n#$", re.MULTILINE))
        await run("xstop b\r", re.compile(r"^\[1\]\+  Stopped  xstop b\n#$", re.MULTILINE))
        since = s.mark()
        await run("bg\r", re.compile(r"^\[1\]\+ xstop b &$", re.MULTILINE))
        await c.expect(re.compile(r"resumed b$", re.MULTILINE), timeout=10)  # maybe after #
        await s.reported("[1]+  Done  xstop b", since)
        since = s.mark()
        await run("xexit 3 &\r", re.compile(r"^\[1\] \d+$", re.MULTILINE))
        await s.reported("[1]+  Exit 3  xexit 3", since)
        c.send("half typed\x03")  # ^C drops the line and prompts again
        await c.expect(re.compile(r"^# half typed\^C\n#$", re.MULTILINE), timeout=10)
        await run("xread\r", re.compile(r"^reading$", re.MULTILINE))
        c.send("\x03")  # ^C kills the foreground job, not the shell
        await c.expect(re.compile(r"^\^C\n#$", re.MULTILINE), timeout=10)
        await run("xecho status $?\r", re.compile(r"^status 130\n#$", re.MULTILINE))
        assert _shell_running(system)
        c.send("\x04")  # ^D at the start of a line: end of file
        for _ in range(100):
            if not _shell_running(system):
                break
            await anyio.sleep(0.1)
        assert not _shell_running(system)


@pytest.mark.parametrize("sched", SCHEDULES)
async def test_background_job_reported_exactly_once(autojump_clock, xprogs, sched):
    """POSIX: a finished background job is reported once, before a prompt; ``jobs``
    reports a finished job once and forgets it; ``wait`` and ``fg`` collect the status
    of a job that already ended (which is then not reported)."""
    async with booted(init_program=["/sbin/getty", "/dev/console"], **sched) as system:
        c = system.console
        s = Session(c)
        await c.expect("# ", timeout=10)
        # ends while a foreground command runs: reported before a later prompt, once
        since = s.mark()
        await s.run("xexit 3 & xecho fg\r", re.compile(r"^fg$", re.MULTILINE))
        await s.reported("[1]+  Exit 3  xexit 3", since)
        # (``sleep 1`` lets the job end, and nothing reaps it before the next command)
        # `jobs` reports it once and forgets it: no report at the prompt
        since = s.mark()
        c.send("xexit 4 & sleep 1; jobs; jobs\r")
        await s.idle("listed")
        text = s.transcript(since)
        assert text.count("Exit 4") == 1, text
        assert re.search(r"^\[1\] \d+\n\[1\]\+  Exit 4  xexit 4\n# ", text, re.MULTILINE), text
        # `wait` and `fg` give its status: nothing left to report
        since = s.mark()
        c.send("xexit 5 & sleep 1; wait %1; xecho st $?\r")
        c.send("xexit 6 & sleep 1; fg %1; xecho st $?\r")
        c.send("jobs\r")
        await s.idle("done")
        text = s.transcript(since)
        assert "Exit" not in text, text
        assert re.search(r"^st 5\n", text, re.MULTILINE), text
        # (typed ahead: the keys' echo comes first) `jobs` lists nothing
        assert re.search(r"^xexit 6\nst 6\n(?:# )*done\n# \Z", text, re.MULTILINE), text


def _rows(text, row):
    """How many rows of ``text`` are ``row`` (possibly after prompts)."""
    return len(re.findall(rf"^(?:# )*{re.escape(row)}$", text, re.MULTILINE))


@pytest.mark.parametrize("sched", SCHEDULES)
async def test_background_job_that_reads_the_terminal_is_reported_stopped(
    autojump_clock, xprogs, sched
):
    """POSIX job control: a background job that reads the terminal gets SIGTTIN and
    stops; the shell reports the stop once before a prompt (as bash does), ``jobs`` lists
    it as Stopped without a second report, and ``kill %1`` (SIGTERM, then SIGCONT)
    ends it, which is reported as the end of any job killed by a signal."""
    async with booted(init_program=["/sbin/getty", "/dev/console"], **sched) as system:
        c = system.console
        s = Session(c)
        await c.expect("# ", timeout=10)
        since = s.mark()
        await s.run("xcat &\r", re.compile(r"^\[1\] \d+$", re.MULTILINE))
        await s.reported("[1]+  Stopped  xcat", since)
        await s.idle("again")  # more prompts: still reported once
        assert _rows(s.transcript(since), "[1]+  Stopped  xcat") == 1
        since = s.mark()
        c.send("jobs\r")
        await s.idle("listed")
        text = s.transcript(since)
        assert _rows(text, "[1]+  Stopped  xcat") == 1, text
        since = s.mark()
        c.send("kill %1\r")
        await s.reported("[1]+  Exit 143  xcat", since)
        assert "Stopped" not in s.transcript(since)
        since = s.mark()
        c.send("jobs\r")
        await s.idle("empty")
        assert "xcat" not in s.transcript(since)  # `jobs` lists nothing


@pytest.mark.parametrize("sched", SCHEDULES)
async def test_stop_continue_stop_is_reported_each_time(autojump_clock, xprogs, sched):
    """``kill -STOP %1`` on a background sleeper: reported Stopped; ``bg`` continues it
    (``jobs`` says Running) and a second stop is reported again; ``kill -STOP`` of a
    stopped job leaves it stopped (no SIGCONT, no new report); ``kill %1`` ends it."""
    async with booted(init_program=["/sbin/getty", "/dev/console"], **sched) as system:
        c = system.console
        s = Session(c)
        await c.expect("# ", timeout=10)
        since = s.mark()
        await s.run("sleep 1000 &\r", re.compile(r"^\[1\] \d+$", re.MULTILINE))
        await s.idle("started")
        c.send("kill -STOP %1\r")
        await s.reported("[1]+  Stopped  sleep 1000", since)
        since = s.mark()
        c.send("kill -STOP %1; jobs\r")  # listing it again is no new report
        await s.idle("listed")
        text = s.transcript(since)
        assert _rows(text, "[1]+  Stopped  sleep 1000") == 1, text
        since = s.mark()
        await s.run("bg\r", re.compile(r"^\[1\]\+ sleep 1000 &$", re.MULTILINE))
        c.send("jobs\r")
        await s.idle("running")
        text = s.transcript(since)
        assert _rows(text, "[1]+  Running  sleep 1000") == 1, text
        assert "Stopped" not in text, text
        since = s.mark()
        c.send("kill -TSTP %1\r")
        await s.reported("[1]+  Stopped  sleep 1000", since)
        since = s.mark()
        c.send("kill %1\r")
        await s.reported("[1]+  Exit 143  sleep 1000", since)
        assert "Stopped" not in s.transcript(since)


@pytest.mark.parametrize("sched", SCHEDULES)
async def test_end_wins_over_an_unreported_stop(autojump_clock, xprogs, sched):
    """A job that stops and is killed before the next prompt is reported once, as
    ended: the shell notes its stop when ``kill`` looks (so it also sends SIGCONT, or
    SIGTERM would stay pending in a stopped process for good), never reports it."""
    async with booted(init_program=["/sbin/getty", "/dev/console"], **sched) as system:
        c = system.console
        s = Session(c)
        await c.expect("# ", timeout=10)
        since = s.mark()
        c.send("xcat & sleep 1; kill %1\r")
        await s.reported("[1]+  Exit 143  xcat", since)
        assert "Stopped" not in s.transcript(since)


@pytest.mark.parametrize("sched", SCHEDULES)
async def test_wait_does_not_wait_for_a_stopped_job(autojump_clock, xprogs, sched):
    """``wait`` alone waits for the running jobs only (as bash; POSIX's "until all known
    processes have terminated" would hang for good on a stopped job); ``wait %N`` of a
    stopped job returns 128 + its stop signal at once and keeps it; neither counts as
    reporting the stop, which the next prompt reports."""
    async with booted(init_program=["/sbin/getty", "/dev/console"], **sched) as system:
        c = system.console
        s = Session(c)
        await c.expect("# ", timeout=10)
        since = s.mark()
        c.send("sleep 1000 & kill -STOP %1; xexit 2 & wait; xecho st $?\r")
        await s.reported("[1]+  Stopped  sleep 1000", since)
        text = s.transcript(since)
        assert _rows(text, "st 0") == 1, text
        assert "Exit 2" not in text, text  # waited for: not reported
        since = s.mark()
        c.send("wait %1; xecho st $?\r")
        await s.idle("waited")
        text = s.transcript(since)
        assert _rows(text, "st 147") == 1, text  # 128 + SIGSTOP
        assert "Stopped" not in text, text
        since = s.mark()
        c.send("kill %1\r")
        await s.reported("[1]+  Exit 143  sleep 1000", since)
