"""The interactive shell on the console: prompt, continuation lines, job control, ^D."""

import re

import anyio

from tests.pm.support import booted


def _shell_running(system):
    # exec names a process after its program (MINIX's sys_exec sets p_name).
    return "sh" in [p.name for p in system.kernel.procs()]


async def test_interactive_session_on_the_console(autojump_clock, xprogs):
    async with booted(init_program=["/sbin/getty", "/dev/console"]) as system:
        c = system.console

        async def run(keys, expect):
            c.send(keys)
            await c.expect(expect, timeout=10)

        async def reported(expect):
            """Press Enter until the shell reports ``expect`` (a background job ends
            whenever the scheduler lets it), then wait until the shell is idle again."""
            for k in range(50):
                if expect.search("\n".join(line.rstrip() for line in c.screen)):
                    await run(f"xecho idle{k}\r", re.compile(rf"^idle{k}\n#$", re.MULTILINE))
                    return
                c.send("\r")
                await anyio.sleep(0.1)
            raise AssertionError(f"never reported: {expect.pattern}; screen: {c.screen}")

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
        await run("bg\r", re.compile(r"^\[1\]\+ xstop b &$", re.MULTILINE))
        await c.expect(re.compile(r"resumed b$", re.MULTILINE), timeout=10)  # maybe after #
        await reported(re.compile(r"^\[1\]\+  Done  xstop b$", re.MULTILINE))
        await run("xexit 3 &\r", re.compile(r"^\[1\] \d+$", re.MULTILINE))
        await reported(re.compile(r"^\[1\]\+  Exit 3  xexit 3$", re.MULTILINE))
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
