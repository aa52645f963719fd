"""Kept labs without a kernel: the per-owner registry, names, statuses, the command line's shape and its
one-line errors (the lab tier runs them for real: tests/netns/test_kept_lab.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.cli import build_parser, main
from natsim.errors import ConfigError, KeptLabError, OutputError
from natsim.lab.join import words
from natsim.lab.kept import KeptLab, Registry, Status, forget_gone, kept_dir
from natsim.lab.records import ProcessEntry, process_start_time
from natsim.lab.substitute import substitute_argv


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Registry:
    monkeypatch.setenv("NATSIM_RUN_DIR", str(tmp_path))
    return Registry.open()


def me() -> ProcessEntry:
    return ProcessEntry(os.getpid(), process_start_time(os.getpid()) or 0, "", "keeper")


def dead() -> ProcessEntry:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return ProcessEntry(proc.pid, 1, "", "keeper")


def entry(name: str, keeper: ProcessEntry | None, mode: str = "root", state: str = "up") -> KeptLab:
    return KeptLab(name, "home-nat", 60.0, mode, "root", state=state, keeper=keeper, lab_id="abc123",
                   anchors={"client": ProcessEntry(1, 1, "client", "anchor")},
                   addresses={"client": "192.0.2.10", "server": "198.51.100.10"},
                   map={"nodes": [{"name": "client", "role": "host"},
                                  {"name": "router", "role": "home-router"},
                                  {"name": "server", "role": "host"}]})


def test_a_name_is_taken_once_per_owner_and_must_be_a_valid_name(registry: Registry) -> None:
    registry.reserve(entry("lab1", me()))
    with pytest.raises(KeptLabError, match="a lab named 'lab1' exists already \\(up\\)"):
        registry.reserve(entry("lab1", me()))
    with pytest.raises(ConfigError, match=r"lab name '\.\./x' must match"):
        registry.reserve(entry("../x", me()))
    assert [lab.name for lab in registry.entries()] == ["lab1"]
    assert registry.get("lab1").anchors["client"].node == "client"
    with pytest.raises(KeptLabError, match="no lab named 'nope' \\(labs: lab1;"):
        registry.get("nope")


def test_status_follows_the_keeper(registry: Registry) -> None:
    assert entry("a", me()).status() is Status.UP
    assert entry("a", me(), state="stopping").status() is Status.STOPPING
    assert entry("a", dead(), mode="rootless").status() is Status.GONE
    assert entry("a", dead(), mode="root").status() is Status.GONE     # no record left: nothing to remove
    assert entry("a", None).status() is Status.GONE
    registry.reserve(entry("gone", dead(), mode="rootless"))
    registry.reserve(entry("up", me()))
    assert forget_gone(registry) == ["gone"]
    assert [lab.name for lab in registry.entries()] == ["up"]


def test_a_root_lab_whose_keeper_died_is_broken_while_its_record_is_left(
        registry: Registry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from natsim.lab import kept

    monkeypatch.setattr(kept, "REGISTRY_DIR", tmp_path / "labs")
    (tmp_path / "labs").mkdir()
    (tmp_path / "labs" / "natsim-abc123.json").write_text("{}")
    assert entry("a", dead(), mode="root").status() is Status.BROKEN
    assert entry("a", dead(), mode="rootless").status() is Status.GONE   # the kernel removed it


def test_where_each_owner_keeps_its_labs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NATSIM_RUN_DIR", "/run/natsim-x")
    assert kept_dir() == Path("/run/natsim-x/kept")
    monkeypatch.delenv("NATSIM_RUN_DIR")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/run/user/1000")
    assert kept_dir() == Path("/run/user/1000/natsim/kept")
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    assert kept_dir() == tmp_path / "natsim-1000" / "kept"


def test_a_shared_tmp_directory_not_private_to_the_user_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    monkeypatch.delenv("NATSIM_RUN_DIR", raising=False)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    uid = os.geteuid() or 1000
    monkeypatch.setattr(os, "geteuid", lambda: uid)
    base = tmp_path / f"natsim-{uid}"
    base.mkdir(mode=0o777)
    base.chmod(0o777)
    with pytest.raises(OutputError, match="is not a private directory"):
        Registry.open()
    base.chmod(0o700)
    if os.stat(base).st_uid == uid:
        Registry.open().close()


def test_node_names_become_addresses_after_the_first_word() -> None:
    address = {"server": "198.51.100.10", "client": "192.0.2.10"}.__getitem__
    nodes = {"server", "client"}
    assert substitute_argv(["ping", "-c1", "server"], nodes, address) == ["ping", "-c1", "198.51.100.10"]
    assert substitute_argv(["server", "x"], nodes, address) == ["server", "x"]
    assert substitute_argv(["sh", "-c", "ping server"], nodes, address) == ["sh", "-c", "ping server"]
    assert substitute_argv(["ssh", "root@server"], nodes, address) == ["ssh", "root@198.51.100.10"]
    lab = entry("lab1", me())    # natsim lab exec: every node of the map, routers without an address refused
    assert words(lab, ["ping", "client", "server"]) == ["ping", "192.0.2.10", "198.51.100.10"]
    with pytest.raises(KeptLabError, match="node router has no address"):
        words(lab, ["ping", "router"])


def test_lab_verbs_and_the_classic_form_parse() -> None:
    parser = build_parser()
    up = parser.parse_args(["lab", "up", "home-nat", "--name", "lab1", "--time-scale", "60"])
    assert (up.topology, up.name, up.time_scale, up.func.__name__) == ("home-nat", "lab1", 60.0, "run_up")
    run = parser.parse_args(["lab", "exec", "lab1", "client", "ping", "-c", "1", "server"])
    assert (run.name, run.node, run.command) == ("lab1", "client", ["ping", "-c", "1", "server"])
    classic = parser.parse_args(["lab", "home-nat", "--run", "client true"])
    assert (classic.topology, classic.run, classic.func.__name__) == ("home-nat", ["client true"], "run")
    assert parser.parse_args(["watch", "lab1", "router", "--once"]).once


@pytest.mark.parametrize(("argv", "message"), [
    (["lab", "exec", "nolab", "client", "true"], "natsim: error: no lab named 'nolab'"),
    (["lab", "down", "nolab"], "natsim: error: no lab named 'nolab'"),
    (["watch", "nolab", "router", "--once"], "natsim: error: no lab named 'nolab'"),
    (["lab", "exec", "nolab", "client"], "natsim: error: natsim lab exec nolab client: no command given"),
    (["lab", "up", "home-nat", "--name", "a/b"], "natsim: error: lab name 'a/b' must match"),
    (["lab", "up", "home-nat", "--sshd", "nonode"], "natsim: error: --sshd: no node 'nonode'"),
    (["watch", "nolab", "router", "--json"], "natsim: error: --json needs --once"),
])
def test_misuse_is_one_line_and_exit_2(argv: list[str], message: str, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("NATSIM_RUN_DIR", str(tmp_path))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err


@pytest.mark.parametrize("argv", [["lab", "exec", "lab1", "nonode", "true"], ["watch", "lab1", "nonode"],
                                  ["watch", "lab1", "client", "--once"]])
def test_an_unknown_node_or_one_without_conntrack_is_one_line_and_exit_2(
        argv: list[str], registry: Registry, capsys: pytest.CaptureFixture[str]) -> None:
    registry.reserve(entry("lab1", me()))
    assert main(argv) == 2
    err = capsys.readouterr().err
    expected = ("natsim: error: client is a host and has no conntrack state to watch (in lab lab1: router)"
                if "client" in argv else "natsim: error: no node 'nonode' in lab lab1")
    assert err.startswith(expected) and err.count("\n") == 1, err


def test_list_shows_name_topology_age_scale_owner_mode_and_state(registry: Registry) -> None:
    registry.reserve(entry("lab1", me()))
    registry.reserve(entry("lab2", dead(), mode="rootless"))
    done = subprocess.run([sys.executable, "-m", "natsim.cli", "lab", "list"], capture_output=True, text=True,
                          check=True, env={**os.environ, "NATSIM_RUN_DIR": str(registry.path.parent)})
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TOPOLOGY", "AGE", "TIME", "SCALE", "OWNER", "MODE", "STATE"]
    assert lines[1].split()[:2] == ["lab1", "home-nat"]
    assert lines[1].split()[3:] == ["60", "root", "root", "up"]
    assert lines[2].split()[-2:] == ["rootless", "gone"]


def test_only_middleboxes_that_track_connections_can_be_watched() -> None:
    """An SSH proxy diverts with tproxy and tracks nothing: its table is empty, so watch refuses it,
    as it refuses hosts and routers."""
    from natsim.commands.watch import tracked_node

    lab = entry("lab1", me())
    lab.anchors = {node: ProcessEntry(1, 1, node, "anchor") for node in ("client", "fw", "inet", "cgn")}
    lab.map = {"nodes": [{"name": "client", "role": "host"}, {"name": "fw", "role": "ssh-proxy"},
                         {"name": "inet", "role": "router"}, {"name": "cgn", "role": "cgn"}]}
    tracked_node(lab, "cgn")
    lab.anchors["nat"] = ProcessEntry(1, 1, "nat", "anchor")   # a device preset as the role: its kind decides
    lab.map["nodes"].append({"name": "nat", "role": "azure-nat-gateway"})
    tracked_node(lab, "nat")
    for node, role in (("client", "host"), ("inet", "router"), ("fw", "ssh-proxy")):
        with pytest.raises(KeptLabError, match=f"{node} is a {role} and has no conntrack state to watch "
                                               r"\(in lab lab1: cgn, nat\)"):
            tracked_node(lab, node)
