"""userland.sh: asynix's POSIX-style shell, ``/bin/sh`` (see docs/shell.md).

:mod:`~userland.sh.lex` and :mod:`~userland.sh.parse` turn text into the tree of
:mod:`~userland.sh.nodes`; :mod:`~userland.sh.expand` (with
:mod:`~userland.sh.pattern` and :mod:`~userland.sh.arith`) expands words;
:mod:`~userland.sh.exec` runs commands (with :mod:`~userland.sh.redir`,
:mod:`~userland.sh.jobs` and :mod:`~userland.sh.builtins`); :mod:`~userland.sh.main`
is the program.
"""
