"""The order pytest-xdist hands tests out in: the longest first, so no long lab test starts last.

`make test` runs xdist's ``load`` scheduler with ``--maxschedchunk 1``: a worker holds the test it runs
and one more, and takes the next test of the collection each time one ends. The collection order is
then the schedule, and this module sorts it by each test's last duration, longest first (greedy
longest-processing-time scheduling: the lab tests, which mostly wait on scaled timers, run side by side
from the start, and the short unit tests fill in at the end). xdist's first round gives each worker two
consecutive tests; they are paired longest with shortest of the first 2 × workers, so no worker starts
with two of the longest. Without that scheduler (xdist's default chunks of consecutive tests, or no
xdist) the collection keeps its file order.

Durations come from the last run on this checkout (pytest's cache, key ``natsim/durations``: setup, call
and teardown of each test, written at the end of every run), else from ``tests/durations.json`` (the
lab tests' durations, committed for a fresh clone such as CI's: refresh it with
``cp .pytest_cache/v/natsim/durations tests/durations.json`` after a whole run), else 0 s.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

CACHE_KEY = "natsim/durations"
WORKER_KEY = "natsim_durations"
COMMITTED = Path(__file__).with_name("durations.json")


def known_durations(config: pytest.Config) -> dict[str, float]:
    """Each test's last duration in seconds: the committed file, overridden by this checkout's cache."""
    durations: dict[str, float] = {}
    if COMMITTED.exists():
        durations.update(json.loads(COMMITTED.read_text()))
    cache = getattr(config, "cache", None)
    if cache is not None:
        durations.update(cache.get(CACHE_KEY, {}))
    return durations


def longest_first(nodeids: list[str], durations: dict[str, float], workers: int) -> list[str]:
    """``nodeids`` longest first (ties keep their order); the first ``2 * workers`` paired so worker k's
    first two are the k-th longest and the k-th shortest of them."""
    ordered = sorted(nodeids, key=lambda n: -durations.get(n, 0.0))
    head, tail = ordered[:2 * workers], ordered[2 * workers:]
    paired = [n for k in range(len(head) // 2) for n in (head[k], head[len(head) - 1 - k])]
    if len(head) % 2:
        paired.append(head[len(head) // 2])
    return paired + tail


def one_at_a_time(config: pytest.Config) -> bool:
    """Whether xdist's ``load`` scheduler hands tests out one at a time (asked in the controlling
    process: xdist sets a worker's ``dist`` to ``no``)."""
    return bool(config.getoption("dist", "no") == "load" and config.getoption("maxschedchunk", None) == 1)


class LongestFirst:
    """The plugin: orders the collection, records each test's duration, saves them at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.measured: dict[str, float] = {}
        worker = getattr(config, "workerinput", None)
        #: Decided by the controlling process, which reads the durations once and sends them to every
        #: worker (so all sort alike) when xdist hands tests out one at a time; None: keep file order.
        self.durations: dict[str, float] | None = worker.get(WORKER_KEY) if worker is not None \
            else known_durations(config) if one_at_a_time(config) else None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Send the durations to a worker xdist starts."""
        if self.durations is not None:
            node.workerinput[WORKER_KEY] = self.durations

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Sort ``items`` longest first in place when xdist hands them out one at a time."""
        if self.durations is None or not hasattr(self.config, "workerinput"):
            return
        by_id = {item.nodeid: item for item in items}
        order = longest_first(list(by_id), self.durations,
                              int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
        items[:] = [by_id[n] for n in order]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add a phase's duration to its test's (in the controlling process, which sees every
        worker's reports)."""
        self.measured[report.nodeid] = round(self.measured.get(report.nodeid, 0.0) + report.duration, 2)

    def pytest_sessionfinish(self) -> None:
        """Merge this run's durations into the cache (tests not run keep their last)."""
        cache = getattr(self.config, "cache", None)
        if cache is None or not self.measured or hasattr(self.config, "workerinput"):
            return
        cache.set(CACHE_KEY, {**cache.get(CACHE_KEY, {}), **self.measured})
