"""tcp-keepalive-test: connection ``i`` never sends data; TCP keepalive probes it after its idle time.

A connection whose probe is answered is alive (seen in ``TCP_INFO``: an ACK arrived after the idle
time); one whose probes go unanswered dies with ETIMEDOUT after ``count`` probes ``interval`` apart.
Kernel keepalive settings are whole seconds, so in a scaled lab they are rounded (listed as unscaled).

The kernel's timer wheel rounds a long timer up by as much as 1/8 of its length (at HZ=250 a 59 s
timer may fire at 61 s, a 59 min one at 61 min). So that connection ``i`` is probed after exactly its
idle time, the probe re-sets ``TCP_KEEPIDLE`` shortly before the deadline (see :func:`rearm`): the
kernel then re-arms the timer for the short remainder, which the wheel keeps precise to milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path

from natsim.kernel_facts import TCP_KEEPALIVE_INTVL, TCP_KEEPALIVE_PROBES, TIMER_WHEEL_SLACK
from natsim.probes.output import ProbeOutput, minutes_seconds
from natsim.probes.tcp.engine import LadderRun, default_line, run_ladder
from natsim.probes.tcp.options import (
    TcpKeepaliveOptions,
    TcpProbeOptions,
)
from natsim.probes.tcp.sock import ProbeConnection, SocketOptions, tcp_info
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict
from natsim.units import TimeScale

KIND = TcpKeepaliveOptions.kind
#: How often a waiting connection looks at TCP_INFO (wall seconds).
POLL_WALL = 0.1
#: Wall seconds before the deadline at which the keepalive timer is re-armed (short timers are precise).
REARM_LEAD = 1.0


def _system_value(name: str, default: float) -> float:
    try:
        return float(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return default


@dataclass(frozen=True)
class KeepaliveSettings:
    """Kernel keepalive values for a ladder (whole lab seconds) and what rounding did to them."""

    idles: list[int]          # TCP_KEEPIDLE per connection, lab seconds
    interval: int             # TCP_KEEPINTVL, lab seconds
    count: int                # TCP_KEEPCNT
    interval_real: float      # what the interval stands for (real-world seconds)
    unscaled: list[str]


def keepalive_settings(options: TcpProbeOptions) -> KeepaliveSettings:
    """Scale idle and interval to whole seconds; note every rounding."""
    scale = TimeScale(options.time_scale)
    unscaled = []
    idles = []
    rounded = []
    for i, idle in enumerate(options.idles()):
        scaled = scale.kernel_seconds(f"keepalive idle of connection {i}", idle, strict=False)
        idles.append(scaled.lab)
        if scaled.rounded:
            rounded.append(scaled.describe())
    if rounded:
        unscaled.append(f"TCP_KEEPIDLE is whole seconds: {len(rounded)} idles rounded, e.g. {rounded[0]}")
    interval_real = (options.keepalive_interval if options.keepalive_interval is not None
                     else _system_value("tcp_keepalive_intvl", TCP_KEEPALIVE_INTVL))
    interval = scale.kernel_seconds("keepalive interval", interval_real, strict=False)
    if interval.rounded:
        unscaled.append(f"TCP_KEEPINTVL is whole seconds: {interval.describe()}")
    count = (options.keepalive_count if options.keepalive_count is not None
             else int(_system_value("tcp_keepalive_probes", TCP_KEEPALIVE_PROBES)))
    return KeepaliveSettings(idles, interval.lab, count, interval.lab * options.time_scale, unscaled)


def answered_after(info_ack_ms: int, now: float, since: float) -> bool:
    """True when the last ACK (``info_ack_ms`` ms before ``now``) arrived after time ``since``."""
    return now - info_ack_ms / 1000 > since


async def test_keepalive(run: LadderRun, conn: ProbeConnection,
                         settings: KeepaliveSettings) -> ConnectionResult:
    """Wait for the connection's keepalive probe to be answered (alive) or to time out (dead)."""
    loop = asyncio.get_running_loop()
    idle_lab = settings.idles[conn.index]
    probes_due = conn.connected_at + idle_lab
    give_up = (probes_due + idle_lab * TIMER_WHEEL_SLACK + settings.interval * (settings.count + 1)
               + run.options.grace_wall)
    reader = asyncio.ensure_future(loop.sock_recv(conn.sock, 1))
    try:
        if idle_lab > REARM_LEAD:
            done, _ = await asyncio.wait({reader}, timeout=max(0.0, probes_due - REARM_LEAD - run.now()))
            if not done:
                rearm(conn, idle_lab)
        while True:
            wait = (probes_due if run.now() < probes_due else run.now() + POLL_WALL) - run.now()
            done, _ = await asyncio.wait({reader}, timeout=max(0.0, min(wait, give_up - run.now())))
            if done:
                try:
                    data = reader.result()
                except OSError as err:
                    return run.failure(conn, err, "keepalive")
                if not data:
                    return run.result(conn, Verdict.EOF, "keepalive", "the server closed the connection")
                return run.result(conn, Verdict.ERROR, "keepalive", f"unexpected data {data!r}")
            now = run.now()
            info = tcp_info(conn.sock)
            if now >= probes_due and info is not None and \
                    answered_after(info.last_ack_recv_ms, now, conn.connected_at + idle_lab / 2):
                return run.result(conn, Verdict.ALIVE, "", "keepalive probe answered")
            if now >= give_up:
                if info is None:  # no TCP_INFO: no error by now means the probes were answered
                    return run.result(conn, Verdict.ALIVE, "", "no error from the OS")
                return run.result(conn, Verdict.ERROR, "keepalive",
                                  "neither an answered probe nor an error from the OS")
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await reader


def rearm(conn: ProbeConnection, idle_lab: int) -> None:
    """Re-arm the keepalive timer for the short time left until the idle deadline.

    Setting ``TCP_KEEPIDLE`` re-arms the timer at "last received + idle". With the same value the
    expiry is unchanged and ``mod_timer`` keeps the coarse bucket, so the idle is first set one
    second longer (a different expiry: the timer moves to a short, precise bucket) and then back.
    """
    with contextlib.suppress(OSError):  # a socket that died meanwhile reports through the reader
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle_lab + 1)
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle_lab)


def keepalive_line(result: ConnectionResult) -> str:
    """The original's ``[+] TCP connection died: Connection N, keepalivetime: Mm Ss``."""
    keepalivetime = minutes_seconds(result.idle)
    if result.verdict is Verdict.DEAD:
        return f"[+] TCP connection died: Connection {result.index}, keepalivetime: {keepalivetime}"
    if result.verdict is Verdict.ALIVE:
        return f"[+] Connection {result.index} kept alive, keepalivetime: {keepalivetime}"
    return default_line(result)


async def run_keepalive(options: TcpProbeOptions, output: ProbeOutput | None = None) -> ProbeResult:
    """Run tcp-keepalive-test against the echo service of ``options.server``."""
    settings = keepalive_settings(options)
    user_timeout = options.user_timeout_ms()

    def sockopts(index: int) -> SocketOptions:
        return SocketOptions(user_timeout_ms=user_timeout, keepalive_idle=settings.idles[index],
                             keepalive_interval=settings.interval, keepalive_count=settings.count)

    async def test(run: LadderRun, conn: ProbeConnection) -> ConnectionResult:
        return await test_keepalive(run, conn, settings)

    return await run_ladder(KIND, options, output or ProbeOutput(label="keepalive"),
                            socket_options=sockopts, test=test, line=keepalive_line,
                            idles=[lab * options.time_scale for lab in settings.idles],
                            extra={"keepalive_interval": settings.interval_real,
                                   "keepalive_count": settings.count,
                                   "unscaled": settings.unscaled})
