"""Builtins: commands the shell runs in its own process.

Each is ``async def NAME(shell, argv) -> status``, registered in
:attr:`Shell.builtins <userland.sh.exec.Shell.builtins>`. The POSIX special
builtins (``: . break continue eval exec exit export return set shift unset``)
keep the variable assignments written before them. ``echo``, ``printf``,
``test`` and the like are programs in ``/bin``, not builtins.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from userland import libc
from userland.bin import kill as kill_command
from userland.libc import stdio
from userland.sh.exec import Builtin, FunctionReturn, LoopControl, Shell, ShellExit, read_text
from userland.sh.expand import DEFAULT_IFS
from userland.sh.jobs import STOP_SIGNALS
from userland.sh.lex import is_name
from userland.sh.pattern import unescape

if TYPE_CHECKING:
    from userland.sh.jobs import Job

_SPECIAL: Final = frozenset(
    (
        ":",
        ".",
        "break",
        "continue",
        "eval",
        "exec",
        "exit",
        "export",
        "return",
        "set",
        "shift",
        "unset",
    )
)


async def _usage(name: str, message: str, status: int = 2) -> int:
    await stdio.error("sh", f"{name}: {message}")
    return status


def _number(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


async def colon(shell: Shell, argv: list[str]) -> int:
    """``:`` and ``true``: succeed."""
    return 0


async def false(shell: Shell, argv: list[str]) -> int:
    """``false``: fail."""
    return 1


async def cd(shell: Shell, argv: list[str]) -> int:
    """``cd [DIR|-]``: change directory (HOME by default), set PWD and OLDPWD."""
    args = [a for a in argv[1:] if a not in ("-L", "-P")]
    if not args:
        target = shell.vars.get("HOME")
        if not target:
            return await _usage("cd", "HOME not set", 1)
    elif args[0] == "-":
        target = shell.vars.get("OLDPWD")
        if not target:
            return await _usage("cd", "OLDPWD not set", 1)
    else:
        target = args[0]
    try:
        old = await libc.getcwd()
    except OSError:
        old = shell.vars.get("PWD", "")
    try:
        await libc.chdir(target)
        new = await libc.getcwd()
    except OSError as exc:
        return await _usage("cd", f"{target}: {stdio.strerror(exc)}", 1)
    shell.vars["OLDPWD"] = old
    shell.vars["PWD"] = new
    shell.exported.update(("PWD", "OLDPWD"))
    if args and args[0] == "-":
        await stdio.puts(new)
    return 0


async def pwd(shell: Shell, argv: list[str]) -> int:
    """``pwd``: print the working directory."""
    try:
        await stdio.puts(await libc.getcwd())
    except OSError as exc:
        return await _usage("pwd", stdio.strerror(exc), 1)
    return 0


async def exit_(shell: Shell, argv: list[str]) -> int:
    """``exit [N]``: leave the shell with status N (default: ``$?``)."""
    status = shell.status
    if len(argv) > 1:
        n = _number(argv[1])
        if n is None:
            await stdio.error("sh", f"exit: {argv[1]}: numeric argument required")
            raise ShellExit(2)
        status = n & 0xFF
    raise ShellExit(status)


async def export(shell: Shell, argv: list[str]) -> int:
    """``export [NAME[=VALUE]...]``.

    Mark variables for the environment (no names: list the exported ones).
    """
    args = [a for a in argv[1:] if a != "-p"]
    if not args:
        for name in sorted(shell.exported):
            if name in shell.vars:
                await stdio.puts(f"export {name}={_quote(shell.vars[name])}")
        return 0
    status = 0
    for arg in args:
        name, eq, value = arg.partition("=")
        if not is_name(name):
            status = await _usage("export", f"{arg}: bad variable name", 1)
            continue
        if eq:
            shell.vars[name] = value
        shell.exported.add(name)
    return status


async def unset(shell: Shell, argv: list[str]) -> int:
    """``unset [-v|-f] NAME...``: remove variables (or functions)."""
    functions = False
    for name in argv[1:]:
        if name in ("-v", "-f"):
            functions = name == "-f"
        elif functions:
            shell.functions.pop(name, None)
        else:
            shell.vars.pop(name, None)
            shell.exported.discard(name)
    return 0


_OPTIONS: Final = {"e": "errexit", "x": "xtrace"}


async def set_(shell: Shell, argv: list[str]) -> int:
    """``set [-ex] [+ex] [-o OPT] [--] [ARG...]``.

    Options and positional parameters (no arguments: list the variables).
    """
    args = argv[1:]
    if not args:
        for name in sorted(shell.vars):
            await stdio.puts(f"{name}={_quote(shell.vars[name])}")
        return 0
    while args and args[0][:1] in ("-", "+") and args[0] not in ("-", "+"):
        arg = args.pop(0)
        if arg == "--":
            shell.positional = args
            return 0
        on = arg[0] == "-"
        if arg[1:] == "o":
            if not args:
                return await _usage("set", "-o: option name required")
            option = args.pop(0)
            if option not in _OPTIONS.values():
                return await _usage("set", f"{option}: invalid option name")
            setattr(shell, option, on)
            continue
        for letter in arg[1:]:
            if letter not in _OPTIONS:
                return await _usage("set", f"-{letter}: invalid option")
            setattr(shell, _OPTIONS[letter], on)
    if args:
        shell.positional = args
    return 0


async def dot(shell: Shell, argv: list[str]) -> int:
    """``. FILE [ARG...]``: run FILE's commands in this shell.

    A name without ``/`` is searched in PATH, then in the working directory.
    """
    if len(argv) < 2:
        return await _usage(argv[0], "filename argument required")
    name = argv[1]
    dirs = [] if "/" in name else shell.vars.get("PATH", "").split(":")
    candidates = [f"{d or '.'}/{name}" for d in dirs] + [name]
    for path in candidates:
        try:
            text = await read_text(path)
        except OSError:
            continue
        break
    else:
        status = await _usage(argv[0], f"{name}: not found", 1)
        if not shell.interactive:
            raise ShellExit(status)
        return status
    saved = shell.positional
    if len(argv) > 2:
        shell.positional = argv[2:]
    shell.functions_running += 1
    try:
        return await shell.run_text(text, where=name)
    except FunctionReturn as exc:
        return exc.status
    finally:
        shell.functions_running -= 1
        shell.positional = saved


async def eval_(shell: Shell, argv: list[str]) -> int:
    """``eval ARG...``: run the arguments, joined by spaces, as shell text."""
    shell.status = 0
    return await shell.run_text(" ".join(argv[1:]))


async def shift(shell: Shell, argv: list[str]) -> int:
    """``shift [N]``: drop the first N positional parameters."""
    n = _number(argv[1]) if len(argv) > 1 else 1
    if n is None or n < 0 or n > len(shell.positional):
        return await _usage(
            "shift", f"{argv[1] if len(argv) > 1 else n}: shift count out of range", 1
        )
    shell.positional = shell.positional[n:]
    return 0


async def return_(shell: Shell, argv: list[str]) -> int:
    """``return [N]``: leave the running function or ``.`` script."""
    if not shell.functions_running:
        return await _usage("return", "not in a function or sourced script", 1)
    n = _number(argv[1]) if len(argv) > 1 else shell.status
    if n is None:
        return await _usage("return", f"{argv[1]}: numeric argument required")
    raise FunctionReturn(n & 0xFF)


async def _loop_control(shell: Shell, argv: list[str], again: bool) -> int:
    n = _number(argv[1]) if len(argv) > 1 else 1
    if n is None or n < 1:
        return await _usage(argv[0], f"{argv[1]}: loop count out of range", 1)
    if not shell.loops:
        return 0
    raise LoopControl(min(n, shell.loops), again)


async def break_(shell: Shell, argv: list[str]) -> int:
    """``break [N]``: leave the N-th enclosing loop."""
    return await _loop_control(shell, argv, again=False)


async def continue_(shell: Shell, argv: list[str]) -> int:
    """``continue [N]``: start the next round of the N-th enclosing loop."""
    return await _loop_control(shell, argv, again=True)


async def read(shell: Shell, argv: list[str]) -> int:
    """``read [-r] NAME...``.

    Read a line from standard input into variables, split on IFS (the last name gets the rest).
    Reads one byte at a time, so no more than the line is taken from a shared input. Status 1 at end
    of file.
    """
    args = argv[1:]
    raw = bool(args) and args[0] == "-r"
    if raw:
        args = args[1:]
    names = args or ["REPLY"]
    for name in names:
        if not is_name(name):
            return await _usage("read", f"{name}: bad variable name")
    line, eof = await _read_line(raw)
    ifs = shell.vars.get("IFS", DEFAULT_IFS)
    if not args:
        shell.vars["REPLY"] = line
        return int(eof)
    fields = _split_for_read(line, ifs, len(names))
    for k, name in enumerate(names):
        shell.vars[name] = fields[k] if k < len(fields) else ""
    return int(eof)


async def _read_line(raw: bool) -> tuple[str, bool]:
    data = bytearray()
    eof = False
    while True:
        try:
            b = await libc.read(0, 1)
        except InterruptedError:
            continue
        if not b:
            eof = True
            break
        if b == b"\n":
            backslashes = len(data) - len(data.rstrip(b"\\"))
            if not raw and backslashes % 2:  # an odd one escapes the newline
                del data[-1]
                continue
            break
        data += b
    text = stdio.decode(bytes(data))
    if not raw:
        text = unescape(text)
    return text, eof and not data


def _split_for_read(line: str, ifs: str, n: int) -> list[str]:
    white = "".join(c for c in ifs if c in DEFAULT_IFS)
    line = line.strip(white)
    fields: list[str] = []
    while line and len(fields) < n - 1:
        i = 0
        while i < len(line) and line[i] not in ifs:
            i += 1
        fields.append(line[:i])
        line = line[i:].lstrip(white)
        if line and line[0] in ifs:
            line = line[1:].lstrip(white)
    if line or len(fields) < n:
        fields.append(line.rstrip(white))
    return fields


async def wait(shell: Shell, argv: list[str]) -> int:
    """``wait [PID|%N...]``.

    Wait for background jobs (all by default); the status of the last one waited for (127 for an
    unknown one). A stopped job is not waited for (as bash): ``wait`` alone waits for the jobs
    that are running and skips stopped ones (one that stops while waited for stops the wait for
    it); ``wait %N`` of a stopped job returns 128 + its stop signal at once. A stopped job could
    only end after someone continues it, so waiting for it could hang the shell for good.
    """
    table = shell.jobs
    if len(argv) == 1:
        await table.reap()
        for known in list(table.jobs.values()):
            if not known.stopped or known.done:
                await table.wait_job(known)
        return 0
    status = 0
    for spec in argv[1:]:
        job = table.find(spec)
        if job is None:
            status = await _usage("wait", f"{spec}: no such job", 127)
            continue
        status = await table.wait_job(job)
    return status


async def jobs(shell: Shell, argv: list[str]) -> int:
    """``jobs``: list the jobs and their states."""
    table = shell.jobs
    await table.reap()
    numbers = sorted(table.jobs)
    for n in numbers:
        job = table.jobs[n]
        mark = "+" if n == numbers[-1] else "-" if len(numbers) > 1 and n == numbers[-2] else " "
        await stdio.puts(f"[{n}]{mark}  {table.state(job)}  {job.text}")
        job.stop_reported = job.stopped  # listed: not reported again before the prompt
    for n in [n for n in numbers if table.jobs[n].done]:
        del table.jobs[n]
    return 0


async def _job_to_continue(shell: Shell, argv: list[str]) -> Job | None:
    """The job ``fg``/``bg`` (``argv[0]``) names, or None after saying why."""
    if not shell.jobs.control:
        await _usage(argv[0], "no job control")
        return None
    spec = argv[1] if len(argv) > 1 else None
    job = shell.jobs.find(spec)
    if job is None:
        await _usage(argv[0], f"{spec or 'current'}: no such job")
    return job


async def fg(shell: Shell, argv: list[str]) -> int:
    """``fg [%N]``: continue a job in the foreground and wait for it."""
    job = await _job_to_continue(shell, argv)
    if job is None:
        return 1
    await stdio.puts(job.text)
    job.mark_continued()
    try:
        await libc.killpg(job.pgid, libc.SIGCONT)
    except OSError:
        pass  # it ended meanwhile: the wait collects it
    return await shell.jobs.wait_foreground(job)


async def bg(shell: Shell, argv: list[str]) -> int:
    """``bg [%N]``: continue a stopped job in the background."""
    job = await _job_to_continue(shell, argv)
    if job is None:
        return 1
    job.mark_continued()
    await stdio.puts(f"[{job.number}]+ {job.text} &")
    try:
        await libc.killpg(job.pgid, libc.SIGCONT)
    except OSError:
        pass
    return 0


async def kill(shell: Shell, argv: list[str]) -> int:
    """``kill [-s SIG | -SIG] PID|%N...``: ``/bin/kill`` that also knows the shell's jobs.

    A job operand signals the job's process group (each of its processes when the shell
    has no job control, as they share the shell's group); a stopped job also gets
    SIGCONT so that it can act on the signal. Everything else is ``/bin/kill``'s, run
    in the shell as POSIX shells build it in.
    """
    args = argv[1:]
    if not any(a.startswith("%") for a in args) or (args and args[0] == "-l"):
        return await kill_command.main(argv)
    try:
        sig, args = kill_command.parse_options(args)
    except ValueError:
        return await kill_command.main(argv)  # it reports the usage error
    status = 0
    pids: list[str] = []
    for operand in args:
        if not operand.startswith("%"):
            pids.append(operand)
            continue
        job = shell.jobs.find(operand)
        if job is None:
            status = await _usage("kill", f"{operand}: no such job", 1)
            continue
        status = max(status, await _signal_job(shell, job, sig))
    if pids:
        status = max(status, await kill_command.main(["kill", f"-{sig}", "--", *pids]))
    return status


_NO_WAKE: Final = (0, libc.SIGKILL, libc.SIGCONT, *STOP_SIGNALS)
"""Signals after which ``kill %N`` does not continue a stopped job: a probe, one that acts
on a stopped process anyway, or one that would only stop it again."""


async def _signal_job(shell: Shell, job: Job, sig: int) -> int:
    # what the shell knows of the job's stops first: a stopped job that gets SIGTERM and no
    # SIGCONT stays stopped with the signal pending (a stop no prompt has seen yet counts)
    await shell.jobs.reap()
    try:
        if shell.jobs.control:
            wake = job.stopped and sig not in _NO_WAKE
            await libc.killpg(job.pgid, sig)
            if wake:
                await libc.killpg(job.pgid, libc.SIGCONT)
        else:
            wake = False
            for pid in job.pids:
                await libc.kill(pid, sig)
        if wake or sig == libc.SIGCONT:
            job.mark_continued()  # its next stop is a new one, reported anew
    except OSError as exc:
        return await _usage("kill", f"%{job.number}: {stdio.strerror(exc)}", 1)
    return 0


async def umask(shell: Shell, argv: list[str]) -> int:
    """``umask [MODE]``: print or set the file creation mask (octal)."""
    if len(argv) == 1:
        old = await libc.umask(0)
        await libc.umask(old)
        await stdio.puts(f"{old:04o}")
        return 0
    try:
        mask = int(argv[1], 8)
    except ValueError:
        return await _usage("umask", f"{argv[1]}: octal number expected", 1)
    await libc.umask(mask & 0o777)
    return 0


async def exec_(shell: Shell, argv: list[str]) -> int:
    """``exec``: handled by the executor (it needs the command's redirections)."""
    raise AssertionError("exec is run by Shell.run_simple")  # pragma: no cover


def _quote(value: str) -> str:
    """``value`` single-quoted so the shell reads it back as is."""
    return "'" + value.replace("'", "'\\''") + "'"


BUILTINS: Final[dict[str, Builtin]] = {
    ":": colon,
    "true": colon,
    "false": false,
    "cd": cd,
    "pwd": pwd,
    "exit": exit_,
    "export": export,
    "unset": unset,
    "set": set_,
    ".": dot,
    "source": dot,
    "eval": eval_,
    "shift": shift,
    "return": return_,
    "break": break_,
    "continue": continue_,
    "read": read,
    "wait": wait,
    "jobs": jobs,
    "fg": fg,
    "bg": bg,
    "kill": kill,
    "umask": umask,
    "exec": exec_,
}

Shell.builtins = BUILTINS
Shell.special = _SPECIAL
