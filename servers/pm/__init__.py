"""servers.pm: the process manager (MINIX's PM).

PM owns processes as users see them: pids, parents and children, fork, exec, exit
and waitpid, zombies and orphans, user and group ids, process groups and sessions,
and signals (dispositions, masks, delivery, default actions, alarms). It is the
signal manager of user processes: the kernel reports their deaths to it.

- :mod:`servers.pm.protocol`: the wire protocol (what libc and VFS import);
- :mod:`servers.pm.main`: the main loop, PM's state, :func:`~servers.pm.main.make_pm`;
- :mod:`servers.pm.mproc`: the process table;
- :mod:`servers.pm.forkexit`, :mod:`servers.pm.execve`, :mod:`servers.pm.signals`,
  :mod:`servers.pm.alarm`, :mod:`servers.pm.getset`, :mod:`servers.pm.session`: one
  concern each;
- :mod:`servers.pm.host` and :mod:`servers.pm.hostcalls`: the host's mailbox.

See ``docs/processes.md``.
"""
