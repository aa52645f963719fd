"""A ground truth for NAT-type classifiers: a user's classifier command run in every configuration of a
matrix scenario (``nat-type-matrix``), what it reported read by a parser and set against what each NAT
is (``natsim classify``, docs/stun.md)."""
