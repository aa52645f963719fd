"""The probe registry: every kind has one options class, a lab driver, and a model or a stated reason
it has none; docs/scenarios.md shows exactly the declared options."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from natsim.probes.options import from_cli, markdown_table, option_fields, to_argv
from natsim.probes.registry import ProbeKind, ProbeTool, check_tool_names, kinds
from natsim.probes.tools import add_tools
from natsim.units import MAX_DURATION

DOCS = Path(__file__).parents[2] / "docs" / "scenarios.md"


def test_natsims_own_kinds_are_registered() -> None:
    assert set(kinds()) == {"tcp-send", "tcp-recv", "tcp-keepalive", "udp-send", "udp-recv", "udp-keepalive",
                            "wireguard", "ssh-first-connect", "ssh-bypass-timer", "ssh-kex", "ssh-idle",
                            "command", "nat-type", "hole-punch"}


@pytest.mark.parametrize("name", sorted(kinds()))
def test_every_kind_is_complete(name: str) -> None:
    kind = kinds()[name]
    assert kind.options.kind == name and callable(kind.driver)
    assert kind.model is not None or kind.unmodelled, "a model, or a documented reason for none"
    defaults = kind.options()
    if name != "command":      # a command needs its argv
        defaults.validate()
    for f in option_fields(kind.options):
        assert f.metadata.get("doc"), f"{name}.{f.name} has no doc"


def test_a_kind_without_model_or_reason_is_refused() -> None:
    command = kinds()["command"]
    with pytest.raises(TypeError, match="needs a model or a reason"):
        ProbeKind("command", command.options, command.driver)


def test_a_kind_named_as_another_kinds_tool_is_refused() -> None:
    """A lab starts a tool by its kind's name, so kind ``recv`` beside tcp-recv's tool ``recv`` clashes."""
    check_tool_names(kinds())
    send = kinds()["tcp-send"]
    plugin = ProbeKind("recv", type("RecvOptions", (send.options,), {"kind": "recv"}), send.driver,
                       send.model, tool=ProbeTool("recv-tool", send.tool.build) if send.tool else None)
    with pytest.raises(TypeError, match="'recv' has the name of the tool of probe kind 'tcp-recv'"):
        check_tool_names({**kinds(), "recv": plugin})


def test_docs_show_exactly_the_declared_options() -> None:
    table = markdown_table({k: v.options for k, v in kinds().items()})
    assert table in DOCS.read_text(), "regenerate the table in docs/scenarios.md (Probe options)"


#: Options far from the defaults: long and fractional durations, the largest counts, names starting with
#: '-' (what once reached the tools as 1.23457e+06s, or as a flag).
EDGES: dict[str, dict[str, object]] = {
    "tcp-send": {"connections": 5000, "first": 1234567.25, "step": 0.001, "user_timeout": 86400.5, "port": 1},
    "tcp-recv": {"connections": 4, "first": 86000.0, "step": 100.0},
    "tcp-keepalive": {"first": MAX_DURATION, "keepalive_interval": 0.001, "keepalive_count": 127},
    "ssh-first-connect": {"attempts": 10000, "interval": 1234567.5, "client_impl": "openssh"},
    "ssh-bypass-timer": {"step": 1000000.5, "resolution": 0.5, "max_wait": MAX_DURATION,
                         "client_impl": "openssh"},
    "ssh-kex": {},
    "ssh-idle": {"variants": ("-x=1m,serveraliveinterval=1234567", "y=2h,TCPKeepAlive=no", "3650d")},
    "nat-type": {"tests": ("hairpinning", "mapping"), "lifetime_max": 1234567.25, "lifetime_min": 0.001,
                 "lifetime_step": 100000.5, "padding": True, "port": 1},
}


def _tool_parser() -> argparse.ArgumentParser:
    """The parsers of the probe tools the lab runs (``python -m natsim.probes``)."""
    parser = argparse.ArgumentParser()
    add_tools(parser.add_subparsers(dest="tool"), kinds())
    return parser


@pytest.mark.parametrize("name", sorted(EDGES))
def test_the_tool_gets_exactly_the_options_checked_at_load(name: str) -> None:
    """to_argv -> the tool's own flag parser -> the same options: what `predict` and the loader accepted is
    what the probe runs with, and the tool refuses nothing the loader took."""
    kind = kinds()[name]
    options = kind.parse(EDGES[name])
    assert kind.tool is not None
    where = ["--server", "192.0.2.1"] if name.startswith("tcp-") else \
        ["--stun", "192.0.2.1"] if name == "nat-type" else ["--target", "192.0.2.1:22"]
    args = _tool_parser().parse_args([kind.tool.name, *where, *to_argv(options)])
    assert from_cli(kind.options, args) == options
