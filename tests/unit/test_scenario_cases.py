"""Scenario schema: one folder per case under ``scenario_cases/`` (``error.txt`` = expected error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from natsim.errors import ScenarioError
from natsim.scenario import load_scenario, shipped_scenarios
from natsim.scenario_schema import json_schema

CASES = Path(__file__).with_name("scenario_cases")


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_scenario_case(case: str, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = CASES / case
    monkeypatch.chdir(folder)
    error = folder / "error.txt"
    if not error.exists():
        scenario = load_scenario("scenario.yaml")
        assert scenario.probes
        return
    with pytest.raises(ScenarioError) as info:
        load_scenario("scenario.yaml")
    assert str(info.value).startswith(error.read_text().strip()), str(info.value)
    with pytest.raises(ScenarioError) as predicted:   # `natsim predict` refuses exactly what `run` does
        load_scenario("scenario.yaml", model_only=True)
    assert str(predicted.value) == str(info.value)


def test_valid_full_case_is_parsed_into_real_world_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(CASES / "valid-full")
    scenario = load_scenario("scenario.yaml")
    send = scenario.probes[0]
    assert (send.start, send.options.first, send.options.user_timeout) == (60, 3480, 300)  # type: ignore[union-attr]
    assert scenario.time_scale.factor == 60 and scenario.seed == 3 and not scenario.captures
    assert scenario.chain == ("client", "cpe", "cgn", "inet", "server")
    assert scenario.expect["send"] == {"first_dead": 2, "dead_from": 3600}


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_shipped_scenarios_load_and_tell_their_story(name: str) -> None:
    path = shipped_scenarios()[name]
    scenario = load_scenario(path)
    assert scenario.name == name
    comments = [line for line in path.read_text().splitlines() if line.startswith("#")]
    assert len(comments) >= 5, "each shipped scenario tells its field story in a comment block"
    assert scenario.expect, "each shipped scenario states what it expects"


def test_time_scale_override_is_revalidated() -> None:
    with pytest.raises(ScenarioError, match=r"--time-scale 1000: cpe.idle_timeout: 1h .* 3.600 lab seconds"):
        load_scenario("isp-modem-bridge-1h", time_scale=1000)
    assert load_scenario("isp-modem-bridge-1h", time_scale=120).time_scale.factor == 120


def test_unknown_scenario_name_suggests() -> None:
    with pytest.raises(ScenarioError, match="did you mean 'cgn-loose-pickup'"):
        load_scenario("cgn-loose-pikcup")


def test_committed_json_schema_is_current() -> None:
    schema = Path(__file__).parents[2] / "scenarios" / "scenario.schema.json"
    assert json.loads(schema.read_text()) == json_schema(), \
        "regenerate: python -m natsim.scenario_schema > scenarios/scenario.schema.json"
