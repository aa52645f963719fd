"""The UDP idle probes: wire format (:mod:`.datagram`), options (:mod:`.options`), the tools
(:mod:`.flow`, :mod:`.exchanges`, :mod:`.cli`), the server (:mod:`.responder`, part of ``natsim serve``),
the lab driver (:mod:`.driver`, :mod:`.labrun`), the model (:mod:`.model`); real WireGuard tunnels in the
lab (:mod:`.tunnels`, :mod:`.wgdriver`) and in the model (:mod:`.wgpeer`, :mod:`.wgmodel`); the kinds
(:mod:`.kinds`)."""
