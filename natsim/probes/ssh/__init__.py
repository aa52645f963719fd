"""The SSH probes: options (:mod:`.options`), backends (:mod:`.backends`), lab drivers (:mod:`.driver`,
:mod:`.labrun`, sshd in a lab node: :mod:`.sshd`), models (:mod:`.model`, :mod:`.idle_model`), kinds
(:mod:`.kinds`); the tools
:mod:`.first_connect`, :mod:`.bypass_timer`, :mod:`.kex`, :mod:`.idle` (``natsim probe ssh-*``,
:mod:`.cli`), the clients (:mod:`.login`, :mod:`.goclient`, :mod:`.openssh`), the go-ssh backend
(:mod:`.goserver`) and the wire format (:mod:`.messages`)."""
