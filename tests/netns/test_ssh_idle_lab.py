"""ssh-idle through the ISP incident's CPE (bridge, 1 h idle timeout): the three default sessions at
time scale 120, ssh-idle's highest exact scale (IDLE_LIMIT: the short ssh-idle-serveralive scenario runs
the same three there), the trust tests' scenarios at 60."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.lab import Lab
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.probes.ssh.labrun import run_ssh_probe, scale_os_keepalive
from natsim.probes.ssh.openssh import OpenSshClient
from natsim.probes.ssh.sshd import openssh_server
from natsim.report.schema import Verdict
from natsim.units import TimeScale
from tests.rootstate import differences, snapshot

pytestmark = pytest.mark.natsim_netns

#: The incident's modem: forgets after 1 h, drops unknown outbound, picks up unknown inbound.
CPE = CpeBridge(idle_timeout=3600.0, untracked_outbound=Untracked.DROP, untracked_inbound=Untracked.PICKUP)
#: The default sessions' scale: 2 h 20 min in 70 s (at 60 it took 140 s for the same verdicts).
SCALE = 120


def test_ssh_idle_variants_through_the_cpe(tmp_path: Path) -> None:
    workdir = tmp_path / "client"
    client = OpenSshClient(workdir)
    with Lab("isp-bridge-cgn", {"cpe": CPE}, time_scale=TimeScale(SCALE)) as lab:
        notes = scale_os_keepalive(lab, "client")        # OS default 7200 s -> 60 s
        assert any("tcp_keepalive_intvl" in n for n in notes)  # 75 s -> 1 s is rounded, and said so
        with openssh_server(lab, "server", authorized_keys=[client.public_key()]):
            result = run_ssh_probe(lab, "client", "ssh-idle",
                                   ["--target", "203.0.113.10:22", "--workdir", str(workdir)], timeout=240)
    rows = {c.detail.split(":")[0]: c for c in result.connections}
    assert set(rows) == {"idle-61m", "serveralive-300", "tcpkeepalive-only"}
    plain, alive, keepalive = rows["idle-61m"], rows["serveralive-300"], rows["tcpkeepalive-only"]
    assert plain.verdict is Verdict.DEAD and plain.how == "read"       # the CPE dropped the line
    assert alive.verdict is Verdict.ALIVE                              # survived 2 h
    assert keepalive.verdict is not Verdict.ALIVE                      # 7200 s keepalive is too late
    assert keepalive.how in ("idle", "read")
    assert result.extra["time_scale"] == SCALE


NATSIM = [sys.executable, "-m", "natsim.cli"]
#: What the adversarial review ran: shell code as root through an ssh option, reaching the root namespace.
PAYLOAD = "sh -c 'touch {marker}; nsenter --net=/proc/1/ns/net nft add table inet natsim_pwn'"


def _scenario(path: Path, variants: list[str]) -> Path:
    lines = ["topology: isp-bridge-cgn", "time_scale: 60", "captures: false", "middleboxes:",
             "  cpe: {idle_timeout: 1h, untracked_outbound: drop, untracked_inbound: pickup}", "probes:",
             "  - name: sessions", "    kind: ssh-idle", "    options:", "      variants:"]
    path.write_text("\n".join([*lines, *(f"        - {json.dumps(v)}" for v in variants)]) + "\n")
    return path


def test_a_variant_running_code_is_refused_without_trust(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    scenario = _scenario(tmp_path / "s.yaml", [f"x=1m,ProxyCommand={PAYLOAD.format(marker=marker)}"])
    before = snapshot()
    done = subprocess.run([*NATSIM, "run", str(scenario), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.startswith(f"natsim: error: {scenario}:11:11: this scenario runs its own code")
    assert ("probe 'sessions' (ssh-idle) runs as root, inside lab node client: ssh -o 'ProxyCommand="
            in done.stderr)
    assert differences(before, snapshot()) == []
    assert not marker.exists() and not (tmp_path / "out").exists()


def test_trusted_options_reach_ssh_and_allow_listed_ones_any_case(tmp_path: Path) -> None:
    """With --trust a LocalCommand runs (in the client node, as root); an allow-listed option in lower
    case is spelt for ssh as its manual spells it and scaled (60 s -> 1 s)."""
    marker = tmp_path / "local-command-ran"
    local = f"local=1m,PermitLocalCommand=yes,LocalCommand=touch {marker}"
    scenario = _scenario(tmp_path / "s.yaml", ["safe=2m,serveraliveinterval=60,tcpkeepalive=no", local])
    before = snapshot()
    done = subprocess.run([*NATSIM, "-q", "run", str(scenario), "--out", str(tmp_path / "out"), "--trust"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert differences(before, snapshot()) == []
    assert marker.exists()
    result = json.loads((tmp_path / "out" / "result.json").read_text())["probes"][0]
    assert [c["verdict"] for c in result["connections"]] == ["alive", "alive"]
    assert result["extra"]["variants"][0]["options"] == {"ServerAliveInterval": "60", "TCPKeepAlive": "no"}
