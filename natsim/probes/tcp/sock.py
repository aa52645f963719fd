"""Socket mechanics shared by the TCP probes: connecting one connection of a ladder, TCP options,
``TCP_INFO`` and turning OS errors into verdicts."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
from dataclasses import dataclass

from natsim.errors import ProbeError
from natsim.probes.idle_ladder import local_address, sleep_until
from natsim.report.schema import Verdict, errno_verdict

_TCP_INFO_HEAD = struct.Struct("8B13I")

__all__ = ["ConnectTimeout", "ProbeConnection", "SocketOptions", "TcpInfo", "classify_error",
           "describe_error", "open_connection", "recv_within", "resolve", "sleep_until", "tcp_info"]


def classify_error(err: OSError) -> Verdict:
    """DEAD for a timeout (silence), RESET for a reset, ERROR for anything else
    (:func:`~natsim.report.schema.errno_verdict`)."""
    return errno_verdict(err.errno)


def describe_error(err: OSError) -> str:
    """``'ETIMEDOUT: Connection timed out'``."""
    name = errno.errorcode.get(err.errno or 0, "E?")
    return f"{name}: {err.strerror or err}"


@dataclass(frozen=True)
class TcpInfo:
    """The fields of Linux ``struct tcp_info`` the probes use."""

    state: int
    probes: int                 # keepalive/zero-window probes sent and unanswered
    unacked: int                # segments sent and not acknowledged
    last_ack_recv_ms: int       # milliseconds since the last ACK was received


def tcp_info(sock: socket.socket) -> TcpInfo | None:
    """Read ``TCP_INFO`` (Linux), or None where it is not available."""
    option = getattr(socket, "TCP_INFO", None)
    if option is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, option, 104)
    except OSError:
        return None
    if len(raw) < _TCP_INFO_HEAD.size:
        return None
    values = _TCP_INFO_HEAD.unpack_from(raw)
    return TcpInfo(state=values[0], probes=values[3], unacked=values[8 + 4],
                   last_ack_recv_ms=values[8 + 12])


@dataclass(frozen=True)
class SocketOptions:
    """TCP options set on every probe socket before it connects (lab values: already scaled)."""

    user_timeout_ms: int | None = None
    keepalive_idle: int | None = None       # whole seconds; enables SO_KEEPALIVE
    keepalive_interval: int | None = None
    keepalive_count: int | None = None
    so_keepalive: bool = False              # SO_KEEPALIVE with the host's own timers (no TCP_KEEP*)

    def apply(self, sock: socket.socket, keepalive_idle: int | None = None) -> None:
        """Set the options on ``sock`` (``keepalive_idle`` overrides the shared value)."""
        idle = keepalive_idle if keepalive_idle is not None else self.keepalive_idle
        try:
            if self.user_timeout_ms is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, self.user_timeout_ms)
            if idle is not None or self.so_keepalive:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if idle is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, idle)
                if self.keepalive_interval is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, self.keepalive_interval)
                if self.keepalive_count is not None:
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, self.keepalive_count)
        except (OSError, AttributeError) as err:
            raise ProbeError(f"cannot set TCP options {self}: {err}") from err


@dataclass
class ProbeConnection:
    """One connection of a ladder: its socket, when its connect completed, its idle (real-world)."""

    index: int
    sock: socket.socket
    connected_at: float  # event-loop (monotonic) time
    idle: float
    local: str = ""      # its own address:port (names it in a capture)

    def close(self) -> None:
        """Close its socket."""
        self.sock.close()


async def resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """(family, address) of ``host``:``port``; :class:`ProbeError` when it does not resolve."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except OSError as err:
        raise ProbeError(f"cannot resolve {host}: {err}") from err
    family, _, _, _, address = infos[0]
    return int(family), (str(address[0]), int(address[1]))


class ConnectTimeout(Exception):
    """The tool's own connect timeout ran out before the OS decided (no errno: the SYNs went unanswered)."""


async def open_connection(index: int, family: int, address: tuple[str, int], idle: float, *,
                          options: SocketOptions | None, timeout: float,
                          gate: asyncio.Semaphore) -> ProbeConnection:
    """Connect connection ``index`` (at most ``gate``'s count at once), giving up after ``timeout``
    wall seconds: :class:`ConnectTimeout` then, the :class:`OSError` when the OS refuses or resets it.
    The socket is closed on any failure (the kernel stops retransmitting the SYN)."""
    loop = asyncio.get_running_loop()
    async with gate:
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            if options is not None:
                options.apply(sock)
            try:
                async with asyncio.timeout(timeout):
                    await loop.sock_connect(sock, address)
            except TimeoutError as err:
                if err.errno is not None:   # the kernel's own ETIMEDOUT
                    raise
                where = f"{address[0]}:{address[1]}"
                raise ConnectTimeout(f"no answer from {where} within {timeout:g} s") from err
        except BaseException:
            sock.close()
            raise
        return ProbeConnection(index, sock, loop.time(), idle, local_address(sock))


async def recv_within(sock: socket.socket, size: int, timeout: float) -> bytes | None:
    """``sock_recv`` bounded by ``timeout`` seconds; None when the time ran out.

    OS errors (including a kernel ETIMEDOUT) propagate as :class:`OSError`.
    """
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(max(0.0, timeout)):
            return await loop.sock_recv(sock, size)
    except TimeoutError as err:
        if err.errno is not None:
            raise
        return None
