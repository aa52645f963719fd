"""Proxy settings, the bypass draw, the nft element command and the sniffer's decision."""

from __future__ import annotations

import pytest

from natsim.errors import ConfigError, ProxyError
from natsim.middleboxes.ssh_proxy import PAN_BANNER, PAN_KEX, SshProxy
from natsim.proxy.bypass import element_command
from natsim.proxy.settings import BypassDuration, ProxySettings, config_json
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
