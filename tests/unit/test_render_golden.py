"""Golden files of every middlebox render (no root needed).

Regenerate after an intended change with ``NATSIM_UPDATE_GOLDEN=1 pytest tests/unit/test_render_golden.py``
and review the diff.
"""

from __future__ import annotations

import builtins
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.middleboxes import render
from natsim.middleboxes.base import Middlebox, RenderContext
from natsim.middleboxes.presets import configure
from natsim.units import TimeScale

GOLDEN = Path(__file__).parents[1] / "golden" / "render"
CASES = {
    "cpe-bridge-default-x60": ("cpe-bridge", {}, ("cpe-eth0",), ("cpe-eth1",), 60),
    "cpe-bridge-pickup-in": ("cpe-bridge", {"untracked_inbound": "pickup"}, ("cpe-eth0",), ("cpe-eth1",), 60),
    "cgn-default-x60": ("cgn", {}, ("cgn-eth0",), ("cgn-eth1",), 60),
    "cgn-loose-reset-random": ("cgn", {"untracked_outbound": "pickup", "untracked_inbound": "reset",
                                       "port_preservation": "false", "pool": "192.0.2.8/29"},
                               ("cgn-eth0",), ("cgn-eth1",), 1),
    "cgn-ports-per-subscriber": ("cgn", {"ports_per_subscriber": "32", "subscribers": "100.64.1.0/24"},
                                 ("cgn-eth0",), ("cgn-eth1",), 1),
    "home-router-default": ("home-router", {"idle_timeout": "1d"}, ("router-eth0",), ("router-eth1",), 1),
    "ssh-proxy-default-x60": ("ssh-proxy", {}, ("fw-eth0", "fw-eth1"), ("fw-eth2", "fw-eth3"), 60),
    "ssh-proxy-ports": ("ssh-proxy", {"ports": "22,2222"}, ("fw-eth0",), ("fw-eth2",), 1),
    "firewall-default-x60": ("firewall", {}, ("fw-eth0",), ("fw-eth1",), 60),
    "firewall-reset-out-pickup-in": ("firewall", {"idle_timeout": "10m", "transitory_timeout": "1m",
                                                  "untracked_outbound": "reset",
                                                  "untracked_inbound": "pickup"},
                                     ("fw-eth0",), ("fw-eth1",), 1),
    "load-balancer-default-x60": ("load-balancer", {}, ("lb-eth0",), ("lb-eth1", "lb-eth2"), 60),
    "load-balancer-reset-next-ports": ("load-balancer", {"idle_timeout": "350s",
                                                         "expired": "reset-next-packet", "ports": "80,443",
                                                         "backends": ["203.0.113.10"]},
                                       ("lb-eth0",), ("lb-eth1",), 1),
    "load-balancer-reset-both-x60": ("load-balancer", {"idle_timeout": "4m",
                                                       "expired": "reset-both-at-expiry",
                                                       "backends": ["203.0.113.10", "203.0.113.130",
                                                                    "203.0.113.140"]},
                                     ("lb-eth0",), ("lb-eth1", "lb-eth2"), 60),
}
#: The generic NAT: every mapping x filtering pair, then every other behaviour on its own.
NAT_PLACE = (("router-eth0", "router-eth2"), ("router-eth1",))
DEPENDENCE = {"ei": "endpoint-independent", "ad": "address-dependent", "apd": "address-and-port-dependent"}
CASES.update({f"nat-{m}m-{f}f": ("nat", {"mapping": DEPENDENCE[m], "filtering": DEPENDENCE[f]},
                                  *NAT_PLACE, 30) for m in DEPENDENCE for f in DEPENDENCE})
CASES.update({
    "nat-hairpinning": ("nat", {"hairpinning": "true"}, *NAT_PLACE, 30),
    "nat-hairpinning-adm": ("nat", {"hairpinning": "true", "mapping": "address-dependent"}, *NAT_PLACE, 30),
    "nat-refresh-outbound": ("nat", {"refresh": "outbound", "udp_timeout": "2m"}, *NAT_PLACE, 30),
    "nat-refresh-inbound": ("nat", {"refresh": "inbound", "udp_stream_timeout": "5m"}, *NAT_PLACE, 30),
    "nat-silent": ("nat", {"udp_refused": "silent"}, *NAT_PLACE, 30),
    "nat-no-overloading": ("nat", {"port_overloading": "false"}, *NAT_PLACE, 30),
    "nat-symmetric-random": ("nat", {"mapping": "address-and-port-dependent", "port_preservation": "false"},
                             *NAT_PLACE, 30),
    "nat-eim-random": ("nat", {"port_preservation": "false"}, *NAT_PLACE, 30),
    "cgn-full-cone-pool": ("cgn", {"filtering": "endpoint-independent", "hairpinning": "true",
                                   "pool": "192.0.2.8/29", "port_range": "20000-29999"},
                           ("cgn-eth0",), ("cgn-eth1",), 60),
})


def case_config(case: str) -> Middlebox:
    """The case's config: of a kind, or of a device preset such as ``cgn`` (a preset of ``nat``)."""
    kind, values, *_ = CASES[case]
    return configure(kind, values)


def render_text(case: str, config: Middlebox | None = None) -> str:
    kind, values, inside, outside, scale = CASES[case]
    rendered = render(config or case_config(case), RenderContext(node=kind, inside=inside, outside=outside,
                                                                 time_scale=TimeScale(scale)))
    meta = {"sysctls": dict(rendered.sysctls), "commands": [list(c) for c in rendered.commands]}
    return f"# {kind} {values} x{scale}\n# {json.dumps(meta, sort_keys=True)}\n{rendered.nft}"


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_golden(case: str) -> None:
    path = GOLDEN / f"{case}.nft"
    text = render_text(case)
    if os.environ.get("NATSIM_UPDATE_GOLDEN"):
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with NATSIM_UPDATE_GOLDEN=1"
    assert text == path.read_text()


def test_render_is_pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A render reads nothing and runs nothing: with files, processes and sockets refused it still gives
    exactly the golden text, and its config is unchanged."""
    configs = {case: case_config(case) for case in CASES}
    golden = {case: (GOLDEN / f"{case}.nft").read_text() for case in CASES}

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a render did I/O: {args!r}")

    for module, name in ((builtins, "open"), (io, "open"), (os, "open"), (os, "system"), (subprocess, "run"),
                         (subprocess, "Popen"), (socket, "socket")):
        monkeypatch.setattr(module, name, refuse)
    for case, config in configs.items():
        assert render_text(case, config) == golden[case]
    monkeypatch.undo()
    assert configs == {case: case_config(case) for case in CASES}


def test_render_does_not_depend_on_the_process() -> None:
    """The same text in fresh interpreters with different hash seeds (set and dict order)."""
    script = ("from tests.unit.test_render_golden import CASES, render_text\n"
              "print('\\n'.join(render_text(c) for c in sorted(CASES)))")
    outputs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}, cwd=Path(__file__).parents[2],
                              timeout=60).stdout for seed in ("1", "2")}
    assert outputs == {"\n".join(render_text(c) for c in sorted(CASES)) + "\n"}


def test_scaled_timeout_appears_in_the_ruleset() -> None:
    assert "established: 60" in render_text("cpe-bridge-default-x60")
    assert "established: 124" in render_text("cgn-default-x60")
