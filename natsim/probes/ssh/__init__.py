"""The SSH probes: options (:mod:`.options`), backends (:mod:`.backends`), lab drivers (:mod:`.driver`),
models (:mod:`.model`, :mod:`.idle_model`), registered kinds (:mod:`.kinds`). The tools are
``natsim probe ssh-*`` (``natsim.probes.ssh_cli``)."""
