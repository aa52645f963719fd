"""The L7 SSH intercepting proxy daemon (``python -m natsim.proxy``), run inside the firewall node.

* :mod:`~natsim.proxy.settings` — what the daemon needs from the ``ssh-proxy`` config, in lab time.
* :mod:`~natsim.proxy.sockets` — transparent (tproxy) listener and backend sockets.
* :mod:`~natsim.proxy.sniff` — is this connection SSH? (peeks the client's first bytes)
* :mod:`~natsim.proxy.relay` — byte-for-byte relay for everything that is not SSH.
* :mod:`~natsim.proxy.bypass` — put a (client, server, port) tuple into the nft ``bypass`` set.
* :mod:`~natsim.proxy.mitm` — the SSH man-in-the-middle (asyncssh on both sides): one session.
* :mod:`~natsim.proxy.facing` — the asyncssh server the client sees and the client the backend sees.
* :mod:`~natsim.proxy.channels` — relayed session channels (exec, shell, subsystems).
* :mod:`~natsim.proxy.hooks` — what those call back into the session, and how a session ended.
* :mod:`~natsim.proxy.fastdh` — a faster finite-field DH for group exchange (bounded moduli).
* :mod:`~natsim.proxy.backend` — the SSH client towards the backend: exactly the configured banner
  and KEXINIT lists.
* :mod:`~natsim.proxy.daemon` — accept loop, per-session dispatch, limits and the session log.
"""
