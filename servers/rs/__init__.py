"""servers/rs: the reincarnation server (MINIX's ``servers/rs``).

``protocol.py`` is the wire protocol, ``service.py`` the rows of RS's service table,
``main.py`` the server (boot spawns :func:`servers.rs.main.make_rs` at RS_PROC_NR),
``sef.py`` the calls a service makes to live under RS, ``host.py`` the host mailbox
behind ``System.kill_service``. See ``docs/services.md``.
"""
