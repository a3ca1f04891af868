"""vm: the VM server (MINIX's ``servers/vm``); see docs/memory.md.

Boot spawns :func:`vm.server.make_vm` at VM_PROC_NR; other packages import only
:mod:`vm.protocol`.
"""
