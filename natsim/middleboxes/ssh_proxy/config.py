"""``ssh-proxy``: a transparent L7 SSH interceptor (the Palo Alto Networks incident).

The firewall node routes between clients and servers. TCP to the intercepted ports is diverted
with ``tproxy`` to the proxy daemon (``natsim.proxy``), which keeps the client's address towards
the backend (``IP_TRANSPARENT``). A tuple the proxy gave up on is put into the ``bypass`` set
with a per-element timeout; the kernel expires it and bypassed packets are only routed.

Towards the backend the proxy is an SSH client whose identification line and KEXINIT are set here
exactly (``backend_*``, ``kex``); the defaults are an appliance of the incident's era (see
``docs/ssh-proxy.md`` for where they come from).
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from natsim.errors import ConfigError
from natsim.fields import closest, plain_field
from natsim.middleboxes.base import DeviceConfig

PAN_BANNER = "SSH-2.0-PaloAltoNetworks_0.2"
PAN_KEX = ("diffie-hellman-group-exchange-sha256", "diffie-hellman-group-exchange-sha1")
#: Host-key, cipher, MAC and compression lists the proxy offers the backend by default.
APPLIANCE_HOST_KEYS = ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512", "ecdsa-sha2-nistp256", "ssh-ed25519")
APPLIANCE_CIPHERS = ("aes128-ctr", "aes192-ctr", "aes256-ctr")
APPLIANCE_MACS = ("hmac-sha2-256", "hmac-sha2-512", "hmac-sha1")
APPLIANCE_COMPRESSION = ("none",)
#: KEXINIT pseudo-algorithms (RFC 8308 extension negotiation, OpenSSH strict kex): settings, not names.
MARKERS = {"ext-info-c": "backend_ext_info", "ext-info-s": "backend_ext_info",
           "kex-strict-c-v00@openssh.com": "backend_strict_kex",
           "kex-strict-s-v00@openssh.com": "backend_strict_kex"}
#: Longest software version asyncssh sends (255 bytes with ``SSH-2.0-`` and CR LF, RFC 4253 §4.2).
MAX_BANNER = 253


@dataclass(frozen=True)
class SshProxy(DeviceConfig):
    """Configuration of the intercepting SSH proxy (defaults: the incident's firewall)."""

    kind: ClassVar[str] = "ssh-proxy"

    ports: tuple[int, ...] = plain_field((), "intercepted TCP ports (empty: every port)", "ports",
                                         unset="any")
    banner: str = plain_field(PAN_BANNER, "banner shown to clients", "str")
    kex: tuple[str, ...] = plain_field(PAN_KEX, "key exchanges offered to the backend", "str-list")
    backend_banner: str = plain_field("", "banner shown to the backend (empty: the same as banner)", "str",
                                      unset="the same as banner")
    backend_host_keys: tuple[str, ...] = plain_field(APPLIANCE_HOST_KEYS,
                                                     "host-key algorithms offered to the backend",
                                                     "str-list")
    backend_ciphers: tuple[str, ...] = plain_field(APPLIANCE_CIPHERS,
                                                   "ciphers offered to the backend (both directions)",
                                                   "str-list")
    backend_macs: tuple[str, ...] = plain_field(APPLIANCE_MACS,
                                                "MACs offered to the backend (both directions)", "str-list")
    backend_compression: tuple[str, ...] = plain_field(APPLIANCE_COMPRESSION,
                                                       "compression offered to the backend (both directions)",
                                                       "str-list")
    backend_ext_info: bool = plain_field(False, "announce ext-info-c (RFC 8308) to the backend", "bool")
    backend_strict_kex: bool = plain_field(False, "announce OpenSSH strict kex (Terrapin fix) to the backend",
                                           "bool")
    bypass: tuple[float, float] = plain_field((3720.0, 3840.0),
                                              "how long a failed tuple passes unproxied (uniform)",
                                              "duration-range")
    listen_port: int = plain_field(50022, "port the proxy daemon listens on inside the firewall", "int")
    seed: int = plain_field(0, "seed for the bypass duration draw", "int")

    @property
    def banner_to_backend(self) -> str:
        """The identification line the backend sees."""
        return self.backend_banner or self.banner

    def validate(self) -> None:
        """Reject settings the proxy cannot serve."""
        _check_banner("banner", self.banner)
        if self.backend_banner:
            _check_banner("backend_banner", self.backend_banner)
        supported = supported_algorithms()
        for name in ("kex", "backend_host_keys", "backend_ciphers", "backend_macs", "backend_compression"):
            _check_algorithms(name, getattr(self, name), supported[name])
        if not 1 <= self.listen_port <= 65535:
            raise ConfigError(f"ssh-proxy.listen_port: {self.listen_port} out of range")
        if self.bypass[0] <= 0:
            raise ConfigError("ssh-proxy.bypass: must be greater than zero")

    def intercepts(self, port: int) -> bool:
        """Whether connections to ``port`` are intercepted (an empty port list: every port)."""
        return not self.ports or port in self.ports

    def bypass_draw(self, run_seed: int = 0, node: str = "fw") -> Callable[[], float]:
        """Successive bypass durations (real-world seconds), uniform over ``bypass``. Seeded with the
        run's seed, the node and the ``seed`` setting, so the lab's daemon and the model draw the
        same sequence for the same run."""
        rng = random.Random(f"{run_seed}:{node}:{self.seed}")
        low, high = self.bypass
        return lambda: rng.uniform(low, high)


def supported_algorithms() -> dict[str, tuple[str, ...]]:
    """Per list setting, the names asyncssh (the proxy's SSH library) can negotiate towards a backend.

    GSS-API key exchanges are left out: the proxy has no Kerberos credentials to use them with.
    """
    from asyncssh import compression, encryption, kex, mac, public_key

    def names(algs: list[bytes]) -> tuple[str, ...]:
        return tuple(a.decode("ascii") for a in algs)

    return {"kex": tuple(k for k in names(kex.get_kex_algs()) if not k.startswith("gss-")),
            "backend_host_keys": names(public_key.get_public_key_algs() + public_key.get_certificate_algs()),
            "backend_ciphers": names(encryption.get_encryption_algs()),
            "backend_macs": names(mac.get_mac_algs()),
            "backend_compression": names(compression.get_compression_algs())}


def _check_banner(setting: str, banner: str) -> None:
    if not banner.startswith("SSH-2.0-"):
        raise ConfigError(f"ssh-proxy.{setting}: must start with 'SSH-2.0-', got {banner!r}")
    if len(banner) > MAX_BANNER or not banner.isascii() or not banner.isprintable():
        raise ConfigError(f"ssh-proxy.{setting}: must be printable ASCII of at most {MAX_BANNER} "
                          f"characters, got {banner!r}")


def _check_algorithms(setting: str, names: tuple[str, ...], supported: tuple[str, ...]) -> None:
    """``names`` must be non-empty, without repeats, and each one an algorithm asyncssh supports."""
    if not names:
        raise ConfigError(f"ssh-proxy.{setting}: at least one algorithm is needed")
    for name in names:
        if name in MARKERS:
            raise ConfigError(f"ssh-proxy.{setting}: {name!r} is not an algorithm but an extension "
                              f"marker; set ssh-proxy.{MARKERS[name]}: true instead")
        if name not in supported:
            raise ConfigError(f"ssh-proxy.{setting}: {name!r} is not supported by the proxy"
                              f"{closest(name, list(supported))}; supported: {', '.join(supported)}")
        if names.count(name) > 1:
            raise ConfigError(f"ssh-proxy.{setting}: {name!r} is listed twice")


def config_json(config: SshProxy) -> str:
    """The ``--config`` JSON that makes the proxy daemon use ``config`` (the inverse of
    ``natsim.proxy.settings.ProxySettings.from_json``).

    Every user setting is written, so a setting added to :class:`SshProxy` reaches the daemon.
    """
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(config):
        if "parse" not in spec.metadata:
            continue
        value = getattr(config, spec.name)
        if spec.metadata["parse"] == "duration-range":
            value = f"{value[0]!r}s-{value[1]!r}s"   # repr: exact floats
        elif isinstance(value, tuple):
            value = list(value)
        values[spec.name] = value
    return json.dumps(values)
