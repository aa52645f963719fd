"""Scenarios and topology files are code: what needs ``--trust``, the refusal, and that an untrusted
topology file is never executed (not to load it, not to look names up)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from natsim import trust
from natsim.errors import ConfigError, ScenarioError, UntrustedCodeError
from natsim.lab.topology import (
    SHIPPED_DIR,
    _load_file,
    available_topologies,
    find_topology,
    load_topology,
    node_addresses,
    node_specs,
    static_names,
)
from natsim.probes.registry import kinds as probe_kinds
from natsim.scenario import load_scenario, load_scenario_text
from tests.user_topology import NAME, write_scenario, write_topology

COMMAND = """topology: home-nat
probes:
  - name: reach
    kind: command
    options: {argv: "ping -c 1 server; echo it's"}
"""
HOW = "Read it first; to allow it, pass --trust (from Python: trust=True)."


def test_refusal_lists_exactly_what_would_run(tmp_path: Path) -> None:
    topo, marker = write_topology(tmp_path / "topos")
    scenario = tmp_path / "s.yaml"
    scenario.write_text(COMMAND.replace("home-nat", f"topos/my_nat.py:{NAME}"))
    with pytest.raises(UntrustedCodeError) as info:
        load_scenario(scenario)
    assert str(info.value) == "\n".join([
        f"{scenario}:1:11: this scenario runs its own code, which natsim runs only with --trust:",
        f"  - topology 'my-nat' from {topo}: a Python file natsim executes to load it (line 1)",
        "  - probe 'reach' (command) runs as root, inside lab node client: "
        "sh -c 'ping -c 1 server; echo it'\"'\"'s' (line 5)",
        "  (node names after a command's first word are replaced by their addresses)",
        HOW])
    assert info.value.exit_code == 2
    assert not marker.exists()


def test_trusted_topology_file_loads_relative_to_the_scenario(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    topo, marker = write_topology(tmp_path / "topos")
    scenario = write_scenario(tmp_path / "s.yaml", "topos/my_nat.py")
    monkeypatch.chdir(tmp_path / "topos")  # not the scenario's directory
    loaded = load_scenario(scenario, trust=True)
    assert marker.exists()
    assert loaded.topology == NAME and loaded.roles["router"] == "home-router"
    ref = loaded.topology_ref
    assert ref is not None and ref.path == topo and ref.trusted
    again = pickle.loads(pickle.dumps(loaded))  # a sweep ships the scenario to worker processes
    assert again.topology_ref == loaded.topology_ref
    assert load_topology(again.topology_ref)[0] == NAME  # what a lab does with it


def test_command_probes_need_trust_unless_only_predicted() -> None:
    with pytest.raises(UntrustedCodeError, match=r"^<text>:5:21: this scenario runs its own code"):
        load_scenario_text(COMMAND)
    assert load_scenario_text(COMMAND, trust=True).probes[0].kind == "command"
    assert load_scenario_text(COMMAND, model_only=True).probes[0].kind == "command"


def test_model_only_still_refuses_a_topology_file(tmp_path: Path) -> None:
    topo, marker = write_topology(tmp_path)
    with pytest.raises(UntrustedCodeError, match=f"topology 'my-nat' from {topo}"):
        load_scenario(write_scenario(tmp_path / "s.yaml", str(topo)), model_only=True)
    assert not marker.exists()


def test_shipped_scenarios_and_topology_files_need_no_trust(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = tmp_path / "scenarios"
    shipped.mkdir()
    (shipped / "cmd.yaml").write_text(COMMAND)
    monkeypatch.setattr("natsim.scenario.SCENARIO_DIR", shipped)
    assert load_scenario(shipped / "cmd.yaml").probes[0].kind == "command"
    by_path = write_scenario(tmp_path / "s.yaml", str(SHIPPED_DIR / "home_nat.py") + ":home-nat")
    assert load_scenario(by_path).topology == "home-nat"


def test_name_lookup_never_runs_a_users_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    topo, marker = write_topology(tmp_path / "topos")
    monkeypatch.setenv("NATSIM_TOPOLOGIES", str(tmp_path / "topos"))
    found = available_topologies()
    assert found[NAME] == topo and found["home-nat"] == SHIPPED_DIR / "home_nat.py"
    ref = find_topology(NAME)
    assert (ref.name, ref.path, ref.may_run) == (NAME, topo, False)
    with pytest.raises(UntrustedCodeError, match=f"topology 'my-nat' from {topo}"):
        load_scenario(write_scenario(tmp_path / "s.yaml", NAME))
    with pytest.raises(UntrustedCodeError) as info:
        load_topology(NAME)
    assert str(info.value) == "\n".join([
        "this topology runs its own code, which natsim runs only with --trust:",
        f"  - topology 'my-nat' from {topo}: a Python file natsim executes to load it", HOW])
    assert load_scenario("isp-modem-bridge-1h").topology == "isp-bridge-cgn"
    assert not marker.exists()
    assert load_topology(NAME, trust=True)[0] == NAME
    assert marker.exists()


def test_a_users_file_shadowing_a_shipped_name_needs_trust(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    topo, marker = write_topology(tmp_path, name="isp-bridge-cgn")
    monkeypatch.setenv("NATSIM_TOPOLOGIES", str(tmp_path))
    with pytest.raises(UntrustedCodeError, match=f"topology 'isp-bridge-cgn' from {topo}"):
        load_scenario("isp-modem-bridge-1h")
    assert not marker.exists()


def test_file_without_a_name_is_named_from_its_literal_without_running_it(tmp_path: Path) -> None:
    topo, marker = write_topology(tmp_path)
    assert find_topology(str(topo)).name == NAME
    several = tmp_path / "two.py"
    several.write_text("import os\nos.system('touch ran')\ntopos = {'a': 1, 'b': 2}\n")
    with pytest.raises(ConfigError, match=r"defines several topologies \(a, b\); use FILE.py:NAME"):
        find_topology(str(several))
    dynamic = tmp_path / "dyn.py"
    dynamic.write_text(topo.read_text().replace(f"topos = {{{NAME!r}: MyNat}}", "topos = dict(mine=MyNat)"))
    assert find_topology(str(dynamic)).name is None
    with pytest.raises(UntrustedCodeError, match=f"  - the topology from {dynamic}: a Python file"):
        load_topology(str(dynamic))
    assert not marker.exists() and not (tmp_path / "ran").exists()
    assert load_topology(str(dynamic), trust=True)[0] == "mine"


@pytest.mark.parametrize(("source", "names"), [
    ("topos = {'a': A, \"b\": B}", ("a", "b")),
    ("topos: dict = {'a': A}", ("a",)),
    ("topos = {'a': A}\ntopos = {'b': B}", ("b",)),
    ("topos = {'a': A}\ntopos = make()", None),
    ("topos = {**other, 'a': A}", None),
    ("topos = {1: A}", None),
    ("def f():\n    topos = {'a': A}", None),
    ("topos = {'a': A", None),
    ("x = 1", None),
])
def test_static_names(tmp_path: Path, source: str, names: tuple[str, ...] | None) -> None:
    path = tmp_path / "t.py"
    path.write_text(source + "\n")
    assert static_names(path) == names


def test_shipped_topologies_name_themselves_statically() -> None:
    for path in sorted(SHIPPED_DIR.glob("*.py")):
        assert static_names(path) == tuple(_load_file(path)), path


def test_unknown_name_mentions_files_it_could_not_read(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "dyn.py").write_text("topos = dict(x=1)\n")
    monkeypatch.setenv("NATSIM_TOPOLOGIES", str(tmp_path))
    with pytest.raises(ConfigError, match=r"unknown topology 'x'; available: .*; files with no literal "
                       rf"`topos = \{{...\}}` \(not read\): {tmp_path / 'dyn.py'}"):
        find_topology("x")


SSH_CODE = """topology: isp-bridge-cgn
time_scale: 60
probes:
  - name: sessions
    kind: ssh-idle
    options:
      variants:
        - "plain=1m,ServerAliveInterval=30,serveralivecountmax=3,TCPKeepAlive=no"
        - "x=1m,ProxyCommand=sh -c 'nft add table inet pwn'"
        - "1m,permitlocalcommand=yes,LocalCommand=touch /tmp/natsim-pwned"
"""
SSH_NOTE = ("  (ssh options other than ServerAliveInterval, ServerAliveCountMax, TCPKeepAlive, "
            "ConnectTimeout, ConnectionAttempts can run commands or read and write files; ssh runs as root)")


def test_ssh_idle_options_outside_the_allow_list_are_code() -> None:
    with pytest.raises(UntrustedCodeError) as info:
        load_scenario_text(SSH_CODE)
    assert str(info.value) == "\n".join([
        "<text>:9:11: this scenario runs its own code, which natsim runs only with --trust:",
        "  - probe 'sessions' (ssh-idle) runs as root, inside lab node client: "
        "ssh -o 'ProxyCommand=sh -c '\"'\"'nft add table inet pwn'\"'\"'' (variant x) (line 9)",
        "  - probe 'sessions' (ssh-idle) runs as root, inside lab node client: "
        "ssh -o PermitLocalCommand=yes -o 'LocalCommand=touch /tmp/natsim-pwned' "
        "(variant 1m-PermitLocalCommand=yes-LocalCommand=touch /tmp/natsim-pwned) (line 10)",
        SSH_NOTE, HOW])
    trusted = load_scenario_text(SSH_CODE, trust=True).probes[0].options
    assert [v.options for v in trusted.parsed()] == [  # type: ignore[union-attr]
        {"ServerAliveInterval": "30", "ServerAliveCountMax": "3", "TCPKeepAlive": "no"},
        {"ProxyCommand": "sh -c 'nft add table inet pwn'"},
        {"PermitLocalCommand": "yes", "LocalCommand": "touch /tmp/natsim-pwned"}]
    assert load_scenario_text(SSH_CODE, model_only=True).probes[0].kind == "ssh-idle"  # the model runs no ssh


def test_command_and_ssh_options_are_listed_together_in_file_order() -> None:
    both = SSH_CODE + COMMAND.split("probes:\n")[1]
    with pytest.raises(UntrustedCodeError) as info:
        load_scenario_text(both)
    lines = str(info.value).splitlines()
    assert [line.split(" runs as root")[0] for line in lines[1:4]] == [
        "  - probe 'sessions' (ssh-idle)", "  - probe 'sessions' (ssh-idle)", "  - probe 'reach' (command)"]
    assert lines[4:] == [SSH_NOTE, "  (node names after a command's first word are replaced by their "
                         "addresses)", HOW]


def test_allow_listed_ssh_options_need_no_trust() -> None:
    safe = SSH_CODE.split('        - "x=')[0]
    variant = load_scenario_text(safe).probes[0].options.parsed()[0]  # type: ignore[union-attr]
    assert variant.name == "plain" and variant.code() == {}


def test_control_characters_are_refused_even_when_trusted() -> None:
    crlf = SSH_CODE.replace("'nft add table inet pwn'", "'true'\\r\\nMatch exec true")
    for trusted in (False, True):
        with pytest.raises(ScenarioError, match=r"^<text>:9:11: .*ProxyCommand: the value holds the control "
                           r"character U\+000D"):
            load_scenario_text(crlf, trust=trusted)


def test_trust_knows_no_probe_kind() -> None:
    """natsim/trust.py formats what kinds declare (``ProbeKind.user_code``); it names none of them."""
    source = Path(trust.__file__).read_text()
    for name in probe_kinds():
        assert f'"{name}"' not in source and f"'{name}'" not in source and f"({name})" not in source, name
    assert sorted(k for k, v in probe_kinds().items() if v.user_code is not None) == ["command", "ssh-idle"]


def test_home_nat_and_cloud_nat_are_one_chain_differing_only_in_the_routers_role() -> None:
    found = available_topologies()
    assert found["home-nat"] == found["cloud-nat"] == SHIPPED_DIR / "home_nat.py"
    home, cloud = (node_specs(load_topology(name)[1]) for name in ("home-nat", "cloud-nat"))
    assert [(s.name, s.inside, s.outside) for s in home.values()] == \
        [(s.name, s.inside, s.outside) for s in cloud.values()]
    assert (home["router"].role, cloud["router"].role) == ("home-router", "nat")
    assert node_addresses(load_topology("home-nat")[1]) == node_addresses(load_topology("cloud-nat")[1])
