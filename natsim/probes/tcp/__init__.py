"""The TCP idle-timeout probes: options (:mod:`.options`), lab driver (:mod:`.driver`), model
(:mod:`.model`), registered kinds (:mod:`.kinds`). The tools are ``natsim.probes.tcp_send``,
``tcp_recv``, ``tcp_keepalive`` and the server ``natsim.probes.server``."""
