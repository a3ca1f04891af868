"""userland: what runs as user processes.

- :mod:`userland.libc`: the C library, the only door from a user program into the
  system;
- :mod:`userland.init`: init, pid 1;
- :mod:`userland.programs`: the programs of ``/bin`` and the runtime PM starts them
  with.
"""
