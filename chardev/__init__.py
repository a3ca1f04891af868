"""chardev: not built yet (see docs/architecture.md)."""
