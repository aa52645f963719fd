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
from natsim.lab.lab import lab_from_settings
from natsim.probes.labtool import start_server
from natsim.probes.tools import TOOL_COMMAND
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


def cgn_pickup(lab: Lab) -> None:
    """cgn idle 1 min at scale 60, untracked_outbound=pickup: after 1.5 s idle the client's data is
    picked up and re-mapped; after another 1.5 s its FIN is not (conntrack calls a lone mid-stream FIN
    invalid, and an invalid packet is forwarded without NAT: the subscriber address leaks)."""
    server = start_listener(lab, "server", 5005, [["recv"], ["send", "pong"], ["recv"], ["send", "pong2"],
                                                   ["wait_dead", 5]])
    client = run_connector(lab, "client", SERVER, 5005, [
        ["send", "ping"], ["recv"], ["user_timeout", 1500], ["sleep", 1.5], ["send", "late"],
        ["recv", 2.5], ["sleep", 1.5], ["close"]], timeout=30)
    print(client, events(server, 30))


def clean_close(lab: Lab) -> None:
    """A short exchange closed by the client with FIN."""
    server = start_listener(lab, "server", 5003, [["recv"], ["send", "pong"], ["wait_dead", 3]])
    client = run_connector(lab, "client", SERVER, 5003, [["send", "ping"], ["recv"], ["close"]])
    print(client, events(server, 10))


def _start_sshd(lab: Lab, node: str, tmp: Path) -> object:
    """OpenSSH's sshd in ``node`` with a fresh host key; it wants /run/sshd, so it gets a private
    tmpfs /run in a mount namespace of its own (nothing outside the lab changes)."""
    key = tmp / "host_ed25519"
    lab.run(node, ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    sshd = lab.popen(node, [
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        f"mount -t tmpfs natsim-sshd /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e "
        f"-f /dev/null -h {key} -o PidFile=none -p 22"])
    time.sleep(0.5)
    return sshd


def _ssh_attempt(lab: Lab, node: str, server: str) -> None:
    code, out = lab.run(node, ["ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                               "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
                               f"nobody@{server}", "true"], timeout=20)
    print(code, out[-300:])
    time.sleep(0.3)


def ssh_kex(lab: Lab) -> None:
    """OpenSSH client against sshd: banners and both KEXINITs (authentication is refused)."""
    tmp = Path(tempfile.mkdtemp(prefix="natsim-golden-ssh-"))
    try:
        _start_sshd(lab, "server", tmp)
        _ssh_attempt(lab, "client", SERVER)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def pan_proxy_kex(lab: Lab) -> None:
    """OpenSSH client → the intercepting firewall (ssh-proxy daemon) → sshd: two TCP connections,
    the client sees the proxy's banner and key exchange, the proxy offers its own to sshd. The lab
    started the proxy daemon itself (the ssh-proxy middlebox's runtime)."""
    tmp = Path(tempfile.mkdtemp(prefix="natsim-golden-pan-"))
    try:
        _start_sshd(lab, "sshd", tmp)
        _ssh_attempt(lab, "client1", "203.0.113.130")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def udp_cgn_expired(lab: Lab) -> None:
    """udp-recv through a CGN whose UDP flows expire after 2 s (kernel sysctls in the cgn node, scale 1):
    the server's answer after 1 s comes back, the one after 4 s meets no mapping at the CGN, whose own
    stack answers it with ICMP port unreachable."""
    lab.run("cgn", ["sysctl", "-qw", "net.netfilter.nf_conntrack_udp_timeout=2",
                    "net.netfilter.nf_conntrack_udp_timeout_stream=2"], check=True)
    serve = start_server(lab, "server")
    code, out = lab.run("client", [*TOOL_COMMAND, "udp-recv", "--server", SERVER, "--connections", "2",
                                   "--first", "1s", "--step", "3s", "--grace", "1"], timeout=30)
    print(code, out)
    serve.stop()


ISP = "isp-bridge-cgn"
#: case → (topology, {node: settings}, time scale, traffic)
CASES: dict[str, tuple[str, dict[str, dict[str, str]], float, Callable[[Lab], None]]] = {
    "cpe-silent-drop": (ISP, {"cpe": {"idle_timeout": "2m"}}, 60.0, cpe_silent_drop),
    "cpe-keepalive-drop": (ISP, {"cpe": {"idle_timeout": "2m"}}, 60.0, cpe_keepalive_drop),
    "cgn-reset": (ISP, {"cpe": {"idle_timeout": "1d"},
                        "cgn": {"idle_timeout": "2m", "untracked_inbound": "reset"}}, 60.0, cgn_reset),
    "cgn-pickup": (ISP, {"cpe": {"idle_timeout": "1d"},
                         "cgn": {"idle_timeout": "1m", "untracked_outbound": "pickup"}}, 60.0, cgn_pickup),
    "clean-close": (ISP, {}, 1.0, clean_close),
    "ssh-kex": (ISP, {}, 1.0, ssh_kex),
    "pan-proxy-kex": ("dc-ssh-proxy", {"fw": {"ports": "22"}}, 1.0, pan_proxy_kex),
    "udp-cgn-expired": (ISP, {}, 1.0, udp_cgn_expired),
}


def make(name: str, out: Path) -> Path:
    """Run case ``name`` in a fresh lab and capture it into ``out/name``."""
    topology, settings, scale, run = CASES[name]
    directory = out / name
    shutil.rmtree(directory, ignore_errors=True)
    with lab_from_settings(topology, settings, TimeScale(scale)) as lab, \
            Capture(lab, directory, max_packets=300):
        run(lab)
        time.sleep(0.2)
    return directory


if __name__ == "__main__":
    for case in sys.argv[1:] or list(CASES):
        print(case, make(case, GOLDEN))
