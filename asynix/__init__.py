"""asynix: the front door (boot image, fake terminal, CLI, fuzzer, tracing, benchmarks)."""
