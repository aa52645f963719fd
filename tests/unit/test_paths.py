"""Names that become file names, and output paths that must stay inside their directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.errors import ConfigError
from natsim.paths import check_name, inside, name_problem


@pytest.mark.parametrize("name", ["send", "probe-cmd-1", "ssh_idle.v2", "A.b-c_9", "...", ".hidden"])
def test_good_names(name: str) -> None:
    assert name_problem(name) is None
    assert check_name(name, "probe name") == name


@pytest.mark.parametrize(("name", "problem"), [
    ("../../x", "must match [A-Za-z0-9._-]+"), ("/etc/passwd", "must match"), ("a/b", "must match"),
    ("", "must match"), ("two words", "must match"), ("tab\tname", "must match"), ("naïve", "must match"),
    (".", "must not be '.' or '..'"), ("..", "must not be '.' or '..'"),
])
def test_bad_names(name: str, problem: str) -> None:
    assert problem in (name_problem(name) or "")
    with pytest.raises(ConfigError, match=r"^scenario name ") as info:
        check_name(name, "scenario name")
    assert info.value.message == f"scenario name {name!r} {name_problem(name)}"


def test_inside_joins_names_and_sub_directories(tmp_path: Path) -> None:
    assert inside(tmp_path, "send.out") == tmp_path / "send.out"
    assert inside(tmp_path, "pcap/cpe-eth0.pcap") == tmp_path / "pcap" / "cpe-eth0.pcap"
    assert inside(Path("natsim-out"), "run-20240101") == Path("natsim-out") / "run-20240101"


@pytest.mark.parametrize("name", ["../x", "a/../../x", "/etc/x", ".", "", "a/.."])
def test_inside_refuses_what_leaves_the_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="would be outside the output directory"):
        inside(tmp_path / "out", name)


def test_inside_refuses_a_link_out_of_the_directory(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "send.out").symlink_to(tmp_path / "elsewhere")
    (out / "work").symlink_to(out)  # a link that stays inside is fine
    with pytest.raises(ConfigError, match=r"'send\.out' would be outside"):
        inside(out, "send.out")
    assert inside(out, "work/x.log") == out / "work" / "x.log"


def test_a_scenario_named_after_its_file_needs_a_usable_file_name(tmp_path: Path) -> None:
    from natsim.errors import ScenarioError
    from natsim.scenario import load_scenario

    file = tmp_path / "my run.yaml"
    file.write_text("topology: home-nat\nprobes:\n  - kind: tcp-send\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert str(info.value) == (f"{file}:1:1: scenario name 'my run' (the file's name) must match "
                               "[A-Za-z0-9._-]+ (letters, digits, '.', '_', '-'); set `name:`")
    file.write_text("name: my-run\n" + file.read_text())
    assert load_scenario(file).name == "my-run"


def test_run_refuses_a_bad_probe_name_before_creating_anything(tmp_path: Path) -> None:
    from natsim.run.experiment import run_scenario
    from natsim.scenario import load_scenario

    scenario = load_scenario("isp-modem-bridge-1h")
    with pytest.raises(ConfigError, match=r"^probe name '\.\./x' must match"):
        run_scenario(scenario, tmp_path / "out", extra={"../x": ("client", "true")})
    assert not (tmp_path / "out").exists()
