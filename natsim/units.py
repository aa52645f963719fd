"""Durations in real-world units and their mapping onto lab time.

All durations in natsim files are real-world (``1h``, ``2h4m``, ``3720s``). A :class:`TimeScale`
divides them by ``factor`` (real-world seconds per lab second); it is the one time-scale class of
natsim, used by the lab (what to set in the kernel) and by the model (what the lab's kernel will do:
whole seconds, timers it cannot scale). Kernel timeouts are whole seconds, so
:meth:`TimeScale.kernel_seconds` rounds and reports the relative error, refusing above 1 %.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from natsim.errors import DurationError, TimeScaleError

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|min|s|m|h|d)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|min|s|m|h|d))+")

#: Largest relative rounding error accepted for a scaled kernel timeout.
MAX_ROUNDING_ERROR = 0.01
#: Longest duration natsim accepts: 10 years (365-day years). Far beyond any middlebox timer or probe
#: schedule (the longest real ones are days), and far below what the tools can wait on (Python's
#: sleep/timeout limits, nftables' 32-bit timeouts at time scale 1).
MAX_DURATION = 10 * 365 * 86400.0


def parse_duration(value: str | int | float, *, what: str = "duration", allow_zero: bool = False) -> float:
    """Parse ``value`` into real-world seconds.

    Accepts a number of seconds or a string such as ``"90"``, ``"1h"``, ``"2h4m"``, ``"3720s"``,
    ``"1.5h"`` or ``"250ms"``, at most :data:`MAX_DURATION`. Raises :class:`DurationError` naming
    ``what`` and the value.
    """
    if isinstance(value, bool):
        raise DurationError(f"{what}: expected a duration like '1h' or '3720s', got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        text = str(value).strip().replace(" ", "")
        if re.fullmatch(r"\d+(?:\.\d+)?", text):
            seconds = float(text)
        elif _WHOLE.fullmatch(text):
            seconds = sum(float(n) * _UNITS[u] for n, u in _PART.findall(text))
        else:
            raise DurationError(
                f"{what}: malformed duration {value!r} (use e.g. '1h', '2h4m', '3720s', '250ms')")
    if not math.isfinite(seconds) or seconds < 0:
        raise DurationError(f"{what}: duration must be positive, got {value!r}")
    if seconds == 0 and not allow_zero:
        raise DurationError(f"{what}: duration must be greater than zero, got {value!r}")
    if seconds > MAX_DURATION:
        raise DurationError(f"{what}: duration {value!r} is longer than natsim's limit of "
                            f"{format_duration(MAX_DURATION)} (10 years)")
    return seconds


def format_duration(seconds: float) -> str:
    """Format seconds the way durations are written in natsim files: ``3600`` → ``"1h"``, ``7440`` →
    ``"2h4m"``, ``3813.11`` → ``"1h3m33s"`` (from a minute on, to the whole second), ``1.5`` →
    ``"1.5s"`` (below a minute, to the millisecond), ``0.2`` → ``"200ms"``."""
    if seconds < 0:
        return "-" + format_duration(-seconds)
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{seconds * 1000:.3g}ms"
    if round(seconds, 3) < 60:
        return f"{round(seconds, 3):g}s"
    rest = round(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts)


def _whole_lab(exact: float) -> int:
    """Whole kernel seconds for ``exact`` lab seconds: rounded, at least 1."""
    return max(1, round(exact))


@dataclass(frozen=True)
class ScaledTimeout:
    """A real-world timeout mapped to whole lab seconds."""

    name: str
    real: float
    lab: int
    exact: float

    @property
    def relative_error(self) -> float:
        """|lab - exact| / exact."""
        return abs(self.lab - self.exact) / self.exact if self.exact else 0.0

    @property
    def rounded(self) -> bool:
        """True when the lab value differs from the exact scaled value."""
        return not math.isclose(self.lab, self.exact, rel_tol=1e-9, abs_tol=1e-9)

    def describe(self) -> str:
        """``'cpe.established: 1h -> 60 s'`` plus the rounding when there was any."""
        text = f"{self.name}: {format_duration(self.real)} -> {self.lab} s"
        if self.rounded:
            text += f" (exact {self.exact:.3f} s, rounded, error {self.relative_error:.2%})"
        return text


@dataclass(frozen=True)
class TimeScale:
    """Real-world seconds per lab second (``60`` turns 1 h into 60 s)."""

    factor: float = 1.0

    def __post_init__(self) -> None:
        if isinstance(self.factor, bool) or not isinstance(self.factor, int | float) \
                or not math.isfinite(self.factor) or self.factor <= 0:
            raise TimeScaleError(f"time_scale must be a positive number, got {self.factor!r}")

    def to_lab(self, real_seconds: float) -> float:
        """Lab seconds standing for ``real_seconds``."""
        return real_seconds / self.factor

    def to_real(self, lab_seconds: float) -> float:
        """Real-world seconds that ``lab_seconds`` stand for."""
        return lab_seconds * self.factor

    def unscaled(self, kernel_seconds: float) -> float:
        """Real-world length of a kernel timer the lab cannot scale (it runs at lab speed)."""
        return kernel_seconds * self.factor

    def whole(self, real_seconds: float) -> float:
        """``real_seconds`` as the lab's kernel holds it: whole lab seconds (at least 1), in real-world
        seconds. The same rounding as :meth:`kernel_seconds`."""
        return _whole_lab(real_seconds / self.factor) * self.factor

    def kernel_seconds(self, name: str, real_seconds: float, *, strict: bool = True) -> ScaledTimeout:
        """Scale a timeout to whole seconds for the kernel.

        With ``strict`` (values the user set, or ones a verdict depends on) a relative rounding
        error above :data:`MAX_ROUNDING_ERROR` raises :class:`TimeScaleError`. Otherwise the value is
        rounded (at least 1 s) and the error is only reported.
        """
        exact = real_seconds / self.factor
        lab = _whole_lab(exact)
        scaled = ScaledTimeout(name, real_seconds, lab, exact)
        if strict and scaled.relative_error > MAX_ROUNDING_ERROR:
            raise TimeScaleError(
                f"{name}: {format_duration(real_seconds)} at time_scale {self.factor:g} is "
                f"{exact:.3f} lab seconds; the kernel needs whole seconds and rounding to {lab} s "
                f"is off by {scaled.relative_error:.1%} (limit {MAX_ROUNDING_ERROR:.0%}). "
                f"Choose a time_scale that divides it, e.g. one that makes it a whole number.", setting=name)
        return scaled
