"""Kernel timers the model needs, and how a time-scaled lab distorts them.

Every time in :mod:`natsim.sim` is a real-world second. A lab running at ``time_scale`` S divides
the timeouts it *can* scale by S (whole seconds only) but cannot scale TCP's retransmission timer
(200 ms minimum, 120 s maximum): those run at lab speed and therefore last S times longer in
real-world terms. :class:`~natsim.units.TimeScale` states both conversions (``whole``,
``unscaled``) so the model predicts what the lab observes; ``TimeScale(1.0)`` is a real network.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from natsim.kernel_facts import (
    CONNTRACK_TCP_UNACKNOWLEDGED,
    CONNTRACK_UDP_STREAM_AFTER,
    HZ,
    TCP_RETRIES2_GIVE_UP,
    TCP_RTO_MAX,
    TCP_RTO_MIN,
    TCP_SYN_GIVE_UP,
    TCP_SYN_RTO,
    TIMER_WHEEL_BUCKETS,
    TIMER_WHEEL_LEVEL_FACTOR,
    TIMER_WHEEL_LEVELS,
)
from natsim.units import TimeScale


def wheel_late(scale: TimeScale, real_seconds: float, hz: int = HZ) -> float:
    """How late (at most, real-world s) a timer-wheel timer armed ``real_seconds`` ahead fires in a
    lab at ``scale``.

    Linux's timer wheel (kernel/time/timer.c: 64 buckets per level, 8x coarser per level) files
    a timer ``delta`` ticks ahead in the first level whose range holds it and fires it at that
    level's next bucket boundary: up to 1/8 of ``delta`` late. Keepalive timers use it.
    """
    ticks = real_seconds / scale.factor * hz
    level = 0
    while level < TIMER_WHEEL_LEVELS - 1 and \
            ticks >= (TIMER_WHEEL_BUCKETS - 1) * TIMER_WHEEL_LEVEL_FACTOR ** level:
        level += 1
    return float(TIMER_WHEEL_LEVEL_FACTOR ** level) / hz * scale.factor


def unscaled_notes(scale: TimeScale) -> list[str]:
    """The timers that keep kernel speed in a lab at ``scale``, for ``RunResult.unscaled``."""
    if scale.factor == 1.0:
        return []
    return [f"TCP RTO {TCP_RTO_MIN:g}..{TCP_RTO_MAX:g} s and the tcp_retries2 give-up run at lab speed: "
            f"x{scale.factor:g} in real-world time",
            f"conntrack unacknowledged timeout {CONNTRACK_TCP_UNACKNOWLEDGED:g} s (picked-up entries) "
            f"runs at lab speed: x{scale.factor:g}",
            f"conntrack's {CONNTRACK_UDP_STREAM_AFTER:g} s after which a replied UDP flow takes its stream "
            f"timeout runs at lab speed: x{scale.factor:g}"]


@lru_cache(maxsize=256)
def backoff_schedule(limit: float, *, rto: float = TCP_RTO_MIN,
                     rto_max: float = TCP_RTO_MAX) -> tuple[float, ...]:
    """Offsets (from the first transmission) at which the retransmission timer fires before ``limit``.

    The timer starts at ``rto`` and doubles up to ``rto_max``; the connection is aborted when it
    fires at or after ``limit`` (Linux clamps the last interval so the abort lands on ``limit``).
    """
    if rto <= 0 or limit <= 0:
        raise ValueError(f"rto and limit must be positive, got rto={rto} limit={limit}")
    offsets: list[float] = []
    at, step = 0.0, rto
    while True:
        at = round(at + step, 9)
        if at >= limit:
            return tuple(offsets)
        offsets.append(at)
        step = min(step * 2, rto_max)


@dataclass(frozen=True)
class TcpSettings:
    """A socket's timers in real-world seconds (see :meth:`for_lab`)."""

    rto: float = TCP_RTO_MIN
    rto_max: float = TCP_RTO_MAX
    give_up: float = TCP_RETRIES2_GIVE_UP    # tcp_retries2 (or TCP_USER_TIMEOUT) in real-world seconds
    syn_rto: float = TCP_SYN_RTO
    syn_give_up: float = TCP_SYN_GIVE_UP
    keepalive: tuple[float, float, int] | None = None   # idle, interval, count
    #: real-world seconds per kernel tick: SYN retransmissions then fire on the timer wheel
    #: (:mod:`natsim.sim.wheel`); None: exactly on time
    wheel_tick: float | None = None

    @classmethod
    def for_lab(cls, timing: TimeScale, *, user_timeout: float | None = None,
                keepalive: tuple[float, float, int] | None = None,
                retries2_give_up: float = TCP_RETRIES2_GIVE_UP) -> TcpSettings:
        """Settings of a socket in a lab at ``timing``.

        ``user_timeout`` (TCP_USER_TIMEOUT, milliseconds in the kernel) is scaled exactly;
        keepalive idle and interval are whole kernel seconds; RTO is not scaled, nor the give-up of the
        host's ``tcp_retries2`` (``retries2_give_up``, kernel seconds).
        """
        give_up = user_timeout if user_timeout is not None else timing.unscaled(retries2_give_up)
        ka = None
        if keepalive is not None:
            idle, interval, count = keepalive
            ka = (timing.whole(idle), timing.whole(interval), count)
        # TCP_USER_TIMEOUT also ends a connect: Linux clamps the SYN's retransmission timer to what is
        # left of it and gives up with ETIMEDOUT when it has passed (measured: tcp-send's 2 min)
        syn_give_up = user_timeout if user_timeout is not None else timing.unscaled(TCP_SYN_GIVE_UP)
        return cls(rto=timing.unscaled(TCP_RTO_MIN), rto_max=timing.unscaled(TCP_RTO_MAX), give_up=give_up,
                   syn_rto=timing.unscaled(TCP_SYN_RTO), syn_give_up=syn_give_up,
                   keepalive=ka, wheel_tick=timing.unscaled(1 / HZ))
