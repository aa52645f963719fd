"""Real WireGuard tunnels between two lab nodes (``wireguard-go``, userspace: the kernel has no
``wireguard`` link type), one per rung of a ``wireguard`` probe.

The server node runs one interface (``wgNs``, UDP 51820+100N) with a peer per rung; the client node
runs one interface per rung (``wgNcI``, UDP 51821+100N+I: its own outer 5-tuple, so its own NAT
mapping). N is the probe's slot (several wireguard probes share a node pair). Rung I of slot N is
``100.127.R.0/30`` inside the tunnel, R = 32N + I (server ``.1``, client ``.2``; 100.64.0.0/10, a lab
range). Each ``wireguard-go`` runs in a mount namespace of its own with a private ``/run`` (its control
socket lives in ``/run/wireguard``): nothing outside the lab changes and two labs never meet. Keys are
made per run by ``wg genkey`` into the run's private work directory. Every process is started with the
lab's ``popen``, so the lab stops it (and the interface goes with it).

WireGuard's own timers (passive keepalive 10 s, handshake retry 5 s, rekey 120 s) are wall-clock: a
lab cannot scale them. PersistentKeepalive is whole seconds and is scaled like a kernel timer.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from natsim.errors import ProbeError
from natsim.labview import NodeProcess, RunningLab, cover_run
from natsim.outfiles import open_new
from natsim.paths import inside

SERVER_PORT = 51820
CLIENT_PORT_BASE = 51821
#: Ports of one slot are 100 apart; a slot holds at most this many tunnels (8 slots fit 100.127/16).
SLOT_PORTS = 100
SLOT_TUNNELS = 32
MAX_SLOTS = 8
#: Waiting for every wireguard-go to be configured and up (wall seconds).
READY_TIMEOUT = 15.0

_SCRIPT = r"""
set -e
eval "$3"
mkdir -p /run/wireguard
WG_PROCESS_FOREGROUND=1 wireguard-go -f "$1" &
GO=$!
n=0
while [ ! -S "/run/wireguard/$1.sock" ]; do
  kill -0 "$GO" 2>/dev/null || { echo "wireguard-go exited"; exit 1; }
  n=$((n + 1)); [ "$n" -lt 200 ] || { echo "no control socket for $1"; kill "$GO"; exit 1; }
  sleep 0.05
done
eval "$2"
ip link set "$1" up
echo READY
wait "$GO"
"""


def tunnel_addresses(rung: int, slot: int = 0) -> tuple[str, str]:
    """(server, client) addresses inside the tunnel of rung ``rung`` of slot ``slot``."""
    net = slot * SLOT_TUNNELS + rung
    return f"100.127.{net}.1", f"100.127.{net}.2"


def server_port(slot: int) -> int:
    """The server's WireGuard port for slot ``slot``."""
    return SERVER_PORT + SLOT_PORTS * slot


#: The device wireguard-go makes its interface with.
TUN = Path("/dev/net/tun")


def wireguard_version() -> str:
    """``wireguard-go v0.0.20220316`` (the binary nodes run); :class:`ProbeError` when it or ``wg`` is
    missing (``make packages`` installs both) or this process may not open :data:`TUN`."""
    missing = [tool for tool in ("wireguard-go", "wg") if shutil.which(tool) is None]
    if missing:
        raise ProbeError(f"{' and '.join(missing)} not installed: the wireguard probe runs real WireGuard "
                         "(apt install wireguard-go wireguard-tools; sudo make packages does)")
    if not os.access(TUN, os.R_OK | os.W_OK):
        mode = f"mode {TUN.stat().st_mode & 0o777:04o}" if TUN.exists() else "missing"
        raise ProbeError(f"the wireguard probe needs {TUN} (here: {mode}, not open to natsim); Debian "
                         "makes it 0666, which a rootless lab needs; or run natsim as root")
    out = subprocess.run(["wireguard-go", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else "wireguard-go"


@dataclass(frozen=True)
class KeyPair:
    """A WireGuard key pair: the private key's file and the public key."""

    private: Path
    public: str


def keypair(directory: Path, name: str) -> KeyPair:
    """A new key pair, the private key in ``directory/NAME.key`` (mode 0600)."""
    private = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout.strip()
    public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True,
                            check=True).stdout.strip()
    path = inside(directory, f"{name}.key")
    with open_new(path, mode=0o600) as out:
        out.write(private.encode() + b"\n")
    return KeyPair(path, public)


def _configure(interface: str, port: int, key: KeyPair, peers: list[str], addresses: list[str]) -> str:
    commands = [f"wg set {interface} listen-port {port} private-key {shlex.quote(str(key.private))}"]
    commands += [f"wg set {interface} {peer}" for peer in peers]
    commands += [f"ip addr add {address} dev {interface}" for address in addresses]
    return "\n".join(commands)


def _start(lab: RunningLab, node: str, interface: str, config: str, log: Path) -> NodeProcess:
    """wireguard-go in a mount namespace of its own whose private ``/run`` keeps the keys' directory
    (``log``'s, the run's work directory) visible."""
    cover = "\n".join(cover_run("natsim-wg", log.parent))
    with open_new(log) as out:
        return lab.popen(node, ["unshare", "--mount", "--propagation", "private", "sh", "-c", _SCRIPT,
                                "natsim-wg", interface, config, cover], stdout=out, stderr=subprocess.STDOUT)


def start_tunnels(lab: RunningLab, client: str, server: str, rungs: int, keepalive: int, workdir: Path, *,
                  slot: int = 0) -> list[NodeProcess]:
    """Set up ``rungs`` tunnels from ``client`` to ``server`` in slot ``slot`` (``keepalive``: the
    client peers' PersistentKeepalive in lab seconds, 0 off); return once every interface is up."""
    if not 0 <= slot < MAX_SLOTS:
        raise ProbeError(f"at most {MAX_SLOTS} wireguard probes per server node")
    server_key = keypair(workdir, f"wg{slot}-{server}")
    client_keys = [keypair(workdir, f"wg{slot}-{client}-{i}") for i in range(rungs)]
    endpoint = f"{lab.address(server)}:{server_port(slot)}"
    peers = [f"peer {key.public} allowed-ips {tunnel_addresses(i, slot)[1]}/32"
             for i, key in enumerate(client_keys)]
    addresses = [f"{tunnel_addresses(i, slot)[0]}/30" for i in range(rungs)]
    logs = [inside(workdir, f"wg{slot}-{server}.log")]
    interface = f"wg{slot}s"
    config = _configure(interface, server_port(slot), server_key, peers, addresses)
    procs = [_start(lab, server, interface, config, logs[0])]
    # The server first: a client peer with PersistentKeepalive sends its handshake initiation as soon as
    # it is configured, and one that reaches a server not yet configured is lost; WireGuard retries only
    # after REKEY_TIMEOUT (5 wall seconds, unscaled), which delayed a loaded lab's tunnel by 5 s.
    _wait_ready(procs, logs)
    for i, key in enumerate(client_keys):
        interface = f"wg{slot}c{i}"
        peer = (f"peer {server_key.public} allowed-ips {tunnel_addresses(i, slot)[0]}/32 endpoint {endpoint} "
                f"persistent-keepalive {keepalive or 'off'}")
        config = _configure(interface, CLIENT_PORT_BASE + SLOT_PORTS * slot + i, key, [peer],
                            [f"{tunnel_addresses(i, slot)[1]}/30"])
        logs.append(inside(workdir, f"wg{slot}-{client}-{i}.log"))
        procs.append(_start(lab, client, interface, config, logs[-1]))
    try:
        _wait_ready(procs[1:], logs[1:])
    except ProbeError:
        procs[0].stop()
        raise
    return procs


def _wait_ready(procs: list[NodeProcess], logs: list[Path]) -> None:
    """Return once each of ``procs`` wrote READY in its log; else stop them all and raise
    :class:`ProbeError` naming the first that exited or was not ready within :data:`READY_TIMEOUT`."""
    give_up = time.monotonic() + READY_TIMEOUT
    pending = set(range(len(procs)))
    while pending:
        for i in sorted(pending):
            if "READY" in logs[i].read_text(errors="replace"):
                pending.discard(i)
            elif procs[i].popen.poll() is not None or time.monotonic() > give_up:
                for proc in procs:
                    proc.stop()
                tail = logs[i].read_text(errors="replace")[-400:].strip()
                raise ProbeError(f"WireGuard {logs[i].stem} did not come up: {tail or 'no output'}")
        time.sleep(0.05)
