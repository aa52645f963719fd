"""The proxy's client towards the backend: exact banner and KEXINIT, and the asyncssh internals it uses."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator
from typing import Any

import asyncssh
import pytest

from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.probes.ssh.wire import Banner, KexInit, decode_kexinit, encode_kexinit, read_banner_and_kexinit
from natsim.proxy.backend import ApplianceClientConnection, connect_ssh, no_overlap
from tests.unit.ssh_helpers import GEX, LOCAL, backend

OPTIONS: dict[str, Any] = {"username": "natsim", "password": "natsim", "known_hosts": None,
                           "client_keys": None, "agent_path": None, "gss_host": None}
OVERRIDE = SshProxy(backend_banner="SSH-2.0-OpenSSH_7.4", kex=("diffie-hellman-group14-sha1",),
                    backend_host_keys=("ssh-ed25519",),
                    backend_ciphers=("aes256-gcm@openssh.com", "aes128-cbc"),
                    backend_macs=("hmac-sha1",), backend_compression=("zlib@openssh.com", "none"),
                    backend_ext_info=True, backend_strict_kex=True)


@contextlib.asynccontextmanager
async def listener() -> AsyncIterator[tuple[int, asyncio.Future[tuple[Banner, KexInit]]]]:
    """A raw TCP server that sends a banner and records the client's banner and KEXINIT."""
    seen: asyncio.Future[tuple[Banner, KexInit]] = asyncio.get_running_loop().create_future()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"SSH-2.0-Recorder\r\n")
        try:
            seen.set_result(await read_banner_and_kexinit(reader, timeout=5))
        finally:
            writer.close()

    server = await asyncio.start_server(handle, LOCAL, 0)
    try:
        yield int(server.sockets[0].getsockname()[1]), seen
    finally:
        server.close()
        await server.wait_closed()


def connected(port: int) -> socket.socket:
    sock = socket.create_connection((LOCAL, port))
    sock.setblocking(False)
    return sock


async def offered_by(config: SshProxy) -> tuple[Banner, KexInit]:
    async with listener() as (port, seen):
        sock = connected(port)
        with contextlib.suppress(asyncssh.Error, OSError):
            await asyncio.wait_for(connect_ssh(sock, config, client_factory=asyncssh.SSHClient, **OPTIONS), 5)
        return await seen


def lists(kexinit: KexInit) -> dict[str, tuple[str, ...]]:
    return {k: v for k, v in dataclasses.asdict(kexinit).items() if k != "first_kex_follows"}


def test_default_kexinit_is_the_incident_firewall_exactly() -> None:
    banner, kexinit = asyncio.run(offered_by(SshProxy()))
    assert banner.line == "SSH-2.0-PaloAltoNetworks_0.2"
    assert lists(kexinit) == {
        "kex": ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1"),
        "host_key": ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512", "ecdsa-sha2-nistp256", "ssh-ed25519"),
        "cipher_c2s": ("aes128-ctr", "aes192-ctr", "aes256-ctr"),
        "cipher_s2c": ("aes128-ctr", "aes192-ctr", "aes256-ctr"),
        "mac_c2s": ("hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"),
        "mac_s2c": ("hmac-sha2-256", "hmac-sha2-512", "hmac-sha1"),
        "compression_c2s": ("none",), "compression_s2c": ("none",), "lang_c2s": (), "lang_s2c": ()}
    assert not kexinit.first_kex_follows


def test_overridden_kexinit_and_markers_on_request() -> None:
    banner, kexinit = asyncio.run(offered_by(OVERRIDE))
    assert banner.line == "SSH-2.0-OpenSSH_7.4"
    assert lists(kexinit) == {
        "kex": ("diffie-hellman-group14-sha1", "ext-info-c", "kex-strict-c-v00@openssh.com"),
        "host_key": ("ssh-ed25519",),
        "cipher_c2s": ("aes256-gcm@openssh.com", "aes128-cbc"),
        "cipher_s2c": ("aes256-gcm@openssh.com", "aes128-cbc"),
        "mac_c2s": ("hmac-sha1",), "mac_s2c": ("hmac-sha1",),
        "compression_c2s": ("zlib@openssh.com", "none"), "compression_s2c": ("zlib@openssh.com", "none"),
        "lang_c2s": (), "lang_s2c": ()}
    only_strict = asyncio.run(offered_by(SshProxy(backend_strict_kex=True)))[1]
    assert only_strict.kex[-1:] == ("kex-strict-c-v00@openssh.com",) and "ext-info-c" not in only_strict.kex


# ---- the asyncssh behaviour ApplianceClientConnection depends on ------------------------------------

async def _login(config: SshProxy) -> tuple[ApplianceClientConnection, str]:
    async with backend(GEX) as port:
        conn = await asyncio.wait_for(
            connect_ssh(connected(port), config, client_factory=asyncssh.SSHClient, **OPTIONS), 10)
        async with conn:
            result = await conn.run("echo relayed", check=True)
        assert isinstance(conn, ApplianceClientConnection)
        return conn, str(result.stdout)


@pytest.mark.parametrize("markers", [False, True])
def test_login_to_a_strict_kex_ext_info_server_with_and_without_markers(
        markers: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """The go-ssh backend (asyncssh) offers ext-info-s and kex-strict-s; we follow only what we announced."""
    sent: list[int] = []
    original = asyncssh.SSHClientConnection._send_ext_info   # asyncssh still has it

    def spy(self: asyncssh.SSHClientConnection) -> None:
        sent.append(1)
        original(self)

    monkeypatch.setattr(ApplianceClientConnection, "_send_ext_info", spy)
    config = SshProxy(kex=GEX, backend_ext_info=markers, backend_strict_kex=markers)
    conn, output = asyncio.run(_login(config))
    assert output == "relayed\n"
    assert conn._strict_kex is markers
    assert sent == ([1] if markers else [])


def test_asyncssh_still_adds_both_markers_and_follows_the_servers() -> None:
    """What the subclass overrides: if asyncssh changes this, revisit natsim/proxy/backend.py."""
    async def plain() -> asyncssh.SSHClientConnection:
        async with backend(GEX) as port:
            async with asyncssh.connect(LOCAL, port, kex_algs=list(GEX), config=None, **OPTIONS) as conn:
                await conn.run("true", check=True)
            return conn
    conn = asyncio.run(plain())
    assert conn._get_extra_kex_algs() == [b"ext-info-c", b"kex-strict-c-v00@openssh.com"]
    assert conn._strict_kex is True


def test_without_the_flag_guard_a_strict_server_breaks_the_login() -> None:
    """Why the subclass also guards ``_strict_kex``: dropping only the marker desynchronises the MACs."""
    class MarkersOnly(asyncssh.SSHClientConnection):
        def _get_extra_kex_algs(self) -> list[bytes]:
            return []

    async def attempt() -> None:
        async with backend(GEX) as port:
            loop = asyncio.get_running_loop()
            opts = await asyncssh.SSHClientConnectionOptions.construct(None, kex_algs=list(GEX), config=None,
                                                                       **OPTIONS)
            opts.waiter = loop.create_future()
            _, conn = await loop.create_connection(lambda: MarkersOnly(loop, opts, wait="auth"), LOCAL, port)
            try:
                await asyncio.wait_for(opts.waiter, 10)
            finally:
                conn.abort()
    with pytest.raises((asyncssh.ProtocolError, asyncssh.MACError)):   # "MAC verification failed" & co.
        asyncio.run(attempt())


def test_no_overlap_names_the_first_disjoint_list() -> None:
    config = SshProxy()
    agree = decode_kexinit(encode_kexinit(("diffie-hellman-group-exchange-sha1",)))
    assert no_overlap(config, agree) is None
    no_cipher = decode_kexinit(encode_kexinit(config.kex, cipher=("aes128-gcm@openssh.com",)))
    assert no_overlap(config, no_cipher) == ("No matching encryption algorithm found, sent aes128-ctr,"
                                             "aes192-ctr,aes256-ctr and received aes128-gcm@openssh.com")
    aead = dataclasses.replace(config, backend_ciphers=("aes128-gcm@openssh.com",),
                               backend_macs=("hmac-md5",))
    assert no_overlap(aead, no_cipher) is None          # AEAD: the MAC list does not matter
    no_host_key = decode_kexinit(encode_kexinit(config.kex, host_key=("ssh-dss",)))
    assert no_overlap(config, no_host_key) == (
        "No matching host key algorithm found, sent ssh-rsa,rsa-sha2-256,rsa-sha2-512,ecdsa-sha2-nistp256,"
        "ssh-ed25519 and received ssh-dss")
    no_kex = decode_kexinit(encode_kexinit(("curve25519-sha256",), host_key=("ssh-dss",)))
    assert str(no_overlap(config, no_kex)).startswith("No matching key exchange algorithm found")  # kex first
