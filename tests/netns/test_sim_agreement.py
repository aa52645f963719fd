"""Model vs lab: for shipped scenarios, the prediction equals the lab's observation.

Same verdict per connection; times within the kernel's precision and the scenario's time-scale
quantisation (half a lab second each way for connect and test skew, plus the keepalive timer
wheel's up to 1/8 of the idle for keepalive verdicts). ``home-router-reset`` puts a resetting
middlebox in front of every probe kind; ``isp-modem-bridge-1h-short``'s ``send-default`` leaves
``user_timeout`` at its declared default. The ``lb-*`` and ``firewall-*`` scenarios and the shipped
field-bug scenarios (short as shipped: :data:`FIELD`) put TCP ladders through each load-balancer expiry
behaviour (silent, reset-next-packet, reset-both-at-expiry: the reset daemon), through the firewall and
a NAT that resets, each built from a device preset; ``nat-aws-nat-gateway`` puts one through a preset
of the generic ``nat`` kind (its topology is a test file: :data:`TRUSTED_SHORT`). The shortened shipped
scenarios (:data:`TCP_SHORT`, :data:`UDP_SHORT`) are compared on the lab result of the ``natsim run
--compare`` that tests/e2e/test_run.py checks, run once for both (tests/shared_runs.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from natsim.report.schema import RunResult, Verdict
from natsim.run.experiment import run_scenario
from natsim.run.predict import predict
from natsim.scenario import load_scenario, shipped_scenarios
from tests.shared_runs import compared_run

pytestmark = [pytest.mark.natsim_netns, pytest.mark.e2e]
SHORT = Path(__file__).resolve().parents[1] / "e2e" / "short"
TCP_SHORT = ["isp-modem-bridge-1h", "isp-modem-fixed-7440", "cgn-loose-pickup"]
#: Shortened shipped UDP scenarios (wireguard-cgn-udp-30s runs real WireGuard: wireguard-go).
UDP_SHORT = ["cloud-nat-udp", "wireguard-cgn-udp-30s"]
#: Short scenarios of their own (not shortened shipped ones).
OWN_SHORT = ["home-router-reset", "udp-kernel-timers", "lb-azure-silent", "firewall-juniper-tcp-rst",
             "host-keepalive", "cgn-port-limit-connect", "cgn-port-limit-syn-race"]
#: Short scenarios through a trusted test topology (presets of the nat kind: no shipped topology has a
#: nat node).
TRUSTED_SHORT = ["nat-aws-nat-gateway"]
#: Shipped field-bug scenarios, short as they are (a minute of lab time or less each).
FIELD = ["k8s-ipvs-900s", "aws-nlb-350s", "azure-nat-4min", "azure-lb-tcp-reset", "gcp-firewall-10min"]


def disagreements(observed: RunResult, predicted: RunResult, scale: float) -> list[str]:
    """Every connection whose verdict differs or whose time is off by more than the tolerance."""
    problems = []
    for probe in observed.probes:
        predicted_probe = predicted.probe(probe.name)
        model = {c.index: c for c in predicted_probe.connections}
        uncertain = set(predicted_probe.extra.get("uncertain", ()))
        for lab in probe.connections:
            pred = model.get(lab.index)
            if lab.index in uncertain:   # a late keepalive timer decides: either verdict is right
                assert lab.verdict in (pred.verdict if pred else None, Verdict.DEAD)
                continue
            if pred is None or pred.verdict != lab.verdict:
                said = f"{pred.verdict.value} ({pred.explanation})" if pred else "missing"
                problems.append(f"{probe.name}#{lab.index}: lab {lab.verdict.value}, model {said}")
                continue
            tolerance = 1.0 * scale + (lab.idle / 8 if probe.kind == "tcp-keepalive" else 0.0)
            if lab.elapsed is not None and pred.elapsed is not None and \
                    abs(lab.elapsed - pred.elapsed) > tolerance:
                problems.append(f"{probe.name}#{lab.index}: lab at {lab.elapsed:.1f} s, model at "
                                f"{pred.elapsed:.1f} s (tolerance {tolerance:.1f} s)")
    return problems


def check(path: Path | str, tmp_path: Path, *, trust: bool = False) -> None:
    scenario = load_scenario(path, trust=trust)
    outcome = run_scenario(scenario, tmp_path / scenario.name)
    assert outcome.result.complete
    predicted = predict(scenario)
    assert disagreements(outcome.result, predicted, scenario.time_scale.factor) == []


def check_cli_run(path: Path, factory: pytest.TempPathFactory) -> None:
    """As :func:`check`, on the lab result of ``natsim run PATH --compare``, the run tests/e2e/test_run.py
    checks too (once per session: tests/shared_runs.py)."""
    _, out = compared_run(factory, path)
    observed = RunResult.load(out / "result.json")
    assert observed.complete
    scenario = load_scenario(path)
    assert disagreements(observed, predict(scenario), scenario.time_scale.factor) == []


@pytest.mark.parametrize("name", TCP_SHORT + UDP_SHORT + OWN_SHORT)
def test_model_agrees_with_lab_short(name: str, tmp_path: Path,
                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    if name in TCP_SHORT + UDP_SHORT:   # the shortened shipped ones: the lab run test_run.py reads too
        check_cli_run(SHORT / f"{name}.yaml", tmp_path_factory)
    else:
        check(SHORT / f"{name}.yaml", tmp_path)


@pytest.mark.parametrize("name", TRUSTED_SHORT)
def test_model_agrees_with_lab_short_trusted(name: str, tmp_path: Path) -> None:
    check(SHORT / f"{name}.yaml", tmp_path, trust=True)


@pytest.mark.parametrize("name", FIELD)
def test_model_agrees_with_lab_field(name: str, tmp_path: Path) -> None:
    check(name, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(set(shipped_scenarios()) - set(FIELD)))
def test_model_agrees_with_lab_full(name: str, tmp_path: Path) -> None:
    check(name, tmp_path)


def test_send_and_recv_stay_exact_at_time_scale_600(tmp_path: Path) -> None:
    """The incident's send and recv ladders (130 connections each) at time scale 600: the CGN's 4 min
    transitory timer (0.4 lab s) is rounded up to 1 s, as no TCP ladder depends on it; the lab's
    verdicts are the shipped expectations (0..58 alive, 59.. dead; recv all alive) and the model's."""
    full = load_scenario("isp-modem-bridge-1h")
    scenario = replace(full, probes=tuple(p for p in full.probes if p.name in ("send", "recv")),
                       expect={k: v for k, v in full.expect.items() if k in ("send", "recv")}
                       ).with_time_scale(600)
    assert [r.describe() for r in scenario.rounded] == [
        "cgn.transitory_timeout: 4m rounded up to 10m (1 lab s at time scale 600); no probe's verdict "
        "depends on it"]
    outcome = run_scenario(scenario, tmp_path / "run600")
    assert outcome.exit_code == 0, outcome.summary
    assert scenario.rounded[0].describe() in outcome.result.unscaled
    assert disagreements(outcome.result, predict(scenario), 600) == []
