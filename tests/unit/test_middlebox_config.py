"""Parsing and validating middlebox settings (YAML values or --set)."""

from __future__ import annotations

import pytest

from natsim.errors import AddressError, ConfigError, DurationError
from natsim.middleboxes import build_config, kinds
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.nat44 import Nat44
from natsim.middleboxes.presets import configure, device, resolve
from natsim.middleboxes.ssh_proxy import SshProxy


def test_registry_knows_every_builtin_kind() -> None:
    assert {"cpe-bridge", "nat", "ssh-proxy"} <= set(kinds())
    # cgn and home-router are device presets of the nat kind, usable wherever a kind is
    assert {name: resolve(name) for name in ("cgn", "home-router")} == {
        "cgn": ("nat", "cgn"), "home-router": ("nat", "home-router")}


def test_defaults_follow_the_incidents() -> None:
    cpe, cgn = CpeBridge(), device("cgn")
    assert cpe.idle_timeout == 3600 and cpe.untracked_outbound is Untracked.DROP
    assert cgn.idle_timeout == 7440 and cgn.transitory_timeout == 240
    assert SshProxy().bypass == (3720, 3840)


def test_values_are_parsed_from_text() -> None:
    config = configure("cgn", {"idle_timeout": "2h", "untracked_inbound": "reset",
                                  "port_preservation": "off", "port_range": "2000-2999"})
    assert isinstance(config, Nat44)
    assert (config.idle_timeout, config.untracked_inbound, config.port_preservation, config.port_range) == \
        (7200, Untracked.RESET, False, (2000, 2999))


def test_unknown_key_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match=r"unknown setting 'cpe.idle_timout' .*did you mean 'idle_timeout'"):
        build_config("cpe-bridge", {"idle_timout": "1h"}, prefix="cpe.")


def test_unknown_kind() -> None:
    with pytest.raises(ConfigError, match="did you mean 'cgn'"):
        configure("cgm", {})


@pytest.mark.parametrize(("values", "error", "text"), [
    ({"idle_timeout": "0s"}, DurationError, "greater than zero"),
    ({"idle_timeout": "soon"}, DurationError, "malformed duration 'soon'"),
    ({"untracked_inbound": "maybe"}, ConfigError, "not one of drop, pickup, reset"),
    ({"pool": "10.0.0.0/24"}, AddressError, "outside the lab ranges"),
    ({"pool": "100.64.0.0/24"}, AddressError, "outside the lab ranges"),
    ({"subscribers": "192.0.2.0/24"}, ConfigError, "outside 100.64.0.0/10"),
    ({"port_range": "70000"}, ConfigError, "1 <= low <= high <= 65535"),
    ({"port_preservation": "perhaps"}, ConfigError, "expected true or false"),
])
def test_bad_cgn_values(values: dict[str, str], error: type[Exception], text: str) -> None:
    with pytest.raises(error, match=text):
        configure("cgn", values, prefix="cgn.")


def test_bridge_cannot_reset() -> None:
    with pytest.raises(ConfigError, match="not possible on a bridge"):
        build_config("cpe-bridge", {"untracked_inbound": "reset"})


def test_ssh_proxy_settings() -> None:
    config = build_config("ssh-proxy", {"ports": "22,2222", "bypass": "2m-3m"})
    assert isinstance(config, SshProxy)
    assert config.ports == (22, 2222) and config.bypass == (120, 180)
    with pytest.raises(ConfigError, match="lower end above"):
        build_config("ssh-proxy", {"bypass": "3m-2m"})
    with pytest.raises(ConfigError, match=r"must start with 'SSH-2\.0-'"):
        build_config("ssh-proxy", {"banner": "hello"})
