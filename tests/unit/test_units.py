"""Durations and time scaling."""

from __future__ import annotations

import pytest

from natsim.errors import DurationError, TimeScaleError
from natsim.units import TimeScale, format_duration, parse_duration


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h", 3600), ("2h4m", 7440), ("3720s", 3720), ("90", 90), (90, 90), ("1.5h", 5400),
    ("250ms", 0.25), ("4m", 240), ("1d", 86400), ("1h 30m", 5400), ("2min", 120),
])
def test_parse_duration(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "1x", "h", "-5s", "1h-2m", "abc", "1e3", True, float("nan")])
def test_parse_duration_rejects_malformed(bad: object) -> None:
    with pytest.raises(DurationError):
        parse_duration(bad)  # type: ignore[arg-type]


def test_zero_duration_is_refused_unless_allowed() -> None:
    with pytest.raises(DurationError, match="greater than zero"):
        parse_duration("0s", what="cpe.idle_timeout")
    assert parse_duration("0s", allow_zero=True) == 0


@pytest.mark.parametrize(("seconds", "text"), [(3600, "1h"), (7440, "2h4m"), (3720, "1h2m"),
                                               (1.5, "1.5s"), (59, "59s"), (86400, "1d"),
                                               (3813.11, "1h3m33s"), (0.2, "200ms"), (0, "0s"),
                                               (12.3456, "12.346s"), (59.9999, "1m"), (60.4, "1m")])
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_time_scale_maps_real_to_lab_and_back() -> None:
    scale = TimeScale(60)
    assert scale.to_lab(3600) == 60
    assert scale.to_real(61) == 3660


def test_kernel_seconds_whole_values_are_exact() -> None:
    scaled = TimeScale(60).kernel_seconds("cpe.idle_timeout", 3600)
    assert (scaled.lab, scaled.rounded, scaled.relative_error) == (60, False, 0.0)


def test_kernel_seconds_reports_small_rounding() -> None:
    scaled = TimeScale(60).kernel_seconds("cgn.idle_timeout", 7450)  # 124.17 s
    assert scaled.lab == 124
    assert scaled.rounded
    assert 0 < scaled.relative_error < 0.01
    assert "rounded" in scaled.describe()


def test_kernel_seconds_refuses_above_one_percent() -> None:
    with pytest.raises(TimeScaleError, match=r"cpe.idle_timeout: 1m1s at time_scale 60 .* 1.6%"):
        TimeScale(60).kernel_seconds("cpe.idle_timeout", 61)


def test_kernel_seconds_non_strict_rounds_to_at_least_one_second() -> None:
    scaled = TimeScale(60).kernel_seconds("cpe.close", 10, strict=False)
    assert scaled.lab == 1
    assert scaled.relative_error == pytest.approx(5.0)


@pytest.mark.parametrize("bad", [0, -1, float("inf"), True])
def test_time_scale_must_be_positive(bad: float) -> None:
    with pytest.raises(TimeScaleError):
        TimeScale(bad)
