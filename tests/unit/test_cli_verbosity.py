"""Global ``-v``/``-q``: natsim's log level on stderr."""

from __future__ import annotations

import logging

import pytest

from natsim.cli import build_parser, configure_logging


@pytest.mark.parametrize(("argv", "level"), [
    ([], logging.WARNING), (["-v"], logging.INFO), (["-vv"], logging.DEBUG), (["-vvv"], logging.DEBUG),
    (["-q"], logging.ERROR)])
def test_global_flags_set_the_natsim_log_level(argv: list[str], level: int) -> None:
    args = build_parser().parse_args([*argv, "list"])
    configure_logging(args.verbose, args.quiet)
    try:
        assert logging.getLogger("natsim").level == level
        assert logging.getLogger("natsim.lab").getEffectiveLevel() == level
    finally:
        configure_logging(0, False)
