"""The TCP idle-timeout probes: options (:mod:`.options`), lab driver (:mod:`.driver`, :mod:`.labrun`),
model (:mod:`.model`), kinds (:mod:`.kinds`); the tools :mod:`.send`, :mod:`.recv`, :mod:`.keepalive`
(on :mod:`.engine` and :mod:`.sock`), their command line (:mod:`.cli`) and the server (:mod:`.server`,
wire format in :mod:`.protocol`)."""
