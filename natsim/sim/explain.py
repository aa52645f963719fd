"""The English natsim shows for the model's typed events (:mod:`natsim.sim.trace`), in one place.

An explanation joins what happened to a connection, in order, folding repeats ("(5 times)":
retransmissions meet the same fate as the original): a cause (an expired entry, no entry) and what
the node did about it, e.g. ``idle 1h ≥ cpe established timeout 1h; outbound data segment dropped as
untracked``. Nothing else in natsim words an event.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from natsim.report.schema import errno_name
from natsim.sim.trace import (
    Abort,
    Aborted,
    Balanced,
    Bypassed,
    Cut,
    Dropped,
    Event,
    Expired,
    Forwarded,
    Intercepted,
    LoginEvent,
    Mapped,
    NotIntercepted,
    PacketEvent,
    Passed,
    PickedUp,
    Reason,
    Reset,
    ResetAtExpiry,
    Unknown,
    Unreachable,
)
from natsim.units import format_duration


@functools.lru_cache(maxsize=4096)
def seconds(value: float) -> str:
    """A duration as scenario files write it: ``'1h'``, ``'15m25s'``, ``'2.048s'``
    (:func:`natsim.units.format_duration`). Cached: a prediction words the same few timeouts and idle
    times thousands of times (5,870 calls for 5 predictions of isp-modem-bridge-1h)."""
    return format_duration(value)


def abort_detail(event: Aborted) -> str:
    """Why a socket gave up, after its errno: ``'no ACK after 4 retransmissions (5m)'``."""
    if event.cause is Abort.RST:
        return f"RST received from {event.peer}"
    if event.cause is Abort.RETRANSMISSIONS:
        return f"no ACK after {event.count} retransmissions ({seconds(event.after)})"
    if event.cause is Abort.ICMP:
        return f"ICMP port unreachable from {event.peer}"
    if event.cause is Abort.KEEPALIVE:
        return (f"{event.count} keepalive probes unanswered (idle {seconds(event.after)}, "
                f"interval {seconds(event.interval)})")
    return "connect: no SYN-ACK"


def socket_error(event: Aborted) -> str:
    """What the application is told: ``'ETIMEDOUT: no ACK after 4 retransmissions (5m)'``."""
    return f"{errno_name(event.errno)}: {abort_detail(event)}"


def cause(event: Expired | Unknown) -> str:
    """Why a segment found no entry."""
    if isinstance(event, Expired):
        return f"idle {seconds(event.idle)} ≥ {event.node} {event.state} timeout {seconds(event.timeout)}"
    return f"{event.node} has no entry for this {event.direction} {event.segment.what()}"


def _reset(event: Reset) -> tuple[str, str]:
    what, side = event.segment.what(), event.direction
    if event.reason is Reason.NO_SOCKET:
        src, dst = event.segment.src, event.segment.dst
        return (f"{event.node} has no socket for {src[0]}:{src[1]} -> :{dst[1]}",
                f"its stack answers the {what} with RST")
    if event.reason is Reason.NO_MAPPING:
        return "", f"{side} {what} has no mapping and reaches {event.node}'s own stack, which answers RST"
    invalid = " (invalid)" if event.reason is Reason.INVALID else ""
    return "", f"{side} {what}{invalid} answered with RST by {event.node}"


def _unreachable(event: Unreachable) -> tuple[str, str]:
    what, side = event.segment.what(), event.direction
    if event.reason is Reason.NO_SOCKET:
        src, dst = event.segment.src, event.segment.dst
        return (f"{event.node} has no socket for {src[0]}:{src[1]} -> :{dst[1]}",
                f"its stack answers the {what} with ICMP port unreachable")
    return "", (f"{side} {what} has no mapping and reaches {event.node}'s own stack, which answers "
                "ICMP port unreachable")


def _dropped(event: Dropped) -> tuple[str, str]:
    what, side = event.segment.what(), event.direction
    if event.reason is Reason.EXHAUSTED:
        return (f"{event.node}: port exhaustion: {event.segment.src[0]} has all {event.limit} ports "
                "mapped", f"{what} dropped")
    if event.reason is Reason.FILTERED:
        return (f"{event.node} lets no new {side} connection to port {event.segment.dst[1]}",
                f"{what} dropped")
    if event.reason is Reason.INVALID:
        return "", f"{side} {what} of no known connection dropped as invalid"
    if event.reason is Reason.NO_SOCKET:
        return "", f"{what} for no socket of {event.node} ignored"
    return "", f"{side} {what} dropped as untracked"


def parts(event: Event) -> tuple[str, str]:
    """(why, what the node did) for an event that is not a cause; ``why`` may be ``""``."""
    if isinstance(event, Reset):
        return _reset(event)
    if isinstance(event, Unreachable):
        return _unreachable(event)
    if isinstance(event, Dropped):
        return _dropped(event)
    if isinstance(event, PickedUp):
        side, what = event.direction, event.segment.what()
        if event.public is None:
            return "", f"{side} {what} picked up by {event.node} (new entry)"
        port = event.public[1]
        how = "the same port" if port == event.segment.src[1] else f"port {port}"
        return "", f"{side} {what} picked up by {event.node}, re-mapped to {how}"
    if isinstance(event, Passed):
        return "", (f"{event.direction} {event.segment.what()} passes untracked ({event.node} cannot "
                    "pick up a FIN/RST: invalid, no entry)")
    if isinstance(event, Aborted):
        return f"{event.node} aborts", socket_error(event)
    if isinstance(event, LoginEvent):
        return "", login(event)
    if isinstance(event, ResetAtExpiry):
        client, peer = event.segment.dst, event.peer
        return "", (f"{event.node} resets both ends as the entry expires (RST to {client[0]}:{client[1]} "
                    f"and to {peer[0]}:{peer[1]})")
    if isinstance(event, Mapped):
        return "", f"{event.segment.what()} mapped to {event.public[0]}:{event.public[1]}"
    if isinstance(event, Balanced):
        return "", f"{event.segment.what()} sent to backend {event.backend[0]}:{event.backend[1]}"
    if isinstance(event, Forwarded):
        return "", f"{event.segment.what()} forwarded"
    raise TypeError(f"no wording for {type(event).__name__}")


def describe(event: Event) -> str:
    """One event on its own (a cause, or what a node did), e.g. for a packet log."""
    if isinstance(event, Expired | Unknown):
        return cause(event)
    why, what = parts(event)
    return f"{why}; {what}" if why else what


def summarise(events: Iterable[Event]) -> str:
    """What happened to one connection, in order of first appearance: each action with its cause,
    the same action at the same node folded into one with a count. Routine events are left out."""
    whys: dict[tuple[str, str], str] = {}
    counts: dict[tuple[str, str], int] = {}
    causes: dict[str, str] = {}
    for event in events:
        if event.routine:
            continue
        if isinstance(event, Expired | Unknown):
            causes[event.node] = cause(event)
            continue
        why, what = parts(event)
        why = causes.pop(event.node, "") if isinstance(event, PacketEvent) and not why else why
        key = (event.node, what)
        whys.setdefault(key, why)
        counts[key] = counts.get(key, 0) + 1
    texts = []
    for key, why in whys.items():
        text = f"{why}; {key[1]}" if why else key[1]
        texts.append(text + (f" ({counts[key]} times)" if counts[key] > 1 else ""))
    return "; ".join(texts)


def quiet(idle: float, limits: Sequence[tuple[str, float]]) -> str:
    """A connection nothing happened to: its idle against the established timeouts on its path."""
    if not limits:
        return "no stateful middlebox on the path"
    timeouts = ", ".join(f"{node} established timeout {seconds(t)}" for node, t in limits)
    if all(idle < t for _, t in limits):
        return f"idle {seconds(idle)} < {timeouts}"
    return f"idle {seconds(idle)}, nothing dropped ({timeouts})"


def quiet_datagrams(idle: float, limits: Sequence[tuple[str, float, float]]) -> str:
    """A UDP flow nothing happened to: its idle against the UDP timers (node, unreplied, stream) on
    its path."""
    if not limits:
        return "no stateful middlebox on the path"
    timers = ", ".join(f"{node} UDP timeouts {seconds(unreplied)} unreplied, {seconds(stream)} stream"
                       for node, unreplied, stream in limits)
    return f"idle {seconds(idle)}, nothing dropped ({timers})"


def connection(label: str, events: Sequence[Event], idle: float, limits: Sequence[tuple[str, float]],
               outcome: str) -> str:
    """``'connection 59: <what happened>; <outcome>'``: a result row's explanation."""
    return f"{label}: {summarise(events) or quiet(idle, limits)}; {outcome}"


def flow(label: str, events: Sequence[Event], idle: float, limits: Sequence[tuple[str, float, float]],
         outcome: str) -> str:
    """``'connection 3: <what happened>; <outcome>'`` for a UDP flow (its UDP timers when quiet)."""
    return f"{label}: {summarise(events) or quiet_datagrams(idle, limits)}; {outcome}"


def late_timer(late: float, node: str, timeout: float) -> str:
    """The caveat of a keepalive whose kernel timer may fire after a middlebox forgot it."""
    return (f"but the kernel's timer wheel may fire it up to {seconds(late)} late, past {node}'s "
            f"{seconds(timeout)} timeout: it may die instead")


def login(event: LoginEvent) -> str:
    """What an intercepting middlebox did with a login attempt."""
    tuple_text = f"{event.client} -> {event.server}:{event.port}"
    if isinstance(event, NotIntercepted):
        return f"port {event.port} is not intercepted by {event.node}"
    if isinstance(event, Bypassed):
        return f"{tuple_text} is in {event.node}'s bypass set for another {seconds(event.until - event.time)}"
    if isinstance(event, Intercepted):
        return f"{event.node} intercepts and agrees on {event.kex} with the backend (its own host key)"
    if isinstance(event, Cut):
        return (f"{event.node} intercepts; no common key exchange with the backend "
                f"({', '.join(event.offered)} vs its list); FIN to the client and {tuple_text} "
                f"bypassed for {seconds(event.bypass)}")
    raise TypeError(f"no wording for {type(event).__name__}")
