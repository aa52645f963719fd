"""One module per ``natsim`` subcommand; each defines ``register(subparsers)`` (see natsim.cli)."""

#: Set in a parsed command line when the command builds a lab: the ``natsim`` command then enters
#: natsim's own namespaces first when it is not root (:mod:`natsim.lab.userns`). Here, not in
#: :mod:`natsim.commands.common`, so that ``natsim`` itself imports no command's dependencies.
BUILDS_LAB = "natsim_builds_lab"
