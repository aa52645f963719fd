"""The proxy's fast Diffie-Hellman agrees with itself and with asyncssh's, and rejects bad values."""

from __future__ import annotations

import asyncio
import logging
import random

import asyncssh
import pytest
from asyncssh.crypto import DH
from asyncssh.kex_dh import _group14_g, _group14_p  # type: ignore[attr-defined]

from natsim.probes.ssh.goclient import go_attempt
from natsim.proxy.fastdh import FastDH
from natsim.report.schema import Verdict
from tests.unit.netutil import eventually
from tests.unit.ssh_helpers import GEX, LOCAL, backend, proxy


def test_shared_secret_matches_pyca() -> None:
    ours, theirs = FastDH(_group14_g, _group14_p), DH(_group14_g, _group14_p)
    assert ours.get_shared(theirs.get_public()) == theirs.get_shared(ours.get_public())
    assert ours.get_public() != FastDH(_group14_g, _group14_p).get_public()


@pytest.mark.parametrize("peer", [0, 1, _group14_p - 1, _group14_p])
def test_degenerate_peer_values_are_refused(peer: int) -> None:
    with pytest.raises(ValueError):
        FastDH(_group14_g, _group14_p).get_shared(peer)


def test_small_groups_are_refused() -> None:
    with pytest.raises(ValueError):
        FastDH(2, 2**512 - 569)


def _odd(bits: int) -> int:
    """A random odd number of exactly ``bits`` bits (the size checks come before any primality)."""
    return random.Random(bits).getrandbits(bits) | 1 << (bits - 1) | 1


def test_modulus_above_8192_bits_is_refused_and_named() -> None:
    with pytest.raises(ValueError, match=r"^Diffie-Hellman modulus of 8193 bits refused: .* 1024 to 8192"):
        FastDH(2, _odd(8193))


def test_modulus_of_8192_bits_is_accepted() -> None:
    p = _odd(8192)
    assert 1 < FastDH(2, p).get_public() < p


def test_even_modulus_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^Diffie-Hellman modulus of 2048 bits refused: it is even"):
        FastDH(2, _odd(2048) + 1)


def test_small_modulus_is_named() -> None:
    with pytest.raises(ValueError, match=r"^Diffie-Hellman modulus of 1023 bits refused"):
        FastDH(2, _odd(1023))
    assert FastDH(2, _odd(1024)).get_public()


def test_backend_offering_an_oversized_group_ends_the_session_cleanly(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """asyncssh lets the ValueError end the backend connection; the proxy logs it and hangs up (FIN)."""
    monkeypatch.setattr(asyncssh.kex_dh, "DH", FastDH)
    monkeypatch.setattr(asyncssh.kex_dh, "_dh_gex_groups", ((2048, 2, _odd(8193)),))  # the backend's pick

    async def scenario() -> None:
        async with backend(GEX) as bport, proxy(bport) as (srv, byp, pport):
            attempt = await go_attempt(LOCAL, pport, "natsim", "natsim")
            assert attempt.verdict is Verdict.EOF, attempt.error
            # the session ends (its outcome counted and logged) when the FIN linger ends
            await eventually(lambda: sum(srv.outcomes.values()) == 1, what="the session ended")
            assert srv.outcomes == {"backend-failed": 1}
            assert byp.added == []
    with caplog.at_level(logging.INFO, logger="natsim.proxy"):
        asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records if "backend-failed" in r.getMessage()]
    assert len(lines) == 1 and "Diffie-Hellman modulus of 8193 bits refused" in lines[0], lines
