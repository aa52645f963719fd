"""Banner parsing, KEXINIT decoding and known-proxy naming, from raw bytes."""

from __future__ import annotations

import asyncio

import pytest

from natsim.errors import ProbeError
from natsim.probes.ssh.wire import (
    GO_SERVER_KEX,
    decode_kexinit,
    encode_kexinit,
    frame_packet,
    identify_proxy,
    parse_banner,
    read_banner_and_kexinit,
    unframe_packet,
)


def test_banner_fields_and_proxy_name() -> None:
    banner = parse_banner(b"SSH-2.0-PaloAltoNetworks_0.2\r\n")
    assert (banner.proto, banner.software, banner.comment) == ("2.0", "PaloAltoNetworks_0.2", "")
    assert banner.proxy is not None and "Palo Alto" in banner.proxy
    openssh = parse_banner("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10")
    assert (openssh.software, openssh.comment) == ("OpenSSH_9.2p1", "Debian-2+deb12u10")
    assert openssh.proxy is None
    assert identify_proxy("SSH-2.0-Go") is None


@pytest.mark.parametrize("line", [b"HTTP/1.1 200 OK", b"SSH-2.0-", b"SSH--x", b"SSH-2.0-" + b"x" * 300])
def test_bad_banners_are_refused(line: bytes) -> None:
    with pytest.raises(ProbeError):
        parse_banner(line)


def test_kexinit_round_trip() -> None:
    payload = encode_kexinit(GO_SERVER_KEX, host_key=("ssh-ed25519", "rsa-sha2-256"))
    decoded = decode_kexinit(payload)
    assert decoded.kex == GO_SERVER_KEX
    assert decoded.host_key == ("ssh-ed25519", "rsa-sha2-256")
    assert decoded.compression_c2s == ("none",)
    assert decoded.lang_c2s == ()
    assert not decoded.first_kex_follows


@pytest.mark.parametrize("payload", [b"", b"\x15" + bytes(40), encode_kexinit(("a",))[:30],
                                     bytes([20]) + bytes(16) + b"\xff\xff\xff\xff"])
def test_truncated_or_wrong_kexinit_is_refused(payload: bytes) -> None:
    with pytest.raises(ProbeError):
        decode_kexinit(payload)


def test_packet_framing() -> None:
    payload = encode_kexinit(("curve25519-sha256",))
    packet = frame_packet(payload)
    assert len(packet) % 8 == 0
    assert unframe_packet(packet) == (payload, len(packet))
    assert unframe_packet(packet[:-1]) == (b"", 0)
    with pytest.raises(ProbeError):
        unframe_packet(b"\x7f\xff\xff\xff\x04")


def test_read_banner_and_kexinit_skips_pre_banner_lines() -> None:
    async def scenario() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"hello there\r\nSSH-2.0-Go\r\n" + frame_packet(encode_kexinit(GO_SERVER_KEX)))
        banner, kexinit = await read_banner_and_kexinit(reader, timeout=1)
        assert banner.line == "SSH-2.0-Go"
        assert kexinit.kex == GO_SERVER_KEX
    asyncio.run(scenario())


def test_read_banner_reports_a_close_before_kexinit() -> None:
    async def scenario() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(b"SSH-2.0-PaloAltoNetworks_0.2\r\n")
        reader.feed_eof()
        with pytest.raises(ProbeError, match="before KEXINIT"):
            await read_banner_and_kexinit(reader, timeout=1)
    asyncio.run(scenario())
