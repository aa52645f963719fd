"""The test suite's own schedule (tests/schedule.py): longest first, the first round paired."""

from __future__ import annotations

from tests.schedule import longest_first


def test_longest_first_pairs_the_first_round_long_with_short() -> None:
    durations = {"a": 1.0, "b": 50.0, "c": 3.0, "d": 200.0, "e": 7.0, "f": 0.5}
    order = longest_first(["a", "b", "c", "d", "e", "f", "g"], durations, workers=2)
    # the first 4 (two per worker) are d b e c: worker 0 gets d and c, worker 1 gets b and e
    assert order == ["d", "c", "b", "e", "a", "f", "g"]


def test_unknown_tests_keep_their_order_after_the_known_ones() -> None:
    assert longest_first(["x", "y", "z", "w"], {"w": 1.0}, workers=1) == ["w", "x", "y", "z"]


def test_an_odd_first_round_keeps_every_test() -> None:
    order = longest_first(["a", "b", "c"], {"a": 3.0, "b": 2.0, "c": 1.0}, workers=2)
    assert order == ["a", "c", "b"]
