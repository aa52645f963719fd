"""``--set NODE.SETTING=VALUE`` and ``--set NODE.preset=NAME`` on run, predict and advise: values over
the scenario file's, checked as the file's are, an error naming the option (one line, exit 2)."""

from __future__ import annotations

import pytest

from natsim.cli import main
from natsim.errors import ScenarioError
from natsim.middleboxes.presets import preset_of
from natsim.scenario import load_scenario


def test_a_preset_set_on_the_command_line_replaces_the_files() -> None:
    scenario = load_scenario("azure-lb-tcp-reset", sets={"lb": {"preset": "azure-lb"}})
    preset = preset_of(scenario.middleboxes["lb"])
    assert preset is not None and preset.name == "azure-lb"
    assert scenario.middleboxes["lb"].idle_timeout == 240.0   # type: ignore[attr-defined]


def test_an_explicit_setting_overrides_the_preset() -> None:
    scenario = load_scenario("aws-nlb-350s", sets={"lb": {"preset": "azure-lb", "idle_timeout": "10m"}})
    config = scenario.middleboxes["lb"]
    preset = preset_of(config)
    assert preset is not None and preset.name == "azure-lb"
    assert (config.idle_timeout, config.expired.value) == (600.0, "silent")   # type: ignore[attr-defined]


@pytest.mark.parametrize(("sets", "error"), [
    ({"lb": {"preset": "aws-nbl"}},
     "--set lb.preset=aws-nbl: lb.preset: unknown preset 'aws-nbl' (did you mean 'aws-nlb'?)"),
    ({"lbx": {"preset": "aws-nlb"}},
     "--set lbx.preset=aws-nlb: unknown key 'lbx' in middleboxes (did you mean 'lb'?)"),
    ({"lb": {"preset": "cisco-asa"}},
     "--set lb.preset=cisco-asa: lb.preset: preset 'cisco-asa' is a firewall preset"),
    ({"lb": {"idle_timeout": "7s"}}, "--set lb.idle_timeout=7s: lb.idle_timeout: 7s at time_scale 50"),
    ({"lb": {"preset": "azure-lb"}},   # the preset's 4 min is not whole lab seconds at 50
     "--set lb.preset=azure-lb: lb.idle_timeout: 4m at time_scale 50 is 4.800"),
])
def test_bad_values_name_the_option(sets: dict[str, dict[str, str]], error: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("aws-nlb-350s", sets=sets)
    assert str(info.value).startswith(error), str(info.value)


def test_predict_and_advise_take_set(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "aws-nlb-350s", "--set", "lb.preset=azure-lb-tcp-reset", "--set",
                 "lb.idle_timeout=350s"]) == 0
    out = capsys.readouterr().out
    assert "lb: preset azure-lb-tcp-reset" in out and "resets both ends as the entry expires" in out
    assert main(["advise", "k8s-ipvs-900s", "--set", "lb.idle_timeout=5m", "--app", "openssh"]) == 0
    assert "openssh: ServerAliveInterval 299" in capsys.readouterr().out
    assert main(["predict", "aws-nlb-350s", "--set", "lb.preset=aws-nbl"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("natsim: error: --set lb.preset=aws-nbl: lb.preset: unknown")
