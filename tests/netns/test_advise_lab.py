"""``natsim advise --verify``: the advice checked in a lab (a keepalive after the advised idle is
answered, one a lab second past the binding timeout fails), for an AWS NLB preset."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.natsim_netns


def test_advise_verify_checks_the_advice_in_the_lab(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "natsim.cli", "advise", "aws-nlb-350s", "--app", "openssh",
                           "--verify", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "openssh: ServerAliveInterval 349" in done.stdout
    assert "  lab: the same, measured" in done.stdout
    assert (tmp_path / "out" / "result.json").exists()


@pytest.mark.parametrize(("scenario", "line", "binding"), [
    ("wireguard-cgn-udp-30s", "PersistentKeepalive = 29", "binding: cpe, cgn at 30s"),   # real WireGuard, x1
    ("cloud-nat-udp", "PersistentKeepalive = 29", "binding: router at 30s"),    # GCP Cloud NAT's 30 s, x10
])
def test_advise_verify_checks_a_wireguard_keepalive_in_the_lab(tmp_path: Path, scenario: str, line: str,
                                                               binding: str) -> None:
    """The advised PersistentKeepalive keeps the tunnel's mapping: the answer after the chosen idle comes
    through real WireGuard; with two lab seconds past the binding UDP timer it is lost."""
    done = subprocess.run([sys.executable, "-m", "natsim.cli", "advise", scenario, "--app", "wireguard",
                           "--verify", "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"wireguard: {line}" in done.stdout and binding in done.stdout
    assert "  lab: the same, measured" in done.stdout
