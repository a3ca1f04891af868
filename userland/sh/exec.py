"""The executor: the shell's state and how it runs a parsed command.

:class:`Shell` holds variables (and which are exported), functions, positional
parameters, ``$?``, options and jobs, and walks the tree :mod:`parse` builds.
Builtins, functions and compound commands run in the shell's own process;
everything else runs in a child made with ``libc.fork`` that applies its
redirections and execs it (:func:`userland.execvp.execvpe`: PATH searched as
the command's environment has it; a name with ``/`` used as is; a file that is
no program run as a script by ``/bin/sh``). A pipeline forks one child per
command, joined by pipes; a subshell, a background list and a command
substitution fork a copy of the shell. Because a forked child shares the
shell's Python objects, a child that keeps running shell code gets its own copy
of the state (:meth:`subshell`, made before the fork).

A plain command's words are expanded in the shell before the fork (so
``${x:=y}`` sticks); a pipeline's commands expand in their children.
"""

from __future__ import annotations

import errno
from collections.abc import Awaitable, Callable
from typing import ClassVar

from userland import libc
from userland.execvp import execvpe
from userland.libc import stdio
from userland.sh import redir
from userland.sh.expand import (
    ExpansionError,
    expand_heredoc,
    expand_pattern,
    expand_word,
    expand_words,
)
from userland.sh.jobs import Job, JobTable, exit_code
from userland.sh.lex import ShSyntaxError
from userland.sh.nodes import (
    AndOr,
    Case,
    CmdSub,
    Command,
    For,
    FuncDef,
    Group,
    HereDoc,
    If,
    Item,
    Loop,
    Pipeline,
    Redirect,
    Sequence,
    Simple,
    Subshell,
    Word,
)
from userland.sh.parse import Parser
from userland.sh.pattern import match


class ShellExit(Exception):
    """Leave the shell (``exit``, ``set -e``, a fatal error) with ``status``."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class LoopControl(Exception):
    """``break n`` / ``continue n`` unwinding to the n-th enclosing loop."""

    def __init__(self, levels: int, again: bool) -> None:
        super().__init__(levels)
        self.levels = levels
        self.again = again


class FunctionReturn(Exception):
    """``return n`` from a function or a ``.`` script."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


Builtin = Callable[["Shell", list[str]], Awaitable[int]]


class Shell:
    """One shell's state, and the code that runs commands with it."""

    builtins: ClassVar[dict[str, Builtin]] = {}
    special: ClassVar[frozenset[str]] = frozenset()
    """Filled by :mod:`userland.sh.builtins`: every builtin, and the special ones.

    POSIX's special builtins keep the variable assignments written before them.
    """

    def __init__(self, name: str, args: list[str], environ: dict[str, str]) -> None:
        self.vars: dict[str, str] = dict(environ)
        self.exported: set[str] = set(environ)
        self.functions: dict[str, Command] = {}
        self.name = name
        self.positional = list(args)
        self.status = 0
        self.pid = 0
        self.last_background: int | None = None
        self.errexit = False
        self.xtrace = False
        self.interactive = False
        self.jobs = JobTable()
        self.loops = 0
        self.functions_running = 0
        self.substitutions = 0
        self._conditions = 0

    def subshell(self) -> Shell:
        """A copy of the state for a forked child (no jobs, no job control)."""
        sub = Shell(self.name, self.positional, {})
        sub.vars = dict(self.vars)
        sub.exported = set(self.exported)
        sub.functions = dict(self.functions)
        sub.status = self.status
        sub.pid = self.pid
        sub.last_background = self.last_background
        sub.errexit = self.errexit
        sub.xtrace = self.xtrace
        sub.loops = self.loops
        sub.functions_running = self.functions_running
        return sub

    # -- variables (the expansion context) -----------------------------------------------

    def lookup(self, name: str) -> str | None:
        """The value of variable or special parameter ``name`` (None when unset)."""
        if name in self.vars:
            return self.vars[name]
        if name.isdigit():
            n = int(name)
            if n == 0:
                return self.name
            return self.positional[n - 1] if n <= len(self.positional) else None
        if name == "?":
            return str(self.status)
        if name == "$":
            return str(self.pid)
        if name == "#":
            return str(len(self.positional))
        if name == "!":
            return None if self.last_background is None else str(self.last_background)
        if name == "-":
            return self.flags()
        if name in ("@", "*"):
            return " ".join(self.positional)
        return None

    def assign(self, name: str, value: str) -> None:
        """Set variable ``name``."""
        self.vars[name] = value

    def flags(self) -> str:
        """``$-``: the options set."""
        return "e" * self.errexit + "x" * self.xtrace + "i" * self.interactive

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment a command gets: exported variables, then ``extra``."""
        env = {k: v for k, v in self.vars.items() if k in self.exported}
        if extra:
            env.update(extra)
        return env

    async def home_of(self, user: str) -> str | None:
        """The home directory of ``user`` (``""``: $HOME) from ``/etc/passwd``."""
        if not user:
            return self.vars.get("HOME")
        try:
            text = await read_text("/etc/passwd")
        except OSError:
            return None
        for line in text.splitlines():
            fields = line.split(":")
            if len(fields) >= 6 and fields[0] == user:
                return fields[5]
        return None

    async def substitute(self, sub: CmdSub) -> str:
        """Run command substitution ``sub`` in a child; its output (``$?`` set)."""
        if sub.program is None:
            try:
                sub.program = Parser(sub.source).parse_all()
            except ShSyntaxError as exc:
                raise ExpansionError(str(exc)) from None
        program = sub.program
        r, w = await libc.pipe()
        child = self.subshell()

        async def body() -> int:
            await libc.close(r)
            if w != 1:
                await libc.dup2(w, 1)
                await libc.close(w)
            for command in program.commands:
                await child.run_sequence(command)
            return child.status

        pid = await self.fork(child, body)
        await libc.close(w)
        try:
            data = await stdio.read_all(r)
        finally:
            await libc.close(r)
        self.status = await self._wait_pid(pid)
        self.substitutions += 1
        return stdio.decode(data)

    # -- messages ------------------------------------------------------------------------

    async def error(self, message: str) -> None:
        """Print ``sh: message`` on standard error."""
        await stdio.error("sh", message)

    # -- running text --------------------------------------------------------------------

    async def run_text(self, text: str, *, where: str = "") -> int:
        """Parse and run ``text`` command by command; a syntax error stops it (status 2).

        Raises:
            ShellExit: ``exit``, ``set -e``, or a syntax error in a script.
        """
        parser = Parser(text)
        while True:
            try:
                command = parser.next_command()
            except ShSyntaxError as exc:
                prefix = f"{where}: line {exc.line}: " if where else ""
                await self.error(prefix + str(exc))
                self.status = 2
                if not self.interactive:
                    raise ShellExit(2) from None
                return 2
            if command is None:
                return self.status
            await self.run_sequence(command)

    async def run_sequence(self, seq: Sequence) -> int:
        """Run a list; returns (and sets) the last status."""
        for item in seq.items:
            if item.background:
                await self.run_background(item)
            else:
                await self.run_and_or(item.body)
        return self.status

    async def run_and_or(self, ao: AndOr) -> int:
        """Run ``a && b || c``.

        Each pipeline after the first runs if the status so far is zero (``&&``) or not (``||``).
        """
        status = await self.run_pipeline(ao.first, condition=bool(ao.rest))
        for k, (op, pipeline) in enumerate(ao.rest):
            if (op == "&&") == (status == 0):
                status = await self.run_pipeline(pipeline, condition=k < len(ao.rest) - 1)
        return status

    async def run_condition(self, seq: Sequence) -> int:
        """Run the condition of ``if``/``while``: ``set -e`` does not apply inside it."""
        self._conditions += 1
        try:
            return await self.run_sequence(seq)
        finally:
            self._conditions -= 1

    async def run_pipeline(self, p: Pipeline, *, condition: bool = False) -> int:
        """Run a pipeline; sets ``$?``; ``set -e`` exits on failure outside conditions."""
        if condition or p.bang:
            self._conditions += 1
        try:
            if len(p.commands) == 1:
                status = await self.run_command(p.commands[0])
            else:
                status = await self._run_pipes(p)
        finally:
            if condition or p.bang:
                self._conditions -= 1
        if p.bang:
            status = int(status == 0)
        self.status = status
        if status and self.errexit and not (condition or p.bang or self._conditions):
            raise ShellExit(status)
        return status

    async def _run_pipes(self, p: Pipeline) -> int:
        """Fork one child per command, each reading the previous one's pipe."""
        control = self.jobs.control
        pids: list[int] = []
        pgid = 0
        prev_r: int | None = None
        last = len(p.commands) - 1
        for k, command in enumerate(p.commands):
            r = w = None
            if k < last:
                r, w = await libc.pipe()
            child = self.subshell()
            pid = await self.fork(
                child,
                _stage(child, command, prev_r, w, r),
                pgid=pgid if control else None,
            )
            pgid = pgid or pid
            pids.append(pid)
            if prev_r is not None:
                await libc.close(prev_r)
            if w is not None:
                await libc.close(w)
            prev_r = r
        return await self.jobs.wait_foreground(Job(pids, pgid, p.text))

    # -- forking -------------------------------------------------------------------------

    async def fork(
        self,
        child: Shell,
        body: Callable[[], Awaitable[int]],
        *,
        pgid: int | None = None,
        foreground: bool = True,
    ) -> int:
        """Fork a child running ``body`` (which works on ``child``, a :meth:`subshell`).

        ``pgid`` (job control only) is the group to join, 0 for a new one. The
        child's ``exit``, ``return`` and loop controls end it with their status.
        """
        jobs = self.jobs

        async def entry() -> int:
            if pgid is not None:
                await jobs.child_setup(pgid, foreground)
            elif jobs.control:  # stays in the shell's group, without its dispositions
                await jobs.default_signals()
            try:
                return await body()
            except ShellExit as exc:
                return exc.status
            except FunctionReturn as exc:
                return exc.status
            except LoopControl:
                return child.status

        pid = await libc.fork(entry)
        if pgid is not None:
            await jobs.parent_setup(pid, pgid)
        return pid

    async def _wait_pid(self, pid: int) -> int:
        while True:
            try:
                _, status = await libc.waitpid(pid, 0)
            except InterruptedError:
                continue
            except ChildProcessError:
                return 127
            return exit_code(status)

    async def run_background(self, item: Item) -> None:
        """Start ``item &``: a forked copy of the shell runs it; ``$!`` is its pid."""
        child = self.subshell()
        control = self.jobs.control
        body = item.body
        direct = not body.rest and len(body.first.commands) == 1 and not body.first.bang

        async def run() -> int:
            if not control:
                await _stdin_from_null()
            if direct:
                return await child.run_command(body.first.commands[0], direct=True)
            return await child.run_and_or(body)

        pid = await self.fork(child, run, pgid=0 if control else None, foreground=False)
        self.last_background = pid
        job = self.jobs.add(Job([pid], pid, item.text or "&"))
        if self.interactive:
            await stdio.write_all(2, f"[{job.number}] {pid}\n")
        self.status = 0

    # -- commands ------------------------------------------------------------------------

    async def run_command(self, cmd: Command, *, direct: bool = False) -> int:
        """Run one command.

        ``direct``: this process may exec it (a forked child whose last act this is).
        """
        if isinstance(cmd, Simple):
            return await self.run_simple(cmd, direct=direct)
        if isinstance(cmd, FuncDef):
            self.functions[cmd.name] = cmd.body
            return 0
        if isinstance(cmd, Subshell):
            return await self._run_subshell(cmd, direct)
        saved = await self._redirect(cmd.redirects, save=True)
        if saved is None:
            return 1
        try:
            return await self._run_compound(cmd)
        finally:
            await redir.restore(saved)

    async def _run_compound(self, cmd: Command) -> int:
        if isinstance(cmd, Group):
            return await self.run_sequence(cmd.body)
        if isinstance(cmd, If):
            for cond, body in cmd.arms:
                if await self.run_condition(cond) == 0:
                    return await self.run_sequence(body)
            if cmd.orelse is not None:
                return await self.run_sequence(cmd.orelse)
            self.status = 0
            return 0
        if isinstance(cmd, Loop):
            return await self._run_while(cmd)
        if isinstance(cmd, For):
            return await self._run_for(cmd)
        assert isinstance(cmd, Case)
        return await self._run_case(cmd)

    async def _loop_body(self, body: Sequence) -> bool:
        """Run a loop body; False when the loop must end (``break``)."""
        try:
            await self.run_sequence(body)
        except LoopControl as exc:
            if exc.levels > 1:
                raise LoopControl(exc.levels - 1, exc.again) from None
            return exc.again
        return True

    async def _run_loop(self, body: Sequence, more: Callable[[], Awaitable[bool]]) -> int:
        """Run ``body`` while ``more()`` says so; the status of its last run (0: none)."""
        status = 0
        self.loops += 1
        try:
            while await more():
                again = await self._loop_body(body)
                status = self.status
                if not again:
                    break
        finally:
            self.loops -= 1
        self.status = status
        return status

    async def _run_while(self, cmd: Loop) -> int:
        async def more() -> bool:
            return (await self.run_condition(cmd.cond) == 0) != cmd.until

        return await self._run_loop(cmd.body, more)

    async def _run_for(self, cmd: For) -> int:
        words = self.positional if cmd.words is None else await self._expand(cmd.words)
        if words is None:
            return 1
        values = iter(list(words))

        async def more() -> bool:
            value = next(values, None)
            if value is not None:
                self.assign(cmd.name, value)
            return value is not None

        return await self._run_loop(cmd.body, more)

    async def _run_case(self, cmd: Case) -> int:
        try:
            subject = await expand_word(self, cmd.word)
            for patterns, body in cmd.arms:
                for pat in patterns:
                    if match(await expand_pattern(self, pat), subject):
                        return await self.run_sequence(body)
        except ExpansionError as exc:
            return await self._expansion_failed(exc)
        self.status = 0
        return 0

    async def _run_subshell(self, cmd: Subshell, direct: bool) -> int:
        if direct:
            saved = await self._redirect(cmd.redirects, save=False)
            return 1 if saved is None else await self.run_sequence(cmd.body)
        child = self.subshell()
        control = self.jobs.control

        async def run() -> int:
            return await child._run_subshell(cmd, True)

        pid = await self.fork(child, run, pgid=0 if control else None)
        return await self.jobs.wait_foreground(Job([pid], pid, "(...)"))

    # -- simple commands -----------------------------------------------------------------

    async def _expand(self, words: tuple[Word, ...]) -> list[str] | None:
        try:
            return await expand_words(self, words)
        except ExpansionError as exc:
            await self._expansion_failed(exc)
            return None

    async def _expansion_failed(self, exc: ExpansionError) -> int:
        await self.error(str(exc))
        self.status = 1
        if not self.interactive:
            raise ShellExit(1)
        return 1

    async def _resolve(self, redirects: tuple[Redirect, ...]) -> list[redir.Resolved] | None:
        """Expand the targets of ``redirects`` (None after reporting a failure)."""
        out: list[redir.Resolved] = []
        try:
            for r in redirects:
                if isinstance(r.target, HereDoc):
                    out.append(redir.Resolved(r.fd, "<<", await expand_heredoc(self, r.target)))
                else:
                    out.append(redir.Resolved(r.fd, r.op, await expand_word(self, r.target)))
        except ExpansionError as exc:
            await self._expansion_failed(exc)
            return None
        return out

    async def _redirect(self, redirects: tuple[Redirect, ...], *, save: bool) -> redir.Saved | None:
        """Expand and apply ``redirects`` here (None after reporting a failure)."""
        if not redirects:
            return []
        resolved = await self._resolve(redirects)
        if resolved is None:
            return None
        try:
            return await redir.apply(resolved, save=save)
        except redir.RedirectError as exc:
            await self.error(str(exc))
            return None

    async def run_simple(self, cmd: Simple, *, direct: bool = False) -> int:
        """Run a simple command: assignments only, a function, a builtin, or a program."""
        argv = await self._expand(cmd.words) if cmd.words else []
        if argv is None:
            return 1
        assigned: dict[str, str] = {}
        substitutions = self.substitutions
        try:
            for name, word in cmd.assigns:
                assigned[name] = await expand_word(self, word)
        except ExpansionError as exc:
            return await self._expansion_failed(exc)
        if self.xtrace:
            shown = [f"{k}={v}" for k, v in assigned.items()] + argv
            await stdio.write_all(2, "+ " + " ".join(shown) + "\n")
        if not argv:
            self.vars.update(assigned)
            saved = await self._redirect(cmd.redirects, save=True)
            if saved is None:
                return 1
            await redir.restore(saved)
            # the status of the last command substitution, if there was one
            return self.status if self.substitutions != substitutions else 0
        name = argv[0]
        function = self.functions.get(name)
        if function is not None:
            return await self._in_shell(cmd, assigned, lambda: self._call(function, argv))
        builtin = self.builtins.get(name)
        if builtin is not None:
            if name == "exec":
                return await self._exec_builtin(cmd, argv, assigned)
            if name in self.special:
                self.vars.update(assigned)
                assigned = {}
            return await self._in_shell(cmd, assigned, lambda: builtin(self, argv))
        env = self.environ(assigned)
        if direct:
            resolved = await self._resolve(cmd.redirects)
            return 1 if resolved is None else await _exec_child(argv, env, resolved)
        return await self._run_program(cmd, argv, env)

    async def _in_shell(
        self, cmd: Simple, assigned: dict[str, str], run: Callable[[], Awaitable[int]]
    ) -> int:
        """Run a builtin or function here, with ``cmd``'s redirections and assignments.

        Both are undone afterwards.
        """
        saved = await self._redirect(cmd.redirects, save=True)
        if saved is None:
            self.status = 1
            return 1
        old = {k: self.vars.get(k) for k in assigned}
        self.vars.update(assigned)
        try:
            self.status = await run()
        finally:
            for k, v in old.items():
                if v is None:
                    self.vars.pop(k, None)
                else:
                    self.vars[k] = v
            await redir.restore(saved)
        return self.status

    async def _call(self, body: Command, argv: list[str]) -> int:
        """Call a function: ``$1``... are its arguments while it runs."""
        saved, self.positional = self.positional, argv[1:]
        self.functions_running += 1
        try:
            return await self.run_command(body)
        except FunctionReturn as exc:
            return exc.status
        finally:
            self.functions_running -= 1
            self.positional = saved

    async def _exec_builtin(self, cmd: Simple, argv: list[str], assigned: dict[str, str]) -> int:
        """``exec``: make the redirections permanent, then replace the shell if told to."""
        saved = await self._redirect(cmd.redirects, save=False)
        if saved is None:
            if not self.interactive:
                raise ShellExit(1)
            return 1
        if len(argv) == 1:
            self.vars.update(assigned)
            return 0
        status = await _exec_child(argv[1:], self.environ(assigned), [])
        if not self.interactive:
            raise ShellExit(status)
        return status

    async def _run_program(self, cmd: Simple, argv: list[str], env: dict[str, str]) -> int:
        """Fork a child that redirects and execs ``argv``; wait for it."""
        resolved = await self._resolve(cmd.redirects)
        if resolved is None:
            return 1
        control = self.jobs.control

        async def run() -> int:
            return await _exec_child(argv, env, resolved)

        pid = await self.fork(self, run, pgid=0 if control else None)
        if not control:
            return await self._wait_pid(pid)
        return await self.jobs.wait_foreground(Job([pid], pid, " ".join(argv)))


async def read_text(path: str) -> str:
    """All of the file at ``path``, decoded.

    Raises:
        OSError: it cannot be opened or read.
    """
    fd = await libc.open(path, libc.O_RDONLY)
    try:
        return stdio.decode(await stdio.read_all(fd))
    finally:
        await libc.close(fd)


def _stage(
    shell: Shell, command: Command, stdin: int | None, stdout: int | None, other: int | None
) -> Callable[[], Awaitable[int]]:
    """The body of a pipeline's child.

    Wire the pipes, run the command (exec it when it is a program).
    """

    async def run() -> int:
        if other is not None:
            await libc.close(other)
        if stdin is not None:
            await libc.dup2(stdin, 0)
            await libc.close(stdin)
        if stdout is not None:
            await libc.dup2(stdout, 1)
            await libc.close(stdout)
        return await shell.run_command(command, direct=True)

    return run


async def _stdin_from_null() -> None:
    """A background command without job control reads ``/dev/null`` (POSIX)."""
    try:
        fd = await libc.open("/dev/null", libc.O_RDONLY)
    except OSError:
        return
    await libc.dup2(fd, 0)
    await libc.close(fd)


async def _exec_child(argv: list[str], env: dict[str, str], redirects: list[redir.Resolved]) -> int:
    """In a child, apply ``redirects`` and exec ``argv``.

    Returns only on failure: 126 found but not executable, 127 not found, 1 a failed
    redirection.
    """
    try:
        await redir.apply(redirects, save=False)
    except redir.RedirectError as exc:
        await stdio.error("sh", str(exc))
        return 1
    return await exec_program(argv, env)


async def exec_program(argv: list[str], env: dict[str, str]) -> int:
    """Replace this process with the program ``argv[0]`` names, searched in PATH.

    Returns only on failure, after printing why: 127 when there is no such program,
    126 when there is one that cannot be run.
    """
    failure = await execvpe(argv, env)
    if failure.errno == errno.ENOENT:
        await stdio.error("sh", f"{argv[0]}: not found")
        return 127
    await stdio.error("sh", f"{argv[0]}: {stdio.strerror(failure)}")
    return 126
