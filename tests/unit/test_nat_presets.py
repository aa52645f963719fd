"""Presets of the generic ``nat`` kind (issue 19): each loads, carries the field catalogue's numbers with
their sources, and predicts a small scenario through a ``nat`` node.

The expected numbers are the field catalogue's (``../shared/field-catalogue.md``, read 2026-12); each
preset's own note must state them, so a preset changed without its note fails here too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.middleboxes.presets import configure, preset_of, shipped
from natsim.run.predict import predict
from natsim.scenario import load_scenario_text

#: a, b — router (nat) — server: the lab's NAT-behaviour topology, whose router is of the ``nat`` kind.
TOPOLOGY = Path(__file__).resolve().parents[1] / "netns" / "nat_matrix_topology.py"

#: Per preset: the catalogue's values (config attribute: value), the source titles it must cite
#: (the catalogue's source column) and whether the catalogue marks part of it [weak].
CATALOGUE: dict[str, tuple[dict[str, str], list[str], bool]] = {
    "openwrt": ({"idle_timeout": "7440.0", "udp_timeout": "60.0", "udp_stream_timeout": "180.0",
                 "untracked_outbound": "pickup", "untracked_inbound": "pickup"},
                ["openwrt package/kernel/linux/files/sysctl-nf-conntrack.conf"], False),
    "rfc5382-minimum": ({"idle_timeout": "7440.0", "transitory_timeout": "240.0", "udp_timeout": "120.0",
                         "udp_stream_timeout": "120.0", "refresh": "outbound"},
                        ["RFC 5382 REQ-5", "RFC 4787 REQ-5"], False),
    "aws-nat-gateway": ({"idle_timeout": "350.0", "untracked_outbound": "reset", "untracked_inbound": "drop"},
                        ["AWS VPC docs, NAT gateway troubleshooting"], False),
    "azure-nat-gateway": ({"idle_timeout": "240.0", "untracked_outbound": "reset",
                           "untracked_inbound": "reset", "udp_timeout": "240.0",
                           "udp_stream_timeout": "240.0"},
                          ["Azure docs nat-gateway-resource"], False),
    "gcp-cloud-nat": ({"idle_timeout": "1200.0", "transitory_timeout": "30.0", "udp_timeout": "30.0",
                       "udp_stream_timeout": "30.0", "untracked_outbound": "drop",
                       "untracked_inbound": "drop"},
                      ["Cloud NAT API/Terraform field docs"], True),
}


def _number(value: str) -> str:
    """How a note writes a duration in seconds: ``7440 s``."""
    return f"{float(value):g} s"


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_a_nat_preset_loads_as_the_nat_kind_with_the_catalogues_values(name: str) -> None:
    preset = shipped()[name]
    values, titles, weak = CATALOGUE[name]
    assert preset.kind == "nat"
    config = configure("nat", {"preset": name})
    assert preset_of(config) == preset
    assert {key: str(getattr(config, key)) for key in values} == values
    assert {key for key, _ in preset.settings} == set(values)      # every setting is a catalogue fact
    cited = [src.title for src in preset.sources]
    assert all(any(title in src for src in cited) for title in titles), cited
    assert all(src.read.startswith("2026") for src in preset.sources)
    assert preset.approximate is weak
    for key, value in values.items():
        if key.endswith("timeout") and float(value) % 60:            # the note states odd seconds as such
            assert _number(value) in preset.note, (name, key)


def _scenario(preset: str, probes: str, time_scale: int = 60) -> str:
    return (f"topology: {TOPOLOGY}\ntime_scale: {time_scale}\nmiddleboxes:\n  router: {{preset: {preset}}}\n"
            f"probes:\n{probes}")


def _verdicts(text: str) -> dict[str, list[str]]:
    result = predict(load_scenario_text(text, trust=True, model_only=True))
    return {probe.name: [c.verdict.value for c in probe.connections] for probe in result.probes}


def test_aws_nat_gateway_resets_the_sender_after_350_s() -> None:
    probes = ("  - {name: send, kind: tcp-send, client: a, server: server,\n"
              "     options: {connections: 2, first: 340s, step: 20s}}\n"
              "  - {name: recv, kind: tcp-recv, client: a, server: server,\n"
              "     options: {connections: 2, first: 340s, step: 20s}}\n")
    assert _verdicts(_scenario("aws-nat-gateway", probes, 50)) == {"send": ["alive", "reset"],
                                                               "recv": ["alive", "dead"]}


def test_gcp_cloud_nat_loses_tcp_after_20_min_and_udp_after_30_s() -> None:
    probes = ("  - {name: send, kind: tcp-send, client: a, server: server,\n"
              "     options: {connections: 2, first: 19m, step: 2m}}\n"
              "  - {name: udp, kind: udp-recv, client: a, server: server,\n"
              "     options: {connections: 2, first: 25s, step: 10s}}\n")
    assert _verdicts(_scenario("gcp-cloud-nat", probes, 10)) == {"send": ["alive", "dead"],
                                                                 "udp": ["alive", "dead"]}


def test_openwrt_keeps_udp_60_s_and_picks_tcp_up_after_7440_s() -> None:
    probes = ("  - {name: send, kind: tcp-send, client: a, server: server,\n"
              "     options: {connections: 2, first: 2h, step: 10m}}\n"
              "  - {name: udp, kind: udp-recv, client: a, server: server,\n"
              "     options: {connections: 2, first: 50s, step: 20s}}\n")
    assert _verdicts(_scenario("openwrt", probes)) == {"send": ["alive", "alive"], "udp": ["alive", "dead"]}


def test_rfc5382_minimum_keeps_2_h_4_min_and_udp_2_min() -> None:
    probes = ("  - {name: send, kind: tcp-send, client: a, server: server,\n"
              "     options: {connections: 2, first: 2h, step: 10m}}\n"
              "  - {name: udp, kind: udp-recv, client: a, server: server,\n"
              "     options: {connections: 2, first: 110s, step: 20s}}\n")
    assert _verdicts(_scenario("rfc5382-minimum", probes)) == {"send": ["alive", "dead"],
                                                               "udp": ["alive", "dead"]}


def test_azure_nat_gateway_is_a_nat_with_4_min_for_tcp_and_udp_on_the_cloud_nat_topology() -> None:
    scenario = load_scenario_text(
        "topology: cloud-nat\ntime_scale: 60\nmiddleboxes:\n  router: {preset: azure-nat-gateway}\nprobes:\n"
        "  - {name: send, kind: tcp-send, options: {connections: 2, first: 3m, step: 2m}}\n"
        "  - {name: udp, kind: udp-recv, options: {connections: 2, first: 3m, step: 2m}}\n", model_only=True)
    assert scenario.roles["router"] == "nat"
    result = predict(scenario)
    assert {p.name: [c.verdict.value for c in p.connections] for p in result.probes} == {
        "send": ["alive", "reset"], "udp": ["alive", "dead"]}
