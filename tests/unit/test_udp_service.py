"""The UDP probe service on 127.0.0.1 and its wire format: answers, delays, caps, garbage, no
amplification."""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from natsim.errors import ProbeError
from natsim.probes.udp.datagram import (
    DATAGRAM_SIZE,
    MAX_DELAY,
    BadDatagram,
    Datagram,
    Op,
    answer_to,
    delay_problem,
    parse,
    parse_request,
    request,
)
from natsim.probes.udp.responder import Pending, UdpService, UdpServiceConfig, start_udp, udp_port
from tests.unit.netutil import eventually

SOURCE = ("192.0.2.10", 40000)


def test_a_request_round_trips_and_its_answer_carries_the_source_it_came_from() -> None:
    data = request(Op.LATER, token=2**64 - 1, seq=7, seconds=3600)
    assert len(data) == DATAGRAM_SIZE and data[:4] == b"NSU1"
    assert parse_request(data) == Datagram(Op.LATER, 2**64 - 1, 7, 3600)
    decided = answer_to(data, SOURCE)
    assert decided is not None
    reply, seconds = decided
    assert seconds == 3600 and len(reply) == len(data)
    answer = parse(reply)
    assert (answer.answer, answer.op, answer.token, answer.seq, answer.observed) == (
        True, Op.LATER, 2**64 - 1, 7, SOURCE)
    v6 = parse(Datagram(Op.ECHO, 1, 1).answered(("2001:db8::1", 5)).encode())
    assert v6.observed == ("2001:db8::1", 5)


ECHO = request(Op.ECHO, 1, 1)
LATER = request(Op.LATER, 1, 1, 5)
TOO_LONG = struct.pack(">I", MAX_DELAY + 1)


@pytest.mark.parametrize(("data", "why"), [
    (b"", "0 bytes"),
    (ECHO + b"x", "49 bytes"),
    (b"XSU1" + ECHO[4:], "magic"),
    (ECHO[:4] + b"\x09" + ECHO[5:], "unknown op"),
    (ECHO[:5] + b"\x01" + ECHO[6:], "reserved"),
    (ECHO[:44] + b"\x00\x00\x00\x01", "reserved"),
    (ECHO[:20] + struct.pack(">I", 5) + ECHO[24:], "non-LATER"),
    (ECHO[:20] + TOO_LONG + ECHO[24:], "non-LATER"),
    (LATER[:20] + TOO_LONG + LATER[24:], "outside"),
    (ECHO[:24] + b"\x04" + ECHO[25:], "observed source"),
])
def test_anything_but_a_valid_request_is_refused_by_the_parser(data: bytes, why: str) -> None:
    with pytest.raises(BadDatagram, match=why):
        parse_request(data)
    assert answer_to(data, SOURCE) is None


def test_answers_keepalives_and_random_bytes_get_no_answer() -> None:
    answer = Datagram(Op.ECHO, 1, 1).answered(SOURCE).encode()
    assert answer_to(answer, SOURCE) is None           # two servers never talk to each other
    assert answer_to(request(Op.KEEP, 1, 2), SOURCE) is None
    rng = random.Random(18)
    valid = request(Op.LATER, 3, 4, 60)
    for _ in range(2000):   # random bytes, and a valid request with random bytes flipped
        noise = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 200)))
        assert answer_to(noise, SOURCE) is None
        flipped = bytearray(valid)
        flipped[rng.randrange(DATAGRAM_SIZE)] = rng.randrange(256)
        decided = answer_to(bytes(flipped), SOURCE)
        assert decided is None or len(decided[0]) == DATAGRAM_SIZE


def test_a_source_the_format_cannot_carry_is_answered_as_unknown() -> None:
    """A real server always sees an IP address; the model may name a NAT's public side by a label."""
    for source in (("router-wan", 40000), ("192.0.2.1", 70000)):
        decided = answer_to(request(Op.ECHO, 1, 1), source)
        assert decided is not None
        answer = parse(decided[0])
        assert answer.answer and answer.observed is None


def test_delays_are_whole_seconds_within_a_day_checked_once_for_server_tools_and_model() -> None:
    assert delay_problem(0) is None and delay_problem(MAX_DELAY) is None
    assert "whole seconds" in (delay_problem(90.5) or "")
    assert "outside" in (delay_problem(MAX_DELAY + 1) or "")
    assert "outside" in (delay_problem(-1) or "")
    with pytest.raises(ProbeError, match="whole seconds"):
        request(Op.LATER, 1, 1, 90.5)  # type: ignore[arg-type]
    with pytest.raises(ProbeError, match="no delay"):
        request(Op.ECHO, 1, 1, 5)


@asynccontextmanager
async def service(**kwargs: Any) -> AsyncIterator[tuple[UdpService, int]]:
    svc = await start_udp(UdpServiceConfig(bind="127.0.0.1", port=0, **kwargs))
    try:
        yield svc, udp_port(svc)
    finally:
        svc.close()


class Client(asyncio.DatagramProtocol):
    """Collects what arrives."""

    def __init__(self) -> None:
        self.received: list[bytes] = []

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.append(data)


@asynccontextmanager
async def client(port: int) -> AsyncIterator[tuple[asyncio.DatagramTransport, Client]]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(Client, remote_addr=("127.0.0.1", port))
    try:
        yield transport, protocol
    finally:
        transport.close()


def test_echo_now_later_after_its_delay_keep_never() -> None:
    async def body() -> None:
        async with service(time_scale=100.0) as (_, port), client(port) as (out, got):
            start = asyncio.get_running_loop().time()
            out.sendto(request(Op.LATER, 5, 1, 30))      # 0.3 s at scale 100
            out.sendto(request(Op.KEEP, 5, 2))
            out.sendto(request(Op.ECHO, 5, 3))
            await eventually(lambda: len(got.received) == 1, what="the echo")
            assert parse(got.received[0]).seq == 3
            await eventually(lambda: len(got.received) == 2, what="the delayed answer")
            assert asyncio.get_running_loop().time() - start >= 0.3
            later = parse(got.received[1])
            mine = ("127.0.0.1", out.get_extra_info("sockname")[1])
            assert (later.seq, later.seconds, later.observed) == (1, 30, mine)
            await asyncio.sleep(0.2)
            assert len(got.received) == 2                 # KEEP was never answered
    asyncio.run(body())


def test_garbage_from_anyone_is_ignored_and_the_service_keeps_answering() -> None:
    async def body() -> None:
        async with service() as (svc, port), client(port) as (out, got):
            rng = random.Random(5)
            for batch in range(10):   # in batches: never more than the socket's receive buffer
                for _ in range(30):
                    out.sendto(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))))
                await eventually(lambda n=batch: svc.ignored == 30 * (n + 1), what="garbage read")
            out.sendto(request(Op.ECHO, 9, 1).replace(b"NSU1", b"NSU2"))
            out.sendto(request(Op.ECHO, 9, 2))
            await eventually(lambda: len(got.received) == 1, what="the one valid echo")
            assert parse(got.received[0]).seq == 2 and svc.ignored == 301
    asyncio.run(body())


def test_delayed_answers_are_capped_per_source_and_dropped_at_close(caplog: pytest.LogCaptureFixture) -> None:
    async def body() -> None:
        async with service(per_source=3, max_pending=10) as (svc, port), client(port) as (out, _):
            with caplog.at_level(logging.WARNING, logger="natsim.serve"):
                for seq in range(5):
                    out.sendto(request(Op.LATER, 1, seq, 3600))
                await eventually(lambda: svc.refused == 2, what="two refused")
            assert svc.pending.count == 3 and len(svc.timers) == 3
            assert "too many pending answers" in caplog.text
        assert not svc.timers
    asyncio.run(body())


def test_pending_counts_per_source_and_in_total() -> None:
    pending = Pending(per_source=2, total=3)
    assert [pending.admit("a"), pending.admit("a"), pending.admit("a")] == [True, True, False]
    assert [pending.admit("b"), pending.admit("c")] == [True, False]
    pending.release("a")
    assert pending.admit("c") and pending.by_source == {"a": 1, "b": 1, "c": 1}


def test_bad_config_is_refused() -> None:
    with pytest.raises(ProbeError):
        UdpServiceConfig(time_scale=0)
    with pytest.raises(ProbeError):
        UdpServiceConfig(per_source=0)


def test_a_taken_port_is_one_clear_error() -> None:
    async def body() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
            taken.bind(("127.0.0.1", 0))
            with pytest.raises(ProbeError, match="cannot bind UDP"):
                await start_udp(UdpServiceConfig(bind="127.0.0.1", port=taken.getsockname()[1]))
    asyncio.run(body())
