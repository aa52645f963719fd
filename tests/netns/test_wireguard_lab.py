"""Real WireGuard (wireguard-go) through a CGN with a 30 s UDP timer, against the model, verdict for verdict.

The CGN's two UDP timers are set to 30 s (``udp_timeout``, ``udp_stream_timeout``; the kernel's defaults
are 30 s and 120 s), at time scale 1, where WireGuard's own wall-clock timers mean what they say. A
tunnel without keepalive: the server's passive keepalive 10 s after the request is its last datagram,
so the answer is lost from 40 s; with PersistentKeepalive 25 it survives; a plain UDP flow dies from
30 s.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from natsim.lab import Lab
from natsim.probes.driver_context import DriverContext
from natsim.probes.registry import kind
from natsim.report.schema import ProbeResult, Verdict
from natsim.run.predict import build
from natsim.scenario import load_scenario_text

pytestmark = [pytest.mark.natsim_netns,
              pytest.mark.skipif(shutil.which("wireguard-go") is None, reason="wireguard-go not installed")]

SCENARIO = """
name: wireguard-30s
topology: isp-bridge-cgn
time_scale: 1
middleboxes:
  cgn: {udp_timeout: 30s, udp_stream_timeout: 30s}
probes:
  - {name: bare, kind: wireguard, options: {connections: 2, first: 39s, step: 3s}}
  - {name: kept, kind: wireguard, options: {connections: 1, first: 55s, persistent_keepalive: 25s}}
  - {name: plain, kind: udp-recv, options: {connections: 2, first: 29s, step: 3s}}
"""


def verdicts(result: ProbeResult) -> list[Verdict]:
    return [c.verdict for c in result.connections]


def test_wireguard_tunnels_agree_with_the_model(natsim_lab: Callable[..., Lab], tmp_path: Path) -> None:
    scenario = load_scenario_text(SCENARIO, "wireguard-30s.yaml")
    lab = natsim_lab("isp-bridge-cgn", dict(scenario.middleboxes), time_scale=1.0)
    ctx = DriverContext(lab, scenario, tmp_path, tmp_path)
    handles = {p.name: kind(p.kind).driver(ctx, p) for p in scenario.probes}
    observed = {name: handle.wait() for name, handle in handles.items()}

    world, models = build(scenario)
    for model in models:
        model.start()
    world.env.run()
    predicted = {m.result().name: m.result() for m in models}

    alive, dead = Verdict.ALIVE, Verdict.DEAD
    assert verdicts(observed["bare"]) == [alive, dead]          # 39 s: 29 s after the passive keepalive
    assert verdicts(observed["kept"]) == [alive]
    assert verdicts(observed["plain"]) == [alive, dead]
    for name, result in observed.items():
        assert verdicts(result) == verdicts(predicted[name]), name
    assert str(observed["bare"].extra["wireguard"]).startswith("wireguard-go")
    assert not list(tmp_path.glob("*.sock"))
