"""The UDP scenarios waiting for issue 18's NAT behaviour settings (``udp_timeout``,
``udp_stream_timeout``): today they fail on those settings alone and are otherwise valid. When the
settings land, this fails: move each to ``scenarios/`` and its short form to ``tests/e2e/short/``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from natsim.errors import ConfigError
from natsim.report.schema import Verdict
from natsim.run.predict import predict
from natsim.scenario import load_scenario, load_scenario_text

ROOT = Path(__file__).resolve().parents[2]
PENDING = sorted([*(ROOT / "scenarios" / "pending").glob("*.yaml"),
                  *(ROOT / "tests" / "e2e" / "short" / "pending").glob("*.yaml")])
SETTINGS = ("udp_timeout", "udp_stream_timeout")


def test_both_shipped_udp_scenarios_and_their_short_forms_are_pending() -> None:
    assert sorted(p.stem for p in PENDING) == sorted(["cloud-nat-udp", "wireguard-cgn-udp-30s"] * 2)


@pytest.mark.parametrize("path", PENDING, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_a_pending_scenario_waits_only_for_the_udp_timer_settings(path: Path) -> None:
    with pytest.raises(ConfigError) as refused:
        load_scenario(path)
    assert any(setting in str(refused.value) for setting in SETTINGS), str(refused.value)
    data = yaml.safe_load(path.read_text())
    for settings in data.get("middleboxes", {}).values():
        for setting in SETTINGS:
            settings.pop(setting, None)
    result = predict(load_scenario_text(yaml.safe_dump(data), str(path)))
    assert result.complete and {p.name for p in result.probes} == set(data["expect"])
    assert all(c.verdict is not Verdict.ERROR for p in result.probes for c in p.connections)
