"""A faster finite-field Diffie-Hellman for the proxy's group-exchange key exchanges.

asyncssh builds a PyCA DH key for every exchange; for the 3072-8192-bit groups OpenSSH's ``sshd``
hands out in ``diffie-hellman-group-exchange-*``, OpenSSL's parameter handling and a full-length
private exponent cost close to a second of CPU per connection — in a single-threaded proxy that
serialises every login behind it. This drop-in uses Python's ``pow`` with a 512-bit private exponent
(twice the 256-bit strength of the strongest cipher negotiated; RFC 4419 §6.2 asks for at least twice
the key material's strength). It is meant for the lab's intercepting proxy, not for guarding secrets.
:func:`install` swaps it into asyncssh for this process only.
"""

from __future__ import annotations

import secrets

import asyncssh.kex_dh

#: Private exponent size in bits.
EXPONENT_BITS = 512


class FastDH:
    """Same interface as ``asyncssh.crypto.DH``: ``get_public()`` and ``get_shared(peer)``."""

    def __init__(self, g: int, p: int) -> None:
        if p < 2**1023 or not 1 < g < p - 1:
            raise ValueError(f"unsafe Diffie-Hellman group (p has {p.bit_length()} bits, g={g})")
        self._g, self._p = g, p
        self._x = secrets.randbits(EXPONENT_BITS) | (1 << (EXPONENT_BITS - 1))

    def get_public(self) -> int:
        """g^x mod p."""
        return pow(self._g, self._x, self._p)

    def get_shared(self, peer_public: int) -> int:
        """peer^x mod p, after rejecting degenerate peer values (RFC 4253 §8)."""
        if not 1 < peer_public < self._p - 1:
            raise ValueError("invalid Diffie-Hellman public value from the peer")
        return pow(peer_public, self._x, self._p)


def install() -> None:
    """Use :class:`FastDH` for asyncssh's finite-field key exchanges in this process."""
    setattr(asyncssh.kex_dh, "DH", FastDH)  # noqa: B010 (not an exported name: mypy)
