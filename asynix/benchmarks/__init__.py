"""Benchmarks registered with :mod:`asynix.bench`, one module per layer."""
