"""The plugin's own tests: registration, settings, the ruleset (golden file) and the model.

Run them where the plugin is installed: ``pytest`` in this directory. ``NATSIM_UPDATE_GOLDEN=1``
rewrites the golden file after an intended change (review the diff).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from natsim.errors import ConfigError
from natsim.middleboxes import build_config, build_model, kind, render
from natsim.middleboxes.base import RenderContext
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.sim.network import Answer, Drop, Forward, Segment
from natsim.sim.trace import Dropped, Reason
from natsim.units import TimeScale

from natsim_idle_firewall import KIND, IdleFirewall

GOLDEN = Path(__file__).with_name("golden") / "idle-firewall-x120.nft"
AT_FW = RenderContext(node="fw", inside=("fw-eth0",), outside=("fw-eth1",), time_scale=TimeScale(120))
CLIENT, SERVER = ("client", 40000), ("server", 31415)


def test_natsim_finds_the_kind_through_the_entry_point() -> None:
    assert kind("idle-firewall") is KIND


def test_settings_are_parsed_like_natsim_s_own() -> None:
    config = build_config("idle-firewall", {"idle_timeout": "10m", "untracked_outbound": "reset",
                                            "inbound_ports": "22,443"})
    assert config == IdleFirewall(idle_timeout=600, untracked_outbound=Untracked.RESET,
                                  inbound_ports=(22, 443))
    with pytest.raises(ConfigError, match="did you mean 'inbound_ports'"):
        build_config("idle-firewall", {"inbound_port": 22})


def test_ruleset_matches_the_golden_file() -> None:
    config = IdleFirewall(idle_timeout=600, untracked_outbound=Untracked.RESET, inbound_ports=(22,))
    text = render(config, AT_FW).nft
    if os.environ.get("NATSIM_UPDATE_GOLDEN"):
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()
    assert "established: 5," in text  # 10 min at time scale 120: 5 whole kernel seconds


def test_model_forgets_an_idle_connection_and_resets_the_inside() -> None:
    config = IdleFirewall(idle_timeout=600, untracked_outbound=Untracked.RESET)
    fw = build_model("fw", config, TimeScale(120))
    assert isinstance(fw.handle(Segment(CLIENT, SERVER, "S", "c"), True, 0.0), Forward)
    assert isinstance(fw.handle(Segment(SERVER, CLIENT, "SA", "c"), False, 0.1), Forward)
    assert isinstance(fw.handle(Segment(CLIENT, SERVER, "A", "c"), True, 0.2), Forward)
    late = fw.handle(Segment(CLIENT, SERVER, "PA", "c", seq=1, data="A"), True, 0.2 + 600)
    assert isinstance(late, Answer) and late.segment.flags == "R"


def test_model_lets_the_outside_open_only_allowed_ports() -> None:
    fw = build_model("fw", IdleFirewall(inbound_ports=(22,)), TimeScale(1))
    blocked = fw.handle(Segment(SERVER, ("client", 8080), "S", "in1"), False, 0.0)
    assert isinstance(blocked, Drop)
    (refused,) = blocked.events
    assert isinstance(refused, Dropped) and refused.reason is Reason.FILTERED
    assert refused.segment.dst == ("client", 8080)
    assert isinstance(fw.handle(Segment(SERVER, ("client", 22), "S", "in2"), False, 0.0), Forward)
