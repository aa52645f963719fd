"""Which public address of a pool Linux gives a subscriber (``snat to FIRST-LAST persistent``).

``nf_nat_core.c: find_best_ips_proto`` hashes the original source address with ``jhash2`` (initval 0
with ``persistent``, so the choice depends on the subscriber alone and survives reboots) and scales
the hash onto the range: ``first + reciprocal_scale(hash, size)``. The render writes that rule and
the model calls :func:`pool_address` with the same pool, so both put a subscriber on the same address.

The hash is written out here because no maintained Python package implements the kernel's ``jhash2``
(Bob Jenkins' lookup3 ``hashword`` with the kernel's initial value and word layout).
"""

from __future__ import annotations

import functools
import ipaddress

_MASK = 0xFFFFFFFF
#: The kernel's arbitrary initial value (``include/linux/jhash.h``).
JHASH_INITVAL = 0xDEADBEEF


def _rol(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & _MASK


#: ``__jhash_mix``: (x, y, z, rotation) for ``x -= y; x ^= rol32(y, r); y += z`` on (a, b, c).
_MIX = ((0, 2, 1, 4), (1, 0, 2, 6), (2, 1, 0, 8), (0, 2, 1, 16), (1, 0, 2, 19), (2, 1, 0, 4))
#: ``__jhash_final``: (x, y, rotation) for ``x ^= y; x -= rol32(y, r)``.
_FINAL = ((2, 1, 14), (0, 2, 11), (1, 0, 25), (2, 1, 16), (0, 2, 4), (1, 0, 14), (2, 1, 24))


def jhash2(words: list[int], initval: int) -> int:
    """The kernel's ``jhash2(k, length, initval)`` over 32-bit ``words``."""
    state = [(JHASH_INITVAL + (len(words) << 2) + initval) & _MASK] * 3
    k = list(words)
    while len(k) > 3:
        state = [(state[i] + k[i]) & _MASK for i in range(3)]
        for x, y, z, r in _MIX:
            state[x] = ((state[x] - state[y]) & _MASK) ^ _rol(state[y], r)
            state[y] = (state[y] + state[z]) & _MASK
        k = k[3:]
    if not k:
        return state[2]
    state = [(state[i] + (k[i] if i < len(k) else 0)) & _MASK for i in range(3)]
    for x, y, r in _FINAL:
        state[x] = ((state[x] ^ state[y]) - _rol(state[y], r)) & _MASK
    return state[2]


@functools.lru_cache(maxsize=1024)
def pool_range(pool: str) -> tuple[str, str]:
    """First and last usable address of a pool prefix (a /32 is one address)."""
    net = ipaddress.ip_network(pool, strict=False)
    hosts = list(net.hosts()) if net.num_addresses > 2 else list(net)
    return str(hosts[0]), str(hosts[-1])


@functools.lru_cache(maxsize=65536)   # pure; the model asks once per connection (5 % of a prediction)
def pool_address(subscriber: str, pool: str) -> str:
    """The pool address Linux maps ``subscriber`` to with ``persistent`` (one address: that one)."""
    first, last = (int(ipaddress.ip_address(a)) for a in pool_range(pool))
    if first == last:
        return str(ipaddress.ip_address(first))
    # struct nf_inet_addr is 4 words, IPv4 in the first one as it lies in memory (network order,
    # read as a little-endian u32 on x86); the rest is zero.
    word = int.from_bytes(ipaddress.IPv4Address(subscriber).packed, "little")
    spread = (jhash2([word, 0, 0, 0], 0) * (last - first + 1)) >> 32   # reciprocal_scale
    return str(ipaddress.ip_address(first + spread))
