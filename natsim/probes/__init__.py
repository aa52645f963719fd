"""Real probe clients and servers, usable in a lab node or on a real network.

* :mod:`natsim.probes.server` — ``natsim serve``: the echo (31415) and sleep (27182) services,
  wire-compatible with the NAT-TCP-test tools.
* :mod:`natsim.probes.tcp_send`, :mod:`~natsim.probes.tcp_recv`, :mod:`~natsim.probes.tcp_keepalive`
  — the three TCP idle-timeout probes (``natsim probe send|recv|keepalive``).
* :mod:`natsim.probes.labrun` — start the server and run a probe inside lab nodes.
"""
