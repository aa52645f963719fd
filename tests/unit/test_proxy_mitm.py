"""The proxy on 127.0.0.1: kex mismatch → EOF + bypass; agreement → relayed session with the proxy's key."""

from __future__ import annotations

import asyncio

from natsim.probes.ssh.goclient import go_attempt
from natsim.report.schema import Verdict
from tests.unit.netutil import eventually
from tests.unit.ssh_helpers import GEX, LOCAL, backend, proxy


def test_go_backend_behind_proxy_fails_with_eof_and_is_bypassed() -> None:
    async def scenario() -> None:
        async with backend() as bport, proxy(bport, config='{"bypass": "3720s-3840s"}') as (srv, byp, pport):
            attempt = await go_attempt(LOCAL, pport, "natsim", "natsim")
            assert attempt.verdict is Verdict.EOF
            assert attempt.error == "ssh: handshake failed: EOF"
            assert attempt.server_banner == "SSH-2.0-PaloAltoNetworks_0.2"
            # the session ends (its outcome counted) when the FIN linger ends
            await eventually(lambda: sum(srv.outcomes.values()) == 1, what="the session ended")
            assert len(byp.added) == 1
            client, server, port, ms = byp.added[0]
            assert (client, server, port) == (LOCAL, LOCAL, bport)
            assert 3720 / 60 * 1000 <= ms <= 3840 / 60 * 1000
            assert srv.outcomes["kex-mismatch"] == 1, srv.outcomes
    asyncio.run(scenario())


def test_gex_backend_is_relayed_with_the_proxy_host_key() -> None:
    async def scenario() -> None:
        async with backend(GEX) as bport, proxy(bport) as (srv, byp, pport):
            direct = await go_attempt(LOCAL, bport, "natsim", "natsim", command="echo direct")
            via = await go_attempt(LOCAL, pport, "natsim", "natsim", command="echo hello; exit 3")
            assert via.verdict is Verdict.OK, via.error
            assert via.output == "hello\n"
            assert via.exit_status == 3
            assert via.server_banner == "SSH-2.0-PaloAltoNetworks_0.2"
            assert via.host_key != direct.host_key
            assert via.host_key == srv.host_key.export_public_key().decode().strip()
            assert byp.added == []
    asyncio.run(scenario())


def test_wrong_password_is_relayed_as_failure() -> None:
    async def scenario() -> None:
        async with backend(GEX) as bport, proxy(bport) as (_srv, byp, pport):
            attempt = await go_attempt(LOCAL, pport, "natsim", "wrong")
            assert attempt.verdict is Verdict.ERROR
            assert "unable to authenticate" in attempt.error
            assert byp.added == []
    asyncio.run(scenario())


def test_connection_lost_with_a_disjoint_backend_kexinit_counts_as_mismatch() -> None:
    """Both sides may detect the mismatch at once; the backend's KEXINIT decides, not the race."""
    import asyncssh

    from natsim.probes.ssh.wire import GO_SERVER_KEX, encode_kexinit
    from natsim.proxy.mitm import MitmSession
    from natsim.proxy.settings import ProxySettings

    class Conn:
        _server_kexinit = encode_kexinit(GO_SERVER_KEX)

    async def never() -> object:
        raise AssertionError

    session = MitmSession(ProxySettings.from_json("{}"), asyncssh.generate_private_key("ssh-ed25519"),
                          never, never)  # type: ignore[arg-type]
    lost = asyncssh.ConnectionLost("Connection lost")
    assert session._refined(lost) is lost                  # no KEXINIT seen: stays a plain loss
    session.backend_attempt = Conn()  # type: ignore[assignment]
    offered = session.backend_kexinit()
    assert offered is not None and offered.kex == GO_SERVER_KEX
    assert isinstance(session._refined(lost), asyncssh.KeyExchangeFailed)
    Conn._server_kexinit = encode_kexinit(("diffie-hellman-group-exchange-sha256",))
    assert session._refined(lost) is lost                  # overlap: a real loss, no bypass
