"""The ``nat-type`` model: natsim's own RFC 5780 tests played through the middlebox models on the path
(no lab). Its findings are the NAT behaviour the scenario configured, its binding lifetime the NAT
model's UDP timer, a refused hairpin what the NAT's ``udp_refused`` says."""

from __future__ import annotations

from pathlib import Path

from natsim.expect import check_expectations
from natsim.probes.aliases import Aliases
from natsim.probes.stun.model import alternate_address
from natsim.report.schema import Verdict
from natsim.run.predict import predict
from natsim.scenario import load_scenario


def test_the_matrix_predicts_every_configured_behaviour() -> None:
    """nat-type-matrix's nine NATs: each probe's findings are its NAT's mapping, filtering and
    hairpinning (the scenario's ``found`` expectations, checked on the model's result)."""
    scenario = load_scenario("nat-type-matrix")
    result = predict(scenario)
    checks = check_expectations(result, scenario.expect)
    assert len(checks) == 9 and [c.describe() for c in checks if not c.ok] == []


def scenario_file(tmp_path: Path, router: str, options: str = "{}") -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"topology: stun-nat\ncaptures: false\nmiddleboxes:\n  router: {router}\nprobes:\n"
                    f"  - {{name: nat, kind: nat-type, client: client, server: server,\n"
                    f"     options: {options}}}\n")
    return path


def test_the_binding_lifetime_is_the_nat_models_udp_timer(tmp_path: Path) -> None:
    """A 90 s UDP timer: waits of 60 s survive, 120 s do not (the binding got an answer within
    conntrack's first 2 s, so the unreplied timer applies)."""
    path = scenario_file(tmp_path, "{udp_timeout: 90s}",
                         "{tests: [mapping], lifetime_max: 3m, lifetime_step: 30s}")
    probe = predict(load_scenario(path)).probe("nat")
    waits = [(c.idle, c.verdict) for c in probe.connections if c.how == "lifetime"]
    assert waits == [(30.0, Verdict.ALIVE), (60.0, Verdict.ALIVE), (90.0, Verdict.DEAD),
                     (120.0, Verdict.DEAD), (150.0, Verdict.DEAD), (180.0, Verdict.DEAD)]
    assert probe.estimate is not None and (probe.estimate.lower, probe.estimate.upper) == (60.0, 90.0)


def test_a_refused_hairpin_is_no_hairpinning_with_icmp_or_silence(tmp_path: Path) -> None:
    for refusal, detail in (("icmp-unreachable", "refused (ICMP port unreachable)"), ("silent", "no answer")):
        path = scenario_file(tmp_path, f"{{udp_refused: {refusal}}}", "{tests: [hairpinning]}")
        probe = predict(load_scenario(path)).probe("nat")
        hairpin = next(c for c in probe.connections if c.how == "hairpinning")
        assert probe.extra["hairpinning"] is False and hairpin.verdict is Verdict.DEAD
        assert detail in (hairpin.detail or "")


def test_labels_travel_as_reserved_addresses_and_come_back() -> None:
    aliases = Aliases()
    assert aliases.wire(("203.0.113.1", 5)) == ("203.0.113.1", 5)
    assert aliases.wire(("router-wan", 40000)) == ("240.0.0.1", 40000)
    assert aliases.wire(("cgn-wan", 1)) == ("240.0.0.2", 1)
    assert aliases.model(("240.0.0.1", 7)) == ("router-wan", 7) and aliases.model(None) is None
    assert (alternate_address("203.0.113.10"), alternate_address("server")) == ("203.0.113.11", "server-alt")
