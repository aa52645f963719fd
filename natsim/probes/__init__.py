"""Probes: one folder per family of kinds, each kind with its options (the one declaration), its lab
driver and its model, beside the real tools that also run on real networks.

* :mod:`natsim.probes.tcp` — tcp-send, tcp-recv, tcp-keepalive: the tools (``natsim probe
  send|recv|keepalive``), the server (``natsim serve``, wire-compatible with NAT-TCP-test).
* :mod:`natsim.probes.ssh` — ssh-first-connect, ssh-bypass-timer, ssh-kex, ssh-idle (``natsim probe
  ssh-*``), the go-ssh backend, OpenSSH and Go-like clients, the SSH wire format.
* :mod:`natsim.probes.stun` — nat-type: RFC 5780 NAT behaviour discovery (``natsim probe nat-type``)
  and its STUN server (``natsim serve --stun``), on aioice's STUN codec.
* :mod:`natsim.probes.command` — the user's own program.
* :mod:`natsim.probes.registry` — kinds by name (entry points ``natsim.probes``), each a
  :class:`~natsim.probes.registry.ProbeKind` holding every fact of its kind; shared option machinery in
  :mod:`natsim.probes.options`; every kind's tool on the command line in :mod:`natsim.probes.tools`
  (``natsim probe`` and ``python -m natsim.probes``); how a tool hands over its result in
  :mod:`natsim.probes.results`; the probe server ``natsim serve`` in :mod:`natsim.probes.serve`.
"""
