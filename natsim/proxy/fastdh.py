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
#: Smallest and largest modulus accepted, in bits (RFC 4419 §3: 1024 <= k <= 8192). A bigger one
#: from a backend would stall the single-threaded proxy: one ``pow`` takes 50 ms at 8192 bits, 2.8 s at
#: 65536 and 44 s at 262144 (measured here), so it is refused before any arithmetic.
MIN_BITS = 1024
MAX_BITS = 8192


class FastDH:
    """Same interface as ``asyncssh.crypto.DH``: ``get_public()`` and ``get_shared(peer)``."""

    def __init__(self, g: int, p: int) -> None:
        """Check the group (raises :class:`ValueError`, naming the modulus size) and pick a private x."""
        bits = p.bit_length()
        if not MIN_BITS <= bits <= MAX_BITS:
            raise ValueError(f"Diffie-Hellman modulus of {bits} bits refused: "
                             f"group exchange allows {MIN_BITS} to {MAX_BITS} bits")
        if p % 2 == 0:
            raise ValueError(f"Diffie-Hellman modulus of {bits} bits refused: it is even, so not a prime")
        if not 1 < g < p - 1:
            raise ValueError(f"Diffie-Hellman generator refused: g={g} is not in 2..p-2 "
                             f"(modulus of {bits} bits)")
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
