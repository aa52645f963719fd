"""p2p-hole-punch in the lab: real peers punching through real NATs (nftables, conntrack), each verdict
what the model predicts (root tier)."""

from __future__ import annotations

from typing import Any

import pytest

from natsim.report.schema import Verdict
from natsim.run.predict import predict
from natsim.scenario import load_scenario

pytestmark = pytest.mark.natsim_netns


def test_hole_punching_in_the_lab_is_what_the_model_predicts(natsim_scenario: Any) -> None:
    """Five pairs of NATs: punched behind endpoint-independent mapping (and a symmetric NAT against a full
    cone), not when a symmetric NAT meets a port-restricted cone or another symmetric NAT; the model
    predicts each peer's verdict. Measured: ≈ 15 s on the shared 2-core machine."""
    outcome = natsim_scenario("p2p-hole-punch")
    assert outcome.result.complete and [c.describe() for c in outcome.checks if not c.ok] == []
    assert len(outcome.checks) == 5
    predicted = predict(load_scenario("p2p-hole-punch"))
    for probe in outcome.result.probes:
        model = predicted.probe(probe.name)
        assert [(c.label, c.how, c.verdict) for c in probe.connections] == \
            [(c.label, c.how, c.verdict) for c in model.connections], probe.name
        assert probe.extra["punched"] is model.extra["punched"]
    cone = outcome.result.probe("cgn-full-cone")
    assert {c.verdict for c in cone.connections} == {Verdict.ALIVE}
    assert cone.extra["b4"]["heard_from"] != cone.extra["b4"]["peer"]   # the CGN punched from a new port
