"""ssh-idle through the ISP incident's CPE (bridge, 1 h idle timeout) at time scale 60."""

from __future__ import annotations

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

pytestmark = pytest.mark.natsim_netns

#: The incident's modem: forgets after 1 h, drops unknown outbound, picks up unknown inbound.
CPE = CpeBridge(idle_timeout=3600.0, untracked_outbound=Untracked.DROP, untracked_inbound=Untracked.PICKUP)


def test_ssh_idle_variants_through_the_cpe(tmp_path: Path) -> None:
    workdir = tmp_path / "client"
    client = OpenSshClient(workdir)
    with Lab("isp-bridge-cgn", {"cpe": CPE}, time_scale=TimeScale(60)) as lab:
        notes = scale_os_keepalive(lab, "client")        # OS default 7200 s -> 120 s
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
    assert result.extra["time_scale"] == 60
