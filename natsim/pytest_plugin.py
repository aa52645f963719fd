"""pytest plugin (entry point ``pytest11``): lab fixtures for users' own probe tests.

* ``@pytest.mark.netns`` tests need root and network namespaces. Without them they are skipped
  with the reason, except under CI (``CI=true``) where a missing prerequisite fails the test.
* ``natsim_lab`` is a factory: ``lab = natsim_lab("home-nat", {"router": HomeRouter()},
  time_scale=60)`` returns a started :class:`natsim.lab.Lab`, torn down after the test.
* ``natsim_scenario`` is a factory: ``outcome = natsim_scenario("isp-modem-bridge-1h",
  probe_cmds={"mine": ("client", "my-probe 203.0.113.10")})`` runs a shipped or own scenario
  (as ``natsim run`` does, output in the test's tmp_path), or one given as YAML with
  ``natsim_scenario(text="...")``, and returns its
  :class:`natsim.run.experiment.RunOutcome` (``.ok``, ``.result``, ``.checks``, ``.out``). A probe command's
  exit code is expected to be 0.

What a test passes to these fixtures is explicit, so it is trusted: a topology file
(``natsim_lab("my_topo.py")``) and a scenario's command probes run without ``--trust``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from natsim.units import TimeScale

REQUIRED_BINARIES = ("mnexec", "nft", "ip", "sysctl")


def lab_unavailable_reason() -> str | None:
    """Why lab tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root for network namespaces (run with sudo)"
    missing = [b for b in REQUIRED_BINARIES if shutil.which(b) is None]
    if missing:
        return f"missing binaries {', '.join(missing)} (run `sudo make setup`)"
    return None


def pytest_configure(config: pytest.Config) -> None:
    """Register natsim's markers."""
    config.addinivalue_line("markers", "netns: needs root and network namespaces (real kernel)")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, under CI, fail) namespace tests when prerequisites are missing."""
    if item.get_closest_marker("netns") is None:
        return
    reason = lab_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but lab prerequisites are missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def natsim_lab() -> Iterator[Callable[..., Any]]:
    """Factory fixture: start labs inside the test, stop them all afterwards."""
    from natsim.lab import Lab
    from natsim.lab.topology import find_topology

    labs: list[Lab] = []

    def start(topology: str, middleboxes: Mapping[str, Any] | None = None, *,
              time_scale: float = 1.0) -> Lab:
        lab = Lab(find_topology(topology, trust=True), middleboxes, time_scale=TimeScale(time_scale))
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
