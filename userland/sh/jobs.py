"""Jobs: the processes a command started, waiting for them, and job control.

A job is a pipeline (or a background list, or a subshell): its processes and,
under job control, the process group they share. :class:`JobTable` waits for a
foreground job (``waitpid``, with WUNTRACED under job control so a ^Z stop is
seen), keeps background and stopped jobs for ``jobs``/``fg``/``bg``/``wait``,
and reports finished and newly stopped ones before the next prompt.

A job's state changes are reported once each: a stop when the shell first learns of it
(the foreground wait reports a ^Z at once, :meth:`JobTable.notify` a background job's
stop before the next prompt, ``jobs`` lists it), an end when ``notify`` or ``jobs``
reports it, after which the job is forgotten. A job that is continued (``bg``, ``fg``,
``kill %N``, or a SIGCONT from elsewhere, seen through WCONTINUED) and stops again is
reported again. An end beats a stop that was never reported: a job that stopped and was
then killed before the prompt is reported only as ended.

Job control is on only in an interactive shell on a terminal: each job gets its
own process group (``setpgid`` in both the shell and the child, whichever runs
first), the terminal's foreground group is handed to a foreground job with
``tcsetpgrp`` and taken back afterwards. :func:`tcsetpgrp`/:func:`tcgetpgrp`
treat a descriptor that is no controlling terminal as "no job control".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from userland import libc
from userland.libc import stdio

INTERACTIVE_IGNORED: Final = (libc.SIGINT, libc.SIGQUIT, libc.SIGTSTP, libc.SIGTTIN, libc.SIGTTOU)
"""Signals an interactive shell does not let kill or stop it (SIGINT is caught, the others
ignored); its children get their default dispositions back."""

STOP_SIGNALS: Final = (libc.SIGSTOP, libc.SIGTSTP, libc.SIGTTIN, libc.SIGTTOU)
"""Signals whose default action stops a process."""


async def tcgetpgrp(fd: int) -> int | None:
    """The foreground process group of the terminal at ``fd``, or None (no job control)."""
    try:
        return await libc.tcgetpgrp(fd)
    except OSError:
        return None


async def tcsetpgrp(fd: int, pgrp: int) -> bool:
    """Make ``pgrp`` the foreground group of the terminal at ``fd``; False if impossible."""
    try:
        await libc.tcsetpgrp(fd, pgrp)
    except OSError:
        return False
    return True


def exit_code(status: int) -> int:
    """A wait status as the shell's ``$?``: the exit code, or 128 + the signal number."""
    if libc.WIFEXITED(status):
        return libc.WEXITSTATUS(status)
    if libc.WIFSIGNALED(status):
        return 128 + libc.WTERMSIG(status)
    if libc.WIFSTOPPED(status):
        return 128 + libc.WSTOPSIG(status)
    return 1


@dataclass(slots=True)
class Job:
    """A job: its processes (the last one's status is the job's) and its group."""

    pids: list[int]
    pgid: int
    text: str
    number: int = 0
    codes: dict[int, int] = field(default_factory=dict)
    stopped_pids: set[int] = field(default_factory=set)
    """Its processes the shell last saw stop (and not continue or end since)."""
    stopsig: int = 0
    """The signal that last stopped the job (meaningful while ``stopped``)."""
    stop_reported: bool = False
    """Whether the current stop has been reported (by a prompt, ``jobs`` or ^Z's wait)."""

    @property
    def done(self) -> bool:
        """Whether every process has ended."""
        return len(self.codes) == len(self.pids)

    @property
    def code(self) -> int:
        """The job's status (its last process's), once done."""
        return self.codes.get(self.pids[-1], 0)

    @property
    def stopped(self) -> bool:
        """Whether the job is stopped: one of its processes is (and has not ended)."""
        return bool(self.stopped_pids)

    def mark_stopped(self, pid: int, sig: int) -> None:
        """Process ``pid`` of the job stopped with ``sig``.

        A job that was running becomes stopped with a stop still to report; one already
        stopped (another process of a stopped pipeline) stays as it was, so each stop of
        the job is reported once.
        """
        if not self.stopped:
            self.stopsig = sig
            self.stop_reported = False
        self.stopped_pids.add(pid)

    def mark_continued(self, pid: int | None = None) -> None:
        """Process ``pid`` (None: every one, the group got SIGCONT) runs again, or ended.

        A job with no stopped process left runs: its next stop is a new one.
        """
        if pid is None:
            self.stopped_pids.clear()
        else:
            self.stopped_pids.discard(pid)


class JobTable:
    """The shell's jobs; ``control`` says whether job control is on."""

    def __init__(self) -> None:
        self.control = False
        self.shell_pgrp = 0
        self.jobs: dict[int, Job] = {}
        self.interrupted = False
        """Set by a SIGINT (^C) the interactive shell caught; the prompt loop clears it."""

    def _on_interrupt(self, signum: int) -> None:
        """SIGINT's handler: note it (a read it interrupts fails with EINTR besides)."""
        self.interrupted = True

    async def enable_control(self) -> None:
        """Turn job control on if standard input is a terminal that allows it.

        The shell leads its own group, which becomes the terminal's foreground group.
        """
        if not await libc.isatty(0) or await tcgetpgrp(0) is None:
            return
        pid = await libc.getpid()
        if await libc.getpgrp() != pid:
            try:
                await libc.setpgid(0, 0)
            except OSError:
                return
        self.shell_pgrp = pid
        for sig in INTERACTIVE_IGNORED:
            await libc.signal(sig, libc.SIG_IGN)
        # ^C at the prompt: caught (not ignored) so that it interrupts the read of a
        # half-typed line; exec resets a caught signal, so programs get the default.
        await libc.signal(libc.SIGINT, self._on_interrupt)
        self.control = await tcsetpgrp(0, pid)

    # -- starting ------------------------------------------------------------------------

    async def child_setup(self, pgid: int, foreground: bool) -> None:
        """In a new child: join the job's group and take the terminal if in the foreground.

        ``pgid`` 0 leads a new group. The signals the shell ignores get their default
        dispositions back.
        """
        for sig in (libc.SIGINT, libc.SIGQUIT, libc.SIGTSTP):
            await libc.signal(sig, libc.SIG_DFL)
        await self._setpgid(0, pgid)
        if foreground:  # while SIGTTOU is still ignored: a background group may do this
            await tcsetpgrp(0, pgid or await libc.getpid())
        for sig in (libc.SIGTTIN, libc.SIGTTOU):
            await libc.signal(sig, libc.SIG_DFL)

    @staticmethod
    async def default_signals() -> None:
        """In a new child that keeps the shell's group: default dispositions back."""
        for sig in INTERACTIVE_IGNORED:
            await libc.signal(sig, libc.SIG_DFL)

    async def parent_setup(self, pid: int, pgid: int) -> None:
        """In the shell, after forking ``pid``: put it in group ``pgid`` (0: its own)."""
        await self._setpgid(pid, pgid or pid)

    @staticmethod
    async def _setpgid(pid: int, pgid: int) -> None:
        try:
            await libc.setpgid(pid, pgid)
        except OSError:
            pass  # the other side got there first, or the child already exec'd / exited

    def add(self, job: Job) -> Job:
        """Enter ``job`` in the table (numbered after the highest number in use)."""
        if not job.number:
            job.number = max(self.jobs, default=0) + 1
            self.jobs[job.number] = job
        return job

    # -- waiting -------------------------------------------------------------------------

    async def wait_foreground(self, job: Job) -> int:
        """Wait for ``job`` in the foreground; returns its status.

        A job that stops gives 128 + the stop signal and stays in the table.
        """
        if self.control:
            await tcsetpgrp(0, job.pgid)
        try:
            stopsig = await self._wait(job, libc.WUNTRACED if self.control else 0)
        finally:
            if self.control:
                await tcsetpgrp(0, self.shell_pgrp)
        if stopsig:
            job.stop_reported = True
            self.add(job)
            await stdio.write_all(2, f"\n[{job.number}]+  Stopped  {job.text}\n")
            return 128 + stopsig
        self.jobs.pop(job.number, None)
        if self.control and job.code == 128 + libc.SIGINT:
            await stdio.write_all(2, "\n")  # after the terminal's "^C", as sh does
        return job.code

    async def wait_job(self, job: Job) -> int:
        """Wait for every process of background ``job`` to end, or for it to stop.

        Returns the job's status once it ended (and forgets it), or 128 + the stop signal
        when it is stopped, at once if it already was (it stays in the table, and a stop
        not reported yet is reported before the next prompt): a stopped job can make no
        progress until someone continues it, and the shell waiting for it could not.
        """
        await self.reap()
        if not job.done and not job.stopped:
            await self._wait(job, libc.WUNTRACED)
        if job.done:
            self.jobs.pop(job.number, None)
            return job.code
        return 128 + job.stopsig

    async def _wait(self, job: Job, options: int) -> int:
        """Collect ``job``'s processes; returns a stop signal (0 when all ended).

        A process that stops (``options`` has WUNTRACED) marks the job stopped.
        """
        for pid in job.pids:
            while pid not in job.codes:
                try:
                    _, status = await libc.waitpid(pid, options)
                except InterruptedError:
                    continue
                except ChildProcessError:
                    job.codes[pid] = 127  # reaped elsewhere: its status is lost
                    break
                if libc.WIFSTOPPED(status):
                    job.mark_stopped(pid, libc.WSTOPSIG(status))
                    return libc.WSTOPSIG(status)
                job.codes[pid] = exit_code(status)
                job.mark_continued(pid)
        return 0

    async def reap(self) -> None:
        """Collect any ended, stopped or continued background processes without blocking."""
        if not self.jobs:
            return
        options = libc.WNOHANG | libc.WUNTRACED | libc.WCONTINUED
        while True:
            try:
                pid, status = await libc.waitpid(-1, options)
            except (ChildProcessError, InterruptedError):
                return
            if pid == 0:
                return
            for job in self.jobs.values():
                if pid in job.pids:
                    if libc.WIFSTOPPED(status):
                        job.mark_stopped(pid, libc.WSTOPSIG(status))
                    elif libc.WIFCONTINUED(status):
                        job.mark_continued(pid)
                    else:
                        job.codes[pid] = exit_code(status)
                        job.mark_continued(pid)  # (it ended: no longer stopped)

    async def notify(self) -> None:
        """Report background jobs that have ended or stopped (before a prompt).

        An ended job is reported once: it leaves the table as it is reported. A stopped
        job is reported once per stop (``[N]+  Stopped  CMD``) and stays; an end wins
        over a stop not reported yet. The report may share a row with the previous prompt
        when the user typed Enter before that prompt appeared (the terminal echoed it
        then); that is the terminal's doing, not ours.
        """
        await self.reap()
        for job in list(self.jobs.values()):
            if not job.done and (not job.stopped or job.stop_reported):
                continue
            await stdio.write_all(2, f"[{job.number}]+  {self.state(job)}  {job.text}\n")
            if job.done:
                del self.jobs[job.number]
            else:
                job.stop_reported = True

    # -- finding -------------------------------------------------------------------------

    def find(self, spec: str | None) -> Job | None:
        """The job ``spec`` names (``%n``, ``%%``, ``%+``, ``%-``, ``%prefix``, a pid).

        ``None`` names the current job (the most recent).
        """
        if not self.jobs:
            return None
        numbers = sorted(self.jobs)
        if spec in (None, "%", "%%", "%+"):
            return self.jobs[numbers[-1]]
        assert spec is not None
        if spec == "%-":
            return self.jobs[numbers[-2]] if len(numbers) > 1 else None
        if spec.startswith("%"):
            body = spec[1:]
            if body.isdigit():
                return self.jobs.get(int(body))
            found = [j for j in self.jobs.values() if j.text.startswith(body)]
            return found[-1] if found else None
        if spec.isdigit():
            pid = int(spec)
            return next((j for j in self.jobs.values() if pid in j.pids), None)
        return None

    def state(self, job: Job) -> str:
        """What ``jobs`` says a job is doing."""
        if job.done:
            return "Done" if job.code == 0 else f"Exit {job.code}"
        return "Stopped" if job.stopped else "Running"
