"""Reading a probe's parsed options with defaults and domain checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from natsim.errors import ConfigError


class Options:
    """Typed access to ``options`` of the probe called ``probe``; errors name the option."""

    def __init__(self, probe: str, options: Mapping[str, Any]) -> None:
        self.probe = probe
        self.values = dict(options)

    def _err(self, name: str, message: str) -> ConfigError:
        return ConfigError(f"probe {self.probe}: option {name}: {message}")

    def number(self, name: str, default: float | None, *, minimum: float = 0.0,
               strict: bool = True) -> float | None:
        """A float option; must exceed ``minimum`` (``strict``) or reach it."""
        value = self.values.get(name, default)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._err(name, f"expected a number of seconds, got {value!r}")
        bad = value <= minimum if strict else value < minimum
        if bad:
            raise self._err(name, f"must be {'>' if strict else '>='} {minimum:g}, got {value!r}")
        return float(value)

    def seconds(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        """A required positive duration (real-world seconds)."""
        value = self.number(name, default, minimum=minimum)
        assert value is not None
        return value

    def integer(self, name: str, default: int, *, minimum: int = 1, maximum: int = 1_000_000) -> int:
        """An integer option within [minimum, maximum]."""
        value = self.values.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._err(name, f"expected a whole number, got {value!r}")
        if not minimum <= value <= maximum:
            raise self._err(name, f"must be within {minimum}..{maximum}, got {value}")
        return value

    def choice(self, name: str, default: str, choices: Sequence[str]) -> str:
        """One of ``choices``."""
        value = self.values.get(name, default)
        if value not in choices:
            raise self._err(name, f"{value!r} is not one of {', '.join(choices)}")
        return str(value)

    def flag(self, name: str, default: bool) -> bool:
        """A boolean option."""
        value = self.values.get(name, default)
        if not isinstance(value, bool):
            raise self._err(name, f"expected true or false, got {value!r}")
        return value

    def durations(self, name: str, default: Sequence[float]) -> list[float]:
        """A non-empty list of positive durations."""
        value = self.values.get(name, default)
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple) or not value:
            raise self._err(name, f"expected a list of durations, got {value!r}")
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, int | float) or item <= 0:
                raise self._err(name, f"durations must be positive numbers, got {item!r}")
            out.append(float(item))
        return out

    def strings(self, name: str, default: Sequence[str]) -> tuple[str, ...]:
        """A list of names (e.g. key exchanges)."""
        value = self.values.get(name, default)
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return tuple(str(v) for v in value)
