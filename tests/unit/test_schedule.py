"""The test suite's own schedule (tests/schedule.py): the longest work unit first."""

from __future__ import annotations

from tests.schedule import longest_first, unit_of


def test_the_longest_unit_goes_first_and_a_group_counts_as_its_sum() -> None:
    durations = {"a": 1.0, "b": 50.0, "g1": 30.0, "g2": 30.0, "d": 200.0}
    order = longest_first([["a"], ["b"], ["g1", "g2"], ["d"], ["e"]], durations)
    assert order == ["d", "g1", "g2", "b", "a", "e"]


def test_unknown_tests_keep_their_order_after_the_known_ones() -> None:
    assert longest_first([["x"], ["y"], ["z"], ["w"]], {"w": 1.0}) == ["w", "x", "y", "z"]


def test_a_grouped_module_is_one_unit() -> None:
    assert unit_of("tests/e2e/test_wheel.py::test_x") == "tests/e2e/test_wheel.py"
    assert unit_of("tests/unit/test_a.py::test_b[1]") == "tests/unit/test_a.py::test_b[1]"
