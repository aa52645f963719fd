"""The proxy's fast Diffie-Hellman agrees with itself and with asyncssh's, and rejects bad values."""

from __future__ import annotations

import pytest
from asyncssh.crypto import DH
from asyncssh.kex_dh import _group14_g, _group14_p  # type: ignore[attr-defined]

from natsim.proxy.fastdh import FastDH


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
