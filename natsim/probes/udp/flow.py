"""Socket mechanics of the UDP probes: one connected socket per flow, its first exchange, its answers, and
what an OS error on it means.

A flow's socket is ``connect()``-ed to the server, so it has its own 5-tuple, the kernel drops datagrams
from anyone else, and an ICMP port unreachable about it is reported on the socket as ECONNREFUSED.
"""

from __future__ import annotations

import asyncio
import errno
import secrets
import socket
from dataclasses import dataclass

from natsim.errors import ProbeError
from natsim.probes.idle_ladder import local_address
from natsim.probes.udp.datagram import DATAGRAM_SIZE, BadDatagram, Datagram, Op, parse, request
from natsim.report.schema import Verdict, errno_name, errno_verdict

#: Flows being set up at once.
SETUP_CONCURRENCY = 64
#: Wall seconds between re-sent first requests while a flow is being set up (a lost datagram).
RESEND_WALL = 1.0


def udp_verdict(err: OSError) -> Verdict:
    """REFUSED for ECONNREFUSED (an ICMP port unreachable came back), else the shared errno verdict."""
    if err.errno == errno.ECONNREFUSED:
        return Verdict.REFUSED
    return errno_verdict(err.errno)


def describe_error(err: OSError) -> str:
    """``'ECONNREFUSED: Connection refused'``."""
    return f"{errno_name(err.errno or 0)}: {err.strerror or err}"


def show(address: tuple[str, int] | None) -> str:
    """``'192.0.2.1:40000'``."""
    return "?" if address is None else f"{address[0]}:{address[1]}"


@dataclass
class Flow:
    """One flow of a ladder: its socket, token, when its set-up ended (event-loop time), its idle
    (real-world) and the source the server saw in its first exchange (the mapping)."""

    index: int
    idle: float
    sock: socket.socket
    token: int
    connected_at: float = 0.0
    mapping: tuple[str, int] | None = None
    seq: int = 0
    local: str = ""      # its own address:port (names it in a capture)

    def next_seq(self) -> int:
        """A new sequence number for this flow's next request."""
        self.seq += 1
        return self.seq

    async def send(self, op: Op, seconds: int = 0) -> int:
        """Send a request; its sequence number."""
        seq = self.next_seq()
        await asyncio.get_running_loop().sock_sendall(self.sock, request(op, self.token, seq, seconds))
        return seq

    async def answer(self, seq: int, until: float) -> Datagram | None:
        """The answer to request ``seq``, or None when event-loop time ``until`` passes first. Other
        datagrams (stale answers, garbage) are skipped; an OS error propagates."""
        loop = asyncio.get_running_loop()
        while (left := until - loop.time()) > 0:
            try:
                async with asyncio.timeout(left):
                    data = await loop.sock_recv(self.sock, DATAGRAM_SIZE + 1)
            except TimeoutError as err:
                if err.errno is not None:
                    raise
                return None
            try:
                datagram = parse(data)
            except BadDatagram:
                continue
            if datagram.answer and datagram.token == self.token and datagram.seq == seq:
                return datagram
        return None

    def close(self) -> None:
        """Close its socket."""
        self.sock.close()


async def resolve(host: str, port: int) -> tuple[int, tuple[str, int]]:
    """(family, address) of ``host``:``port``; :class:`ProbeError` when it does not resolve."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM, proto=socket.IPPROTO_UDP)
    except OSError as err:
        raise ProbeError(f"cannot resolve {host}: {err}") from err
    family, _, _, _, address = infos[0]
    return int(family), (str(address[0]), int(address[1]))


async def setup(flow: Flow, timeout: float, where: str) -> None:
    """The flow's first exchange: ECHO until answered (re-sent every :data:`RESEND_WALL`), then
    ``connected_at`` and ``mapping`` are set. :class:`ProbeError` (a set-up error) when no answer
    comes within ``timeout`` wall seconds or the server's host refuses."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    try:
        while loop.time() < give_up:
            seq = await flow.send(Op.ECHO)
            answer = await flow.answer(seq, min(give_up, loop.time() + RESEND_WALL))
            if answer is not None:
                flow.connected_at = loop.time()
                flow.mapping = answer.observed
                return
    except OSError as err:
        raise ProbeError(f"connection {flow.index}: {where} did not answer: {describe_error(err)} "
                         "(is `natsim serve` running there?)") from err
    raise ProbeError(f"connection {flow.index}: no answer from {where} within {timeout:g} s "
                     "(is `natsim serve` running there, and UDP allowed?)")


async def open_flows(host: str, port: int, idles: list[float], *, timeout: float) -> list[Flow]:
    """One flow per entry of ``idles``, each set up by its first exchange; all or nothing (any failure
    closes every socket and raises :class:`ProbeError`, a set-up error: exit 2)."""
    family, address = await resolve(host, port)
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    flows: list[Flow] = []

    async def one(index: int) -> Flow:
        async with gate:
            sock = socket.socket(family, socket.SOCK_DGRAM)
            flow = Flow(index, idles[index], sock, secrets.randbits(64))
            flows.append(flow)
            sock.setblocking(False)
            try:
                sock.connect(address)
            except OSError as err:
                raise ProbeError(f"connection {index}: cannot connect a UDP socket to {host}:{port}: "
                                 f"{describe_error(err)}") from err
            flow.local = local_address(sock)
            await setup(flow, timeout, f"{host}:{port}")
            return flow

    tasks = [asyncio.ensure_future(one(i)) for i in range(len(idles))]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for flow in flows:
            flow.close()
        raise
