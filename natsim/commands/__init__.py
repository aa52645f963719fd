"""One module per ``natsim`` subcommand; each defines ``register(subparsers)`` (see natsim.cli)."""
