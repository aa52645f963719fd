"""The shipped field-bug scenarios (issue "Devices are data"): each is built from a device preset, tells
its story with a public report or the vendor's document, and the model meets its expectations, both at
the lab's time scale and for a real network (every timer it sets lands on whole lab seconds, so the
scaled lab tells the same story). The lab's agreement: ``tests/netns/test_sim_agreement.py``."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from natsim.expect import check_expectations
from natsim.kernel_facts import TCP_KEEPALIVE_INTVL
from natsim.middleboxes.presets import preset_of
from natsim.probes.tcp.options import TcpKeepaliveOptions, TcpSendOptions
from natsim.report.schema import RunResult
from natsim.run.predict import predict
from natsim.scenario import Scenario, load_scenario, shipped_scenarios

#: The field bugs the issue names, and the preset each is built from.
FIELD = {"k8s-ipvs-900s": "ipvs-kube-proxy", "aws-nlb-350s": "aws-nlb", "azure-nat-4min": "azure-nat-gateway",
         "azure-lb-tcp-reset": "azure-lb-tcp-reset", "gcp-firewall-10min": "gcp-vpc-firewall"}
#: A public bug report (owner/repo#N) or the vendor document the preset cites.
REPORT = re.compile(r"[\w.-]+/[\w.-]+#\d+|Azure docs [\w-]+")


def verdicts(result: RunResult) -> dict[str, list[str]]:
    return {p.name: [c.verdict.value for c in p.connections] for p in result.probes}


def test_every_field_bug_is_shipped() -> None:
    assert set(FIELD) <= set(shipped_scenarios())


@pytest.mark.parametrize("name", sorted(FIELD))
def test_field_scenario_is_a_preset_with_its_story(name: str) -> None:
    scenario = load_scenario(name)
    presets = {node: p.name for node, config in scenario.middleboxes.items() if (p := preset_of(config))}
    assert list(presets.values()) == [FIELD[name]]
    story = "\n".join(ln for ln in shipped_scenarios()[name].read_text().splitlines() if ln.startswith("#"))
    assert REPORT.search(story), story
    assert "fix" in story.lower()
    kinds = {p.kind for p in scenario.probes}
    assert "tcp-keepalive" in kinds, "the fix (a keepalive below the timeout) is shown in the same file"


def exact_timers(scenario: Scenario) -> list[str]:
    """Every timer the scenario sets that the lab would round (empty: the scale is exact)."""
    scale = scenario.time_scale
    rounded = [t.describe() for node, config in scenario.middleboxes.items()
               for _, t in config.policy().scaled(node, scale)  # type: ignore[attr-defined]
               if t.rounded and not t.name.endswith("(kernel default)")]
    for probe in scenario.probes:
        options = probe.options
        assert isinstance(options, TcpSendOptions)
        timers = [*options.idles()]
        if isinstance(options, TcpKeepaliveOptions):
            timers.append(options.keepalive_interval or TCP_KEEPALIVE_INTVL)
        rounded.extend(f"{probe.name}: {t:g} s" for t in timers
                       if scale.kernel_seconds(probe.name, t, strict=False).rounded)
    return rounded


@pytest.mark.parametrize("name", sorted(FIELD))
def test_field_scenario_model_meets_its_expectations_exactly(name: str) -> None:
    scenario = load_scenario(name)
    assert exact_timers(scenario) == []
    lab = predict(scenario)
    failed = [c.describe() for c in check_expectations(lab, scenario.expect) if not c.ok]
    assert failed == []
    real = predict(scenario, as_lab=False)
    assert verdicts(real) == verdicts(lab)


def test_k8s_ipvs_fix_is_the_hosts_own_keepalive_sysctl() -> None:
    """The reported fix (moby/moby#31208) is net.ipv4.tcp_keepalive_time=600 on the client: the scenario
    sets it as the host's kernel setting, and an application that only switches SO_KEEPALIVE on
    survives 20 min idle with it and dies without it (Linux's 7200 s)."""
    scenario = load_scenario("k8s-ipvs-900s")
    assert scenario.hosts["client"].tcp_keepalive_time == 600.0
    fixed = next(p for p in scenario.probes if p.name == "fixed")
    assert isinstance(fixed.options, TcpSendOptions) and not isinstance(fixed.options, TcpKeepaliveOptions)
    assert fixed.options.so_keepalive
    assert verdicts(predict(scenario))["fixed"] == ["alive", "alive"]
    assert verdicts(predict(replace(scenario, hosts={})))["fixed"] == ["alive", "dead"]
    plain = replace(fixed, options=replace(fixed.options, so_keepalive=False))
    alone = replace(scenario, probes=(plain,), expect={})
    assert verdicts(predict(alone))["fixed"] == ["alive", "dead"]   # the sysctl alone: no SO_KEEPALIVE
