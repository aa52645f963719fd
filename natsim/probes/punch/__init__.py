"""UDP hole punching: the ``hole-punch`` probe (:mod:`.kinds`) and the rendezvous service of ``natsim serve
--rendezvous`` (:mod:`.rendezvous`).

Layers inside: the wire format (:mod:`.messages`), what a peer does (:mod:`.puncher`, pure) and what the
rendezvous answers (:mod:`.rendezvous`, pure at its core), run on real sockets by the tool
(:mod:`.peer`) and in the model by the same code (:mod:`.model`).
"""
