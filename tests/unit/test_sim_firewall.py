"""The firewall's model: the shared conntrack model on a router; what an expired connection's packets
meet per direction (exact verdicts and events)."""

from __future__ import annotations

import pytest

from natsim.run.predict import predict_traced
from natsim.scenario import load_scenario_text
from natsim.sim import trace as ev

SCENARIO = """\
topology: dc-firewall
time_scale: 10
middleboxes:
  fw: {{idle_timeout: 10m, untracked_outbound: {outbound}, untracked_inbound: {inbound}}}
probes:
  - name: send
    kind: tcp-send
    client: client
    server: server
    options: {{connections: 2, first: 9m, step: 2m}}
  - name: recv
    kind: tcp-recv
    client: client
    server: server
    options: {{connections: 2, first: 9m, step: 2m}}
"""


@pytest.mark.parametrize(("outbound", "inbound", "send", "recv"), [
    ("drop", "drop", ["alive", "dead"], ["alive", "dead"]),
    ("reset", "drop", ["alive", "reset"], ["alive", "dead"]),     # the late reply is dropped inbound
    ("drop", "reset", ["alive", "dead"], ["alive", "dead"]),      # the server is reset; the client hears none
    ("pickup", "pickup", ["alive", "alive"], ["alive", "alive"]),  # loose tracking picks them up again
])
def test_what_an_expired_connection_meets(outbound: str, inbound: str, send: list[str],
                                          recv: list[str]) -> None:
    scenario = load_scenario_text(SCENARIO.format(outbound=outbound, inbound=inbound), model_only=True)
    result, world = predict_traced(scenario)
    assert [c.verdict.value for c in result.probe("send").connections] == send
    assert [c.verdict.value for c in result.probe("recv").connections] == recv
    expired = [e for e in world.trace.events if isinstance(e, ev.Expired)]
    assert {(e.node, e.timeout) for e in expired} == {("fw", 600.0)}
    if outbound == "reset":
        (reset,) = [e for e in world.trace.events if isinstance(e, ev.Reset) and e.conn == "send#1"]
        assert (reset.node, reset.outbound, reset.reason) == ("fw", True, ev.Reason.UNTRACKED)
    if outbound == "pickup":
        assert any(isinstance(e, ev.PickedUp) for e in world.trace.events)
