"""Middlebox timers at high time scales: one no probe depends on is rounded up and reported; one a
probe depends on is still refused; a lab run above a probe kind's highest exact scale is refused."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from natsim.errors import ScenarioError, TimeScaleError
from natsim.middleboxes import presets
from natsim.middleboxes.base import with_preset
from natsim.middleboxes.presets import device
from natsim.probes.registry import kinds
from natsim.probes.tcp.options import TcpKeepaliveOptions
from natsim.run.experiment import run_scenario
from natsim.run.predict import build, predict
from natsim.scenario import load_scenario, load_scenario_text
from natsim.scenario_scaling import check_lab_scale, declared, round_loose_timers
from natsim.units import TimeScale

ROUNDED = ("cgn.transitory_timeout: 4m rounded up to 10m (1 lab s at time scale 600); no probe's verdict "
           "depends on it")


def test_a_timer_no_probe_depends_on_is_rounded_up_and_reported() -> None:
    scenario = load_scenario("isp-modem-bridge-1h", time_scale=600)
    assert [r.describe() for r in scenario.rounded] == [ROUNDED]
    assert scenario.middleboxes["cgn"].transitory_timeout == 600   # type: ignore[attr-defined]
    assert scenario.middleboxes["cpe"].idle_timeout == 3600        # type: ignore[attr-defined]
    assert ROUNDED in predict(scenario).unscaled


def test_the_declared_value_comes_back_at_a_scale_where_it_fits() -> None:
    scenario = load_scenario("isp-modem-bridge-1h", time_scale=600).with_time_scale(60)
    assert scenario.rounded == ()
    assert scenario.middleboxes["cgn"].transitory_timeout == 240   # type: ignore[attr-defined]


def test_a_timer_a_probe_may_depend_on_is_still_refused() -> None:
    text = """
topology: isp-bridge-cgn
time_scale: 600
middleboxes:
  cpe: {idle_timeout: 1h}
  cgn: {idle_timeout: 4h}
probes:
  - name: login
    kind: ssh-first-connect
expect:
  login: {}
"""
    with pytest.raises(ScenarioError, match=r"cgn.transitory_timeout: 4m at time_scale 600"):
        load_scenario_text(text)


def test_the_user_set_idle_timeout_is_still_refused() -> None:
    with pytest.raises(ScenarioError, match=r"cpe.idle_timeout: 1h .* 3.600 lab seconds"):
        load_scenario("isp-modem-bridge-1h", time_scale=1000)


@pytest.mark.parametrize(("probe", "limit"), [("send", 600), ("recv", 600), ("keepalive", 60)])
def test_a_lab_run_above_a_kinds_exact_scale_is_refused(probe: str, limit: int, tmp_path: Path) -> None:
    full = load_scenario("isp-modem-bridge-1h")
    only = replace(full, probes=tuple(p for p in full.probes if p.name == probe), expect={})
    only.with_time_scale(limit)   # loads
    with pytest.raises(TimeScaleError, match=rf"probe {probe} \(tcp-\w+\): time scale 1200 is above "
                       rf"{limit}, the highest at which .* run it at --time-scale {limit} or less"):
        run_scenario(only.with_time_scale(1200), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_keepalive_above_60_runs_when_every_idle_is_whole_lab_seconds() -> None:
    """tcp-keepalive's limit is TCP_KEEPIDLE's whole seconds: at 75 a ladder of 10 min steps (8 lab s)
    is exact and allowed, a 1 min step (0.8 lab s) is refused, as is an explicit 1 min interval."""
    kind = kinds()["tcp-keepalive"]
    whole = TcpKeepaliveOptions(connections=3, first=600.0, step=600.0)
    check_lab_scale("k", kind, TimeScale(75), whole)
    for options in (TcpKeepaliveOptions(connections=3, first=600.0, step=60.0),
                    TcpKeepaliveOptions(connections=3, first=600.0, step=600.0, keepalive_interval=60.0)):
        with pytest.raises(TimeScaleError, match=r"time scale 75 is above 60"):
            check_lab_scale("k", kind, TimeScale(75), options)
    with pytest.raises(TimeScaleError):
        check_lab_scale("k", kind, TimeScale(75))    # options unknown: the limit holds


def test_natsims_own_kinds_state_their_limits() -> None:
    limits = {name: kind.scale_limit.factor for name, kind in kinds().items() if kind.scale_limit}
    assert limits == {"tcp-send": 600, "tcp-recv": 600, "tcp-keepalive": 60, "ssh-first-connect": 60,
                      "ssh-bypass-timer": 60, "ssh-kex": 60, "ssh-idle": 120}


def test_a_real_network_prediction_uses_the_declared_timer() -> None:
    scenario = load_scenario("isp-modem-bridge-1h", time_scale=600)
    world, _ = build(scenario, as_lab=False)
    assert world.models["cgn"].config.transitory_timeout == 240   # type: ignore[attr-defined]
    assert ROUNDED not in predict(scenario, as_lab=False).unscaled


def test_a_rounded_config_keeps_the_preset_it_was_built_from() -> None:
    preset = next(iter(presets.shipped().values()))
    config = with_preset(device("cgn"), preset)
    rounded, timers = round_loose_timers({"cgn": config}, frozenset({"established"}), TimeScale(600))
    assert [t.setting for t in timers] == ["transitory_timeout"]
    assert presets.preset_of(rounded["cgn"]) is preset
    assert presets.preset_of(declared(rounded, timers)["cgn"]) is preset
