"""The ``command`` probe: options (:mod:`.options`), lab driver (:mod:`.driver`), kind (:mod:`.kinds`)."""
