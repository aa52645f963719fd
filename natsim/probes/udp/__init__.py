"""The UDP idle probes: wire format (:mod:`.datagram`), options (:mod:`.options`), the tools
(:mod:`.flow`, :mod:`.exchanges`, :mod:`.cli`), the server (:mod:`.responder`, part of ``natsim serve``),
the lab driver (:mod:`.driver`, :mod:`.labrun`), the model (:mod:`.model`) and the kinds (:mod:`.kinds`)."""
