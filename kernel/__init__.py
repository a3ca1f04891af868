"""kernel: the asynix microkernel (process table, IPC, privileges, grants, scheduling)."""
