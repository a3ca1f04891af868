"""``/bin/sh``: the shell's entry point; how it gets its commands.

``sh -c 'TEXT' [NAME [ARG...]]`` runs TEXT (``$0`` NAME, ``$1``... ARGs);
``sh FILE [ARG...]`` runs a script; ``sh`` / ``sh -i`` / ``sh -s`` read commands
from standard input, one line at a time (one byte per read when standard
input is not a terminal, so commands that read it get what follows), and are
interactive when standard input is a terminal or ``-i`` is given: a prompt
(``PS1``, default ``$ `` or ``# `` for root) before each command and ``PS2``
(``> ``) while a command is incomplete, job control, finished background jobs
reported before the prompt, and errors that do not end the shell. End of
input or ``exit`` ends it with the last status.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from userland import libc
from userland.libc import stdio
from userland.sh import builtins  # noqa: F401  (fills Shell.builtins)
from userland.sh.exec import Shell, ShellExit, read_text
from userland.sh.lex import ShSyntaxError
from userland.sh.parse import Parser

if TYPE_CHECKING:
    from userland.sh.nodes import Program

USAGE = "usage: sh [-eix] [-c TEXT [NAME [ARG...]] | FILE [ARG...]]"


async def main(argv: list[str]) -> int:
    """Run the shell; returns its exit status."""
    shell = Shell(argv[0] if argv else "sh", [], libc.getenviron())
    shell.pid = await libc.getpid()
    args = argv[1:]
    command: str | None = None
    force_interactive = False
    read_stdin = False
    while args and args[0].startswith(("-", "+")) and args[0] not in ("-", "+"):
        opt = args.pop(0)
        if opt == "--":
            break
        for letter in opt[1:]:
            if letter == "c":
                if not args:
                    await stdio.error("sh", "-c: option requires an argument")
                    return 2
                command = args.pop(0)
            elif letter == "i":
                force_interactive = True
            elif letter == "s":
                read_stdin = True
            elif letter in "ex":
                setattr(shell, "errexit" if letter == "e" else "xtrace", opt[0] == "-")
            else:
                await stdio.error("sh", f"-{letter}: invalid option\n{USAGE}")
                return 2
    try:
        if command is not None:
            if args:
                shell.name = args[0]
                shell.positional = args[1:]
            return await shell.run_text(command)
        if args and not read_stdin:
            shell.name = args[0]
            shell.positional = args[1:]
            return await _run_file(shell, args[0])
        shell.positional = args
        shell.interactive = force_interactive or await libc.isatty(0)
        return await _run_input(shell)
    except ShellExit as exc:
        return exc.status


async def _run_file(shell: Shell, path: str) -> int:
    try:
        text = await read_text(path)
    except OSError as exc:
        await stdio.error("sh", f"{path}: {stdio.strerror(exc)}")
        return 127
    return await shell.run_text(text, where=path)


async def _prompt(shell: Shell, name: str, default: str) -> None:
    if shell.interactive:
        try:
            await stdio.write_all(2, shell.vars.get(name, default))
        except OSError:
            pass


async def _run_input(shell: Shell) -> int:
    """Read and run commands from standard input until end of file (or ``exit``)."""
    tty = await libc.isatty(0)
    reader = stdio.LineReader(0, chunk=4096 if tty else 1)
    if shell.interactive:
        await shell.jobs.enable_control()
    ps1 = "# " if await libc.geteuid() == 0 else "$ "
    while True:
        if shell.interactive:
            await shell.jobs.notify()
        shell.jobs.interrupted = False
        await _prompt(shell, "PS1", ps1)
        try:
            program = await _read_program(shell, reader)
        except EOFError:
            return shell.status
        if program is None:
            if not shell.interactive:
                return shell.status
            continue
        for command in program.commands:
            try:
                await shell.run_sequence(command)
            except ShellExit as exc:
                return exc.status
            except InterruptedError:
                # ^C reached the shell itself (between commands): abandon the line
                await stdio.write_all(2, "\n")
                shell.status = 130
                break


async def _read_program(shell: Shell, reader: stdio.LineReader) -> Program | None:
    """Read lines until they make complete commands; None after a syntax error or ^C.

    Raises:
        EOFError: end of input before any text.
    """
    text = ""
    while True:
        try:
            # a ^C caught before the read (its handler ran on the prompt's write, say)
            # counts as one that interrupts it
            if shell.jobs.interrupted:
                raise InterruptedError
            line = await reader.readline()
        except InterruptedError:
            if shell.interactive:
                shell.jobs.interrupted = False
                await stdio.write_all(2, "\n")  # ^C: drop the line, prompt again
                return None
            continue
        if not line and not text:
            if shell.interactive:
                await stdio.write_all(2, "\n")
            raise EOFError
        text += stdio.decode(line)
        try:
            return Parser(text).parse_all()
        except ShSyntaxError as exc:
            if exc.at_eof and line.endswith(b"\n"):
                await _prompt(shell, "PS2", "> ")
                continue
            await shell.error(str(exc))
            shell.status = 2
            return None
