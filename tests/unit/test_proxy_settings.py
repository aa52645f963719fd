"""Proxy settings, the bypass draw, the nft element command and the sniffer's decision."""

from __future__ import annotations

import dataclasses
import json

import pytest

from natsim.errors import ConfigError, ProxyError
from natsim.middleboxes.ssh_proxy.config import (
    PAN_BANNER,
    PAN_KEX,
    SshProxy,
    config_json,
    supported_algorithms,
)
from natsim.proxy.bypass import element_command
from natsim.proxy.settings import BypassDuration, ProxySettings
from natsim.proxy.sniff import Kind, classify


def test_defaults_are_the_incident_firewall() -> None:
    settings = ProxySettings.from_json("{}", 60)
    assert settings.config.banner == PAN_BANNER
    assert settings.config.kex == PAN_KEX
    assert settings.server_version == "PaloAltoNetworks_0.2"
    assert settings.intercepts(2222) and settings.intercepts(22)


def test_config_json_round_trips() -> None:
    config = SshProxy(ports=(22, 2222), bypass=(120.0, 180.0), seed=7)
    assert ProxySettings.from_json(config_json(config)).config == config
    every = SshProxy(ports=(2222,), banner="SSH-2.0-Field_1.0", kex=("ecdh-sha2-nistp256",),
                     backend_banner="SSH-2.0-OpenSSH_7.4", backend_host_keys=("rsa-sha2-512",),
                     backend_ciphers=("aes256-cbc", "aes128-ctr"), backend_macs=("hmac-sha1",),
                     backend_compression=("zlib", "none"), backend_ext_info=True, backend_strict_kex=True,
                     bypass=(0.125, 3840.123456789), listen_port=40022, seed=9)
    assert ProxySettings.from_json(config_json(every)).config == every
    assert set(json.loads(config_json(every))) == {f.name for f in dataclasses.fields(SshProxy)}


def test_backend_defaults_are_an_appliance_not_asyncssh() -> None:
    config = ProxySettings.from_json("{}").config
    assert config.banner_to_backend == PAN_BANNER
    assert config.backend_host_keys == ("ssh-rsa", "rsa-sha2-256", "rsa-sha2-512", "ecdsa-sha2-nistp256",
                                        "ssh-ed25519")
    assert config.backend_ciphers == ("aes128-ctr", "aes192-ctr", "aes256-ctr")
    assert config.backend_macs == ("hmac-sha2-256", "hmac-sha2-512", "hmac-sha1")
    assert config.backend_compression == ("none",)
    assert not config.backend_ext_info and not config.backend_strict_kex
    assert ProxySettings.from_json('{"backend_banner": "SSH-2.0-X"}').config.banner_to_backend == "SSH-2.0-X"


@pytest.mark.parametrize(("values", "message"), [
    ({"backend_ciphers": "aes128-ctr,aes256-ctx"},
     r"ssh-proxy\.backend_ciphers: 'aes256-ctx' is not supported by the proxy "
     r"\(did you mean 'aes256-ctr'\?\)"),
    ({"backend_macs": []}, r"ssh-proxy\.backend_macs: at least one algorithm is needed"),
    ({"backend_host_keys": ""}, r"ssh-proxy\.backend_host_keys: at least one algorithm is needed"),
    ({"backend_compression": "none,zstd"}, r"ssh-proxy\.backend_compression: 'zstd' is not supported"),
    ({"kex": "diffie-hellman-group-exchange-sha256,ext-info-c"},
     r"ssh-proxy\.kex: 'ext-info-c' is not an algorithm but an extension marker; "
     r"set ssh-proxy\.backend_ext_info: true instead"),
    ({"kex": ["kex-strict-c-v00@openssh.com"]}, r"set ssh-proxy\.backend_strict_kex: true"),
    ({"kex": "gss-gex-sha256"}, r"ssh-proxy\.kex: 'gss-gex-sha256' is not supported"),
    ({"kex": []}, r"ssh-proxy\.kex: at least one algorithm is needed"),
    ({"backend_ciphers": "aes128-ctr,aes128-ctr"},
     r"ssh-proxy\.backend_ciphers: 'aes128-ctr' is listed twice"),
    ({"backend_banner": "OpenSSH_7.4"}, r"ssh-proxy\.backend_banner: must start with 'SSH-2\.0-'"),
    ({"backend_banner": "SSH-2.0-" + "x" * 250}, r"ssh-proxy\.backend_banner: must be printable ASCII"),
    ({"banner": "SSH-2.0-caf\u00e9"}, r"ssh-proxy\.banner: must be printable ASCII"),
    ({"backend_ext_info": "maybe"}, r"ssh-proxy\.backend_ext_info: expected true or false"),
])
def test_backend_settings_are_validated(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ProxySettings.from_json(json.dumps(values))


def test_every_supported_name_is_one_asyncssh_negotiates() -> None:
    """The validation's lists are asyncssh's own; markers and GSS key exchanges are not among them."""
    supported = supported_algorithms()
    assert set(supported) == {"kex", "backend_host_keys", "backend_ciphers", "backend_macs",
                              "backend_compression"}
    assert "ext-info-c" not in supported["kex"] and not any(k.startswith("gss-") for k in supported["kex"])
    assert {"diffie-hellman-group-exchange-sha1", "curve25519-sha256"} <= set(supported["kex"])
    assert "zlib@openssh.com" in supported["backend_compression"]
    for name in ("kex", "backend_host_keys", "backend_ciphers", "backend_macs", "backend_compression"):
        assert set(getattr(SshProxy(), name)) <= set(supported[name]), name


def test_bypass_draws_are_uniform_in_range_scaled_and_seeded() -> None:
    settings = ProxySettings.from_json('{"bypass": "3720s-3840s", "seed": 3}', 60)
    draws = [BypassDuration(settings).draw() for _ in range(2)]
    assert draws[0] == draws[1]  # same seed, same first draw
    many = [BypassDuration(settings)]
    values = [many[0].draw() for _ in range(500)]
    assert all(3720 <= real <= 3840 for real, _ in values)
    assert all(62000 <= ms <= 64000 for _, ms in values)
    assert all(abs(ms - real / 60 * 1000) <= 0.5 for real, ms in values)
    assert min(r for r, _ in values) < 3735 and max(r for r, _ in values) > 3825


@pytest.mark.parametrize("text", ["[1]", "{bad", '{"bypass": "10s"}', '{"nope": 1}'])
def test_bad_config_is_refused(text: str) -> None:
    with pytest.raises((ProxyError, ConfigError)):
        ProxySettings.from_json(text)


def test_element_command_uses_milliseconds() -> None:
    assert element_command("192.0.2.10", "203.0.113.20", 2222, 62570) == [
        "nft", "add", "element", "inet", "natsim", "bypass",
        "{ 192.0.2.10 . 203.0.113.20 . 2222 timeout 62570ms }"]


@pytest.mark.parametrize(("prefix", "kind"), [
    (b"SSH-2.0-Go", Kind.SSH), (b"SSH-", Kind.SSH), (b"SS", None), (b"", None),
    (b"GET /", Kind.OTHER), (b"S\x00", Kind.OTHER), (b"\x16\x03\x01", Kind.OTHER)])
def test_classify(prefix: bytes, kind: Kind | None) -> None:
    assert classify(prefix) is kind
