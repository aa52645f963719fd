"""``cgn`` and ``home-router`` are device presets of the ``nat`` kind (``presets/``), not folders of
forwarders: every place that named them as kinds keeps working (a topology's role, a lab's settings,
their own setting names, the cgn's own check), and a preset file may give the device's own names."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.errors import ConfigError, ScenarioError
from natsim.lab.lab import lab_from_settings
from natsim.lab.topology import find_topology
from natsim.middleboxes import kinds
from natsim.middleboxes.nat44 import Nat44
from natsim.middleboxes.presets import (
    chosen_preset,
    configure,
    device,
    find,
    load_preset,
    preset_of,
    resolve,
    used,
)
from natsim.scenario import load_scenario, load_scenario_text
from natsim.units import TimeScale


def test_cgn_and_home_router_are_presets_of_nat_not_kinds() -> None:
    assert not {"cgn", "home-router"} & set(kinds())
    assert {name: (find(name).kind, resolve(name)) for name in ("cgn", "home-router")} == {
        "cgn": ("nat", ("nat", "cgn")), "home-router": ("nat", ("nat", "home-router"))}


def test_the_cgn_keeps_its_defaults_names_and_check() -> None:
    cgn = configure("cgn", {})
    assert isinstance(cgn, Nat44)
    assert (cgn.idle_timeout, cgn.transitory_timeout, cgn.inside, cgn.pool, cgn.port_range) == \
        (7440.0, 240.0, "100.64.0.0/10", "192.0.2.0/30", (1024, 65535))
    assert configure("cgn", {"subscribers": "100.64.1.0/24"}).inside == "100.64.1.0/24"  # type: ignore[attr-defined]
    assert device("cgn", subscribers="100.64.2.0/24").inside == "100.64.2.0/24"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"^cgn\.subscribers: 192\.0\.2\.0/24 is outside 100\.64\.0\.0/10$"):
        configure("cgn", {"subscribers": "192.0.2.0/24"}, prefix="cgn.")
    with pytest.raises(ConfigError, match=r"^cgn\.subscribers: 192\.0\.2\.0/24 is outside 100\.64\.0\.0/10$"):
        device("cgn", subscribers="192.0.2.0/24")
    rows = dict(configure("cgn", {}).describe())
    assert (rows["subscribers"], rows["rfc5382_req5"]) == ("100.64.0.0/10", "meets")
    assert "inside" not in rows


def test_the_home_router_keeps_its_lan() -> None:
    router = configure("home-router", {"lan": "192.0.2.0/25", "idle_timeout": "1d"})
    assert (router.inside, router.idle_timeout, router.pool) == ("192.0.2.0/25", 86400.0, None)  # type: ignore[attr-defined]
    assert dict(router.describe())["lan"] == "192.0.2.0/25"
    assert configure("home-router", {}) == configure("nat", {})   # natsim's defaults, under its own name


def test_explicit_settings_override_the_role_preset_and_another_preset_replaces_it() -> None:
    text = "topology: isp-bridge-cgn\nmiddleboxes:\n  cgn: {%s}\nprobes:\n  - kind: tcp-send\n"
    cgn = load_scenario_text(text % "idle_timeout: 1h, ports_per_subscriber: 4").middleboxes["cgn"]
    assert (cgn.idle_timeout, cgn.ports_per_subscriber, cgn.inside) == (3600.0, 4, "100.64.0.0/10")  # type: ignore[attr-defined]
    assert preset_of(cgn).name == "cgn" and chosen_preset(cgn) is None  # type: ignore[union-attr]
    other = load_scenario_text(text % "preset: openwrt, inside: 100.64.0.0/10").middleboxes["cgn"]
    assert (other.idle_timeout, chosen_preset(other).name) == (7440.0, "openwrt")  # type: ignore[attr-defined,union-attr]
    with pytest.raises(ScenarioError, match=r"unknown setting 'cgn\.subscribers'"):
        load_scenario_text(text % "preset: openwrt, subscribers: 100.64.0.0/10")


def test_shipped_scenarios_naming_them_load_and_list_no_preset_for_them() -> None:
    for name in ("isp-modem-bridge-1h", "wireguard-cgn-udp-30s", "cgn-loose-pickup"):
        scenario = load_scenario(name)
        assert isinstance(scenario.middleboxes["cgn"], Nat44) and used(scenario.middleboxes) == {}


def test_a_lab_takes_a_preset_config_for_a_role_node_and_names_a_wrong_one() -> None:
    topology = find_topology("isp-bridge-cgn", trust=True)
    lab = lab_from_settings(topology, {"cgn": device("cgn", idle_timeout=60.0)}, TimeScale(1))
    assert lab.middleboxes["cgn"].idle_timeout == 60.0  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="node 'cgn' is a cgn, not a cpe-bridge"):
        lab_from_settings(topology, {"cgn": configure("cpe-bridge", {})}, TimeScale(1))


def test_an_unknown_role_or_kind_suggests_kinds_and_presets() -> None:
    with pytest.raises(ConfigError, match=r"unknown middlebox kind 'home-routr'.*"
                                          r"did you mean 'home-router'"):
        configure("home-routr", {})


@pytest.mark.parametrize(("names", "error"), [
    ("{idle_timeout: inside}", "'idle_timeout' is a setting of the kind itself"),
    ("{subscribers: insde}", "'insde' is no setting of the kind (did you mean 'inside'?)"),
    ("[subscribers]", "names must be a mapping"),
])
def test_a_presets_own_names_are_checked(tmp_path: Path, names: str, error: str) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(f"kind: nat\ndevice: mine\nsettings: {{}}\nnames: {names}\n"
                    "sources: [{title: mine, read: 2026-12}]\nnote: mine\n")
    with pytest.raises(ScenarioError, match=f"^{path}:4:") as info:
        load_preset(path)
    assert error in str(info.value)
