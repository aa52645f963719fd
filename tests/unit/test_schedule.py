"""The test suite's own schedule (tests/schedule.py): the longest work unit first."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

from tests.schedule import SHARED_RUN_TESTS, UnitScheduling, longest_first, unit_of
from tests.tiers import LAB, REALTIME, ROOT, UNIT, session, split


def test_the_longest_unit_goes_first_and_a_group_counts_as_its_sum() -> None:
    durations = {"a": 1.0, "b": 50.0, "g1": 30.0, "g2": 30.0, "d": 200.0}
    order = longest_first([["a"], ["b"], ["g1", "g2"], ["d"], ["e"]], durations)
    assert order == ["d", "g1", "g2", "b", "a", "e"]


def test_unknown_tests_keep_their_order_after_the_known_ones() -> None:
    assert longest_first([["x"], ["y"], ["z"], ["w"]], {"w": 1.0}) == ["w", "x", "y", "z"]


def test_a_grouped_module_is_one_unit() -> None:
    assert unit_of("tests/e2e/test_wheel.py::test_x") == "tests/e2e/test_wheel.py"
    assert unit_of("tests/unit/test_a.py::test_b[1]") == "tests/unit/test_a.py::test_b[1]"


def test_the_tests_reading_one_shared_run_are_one_unit() -> None:
    agreement = "tests/netns/test_sim_agreement.py::test_model_agrees_with_lab_short[cloud-nat-udp]"
    run = "tests/e2e/test_run.py::test_short_udp_scenario_passes_and_agrees_with_the_model[cloud-nat-udp]"
    assert unit_of(agreement) == unit_of(run) == "shared-run[cloud-nat-udp]"
    other = ("tests/e2e/test_run.py::test_short_tcp_scenario_passes_and_agrees_with_the_model"
             "[cgn-loose-pickup]")
    assert unit_of(other) != unit_of(run)
    ssh = "tests/e2e/test_run.py::test_short_ssh_scenario_passes_and_agrees_with_the_model[cloud-nat-udp]"
    assert unit_of(ssh) == ssh


IGNORED = [f"--ignore={module}" for module in REALTIME]


class _Config:
    """What xdist's scheduler reads of a config: the workers' specs, its options (xdist's defaults)."""

    option = SimpleNamespace(loadscopereorder=True)

    def getvalue(self, name: str) -> list[str]:
        assert name == "tx"
        return ["2*popen"]


class _Worker:
    """A stand-in xdist worker: records the test indexes it is sent."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.sent: list[int] = []
        self.shutting_down = False

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent += indexes

    def shutdown(self) -> None:
        self.shutting_down = True


def test_a_worker_busy_for_long_gets_the_shortest_unit_queued_behind() -> None:
    """xdist runs a worker's test only once the next is queued: behind a 254 s test goes the shortest
    unit, not the next longest, which would wait 254 s; a worker with little ahead takes the longest."""
    wheel = "tests/e2e/test_wheel.py"   # a grouped module: one unit of two short tests, third last
    durations = {"t::long": 254.0, "t::a": 50.0, "t::b": 40.0, "t::c": 20.0, f"{wheel}::x": 1.5,
                 f"{wheel}::y": 0.5, "t::d": 1.0, "t::e": 0.5}
    collection = list(durations)   # longest first, as the workers' collection is sorted
    scheduler = UnitScheduling(_Config(), durations=durations)  # type: ignore[arg-type]
    one, two = _Worker("gw0"), _Worker("gw1")
    for worker in (one, two):
        scheduler.add_node(worker)
        scheduler.add_node_collection(worker, collection)
    scheduler.schedule()
    assert [collection[i] for i in one.sent] == ["t::long", "t::e"]
    assert [collection[i] for i in two.sent] == ["t::a", "t::d"]
    scheduler.mark_test_complete(two, collection.index("t::a"), 50.0)   # two now runs d: 1 s ahead
    assert [collection[i] for i in two.sent] == ["t::a", "t::d", "t::b"]


def test_make_test_splits_its_arguments_into_the_two_tiers() -> None:
    assert split([]) == ([UNIT, *IGNORED], [*LAB, *REALTIME], [])
    assert split(["-x", "tests/unit/test_schedule.py::test_a_grouped_module_is_one_unit",
                  "tests/netns/test_teardown.py", "-k", "foo"]) == (
        ["tests/unit/test_schedule.py::test_a_grouped_module_is_one_unit"], ["tests/netns/test_teardown.py"],
        ["-x", "-k", "foo"])
    assert split(["tests/e2e"]) == ([], ["tests/e2e"], [])
    assert split(["-k", "x"]) == ([UNIT, *IGNORED], [*LAB, *REALTIME], ["-k", "x"])


def test_unit_modules_that_time_real_sleeps_run_at_normal_priority() -> None:
    """A unit path holding a :data:`REALTIME` module leaves it to the lab session (``--ignore`` in the
    unit session); one named alone goes there whole, and a unit tier left empty is not started."""
    assert all((ROOT / module).is_file() for module in REALTIME)
    one = f"{REALTIME[0]}::test_x"
    assert split([one, "-x"]) == ([], [one], ["-x"])
    assert split(["tests/unit/test_schedule.py", REALTIME[1]]) == (
        ["tests/unit/test_schedule.py"], [REALTIME[1]], [])
    assert split([UNIT, "tests/e2e"]) == ([UNIT, *IGNORED], ["tests/e2e", *REALTIME], [])


def test_the_unit_tier_runs_at_the_lowest_priority() -> None:
    assert session([UNIT], 2, ["-x"], nice=True)[:3] == ["nice", "-n", "19"]
    lab = session(LAB, 8, [], nice=False)
    assert lab[1:3] == ["-m", "pytest"] and lab[-4:] == ["-n", "8", *LAB]


def _callers_of(module: ast.Module, target: str) -> set[str]:
    """Names of the module-level functions of ``module`` that call ``target`` or, in turn, such a
    function."""
    bodies = {f.name: f for f in module.body if isinstance(f, ast.FunctionDef)}
    found: set[str] = set()
    wanted = {target}
    while True:
        more = {name for name, f in bodies.items() if name not in found and any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in wanted
            for n in ast.walk(f))}
        if not more:
            return found
        found |= more
        wanted |= more


def test_every_test_reading_a_shared_run_is_grouped() -> None:
    """SHARED_RUN_TESTS names tests by their function: one that reads a shared run (tests/shared_runs.py)
    and is missing there would wait on another worker's lock again."""
    root = Path(__file__).parents[2]
    readers = set()
    for path in sorted((root / "tests").rglob("test_*.py")):
        module = ast.parse(path.read_text())
        relative = path.relative_to(root).as_posix()
        readers |= {f"{relative}::{name}" for name in _callers_of(module, "compared_run")
                    if name.startswith("test_")}
    assert readers == SHARED_RUN_TESTS
