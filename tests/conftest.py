"""Shared test configuration.

The natsim pytest plugin provides the natsim_netns marker handling. This file adds one session-wide check:
the whole test run (as root) leaves the root network namespace exactly as it found it - links,
named namespaces, addresses, routes, rules, nftables ruleset and the sysctls in
``tests/rootstate.py``. Any difference fails the run, whichever test caused it.
"""

from __future__ import annotations

import os

import pytest

from tests.rootstate import differences, snapshot

_BEFORE = pytest.StashKey[dict[str, str]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Snapshot the root namespace (in the controlling process only, under xdist)."""
    if hasattr(session.config, "workerinput") or os.geteuid() != 0:
        return
    session.config.stash[_BEFORE] = snapshot()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when the root namespace changed."""
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    changed = differences(before, snapshot())
    if changed:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        text = "the test run changed the root network namespace:\n  " + "\n  ".join(changed)
        if reporter is not None:
            reporter.write_sep("=", "root namespace changed", red=True)
            reporter.write_line(text)
        else:
            print(text)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
