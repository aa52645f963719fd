"""Device presets: data files, checked by their kind's own parser, applied under explicit settings.

One folder per bad preset file under ``preset_cases/`` (``error.txt``: the expected error, which names
file:line:col); the scenario-side errors (unknown preset, wrong kind, a value the time scale cannot
represent) are scenario cases (``scenario_cases/preset-*``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.errors import ConfigError, ScenarioError
from natsim.lab.lab import lab_from_settings
from natsim.lab.topology import TopologyRef
from natsim.middleboxes import build_config, kind
from natsim.middleboxes.base import DeviceConfig
from natsim.middleboxes.presets import available, configure, load_preset, preset_of, presets, shipped
from natsim.report.labmap import format_map
from natsim.report.summary import format_summary
from natsim.run.predict import predict
from natsim.scenario import load_scenario_text
from natsim.units import TimeScale

CASES = Path(__file__).with_name("preset_cases")
#: The presets issue 19 asks for.
REQUIRED = {"linux-default", "openwrt", "rfc5382-minimum", "aws-nlb", "aws-nat-gateway", "azure-lb",
            "azure-lb-tcp-reset", "azure-nat-gateway", "gcp-cloud-nat", "gcp-vpc-firewall",
            "ipvs-kube-proxy", "cisco-asa", "palo-alto", "juniper-srx", "pfsense"}


@pytest.fixture
def own_presets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory of the user's presets, named by ``$NATSIM_PRESETS`` as a user would."""
    directory = tmp_path / "my-presets"
    directory.mkdir()
    monkeypatch.setenv("NATSIM_PRESETS", str(directory))
    return directory


PRESET = """\
kind: firewall
device: ACME office firewall
settings:
  idle_timeout: 20m
  untracked_inbound: reset
sources:
  - title: ACME admin guide, chapter 7
    read: 2026-12
    weak: {weak}
note: One line.
"""


# ---- the shipped presets ---------------------------------------------------------------------------

def test_the_shipped_presets_are_the_ones_asked_for_and_each_is_sourced() -> None:
    found = shipped()
    assert set(found) >= REQUIRED
    for name, preset in found.items():
        assert preset.name == name and preset.sources and preset.note and preset.device, name
        assert all(src.read.startswith("2026") for src in preset.sources), name
        assert issubclass(kind(preset.kind).config, DeviceConfig)
    assert sorted(n for n, p in found.items() if p.approximate) == ["gcp-cloud-nat", "palo-alto"]  # [weak]


@pytest.mark.parametrize("name", sorted(shipped()))
def test_every_shipped_preset_builds_its_kinds_config(name: str) -> None:
    preset = shipped()[name]
    config = configure(preset.kind, {"preset": name})
    assert preset_of(config) == preset
    assert config == build_config(preset.kind, dict(preset.settings))


def test_shipped_values_are_the_catalogues() -> None:
    def values(name: str) -> dict[str, object]:
        config = configure(shipped()[name].kind, {"preset": name})
        return {key: str(getattr(config, key)) for key, _ in shipped()[name].settings}

    assert values("aws-nlb") == {"idle_timeout": "350.0", "expired": "reset-next-packet"}
    assert values("azure-lb-tcp-reset") == {"idle_timeout": "240.0", "expired": "reset-both-at-expiry"}
    assert values("ipvs-kube-proxy") == {"idle_timeout": "900.0", "expired": "silent"}
    assert values("gcp-vpc-firewall") == {"idle_timeout": "600.0", "untracked_inbound": "drop"}
    assert values("linux-default")["idle_timeout"] == "432000.0"
    assert values("pfsense")["idle_timeout"] == "86400.0"
    assert values("juniper-srx")["idle_timeout"] == "1800.0"


# ---- bad preset files ------------------------------------------------------------------------------

@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_preset_case(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / case
    monkeypatch.chdir(folder)
    error = folder / "error.txt"
    if not error.exists():
        assert load_preset(Path("preset.yaml")).name == "preset"
        return
    with pytest.raises(ScenarioError) as info:
        load_preset(Path("preset.yaml"))
    assert str(info.value).startswith(error.read_text().strip()), str(info.value)
    assert not (folder / "ran-code").exists()


def test_the_full_valid_case() -> None:
    preset = load_preset(CASES / "valid-full" / "preset.yaml")
    assert [(s.read, s.weak) for s in preset.sources] == [("2026-12-01", False), ("2026-11", True)]
    assert preset.approximate and preset.note == "Two lines folded."
    assert preset.position("expired").endswith("preset.yaml:5:12")


# ---- adding a device is adding a file ---------------------------------------------------------------

def test_a_users_preset_is_found_and_applied_like_a_shipped_one(own_presets: Path) -> None:
    (own_presets / "acme-fw.yaml").write_text(PRESET.format(weak="false"))
    assert "acme-fw" in available() and presets()["acme-fw"].kind == "firewall"
    scenario = load_scenario_text("topology: dc-firewall\nmiddleboxes:\n  fw:\n    preset: acme-fw\n"
                                  "probes:\n  - kind: tcp-send\n    client: client\n    server: server\n")
    fw = scenario.middleboxes["fw"]
    assert (fw.idle_timeout, fw.untracked_inbound.value) == (1200.0, "reset")  # type: ignore[attr-defined]
    assert preset_of(fw).name == "acme-fw"  # type: ignore[union-attr]


def test_a_users_preset_may_replace_a_shipped_one(own_presets: Path) -> None:
    (own_presets / "cisco-asa.yaml").write_text(PRESET.format(weak="false"))
    assert configure("firewall", {"preset": "cisco-asa"}).idle_timeout == 1200.0  # type: ignore[attr-defined]


def test_a_bad_users_preset_is_reported_at_its_own_line(own_presets: Path) -> None:
    (own_presets / "acme-fw.yaml").write_text(PRESET.format(weak="false").replace("20m", "twenty"))
    with pytest.raises(ScenarioError, match=r"acme-fw.yaml:4:17: idle_timeout: malformed duration 'twenty'"):
        load_scenario_text("topology: dc-firewall\nmiddleboxes:\n  fw:\n    preset: acme-fw\n"
                           "probes:\n  - kind: tcp-send\n    client: client\n    server: server\n")


# ---- override order ------------------------------------------------------------------------------

def test_explicit_settings_override_the_preset() -> None:
    config = configure("load-balancer", {"preset": "aws-nlb", "idle_timeout": "10m"})
    assert (config.idle_timeout, config.expired.value) == (600.0, "reset-next-packet")  # type: ignore[attr-defined]
    assert preset_of(config).name == "aws-nlb"  # type: ignore[union-attr]


def test_set_preset_on_the_command_line_and_override_it() -> None:
    lab = lab_from_settings("dc-load-balancer", {"lb": {"preset": "aws-nlb", "idle_timeout": "1m"}},
                            TimeScale(60))
    lb = lab.middleboxes["lb"]
    assert (lb.idle_timeout, lb.expired.value) == (60.0, "reset-next-packet")  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="unknown preset 'aws-nbl' \\(did you mean 'aws-nlb'\\?\\)"):
        lab_from_settings("dc-load-balancer", {"lb": {"preset": "aws-nbl"}}, TimeScale(60))
    with pytest.raises(ConfigError, match="preset 'cisco-asa' is a firewall preset, not a load-balancer one"):
        lab_from_settings("dc-load-balancer", {"lb": {"preset": "cisco-asa"}}, TimeScale(60))


def test_a_scenario_override_is_kept_and_the_preset_remembered() -> None:
    scenario = load_scenario_text("topology: dc-load-balancer\ntime_scale: 50\nmiddleboxes:\n  lb:\n"
                                  "    preset: azure-lb-tcp-reset\n    idle_timeout: 10m\n"
                                  "probes:\n  - kind: tcp-send\n    client: client\n    server: lb\n")
    lb = scenario.middleboxes["lb"]
    assert (lb.idle_timeout, lb.expired.value) == (600.0, "reset-both-at-expiry")  # type: ignore[attr-defined]
    assert preset_of(lb).name == "azure-lb-tcp-reset"  # type: ignore[union-attr]


# ---- where a preset shows: list, lab map, summaries --------------------------------------------------

def natsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "natsim.cli", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_list_presets_shows_kind_and_source() -> None:
    done = natsim("list", "presets")
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line for line in done.stdout.splitlines()[1:]}
    assert set(lines) == set(shipped())
    assert "load-balancer" in lines["aws-nlb"]
    assert 'AWS ELB docs "Update the TCP idle timeout"' in lines["aws-nlb"]
    assert "APPROXIMATE" in lines["palo-alto"] and "[weak]" in lines["palo-alto"]
    assert "APPROXIMATE" not in lines["cisco-asa"]
    found = json.loads(natsim("list", "presets", "--json").stdout)
    assert list(found) == ["presets"] and found["presets"]["gcp-vpc-firewall"].startswith("firewall")


def test_an_approximate_preset_is_marked_in_the_lab_map() -> None:
    lab = lab_from_settings("dc-firewall", {"fw": {"preset": "palo-alto"}}, TimeScale(60))
    text = format_map(lab.describe())
    assert "preset palo-alto (Palo Alto Networks firewall (PAN-OS)) APPROXIMATE" in text
    assert "PAN-OS session timeout docs (read 2026-12) [weak]" in text
    exact = format_map(lab_from_settings("dc-firewall", {"fw": {"preset": "cisco-asa"}},
                                         TimeScale(60)).describe())
    assert "preset cisco-asa (Cisco ASA)" in exact and "APPROXIMATE" not in exact


def test_summaries_and_results_name_the_preset_and_mark_approximate_ones() -> None:
    scenario = load_scenario_text("topology: dc-firewall\ntime_scale: 60\nmiddleboxes:\n  fw:\n"
                                  "    preset: palo-alto\nprobes:\n  - kind: tcp-send\n    client: client\n"
                                  "    server: server\n    options: {connections: 1, first: 1m, step: 1m}\n",
                                  model_only=True)
    result = predict(scenario)
    assert result.presets["fw"]["approximate"] is True
    assert "fw: preset palo-alto (Palo Alto Networks firewall (PAN-OS)) APPROXIMATE" in format_summary(result)
    from natsim.commands.predict import render
    assert "APPROXIMATE" in render(result)
    assert type(result).from_dict(json.loads(result.to_json())).presets == result.presets


# ---- a topology's role may name a preset ---------------------------------------------------------

ROLE_TOPOLOGY = '''\
from mininet.topo import Topo


class PresetRole(Topo):
    def build(self):
        client = self.addHost("client", ip=None, defaultRoute="via 192.0.2.1", natsim_role="host")
        fw = self.addHost("fw", ip=None, natsim_role="{role}", natsim_inside=["fw-eth0"],
                          natsim_outside=["fw-eth1"])
        server = self.addHost("server", ip=None, defaultRoute="via 198.51.100.1", natsim_role="host")
        self.addLink(client, fw, intfName1="client-eth0", intfName2="fw-eth0",
                     params1={{"ip": "192.0.2.10/24"}}, params2={{"ip": "192.0.2.1/24"}})
        self.addLink(fw, server, intfName1="fw-eth1", intfName2="server-eth0",
                     params1={{"ip": "198.51.100.1/24"}}, params2={{"ip": "198.51.100.10/24"}})


topos = {{"preset-role": PresetRole}}
'''


def role_scenario(tmp_path: Path, role: str, settings: str = "") -> str:
    (tmp_path / "topo.py").write_text(ROLE_TOPOLOGY.format(role=role))
    boxes = f"middleboxes:\n  fw: {{{settings}}}\n" if settings else ""
    return (f"topology: {tmp_path / 'topo.py'}\ntime_scale: 60\n{boxes}"
            "probes:\n  - kind: tcp-send\n    client: client\n    server: server\n")


def test_a_role_naming_a_preset_is_a_node_of_its_kind_built_from_it(tmp_path: Path) -> None:
    scenario = load_scenario_text(role_scenario(tmp_path, "juniper-srx"), trust=True)
    fw = scenario.middleboxes["fw"]
    assert (fw.kind, fw.idle_timeout, preset_of(fw).name) == ("firewall", 1800.0, "juniper-srx")  # type: ignore[attr-defined,union-attr]
    assert scenario.roles["fw"] == "juniper-srx"
    tuned = load_scenario_text(role_scenario(tmp_path, "juniper-srx", "untracked_outbound: reset"),
                               trust=True).middleboxes["fw"]
    assert (tuned.idle_timeout, tuned.untracked_outbound.value) == (1800.0, "reset")  # type: ignore[attr-defined]
    other = load_scenario_text(role_scenario(tmp_path, "juniper-srx", "preset: cisco-asa"),
                               trust=True).middleboxes["fw"]
    assert (other.idle_timeout, preset_of(other).name) == (3600.0, "cisco-asa")  # type: ignore[attr-defined,union-attr]
    lab = lab_from_settings(TopologyRef("preset-role", tmp_path / "topo.py", trusted=True), {},
                            TimeScale(60))
    assert preset_of(lab.middleboxes["fw"]).name == "juniper-srx"  # type: ignore[union-attr]
