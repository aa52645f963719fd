"""natsim's pytest plugin without a lab: the ``natsim_netns`` marker, strict mode, scenario-unit settings.

A tiny third-party suite runs in ``pytester`` with ``lab_unavailable_reason`` patched, so the skip /
fail decision is tested as a user without root would meet it, even when these tests run as root.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from natsim import pytest_plugin
from natsim.errors import ConfigError, ScenarioError
from natsim.lab.lab import lab_from_settings
from natsim.lab.topology import find_topology
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import device
from natsim.scenario import load_scenario_text
from natsim.units import TimeScale

pytest_plugins = ["pytester"]

REASON = "no lab here (patched for the test)"
SUITE = """
import pytest

@pytest.mark.natsim_netns
def test_needs_a_lab():
    print("LAB TEST BODY RAN")

def test_plain():
    pass
"""


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A third-party test file; no lab prerequisites; none of the strict switches set."""
    for name in ("NATSIM_STRICT", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(pytest_plugin, "lab_unavailable_reason", lambda: REASON)
    pytester.makepyfile(test_third_party=SUITE)
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # the inline run loads natsim's plugin again from sys.modules: it cannot be assertion-rewritten
    return pytester.runpytest("-p", "no:cacheprovider", "--strict-markers", "-rsfE", "-s",
                              "-W", "ignore::pytest.PytestAssertRewriteWarning", *args)


def assert_failed_in_setup(result: pytest.RunResult) -> None:
    """The marked test fails before its body runs (pytest reports a setup failure as an error)."""
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "LAB TEST BODY RAN" not in result.stdout.str()


def test_missing_prerequisites_skip_by_default_with_the_reason(suite: pytest.Pytester) -> None:
    result = run(suite)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"SKIPPED * {REASON}"])
    assert "LAB TEST BODY RAN" not in result.stdout.str()


def test_ci_alone_still_skips(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    run(suite).assert_outcomes(passed=1, skipped=1)
    monkeypatch.setenv("NATSIM_STRICT", "0")
    run(suite).assert_outcomes(passed=1, skipped=1)


def test_natsim_strict_option_fails_with_the_reason(suite: pytest.Pytester) -> None:
    result = run(suite, "--natsim-strict")
    assert_failed_in_setup(result)
    result.stdout.fnmatch_lines(
        [f"*lab prerequisites are missing (--natsim-strict or NATSIM_STRICT=1): {REASON}"])
    assert "LAB TEST BODY RAN" not in result.stdout.str()


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_natsim_strict_env_fails(suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NATSIM_STRICT", value)
    assert_failed_in_setup(run(suite))


def test_a_bad_natsim_strict_value_is_a_usage_error(suite: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATSIM_STRICT", "maybe")
    result = run(suite)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*NATSIM_STRICT='maybe': expected 1 or 0*"])


def test_with_the_prerequisites_the_test_runs_even_in_strict_mode(suite: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pytest_plugin, "lab_unavailable_reason", lambda: None)
    result = run(suite, "--natsim-strict")
    result.assert_outcomes(passed=2)
    assert "LAB TEST BODY RAN" in result.stdout.str()


def test_the_marker_and_the_option_are_registered_and_the_old_name_is_not(suite: pytest.Pytester) -> None:
    markers = run(suite, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.natsim_netns: builds labs (network namespaces: root, or "
                                  "natsim's own user namespace)*",
                                  "@pytest.mark.natsim_root: needs root on the host itself*"])
    assert "@pytest.mark.netns:" not in markers.stdout.str()
    run(suite, "--help").stdout.fnmatch_lines(["*--natsim-strict*"])
    suite.makepyfile(test_old="import pytest\n\n@pytest.mark.netns\ndef test_old():\n    pass\n")
    run(suite, "test_old.py").stdout.fnmatch_lines(["*'netns' not found in `markers` configuration option*"])


ROOT_SUITE = """
import pytest

@pytest.mark.natsim_root
def test_gives_a_file_away():
    print("ROOT TEST BODY RAN")
"""


@pytest.mark.parametrize("reason", [
    None, "needs root on the host (inside a user namespace only your own uid exists)"])
def test_a_host_root_test_is_skipped_elsewhere_even_in_strict_mode(
        suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, reason: str | None) -> None:
    monkeypatch.setattr(pytest_plugin, "host_root_reason", lambda: reason)
    suite.makepyfile(test_root=ROOT_SUITE)
    result = run(suite, "test_root.py", "--natsim-strict")
    if reason is None:
        result.assert_outcomes(passed=1)
        assert "ROOT TEST BODY RAN" in result.stdout.str()
    else:
        result.assert_outcomes(skipped=1)
        result.stdout.fnmatch_lines([f"SKIPPED * {reason}"])


# ---- natsim_lab settings (built, never started: no kernel state in the unit tier) --------------------
def test_settings_in_scenario_units_next_to_a_config_object() -> None:
    cgn = device("cgn", idle_timeout=7200)
    lab = lab_from_settings(find_topology("isp-bridge-cgn", trust=True),
                            {"cpe": {"idle_timeout": "30m", "untracked_inbound": "pickup"}, "cgn": cgn},
                            TimeScale(60))
    assert lab.middleboxes["cpe"] == CpeBridge(idle_timeout=1800, untracked_inbound=Untracked.PICKUP)
    assert lab.middleboxes["cgn"] is cgn
    assert lab.time_scale.factor == 60
    assert lab.record is None  # not started


def test_a_config_object_of_the_wrong_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="node 'cpe' is a cpe-bridge, not a cgn"):
        lab_from_settings(find_topology("isp-bridge-cgn", trust=True), {"cpe": device("cgn")}, TimeScale(1))


def test_natsim_lab_refuses_an_unknown_setting_as_a_scenario_file_does(
        natsim_lab: Callable[..., Any]) -> None:
    with pytest.raises(ScenarioError) as in_file:
        load_scenario_text("topology: isp-bridge-cgn\nmiddleboxes:\n  cpe: {idle_timout: 30m}\nprobes: []\n",
                           "mine.yaml")
    with pytest.raises(ConfigError) as in_lab:
        natsim_lab("isp-bridge-cgn", {"cpe": {"idle_timout": "30m"}}, time_scale=60)
    assert type(in_lab.value) is ConfigError
    assert str(in_file.value) == f"mine.yaml:3:9: {in_lab.value}"
    assert str(in_lab.value).startswith(
        "unknown setting 'cpe.idle_timout' for cpe-bridge (did you mean 'idle_timeout'?)")


def test_natsim_lab_refuses_a_bad_duration_and_an_unknown_node(natsim_lab: Callable[..., Any]) -> None:
    with pytest.raises(ConfigError, match=r"cpe\.idle_timeout"):
        natsim_lab("isp-bridge-cgn", {"cpe": {"idle_timeout": "half an hour"}})
    with pytest.raises(ConfigError, match="no node 'modem' in topology isp-bridge-cgn"):
        natsim_lab("isp-bridge-cgn", {"modem": {"idle_timeout": "30m"}})
