"""chardev: the async character-driver framework and its drivers (see docs/drivers.md)."""
