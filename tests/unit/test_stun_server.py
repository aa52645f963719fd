"""The STUN server of ``natsim serve --stun`` on loopback (127.0.0.1 and 127.0.0.2, ephemeral ports):
RFC 5780 CHANGE-REQUEST, RESPONSE-PORT, PADDING, error responses, garbage, the rate limit."""

from __future__ import annotations

import asyncio
import random
import socket
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from natsim.errors import ProbeError
from natsim.probes.stun import codec
from natsim.probes.stun.ports import StunConfig
from natsim.probes.stun.stun_server import StunServer
from tests.unit.netutil import eventually

Address = tuple[str, int]


@asynccontextmanager
async def stun_server(*, alternate: bool = True, **kwargs: Any) -> AsyncIterator[StunServer]:
    config = StunConfig("127.0.0.1", 0, "127.0.0.2" if alternate else None, 0, **kwargs.pop("config", {}))
    server = StunServer(config, **kwargs)
    await server.start()
    try:
        yield server
    finally:
        server.close()


@asynccontextmanager
async def client() -> AsyncIterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock
    finally:
        sock.close()


async def send(sock: socket.socket, dest: Address, data: bytes) -> None:
    await asyncio.get_running_loop().sock_sendto(sock, data, dest)


async def receive(sock: socket.socket, timeout: float = 2.0) -> tuple[bytes, Address] | None:
    try:
        data, addr = await asyncio.wait_for(asyncio.get_running_loop().sock_recvfrom(sock, 4096), timeout)
    except TimeoutError:
        return None
    return data, (addr[0], addr[1])


def binding(attributes: dict[str, Any] | None = None) -> codec.Message:
    return codec.Message(codec.Method.BINDING, codec.Class.REQUEST, codec.new_transaction_id(),
                         dict(attributes or {}))


async def ask(sock: socket.socket, dest: Address, attributes: dict[str, Any] | None = None,
              ) -> tuple[codec.Message, Address]:
    request = binding(attributes)
    await send(sock, dest, codec.encode(request))
    got = await receive(sock)
    assert got is not None, "no answer"
    message = codec.decode(got[0])
    assert message is not None and message.transaction_id == request.transaction_id
    return message, got[1]


def test_change_request_is_answered_from_the_other_socket() -> None:
    """RFC 5780 6.1 Table 1, from each of the four sockets a request can reach."""
    async def main() -> None:
        async with stun_server() as server, client() as sock:
            slots = server.slots
            me = sock.getsockname()
            for arrived, where in slots.items():
                for flags, (ip, port) in ((0, (0, 0)), (codec.CHANGE_IP, (1, 0)), (codec.CHANGE_PORT, (0, 1)),
                                          (codec.CHANGE_IP | codec.CHANGE_PORT, (1, 1))):
                    message, source = await ask(sock, where, {"CHANGE-REQUEST": flags})
                    expected = slots[(arrived[0] ^ ip, arrived[1] ^ port)]
                    assert message.message_class == codec.Class.RESPONSE
                    assert source == expected
                    attrs = message.attributes
                    assert attrs["RESPONSE-ORIGIN"] == expected
                    assert attrs["XOR-MAPPED-ADDRESS"] == attrs["MAPPED-ADDRESS"] == me
                    assert attrs["OTHER-ADDRESS"] == slots[(1 - arrived[0], 1 - arrived[1])]
    asyncio.run(main())


def test_response_port_sends_the_answer_to_another_port() -> None:
    async def main() -> None:
        async with stun_server() as server, client() as asking, client() as other:
            primary = server.slots[(0, 0)]
            target = other.getsockname()[1]
            request = binding({"RESPONSE-PORT": target})
            await send(asking, primary, codec.encode(request))
            got = await receive(other)
            assert got is not None and got[1] == primary
            message = codec.decode(got[0])
            assert message is not None and message.transaction_id == request.transaction_id
            assert message.attributes["XOR-MAPPED-ADDRESS"] == asking.getsockname()
            assert await receive(asking, timeout=0.3) is None
    asyncio.run(main())


def test_padding_pads_the_answer_to_the_request_and_not_beyond() -> None:
    async def main() -> None:
        async with stun_server() as server, client() as sock:
            request = binding({"PADDING": bytes(1400)})
            data = codec.encode(request)
            await send(sock, server.slots[(0, 0)], data)
            got = await receive(sock)
            assert got is not None and len(got[0]) == len(data)
            message = codec.decode(got[0])
            assert message is not None and "PADDING" in message.attributes
    asyncio.run(main())


@pytest.mark.parametrize(("attributes", "code"), [
    ({"PADDING": bytes(8), "RESPONSE-PORT": 4000}, 400),
    ({"RESPONSE-PORT": 0}, 400),
])
def test_bad_requests_get_400(attributes: dict[str, Any], code: int) -> None:
    async def main() -> None:
        async with stun_server() as server, client() as sock:
            message, _ = await ask(sock, server.slots[(0, 0)], attributes)
            assert message.message_class == codec.Class.ERROR and message.error_code == code
    asyncio.run(main())


def with_attribute(message: codec.Message, kind: int, value: bytes) -> bytes:
    """``message`` with one more attribute of a type natsim does not know (before FINGERPRINT-less end)."""
    data = bytes(message) + struct.pack("!HH", kind, len(value)) + value
    return data[:2] + struct.pack("!H", len(data) - 20) + data[4:]


def test_unknown_comprehension_required_attributes_get_420() -> None:
    async def main() -> None:
        async with stun_server() as server, client() as sock:
            request = binding()
            await send(sock, server.slots[(0, 0)], with_attribute(request, 0x7F01, b"\0\0\0\0"))
            got = await receive(sock)
            assert got is not None
            message = codec.decode(got[0])
            assert message is not None and message.error_code == 420
            assert message.attributes["UNKNOWN-ATTRIBUTES"] == [0x7F01]
            await send(sock, server.slots[(0, 0)], with_attribute(binding(), 0x8F01, b"\0\0\0\0"))
            got = await receive(sock)    # comprehension-optional: ignored, answered
            assert got is not None and codec.decode(got[0]).message_class == codec.Class.RESPONSE  # type: ignore[union-attr]
    asyncio.run(main())


def test_a_server_with_one_address_refuses_change_request() -> None:
    async def main() -> None:
        async with stun_server(alternate=False) as server, client() as sock:
            assert list(server.slots) == [(0, 0)]
            primary = server.slots[(0, 0)]
            message, _ = await ask(sock, primary, {"CHANGE-REQUEST": codec.CHANGE_PORT})
            assert message.error_code == 420 and message.attributes["UNKNOWN-ATTRIBUTES"] == [0x0003]
            message, source = await ask(sock, primary, {"CHANGE-REQUEST": 0})
            assert message.message_class == codec.Class.RESPONSE and source == primary
            assert "OTHER-ADDRESS" not in message.attributes
    asyncio.run(main())


def garbage(seed: int) -> list[bytes]:
    """Random datagrams, and valid messages cut, corrupted or of the wrong class or method."""
    rng = random.Random(seed)
    valid = codec.encode(binding({"CHANGE-REQUEST": 6}))
    junk = [bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80))) for _ in range(200)]
    cut = [valid[:n] for n in range(len(valid))]
    flipped = []
    for _ in range(300):
        data = bytearray(valid)
        data[rng.randrange(20, len(data))] ^= 1 << rng.randrange(8)
        flipped.append(bytes(data))
    lying = [valid[:2] + struct.pack("!H", n) + valid[4:] for n in (0, 4, 8, 200, 65532)]
    others = [codec.encode(codec.Message(codec.Method.BINDING, cls)) for cls in
              (codec.Class.RESPONSE, codec.Class.ERROR, codec.Class.INDICATION)]
    others.append(codec.encode(codec.Message(codec.Method.ALLOCATE, codec.Class.REQUEST)))
    bad_attrs = [with_attribute(binding(), 0x0003, b"\1"), with_attribute(binding(), 0x0027, b""),
                 with_attribute(binding(), 0x8028, b"\0")]
    return junk + cut + flipped + lying + others + bad_attrs


def test_garbage_never_crashes_it_and_gets_no_answer() -> None:
    datagrams = garbage(5780)

    async def main() -> None:
        async with stun_server(config={"rate": 1e6}) as server, client() as sock:
            primary = server.slots[(0, 0)]
            answered = 0
            for start in range(0, len(datagrams), 50):   # 50 at a time: no receive buffer overflows
                for data in datagrams[start:start + 50]:
                    await send(sock, primary, data)
                done = min(len(datagrams), start + 50)
                await eventually(lambda n=done: server.ignored + server.answered == n)
            while (got := await receive(sock, timeout=0.5)) is not None:
                message = codec.decode(got[0])
                assert message is not None and message.message_class in (codec.Class.RESPONSE,
                                                                          codec.Class.ERROR)
                answered += 1
            assert server.answered == answered   # bit flips that leave a valid request are answered
            assert server.ignored + server.answered == len(datagrams)
            message, _ = await ask(sock, primary)
            assert message.message_class == codec.Class.RESPONSE
    asyncio.run(main())


def test_a_source_over_its_rate_is_not_answered() -> None:
    async def main() -> None:
        async with stun_server(config={"rate": 5.0}, clock=lambda: 100.0) as server, client() as sock:
            for _ in range(30):
                await send(sock, server.slots[(0, 0)], codec.encode(binding()))
            answers = 0
            while await receive(sock, timeout=0.3) is not None:
                answers += 1
            assert (answers, server.limited) == (10, 20)    # a burst of twice the rate, then nothing
    asyncio.run(main())


@pytest.mark.parametrize(("config", "message"), [
    ({"address": "0.0.0.0", "alt_address": "127.0.0.2"}, "needs the primary address"),
    ({"address": "127.0.0.1", "alt_address": "127.0.0.1"}, "must differ"),
    ({"address": "127.0.0.1", "alt_address": "127.0.0.2", "port": 3478, "alt_port": 3478}, "must differ"),
    ({"address": "localhost"}, "expected an IPv4 address"),
    ({"rate": 0}, "positive"),
])
def test_bad_configurations_are_one_clear_error(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ProbeError, match=message):
        StunConfig(**config)
