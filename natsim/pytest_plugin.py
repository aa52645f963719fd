"""pytest plugin (entry point ``pytest11``): lab fixtures for users' own probe tests.

* ``@pytest.mark.natsim_netns`` marks a test that builds labs (network namespaces). When that is not
  possible here the test is skipped with the reason; with ``--natsim-strict`` (or ``NATSIM_STRICT=1``)
  it fails instead. ``CI=true`` alone changes nothing.
* **Without root**, as soon as the lab's binaries are installed and the kernel allows unprivileged
  user namespaces, the whole session runs inside natsim's own user, network, mount and PID
  namespaces (:mod:`natsim.lab.userns`): tests run as root *there* (your uid and gid mapped to 0, a
  private ``/run``, loopback and the labs as the only network), build labs exactly as root does, and
  the kernel removes everything when the session ends, however it ends. The original process waits
  on the host and exits with the session's status; ``NATSIM_MODE=root`` keeps a session out of it.
  A conftest may implement ``pytest_natsim_host_exit(config, exitstatus)``: it is called on the host
  after such a session and may return a non-zero status to fail the run.
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

``pytest --natsim-strict`` (or ``NATSIM_STRICT=1 pytest``) where the lab must run, e.g. a CI runner:
there a missing prerequisite fails these tests instead of skipping them.

What a test passes to these fixtures is explicit, so it is trusted: a topology file
(``natsim_lab("my_topo.py")``) and a scenario's own code (command probes, ssh options) run without
``--trust``.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from natsim.errors import PrivilegeError
from natsim.lab.userns_support import Mode, Readings, explain, lab_mode
from natsim.privileges import in_user_namespace
from natsim.units import TimeScale

MARKER = "natsim_netns"
#: A test that needs root on the host itself (e.g. to give a file to another user): skipped elsewhere,
#: in strict mode too, since no setting makes it possible inside a user namespace.
ROOT_MARKER = "natsim_root"
REQUIRED_BINARIES = ("mnexec", "nft", "ip", "sysctl")
STRICT_ENV = "NATSIM_STRICT"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


def _missing_binaries() -> list[str]:
    return [b for b in REQUIRED_BINARIES if shutil.which(b) is None]


def lab_unavailable_reason() -> str | None:
    """Why lab tests cannot run here, or None when they can."""
    missing = _missing_binaries()
    if missing:
        return f"missing binaries {', '.join(missing)} (run `sudo make setup`)"
    if os.geteuid() != 0:
        found = explain(Readings.read())
        return ("needs root or natsim's own user namespace: " + (
            str(found) if found is not None else
            "this session did not enter one (NATSIM_MODE=root, or threads were running at start-up)"))
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


class HostHooks:
    """The hook natsim's plugin adds."""

    @pytest.hookspec
    def pytest_natsim_host_exit(self, config: pytest.Config, exitstatus: int) -> int | None:
        """Called in the original process, on the host, after a session that ran inside natsim's own
        user namespace has ended with ``exitstatus``; return a non-zero status to fail the run."""


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Add :class:`HostHooks`."""
    pluginmanager.add_hookspecs(HostHooks)


@pytest.hookimpl(trylast=True)   # after every other plugin's (and conftest's) configure, on the host
def pytest_configure(config: pytest.Config) -> None:
    """Register the ``natsim_netns`` marker, check ``NATSIM_STRICT``, enter natsim's own namespaces
    when not root (module docstring)."""
    config.addinivalue_line(
        "markers", f"{MARKER}: builds labs (network namespaces: root, or natsim's own user namespace); "
                   f"skipped where that is impossible, failed with --natsim-strict or {STRICT_ENV}=1")
    config.addinivalue_line(
        "markers", f"{ROOT_MARKER}: needs root on the host itself (not inside a user namespace); skipped "
                   "elsewhere, also in strict mode")
    strict_mode(config)
    if hasattr(config, "workerinput") or _missing_binaries():
        return   # an xdist worker is inside already when its controller is
    try:
        if lab_mode() is not Mode.ROOTLESS:
            return
        from natsim.lab.userns import enter

        outer = enter()
    except PrivilegeError:
        return   # natsim_netns tests are skipped with the reason (lab_unavailable_reason)
    if outer is None:
        return   # inside: the session goes on here
    code = outer.wait()
    for status in config.hook.pytest_natsim_host_exit(config=config, exitstatus=code):
        code = code or int(status or 0)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Say when the session runs inside a user namespace (natsim's own, without root)."""
    if os.geteuid() == 0 and in_user_namespace():
        return "natsim: labs are built inside a user namespace (uid 0 there is your own uid outside)"
    return None


def host_root_reason() -> str | None:
    """Why this process is not root on the host, or None when it is."""
    if os.geteuid() != 0:
        return "needs root on the host"
    if in_user_namespace():
        return "needs root on the host (inside a user namespace only your own uid exists)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or, in strict mode, fail) ``natsim_netns`` tests when lab prerequisites are missing; skip
    ``natsim_root`` tests unless root on the host."""
    if item.get_closest_marker(ROOT_MARKER) is not None:
        reason = host_root_reason()
        if reason is not None:
            pytest.skip(reason)
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
