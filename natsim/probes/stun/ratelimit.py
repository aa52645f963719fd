"""A token bucket per source address, so one source (or a spoofed one) cannot make a server flood."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


@dataclass
class RateLimiter:
    """``rate`` requests per second per source, bursts of ``burst``; the ``max_sources`` most recently
    seen sources are remembered (an evicted one starts again with a full bucket)."""

    rate: float
    burst: float
    max_sources: int = 65536
    buckets: OrderedDict[str, tuple[float, float]] = field(default_factory=OrderedDict)

    def allow(self, source: str, now: float) -> bool:
        """Take a token for ``source`` at ``now`` (monotonic seconds); False when none is left."""
        tokens, then = self.buckets.pop(source, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        allowed = tokens >= 1.0
        self.buckets[source] = (tokens - 1.0 if allowed else tokens, now)
        while len(self.buckets) > self.max_sources:
            self.buckets.popitem(last=False)
        return allowed
