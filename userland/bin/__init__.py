"""The commands in ``/bin``: one module a command, each a program using only libc.

A module here with an ``async def main(argv) -> int`` is installed at ``/bin/NAME``,
NAME being the module's name without a trailing underscore (``true_`` is ``true``),
or at every name of its ``NAMES`` tuple when it has one (``test`` is also ``[``).
:func:`userland.programs.register_commands` does the installing, at import time of
:mod:`userland.programs`; boot then writes them into the root file system.
"""
