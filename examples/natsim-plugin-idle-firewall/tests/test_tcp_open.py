"""The plugin's probe kind: registered, and its tool runs as ``natsim probe tcp-open``."""

from __future__ import annotations

import json
import socket

import pytest
from natsim.cli import main
from natsim.probes.registry import kind

from natsim_idle_firewall import PROBE


def test_natsim_finds_the_probe_kind_through_the_entry_point() -> None:
    assert kind("tcp-open") is PROBE


def test_the_tool_tells_an_open_port_from_a_refused_one(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as listening, socket.socket() as closed:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        closed.bind(("127.0.0.1", 0))   # bound, not listening: the kernel answers with RST
        ports = f"{listening.getsockname()[1]},{closed.getsockname()[1]}"
        assert main(["probe", "tcp-open", "--target", "127.0.0.1", "--ports", ports, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert [c["verdict"] for c in result["probes"][0]["connections"]] == ["ok", "reset"]
