"""servers/ds: the data store (MINIX's ``servers/ds``).

``protocol.py`` is the wire protocol, ``store.py`` the tables of keys and
subscriptions, ``main.py`` the server's loop (boot spawns :func:`servers.ds.main.make_ds`
at DS_PROC_NR), ``client.py`` the calls system processes make. See ``docs/services.md``.
"""
