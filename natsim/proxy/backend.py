"""The proxy's SSH client towards the backend: exactly the configured banner and KEXINIT lists.

asyncssh takes the banner and every algorithm list as options, but its connections append two
pseudo-algorithms to every key-exchange list they send (``SSHConnection._get_extra_kex_algs``):
``ext-info-c`` (RFC 8308) and ``kex-strict-c-v00@openssh.com`` (OpenSSH's Terrapin fix), and no
option removes them. The incident's firewall sent neither, so :class:`ApplianceClientConnection`
— used only for the backend connection; the client-facing server is asyncssh's own class — puts
each marker under a setting.

asyncssh assumes it announced both markers: it turns strict kex on (sequence numbers reset at
NEWKEYS) when the *server* offers ``kex-strict-s-v00@openssh.com``, and sends EXT_INFO when the
server offers ``ext-info-s``. Without our marker the server does neither, so the connection also
refuses those two flags unless the matching marker was announced (otherwise asyncssh resets its
sequence numbers alone and the first encrypted packet fails its MAC check on any server offering
strict kex: OpenSSH ≥ 9.6, Debian 12's patched 9.2p1, asyncssh, Go's x/crypto/ssh ≥ 0.17).
``tests/unit/test_proxy_backend.py`` pins this asyncssh behaviour so that an upgrade that changes
it fails loudly.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any

import asyncssh

from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.probes.ssh.wire import KexInit

EXT_INFO = b"ext-info-c"
STRICT_KEX = b"kex-strict-c-v00@openssh.com"


class ApplianceClientConnection(asyncssh.SSHClientConnection):
    """asyncssh's client connection announcing only the extension markers it is told to."""

    def __init__(self, loop: asyncio.AbstractEventLoop, options: asyncssh.SSHClientConnectionOptions,
                 *, ext_info: bool, strict_kex: bool) -> None:
        self._natsim_ext_info = ext_info          # set before asyncssh's __init__ assigns the flags
        self._natsim_strict_kex = strict_kex
        super().__init__(loop, options, wait="auth")

    def _get_extra_kex_algs(self) -> list[bytes]:
        wanted = ((EXT_INFO, self._natsim_ext_info), (STRICT_KEX, self._natsim_strict_kex))
        return [marker for marker, on in wanted if on]

    @property
    def _strict_kex(self) -> bool:
        return self._natsim_strict_on

    @_strict_kex.setter
    def _strict_kex(self, value: bool) -> None:
        self._natsim_strict_on = value and self._natsim_strict_kex

    @property
    def _can_send_ext_info(self) -> bool:
        return self._natsim_send_ext_info

    @_can_send_ext_info.setter
    def _can_send_ext_info(self, value: bool) -> None:
        self._natsim_send_ext_info = value and self._natsim_ext_info


def connection_options(config: SshProxy) -> dict[str, Any]:
    """The asyncssh options that make the backend see ``config``'s banner and lists, exactly."""
    return {"client_version": config.banner_to_backend.removeprefix("SSH-2.0-"),
            "kex_algs": list(config.kex), "server_host_key_algs": list(config.backend_host_keys),
            "encryption_algs": list(config.backend_ciphers), "mac_algs": list(config.backend_macs),
            "compression_algs": list(config.backend_compression)}


async def connect_ssh(sock: socket.socket, config: SshProxy, *,
                      client_factory: Callable[[], asyncssh.SSHClient],
                      **options: Any) -> asyncssh.SSHClientConnection:
    """``asyncssh.connect(sock=sock, ...)`` with :class:`ApplianceClientConnection`; returns once logged in.

    ``options`` are further asyncssh client options (username, auth, timeouts). The steps are those
    of ``asyncssh.connect`` for an already-connected socket, whose connection class is fixed.
    """
    loop = asyncio.get_running_loop()
    opts = await asyncssh.SSHClientConnectionOptions.construct(
        None, config=None, client_factory=client_factory, **connection_options(config), **options)
    opts.waiter = loop.create_future()

    def factory() -> ApplianceClientConnection:
        return ApplianceClientConnection(loop, opts, ext_info=config.backend_ext_info,
                                         strict_kex=config.backend_strict_kex)

    _, conn = await loop.create_connection(factory, sock=sock)
    try:
        await opts.waiter
    except BaseException:
        conn.abort()
        await conn.wait_closed()
        raise
    return conn


def no_overlap(config: SshProxy, offered: KexInit) -> str | None:
    """asyncssh's reason when the backend's KEXINIT shares no algorithm with ``config`` in some list.

    MACs are not compared when the cipher that would be chosen is an AEAD one (it carries its own).
    """
    ciphers = [c for c in config.backend_ciphers if c in offered.cipher_c2s]
    aead = bool(ciphers) and ("gcm" in ciphers[0] or "poly1305" in ciphers[0])
    lists = [("key exchange", config.kex, offered.kex),
             ("host key", config.backend_host_keys, offered.host_key),
             ("encryption", config.backend_ciphers, offered.cipher_c2s),
             ("encryption", config.backend_ciphers, offered.cipher_s2c),
             *([] if aead else [("MAC", config.backend_macs, offered.mac_c2s),
                                ("MAC", config.backend_macs, offered.mac_s2c)]),
             ("compression", config.backend_compression, offered.compression_c2s),
             ("compression", config.backend_compression, offered.compression_s2c)]
    for kind, ours, theirs in lists:
        if not set(ours) & set(theirs):
            return (f"No matching {kind} algorithm found, sent {','.join(ours)} "
                    f"and received {','.join(theirs)}")
    return None
