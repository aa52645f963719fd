"""Regenerate the golden pcaps under ``tests/golden/pcaps/`` (needs root).

Run ``sudo .venv/bin/python -m tests.golden.make_pcaps [CASE...]``.

Each case is a lab run with a known cause, captured by :class:`natsim.lab.capture.Capture`.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from natsim.lab import Lab
from natsim.lab.capture import Capture
from natsim.middleboxes.base import Untracked
from natsim.middleboxes.cgn import Cgn
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.units import TimeScale
from tests.lab_traffic import events, run_connector, start_listener

SERVER = "203.0.113.10"
GOLDEN = Path(__file__).with_name("pcaps")


def cpe_silent_drop(lab: Lab) -> None:
    """cpe idle 2 min at scale 60 (2 s): a keepalive and a later data segment die at the CPE."""
    server = start_listener(lab, "server", 5001, [["recv"], ["send", "pong"], ["wait_dead", 8]])
    client = run_connector(lab, "client", SERVER, 5001, [
        ["send", "ping"], ["recv"], ["keepalive", 3, 1, 1], ["user_timeout", 1500],
        ["sleep", 2.5], ["send", "late data"], ["wait_dead", 6]], timeout=30)
    print(client, events(server, 30))


def cpe_keepalive_drop(lab: Lab) -> None:
    """cpe idle 2 min at scale 60 (2 s): keepalive probes after 3 s idle die at the CPE."""
    server = start_listener(lab, "server", 5004, [["recv"], ["send", "pong"], ["wait_dead", 6]])
    client = run_connector(lab, "client", SERVER, 5004, [
        ["send", "ping"], ["recv"], ["keepalive", 3, 1, 2], ["wait_dead", 8]], timeout=30)
    print(client, events(server, 30))


def cgn_reset(lab: Lab) -> None:
    """cgn idle 2 min at scale 60 with untracked_inbound=reset: the server's late data meets a RST."""
    server = start_listener(lab, "server", 5002, [["recv"], ["send", "pong"], ["sleep", 3],
                                                   ["send", "late"], ["wait_dead", 3]])
    client = run_connector(lab, "client", SERVER, 5002, [["send", "ping"], ["recv"], ["wait_dead", 5]],
                           timeout=30)
    print(client, events(server, 30))


def clean_close(lab: Lab) -> None:
    """A short exchange closed by the client with FIN."""
    server = start_listener(lab, "server", 5003, [["recv"], ["send", "pong"], ["wait_dead", 3]])
    client = run_connector(lab, "client", SERVER, 5003, [["send", "ping"], ["recv"], ["close"]])
    print(client, events(server, 10))


def ssh_kex(lab: Lab) -> None:
    """OpenSSH client against sshd: banners and both KEXINITs (authentication is refused)."""
    tmp = Path(tempfile.mkdtemp(prefix="natsim-golden-ssh-"))
    try:
        key = tmp / "host_ed25519"
        lab.run("server", ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        # sshd wants /run/sshd: give it a private tmpfs /run in a mount namespace of its own
        sshd = lab.popen("server", [
            "unshare", "--mount", "--propagation", "private", "sh", "-c",
            f"mount -t tmpfs natsim-sshd /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e "
            f"-f /dev/null -h {key} -o PidFile=none -p 22"])
        time.sleep(0.5)
        code, out = lab.run("client", ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                                       "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                                       f"nobody@{SERVER}", "true"], timeout=20)
        print(code, out[-300:])
        time.sleep(0.3)
        sshd.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


CASES: dict[str, tuple[dict[str, object], float, Callable[[Lab], None]]] = {
    "cpe-silent-drop": ({"cpe": CpeBridge(idle_timeout=120.0)}, 60.0, cpe_silent_drop),
    "cpe-keepalive-drop": ({"cpe": CpeBridge(idle_timeout=120.0)}, 60.0, cpe_keepalive_drop),
    "cgn-reset": ({"cpe": CpeBridge(idle_timeout=86400.0),
                   "cgn": Cgn(idle_timeout=120.0, untracked_inbound=Untracked.RESET)}, 60.0, cgn_reset),
    "clean-close": ({}, 1.0, clean_close),
    "ssh-kex": ({}, 1.0, ssh_kex),
}


def make(name: str, out: Path) -> Path:
    """Run case ``name`` in a fresh lab and capture it into ``out/name``."""
    middleboxes, scale, run = CASES[name]
    directory = out / name
    shutil.rmtree(directory, ignore_errors=True)
    with Lab("isp-bridge-cgn", middleboxes, time_scale=TimeScale(scale)) as lab,  \
            Capture(lab, directory, max_packets=200):
        run(lab)
        time.sleep(0.2)
    return directory


if __name__ == "__main__":
    for case in sys.argv[1:] or list(CASES):
        print(case, make(case, GOLDEN))
