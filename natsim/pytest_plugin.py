"""pytest plugin (entry point ``pytest11``): lab fixtures for users' own probe tests.

* ``@pytest.mark.natsim_netns`` marks a test that needs root and network namespaces. When they are
  missing the test is skipped with the reason; with ``--natsim-strict`` (or ``NATSIM_STRICT=1``) it
  fails instead. ``CI=true`` alone changes nothing: a hosted CI without root skips these tests.
* ``natsim_lab`` is a factory: ``lab = natsim_lab("isp-bridge-cgn", {"cpe": {"idle_timeout": "30m"}},
  time_scale=60)`` returns a started :class:`natsim.lab.Lab`, torn down after the test. A node's
  settings are given as in a scenario file's ``middleboxes:`` (durations like ``"30m"``, scenario
  time; an unknown setting raises :class:`natsim.errors.ConfigError` with a scenario file's message,
  without its ``FILE:LINE:COL:``), or as a config
  object (``{"cpe": CpeBridge(idle_timeout=1800)}``).
* ``natsim_scenario`` is a factory: ``outcome = natsim_scenario("isp-modem-bridge-1h",
  probe_cmds={"mine": ("client", "my-probe 203.0.113.10")})`` runs a shipped or own scenario
  (as ``natsim run`` does, output in the test's tmp_path), or one given as YAML with
  ``natsim_scenario(text="...")``, and returns its :class:`natsim.run.experiment.RunOutcome`
  (``.ok``, ``.summary``, ``.result``, ``.checks``, ``.out``). A probe command's exit code is
  expected to be 0. It runs with the test's environment (its ``PATH`` included) plus
  ``NATSIM_TIME_SCALE``.

Example (docs/scenarios.md, "In your own tests")::

    import pytest

    @pytest.mark.natsim_netns
    def test_my_probe_sees_the_modem(natsim_scenario):
        outcome = natsim_scenario("isp-modem-bridge-1h", probe_cmds={"mine": ("client", "my-probe server")})
        assert outcome.ok, outcome.summary

    INLINE = ("topology: home-nat\\n"
              "probes: [{name: send, kind: tcp-send, options: {connections: 2, step: 1m}}]\\n"
              "expect: {send: {all_alive: true}}\\n")

    @pytest.mark.natsim_netns
    def test_an_inline_scenario(natsim_scenario):
        outcome = natsim_scenario(text=INLINE, time_scale=120)
        assert outcome.ok, outcome.summary

    @pytest.mark.natsim_netns
    def test_my_tool_through_a_30_minute_modem(natsim_lab):
        lab = natsim_lab("isp-bridge-cgn", {"cpe": {"idle_timeout": "30m"}}, time_scale=60)
        assert lab.run("client", "my-probe 203.0.113.10")[0] == 0

``pytest --natsim-strict`` (or ``NATSIM_STRICT=1 pytest``) where the lab must run, e.g. a CI runner
with root: there a missing prerequisite fails these tests instead of skipping them.

What a test passes to these fixtures is explicit, so it is trusted: a topology file
(``natsim_lab("my_topo.py")``) and a scenario's own code (command probes, ssh options) run without
``--trust``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from natsim.units import TimeScale

MARKER = "natsim_netns"
REQUIRED_BINARIES = ("mnexec", "nft", "ip", "sysctl")
STRICT_ENV = "NATSIM_STRICT"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def lab_unavailable_reason() -> str | None:
    """Why lab tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root for network namespaces (run with sudo)"
    missing = [b for b in REQUIRED_BINARIES if shutil.which(b) is None]
    if missing:
        return f"missing binaries {', '.join(missing)} (run `sudo make setup`)"
    return None


def strict_mode(config: pytest.Config) -> bool:
    """A missing lab prerequisite fails ``natsim_netns`` tests: ``--natsim-strict`` or ``NATSIM_STRICT``."""
    value = os.environ.get(STRICT_ENV, "").strip().lower()
    if value not in _TRUE + _FALSE:
        raise pytest.UsageError(f"{STRICT_ENV}={os.environ[STRICT_ENV]!r}: expected 1 or 0")
    return bool(config.getoption("natsim_strict")) or value in _TRUE


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--natsim-strict``."""
    parser.getgroup("natsim").addoption(
        "--natsim-strict", action="store_true", default=False, dest="natsim_strict",
        help=f"fail (instead of skip) {MARKER} tests when root or the lab's binaries are missing "
             f"(also {STRICT_ENV}=1)")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``natsim_netns`` marker and check ``NATSIM_STRICT``."""
    config.addinivalue_line(
        "markers", f"{MARKER}: needs root and network namespaces (a natsim lab); skipped without them, "
                   f"failed with --natsim-strict or {STRICT_ENV}=1")
    strict_mode(config)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, in strict mode, fail) ``natsim_netns`` tests when lab prerequisites are missing."""
    if item.get_closest_marker(MARKER) is None:
        return
    reason = lab_unavailable_reason()
    if reason is None:
        return
    if strict_mode(item.config):
        pytest.fail(f"lab prerequisites are missing (--natsim-strict or {STRICT_ENV}=1): {reason}",
                    pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def natsim_lab() -> Iterator[Callable[..., Any]]:
    """Factory fixture: start labs inside the test, stop them all afterwards."""
    from natsim.lab import Lab
    from natsim.lab.lab import lab_from_settings
    from natsim.lab.topology import find_topology

    labs: list[Lab] = []

    def start(topology: str, middleboxes: Mapping[str, Any] | None = None, *,
              time_scale: float = 1.0) -> Lab:
        lab = lab_from_settings(find_topology(topology, trust=True), middleboxes or {},
                                TimeScale(time_scale))
        lab.start()
        labs.append(lab)
        return lab

    try:
        yield start
    finally:
        for lab in reversed(labs):
            lab.stop()


@pytest.fixture
def natsim_scenario(tmp_path: Any) -> Callable[..., Any]:
    """Factory fixture: run a scenario in a lab and return its outcome."""
    from dataclasses import replace
    from pathlib import Path

    from natsim.run.experiment import run_scenario
    from natsim.scenario import load_scenario, load_scenario_text

    def run(scenario: str | Path | None = None, *, text: str | None = None,
            time_scale: float | None = None, probe_cmds: Mapping[str, tuple[str, str]] | None = None,
            out: Path | None = None) -> Any:
        if text is not None and scenario is None:
            loaded = load_scenario_text(text, "<natsim_scenario text>", trust=True)
            if time_scale is not None:
                loaded = loaded.with_time_scale(time_scale)
        elif scenario is not None and text is None:
            loaded = load_scenario(scenario, time_scale=time_scale, trust=True)
        else:
            raise TypeError("natsim_scenario: give a scenario (name or file) or its YAML text=")
        extra = dict(probe_cmds or {})
        if extra:
            loaded = replace(loaded, expect={**loaded.expect, **{n: {"exit_code": 0} for n in extra}})
        return run_scenario(loaded, out or Path(tmp_path) / loaded.name, extra=extra)

    return run
