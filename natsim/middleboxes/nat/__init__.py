"""NAT44 shared by ``cgn`` and ``home-router``: the ruleset (:mod:`.render`) and the model (:mod:`.model`)."""
