"""fs: not built yet (see docs/architecture.md)."""
