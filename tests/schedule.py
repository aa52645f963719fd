"""The order pytest-xdist hands tests out in: the longest first, so no long lab test starts last.

`make test` asks for xdist's ``loadgroup`` scheduler and gets this module's :class:`UnitScheduling` (xdist
3.8's own does not group under pytest 9: the ``@group`` it appends to a test's id is lost). A work unit is
one test, or every test of a module in :data:`GROUPED` (modules whose module-scoped fixture is expensive:
a wheel and its virtualenvs, a plugin build; spread over workers, each worker built its own); a worker
holds a few tests and takes the next unit of the collection as they end, the first two rounds going
round-robin, except that a worker already holding more than :data:`LONG_AHEAD` seconds of work takes the
last (shortest) unit: xdist runs a test only once the next one is queued, so what is queued behind a
long test waits for it. The collection order
is then the schedule (xdist's reordering by tests per unit is off), and this module sorts it by each
unit's last duration, longest first (greedy
longest-processing-time scheduling: the lab tests, which mostly wait on scaled timers, run side by side
from the start, and the short unit tests fill in at the end). Under another scheduler (xdist's default
``load`` hands out chunks of consecutive tests), or without xdist, the collection keeps its file order.

Durations come from the last run on this checkout (pytest's cache, key ``natsim/durations``: setup, call
and teardown of each test, written at the end of every run), else from ``tests/durations.json`` (the
tests' durations, committed for a fresh clone such as CI's: refresh it with
``cp .pytest_cache/v/natsim/durations tests/durations.json`` after a whole run), else 0 s.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadScopeScheduling  # type: ignore[import-untyped]

CACHE_KEY = "natsim/durations"
#: Each test's CPU seconds (the worker's and its reaped children's, setup to teardown), for finding
#: what a whole run spends its cores on: not used for scheduling.
CPU_KEY = "natsim/cpu"
WORKER_KEY = "natsim_durations"
#: Modules run whole by one worker: their module-scoped fixtures are expensive.
GROUPED = frozenset({"tests/e2e/test_wheel.py", "tests/e2e/test_plugin_middlebox.py",
                     "tests/netns/test_nat_matrix_lab.py"})
COMMITTED = Path(__file__).with_name("durations.json")


CPU_AT_SETUP = pytest.StashKey[float]()
CPU_PROPERTY = "natsim_cpu_seconds"


def cpu_seconds() -> float:
    """User and system CPU seconds of this process and of its children it has reaped."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def known_durations(config: pytest.Config) -> dict[str, float]:
    """Each test's last duration in seconds: the committed file, overridden by this checkout's cache."""
    durations: dict[str, float] = {}
    if COMMITTED.exists():
        durations.update(json.loads(COMMITTED.read_text()))
    cache = getattr(config, "cache", None)
    if cache is not None:
        durations.update(cache.get(CACHE_KEY, {}))
    return durations


#: Tests that read one shared lab run (tests/shared_runs.py): their unit is the run's scenario (the
#: test's parameter), so they run one after the other on one worker and the second reads the run at
#: once. Apart, the second waited on the first's lock, its worker idle (69 s and 32 s in a whole run).
SHARED_RUN_TESTS = frozenset({"tests/netns/test_sim_agreement.py::test_model_agrees_with_lab_short",
                              "tests/e2e/test_run.py::test_short_tcp_scenario_passes_and_agrees_with_the_model",
                              "tests/e2e/test_run.py::test_short_udp_scenario_passes_and_agrees_with_the_model"})


def unit_of(nodeid: str) -> str:
    """The work unit of test ``nodeid``: its module if that is in :data:`GROUPED`, the shared run's
    scenario for :data:`SHARED_RUN_TESTS`, else the test."""
    module = nodeid.split("::")[0]
    function, bracket, parameter = nodeid.partition("[")
    if module in GROUPED:
        return module
    return f"shared-run[{parameter}" if bracket and function in SHARED_RUN_TESTS else nodeid


#: Seconds of work a worker already holds beyond which the unit queued behind it is the shortest left,
#: not the next longest: an xdist worker runs a test only once the next is queued (or it is told to
#: stop), so the unit queued behind the 254 s test waited all that time (on 14 workers the lab tier
#: ended at 313 s; 285 s once this was changed).
LONG_AHEAD = 30.0


class UnitScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist is untyped here
    """xdist's scope scheduler with :func:`unit_of` as the scope; a worker holding more than
    :data:`LONG_AHEAD` seconds of work (by ``durations``) gets the shortest unit, any other the longest."""

    def __init__(self, config: pytest.Config, log: Any = None,
                 durations: dict[str, float] | None = None) -> None:
        super().__init__(config, log)
        self.durations = durations or {}
        # the collection's order is the schedule: xdist's default (--loadscope-reorder) would put the
        # units of most tests first, a grouped module of short tests before the 254 s test
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def ahead(self, node: Any) -> float:
        """Seconds of the tests ``node`` holds and has not finished (the running one whole)."""
        return sum(self.durations.get(nodeid, 0.0) for unit in self.assigned_work.get(node, {}).values()
                   for nodeid, completed in unit.items() if not completed)

    def _assign_work_unit(self, node: Any) -> None:
        """The next unit (the queue is longest first), or the last when ``node`` is busy for long."""
        if len(self.workqueue) > 1 and self.ahead(node) > LONG_AHEAD:
            self.workqueue.move_to_end(next(reversed(self.workqueue)), last=False)
        super()._assign_work_unit(node)


def longest_first(units: list[list[str]], durations: dict[str, float]) -> list[str]:
    """The tests of ``units`` (lists of test ids run on one worker), the longest unit first (ties keep
    their order)."""
    ordered = sorted(units, key=lambda unit: -sum(durations.get(n, 0.0) for n in unit))
    return [n for unit in ordered for n in unit]


def by_unit(config: pytest.Config) -> bool:
    """Whether xdist's ``loadgroup`` scheduler hands tests out by unit (asked in the controlling
    process: xdist sets a worker's ``dist`` to ``no``)."""
    return bool(config.getoption("dist", "no") == "loadgroup")


class LongestFirst:
    """The plugin: orders the collection, records each test's duration, saves them at the end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.measured: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        worker = getattr(config, "workerinput", None)
        #: Decided by the controlling process, which reads the durations once and sends them to every
        #: worker (so all sort alike) when xdist hands tests out by unit; None: keep file order.
        self.durations: dict[str, float] | None = worker.get(WORKER_KEY) if worker is not None \
            else known_durations(config) if by_unit(config) else None

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> UnitScheduling | None:
        """The scheduler by unit, for ``--dist loadgroup``."""
        return UnitScheduling(config, log, self.durations) if self.durations is not None else None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """Send the durations to a worker xdist starts."""
        if self.durations is not None:
            node.workerinput[WORKER_KEY] = self.durations

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Sort ``items`` longest unit first in place when xdist hands tests out by unit."""
        if self.durations is None or not hasattr(self.config, "workerinput"):
            return
        units: dict[str, list[pytest.Item]] = {}
        for item in items:
            units.setdefault(unit_of(item.nodeid), []).append(item)
        by_id = {item.nodeid: item for item in items}
        order = longest_first([[item.nodeid for item in unit] for unit in units.values()], self.durations)
        items[:] = [by_id[n] for n in order]

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Any:
        """Note the CPU used so far when ``item``'s setup starts."""
        item.stash[CPU_AT_SETUP] = cpu_seconds()
        yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """Attach the CPU ``item`` used, setup to teardown, to its teardown report."""
        outcome = yield
        start = item.stash.get(CPU_AT_SETUP, None)
        if call.when == "teardown" and start is not None:
            outcome.get_result().user_properties.append((CPU_PROPERTY, round(cpu_seconds() - start, 2)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Add a phase's duration to its test's, and note the CPU it used (in the controlling process,
        which sees every worker's reports)."""
        self.measured[report.nodeid] = round(self.measured.get(report.nodeid, 0.0) + report.duration, 2)
        for name, value in report.user_properties:
            if name == CPU_PROPERTY:
                self.cpu[report.nodeid] = float(value)

    def pytest_sessionfinish(self) -> None:
        """Merge this run's durations into the cache (tests not run keep their last)."""
        cache = getattr(self.config, "cache", None)
        if cache is None or not self.measured or hasattr(self.config, "workerinput"):
            return
        cache.set(CACHE_KEY, {**cache.get(CACHE_KEY, {}), **self.measured})
        cache.set(CPU_KEY, {**cache.get(CPU_KEY, {}), **self.cpu})
