"""NAT44 of the ``nat`` kind (and so of its presets, ``cgn`` and ``home-router`` among them): the ruleset
(:mod:`.render`) and the model (:mod:`.model`)."""
