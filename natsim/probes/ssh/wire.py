"""The first bytes of an SSH connection, read without any SSH library.

An SSH server sends its identification line (``SSH-2.0-software comment``, RFC 4253 §4.2), then a
binary ``SSH_MSG_KEXINIT`` packet listing its algorithms. This module parses both from raw bytes and
names known intercepting proxies by their banner, so ``ssh-kex`` can tell a firewall from the server.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

from natsim.errors import ProbeError

#: Longest identification line RFC 4253 allows (including CR LF).
MAX_VERSION_LINE = 255
#: Longest packet natsim accepts while reading a KEXINIT (RFC 4253 requires 35000 to be handled).
MAX_PACKET = 35000
SSH_MSG_KEXINIT = 20

#: Banner prefixes of known intercepting middleboxes → their name.
KNOWN_PROXIES: dict[str, str] = {
    "SSH-2.0-PaloAltoNetworks": "Palo Alto Networks firewall (SSH decryption proxy)",
    "SSH-2.0-FortiSSH": "Fortinet FortiGate (SSH inspection)",
    "SSH-2.0-CiscoFirepower": "Cisco Firepower (SSH inspection)",
}

#: The key-exchange list of a ``golang.org/x/crypto/ssh`` server in the incident.
GO_SERVER_KEX = (
    "curve25519-sha256@libssh.org", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384",
    "ecdh-sha2-nistp521", "diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1",
)

_KEXINIT_LISTS = ("kex", "host_key", "cipher_c2s", "cipher_s2c", "mac_c2s", "mac_s2c",
                  "compression_c2s", "compression_s2c", "lang_c2s", "lang_s2c")


@dataclass(frozen=True)
class Banner:
    """A parsed SSH identification line."""

    line: str
    proto: str
    software: str
    comment: str = ""

    @property
    def proxy(self) -> str | None:
        """The known intercepting proxy this banner belongs to, or None."""
        return identify_proxy(self.line)


def parse_banner(line: bytes | str) -> Banner:
    """Parse ``SSH-protoversion-softwareversion [comments]`` (CR LF optional).

    Raises :class:`ProbeError` for anything that is not an SSH identification line.
    """
    raw = line.encode("latin-1") if isinstance(line, str) else line
    if len(raw) > MAX_VERSION_LINE:
        raise ProbeError(f"SSH identification line too long ({len(raw)} bytes > {MAX_VERSION_LINE})")
    text = raw.rstrip(b"\r\n").decode("ascii", errors="replace")
    if not text.startswith("SSH-"):
        raise ProbeError(f"not an SSH identification line: {text[:80]!r}")
    ident, _, comment = text.partition(" ")
    parts = ident.split("-", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise ProbeError(f"malformed SSH identification line: {text[:80]!r}")
    return Banner(line=text, proto=parts[1], software=parts[2], comment=comment)


def identify_proxy(banner: str) -> str | None:
    """Name the intercepting proxy whose banner starts like ``banner``, or None."""
    for prefix, name in KNOWN_PROXIES.items():
        if banner.startswith(prefix):
            return name
    return None


@dataclass(frozen=True)
class KexInit:
    """The algorithm lists of an ``SSH_MSG_KEXINIT`` packet."""

    kex: tuple[str, ...]
    host_key: tuple[str, ...]
    cipher_c2s: tuple[str, ...]
    cipher_s2c: tuple[str, ...]
    mac_c2s: tuple[str, ...]
    mac_s2c: tuple[str, ...]
    compression_c2s: tuple[str, ...]
    compression_s2c: tuple[str, ...]
    lang_c2s: tuple[str, ...]
    lang_s2c: tuple[str, ...]
    first_kex_follows: bool


def decode_kexinit(payload: bytes) -> KexInit:
    """Decode a KEXINIT message payload (message byte, cookie, ten name-lists, flag, reserved)."""
    if not payload or payload[0] != SSH_MSG_KEXINIT:
        raise ProbeError(f"expected SSH_MSG_KEXINIT (20), got message {payload[:1].hex() or 'nothing'}")
    pos = 17  # message byte + 16-byte cookie
    lists: list[tuple[str, ...]] = []
    for name in _KEXINIT_LISTS:
        if pos + 4 > len(payload):
            raise ProbeError(f"KEXINIT truncated before the {name} list")
        (length,) = struct.unpack_from(">I", payload, pos)
        pos += 4
        if pos + length > len(payload):
            raise ProbeError(f"KEXINIT {name} list claims {length} bytes, only {len(payload) - pos} left")
        text = payload[pos:pos + length].decode("ascii", errors="replace")
        lists.append(tuple(text.split(",")) if text else ())
        pos += length
    if pos + 5 > len(payload):
        raise ProbeError("KEXINIT truncated before first_kex_packet_follows")
    kex, host_key, c_cs, c_sc, m_cs, m_sc, z_cs, z_sc, l_cs, l_sc = lists
    return KexInit(kex, host_key, c_cs, c_sc, m_cs, m_sc, z_cs, z_sc, l_cs, l_sc,
                   first_kex_follows=bool(payload[pos]))


def encode_kexinit(kex: tuple[str, ...], *, host_key: tuple[str, ...] = ("ssh-ed25519",),
                   cipher: tuple[str, ...] = ("aes128-ctr",), mac: tuple[str, ...] = ("hmac-sha2-256",),
                   cookie: bytes = bytes(16)) -> bytes:
    """Build a KEXINIT payload (for tests and for servers that only need to show a list)."""
    def name_list(names: tuple[str, ...]) -> bytes:
        data = ",".join(names).encode("ascii")
        return struct.pack(">I", len(data)) + data
    body = bytes([SSH_MSG_KEXINIT]) + cookie
    for names in (kex, host_key, cipher, cipher, mac, mac, ("none",), ("none",), (), ()):
        body += name_list(names)
    return body + b"\x00" + b"\x00\x00\x00\x00"


def frame_packet(payload: bytes, block: int = 8) -> bytes:
    """Wrap ``payload`` in an unencrypted binary packet (RFC 4253 §6) with zero padding."""
    padding = block - (len(payload) + 5) % block
    if padding < 4:
        padding += block
    length = len(payload) + padding + 1
    return struct.pack(">IB", length, padding) + payload + bytes(padding)


def unframe_packet(data: bytes) -> tuple[bytes, int]:
    """The payload of the first unencrypted packet in ``data`` and the bytes it used.

    Raises :class:`ProbeError` when the length is absurd; returns ``(b"", 0)`` when incomplete.
    """
    if len(data) < 5:
        return b"", 0
    length, padding = struct.unpack_from(">IB", data, 0)
    if length > MAX_PACKET or length < padding + 1:
        raise ProbeError(f"SSH packet length {length} (padding {padding}) is not plausible")
    if len(data) < 4 + length:
        return b"", 0
    return data[5:4 + length - padding], 4 + length


class PeerClosed(ProbeError):
    """The peer closed the connection (FIN) before it showed what was expected."""


async def read_banner_and_kexinit(reader: asyncio.StreamReader, *,
                                  timeout: float = 10.0) -> tuple[Banner, KexInit]:
    """Read the peer's identification line (skipping pre-banner lines) and its KEXINIT."""
    async def read() -> tuple[Banner, KexInit]:
        for _ in range(64):
            line = await reader.readuntil(b"\n")
            if line.startswith(b"SSH-"):
                banner = parse_banner(line)
                break
        else:
            raise ProbeError("no SSH identification line within 64 lines")
        buf = b""
        while True:
            payload, used = unframe_packet(buf)
            if used:
                return banner, decode_kexinit(payload)
            chunk = await reader.read(4096)
            if not chunk:
                raise PeerClosed(f"connection closed after the banner {banner.line!r}, before KEXINIT")
            buf += chunk
    try:
        return await asyncio.wait_for(read(), timeout)
    except asyncio.IncompleteReadError as err:
        raise PeerClosed(f"connection closed before an SSH banner (got {err.partial[:60]!r})") from err
    except asyncio.LimitOverrunError as err:
        raise ProbeError("SSH banner line too long") from err
    except TimeoutError as err:
        raise ProbeError(f"no SSH banner and KEXINIT within {timeout:g} s") from err
