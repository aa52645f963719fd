"""Packet captures of a running lab: one pcap per link, on both sides of every middlebox.

``with Capture(lab, "out/run1"):`` starts ``tcpdump -U -w -`` on one end of every lab link (the
middlebox end when there is one), each through :meth:`Lab.popen` so a crashed run's tcpdumps are
removed with the lab. tcpdump never opens a path: it writes to its stdout, a file natsim created in
the capture directory without following links (:mod:`natsim.outfiles`), so it needs no privilege to
write it (no ``-Z root``; only without root, in natsim's own user namespace, where tcpdump's user has no
id, ``-Z root`` keeps it the namespace's one user: :func:`drop_to`).
It returns only once every tcpdump reports it is listening, so traffic sent
afterwards is captured. On exit natsim waits until each tcpdump has read every packet its link
carried (it sleeps waiting for more), then each gets SIGTERM, flushes and closes its file (readable by
Wireshark, tshark and scapy), and ``capture.json`` records the links, the middleboxes each pcap
flanks, the node addresses and whether a capture was cut at its packet limit.

A veth pair carries the same packets at both ends, so one capture per link sees both sides of the
middleboxes it joins: ``cpe-eth1.pcap`` is the CPE's outside and the CGN's inside.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import subprocess
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from natsim.errors import LabError
from natsim.lab.lab import Lab, LabProcess
from natsim.lab.topology import ROLES_PLAIN
from natsim.outfiles import OutputDir
from natsim.privileges import maps_uid

MANIFEST = "capture.json"
#: The user tcpdump drops to by default (Debian builds it with --with-user=tcpdump).
TCPDUMP_USER = "tcpdump"
#: Default packet limit per link; a capture that reaches it is marked ``cut``.
DEFAULT_MAX_PACKETS = 20000
#: Default snapshot length: enough for whole SSH key-exchange packets.
DEFAULT_SNAPLEN = 4096


class CaptureError(LabError):
    """A capture could not start or did not finish cleanly."""


@dataclass(frozen=True)
class LinkPoint:
    """Where one link is captured: ``iface`` on ``node``, whose peer is ``peer_iface`` on ``peer``."""

    link: str
    node: str
    iface: str
    peer: str
    peer_iface: str

    @property
    def file(self) -> str:
        """The pcap file name (``cpe-eth0.pcap``)."""
        return f"{self.link}.pcap"


@dataclass
class LinkCapture:
    """The outcome of one link's capture."""

    point: LinkPoint
    packets: int = 0
    dropped_by_kernel: int = 0
    cut: bool = False
    note: str = ""


@dataclass
class CaptureSummary:
    """What ``capture.json`` holds."""

    lab_id: str
    topology: str
    time_scale: float
    max_packets: int
    snaplen: int
    links: list[LinkCapture] = field(default_factory=list)
    middleboxes: dict[str, dict[str, Any]] = field(default_factory=dict)
    addresses: dict[str, list[str]] = field(default_factory=dict)
    path: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        for link in data["links"]:
            link.update(link.pop("point"))
            link["file"] = f"{link['link']}.pcap"
        return data


def link_points(lab: Lab) -> list[LinkPoint]:
    """One capture point per link, on the middlebox end when either end is a middlebox."""
    points = []
    for link in lab.net.links:
        a, b = link.intf1, link.intf2
        if lab.specs[a.node.name].role in ROLES_PLAIN and lab.specs[b.node.name].role not in ROLES_PLAIN:
            a, b = b, a
        points.append(LinkPoint(link=a.name, node=a.node.name, iface=a.name, peer=b.node.name,
                                peer_iface=b.name))
    return points


def chain_path(points: list[LinkPoint]) -> list[str]:
    """The nodes in order when the links form one chain (``client … server``), else ``[]``."""
    neighbours: dict[str, list[str]] = {}
    for p in points:
        neighbours.setdefault(p.node, []).append(p.peer)
        neighbours.setdefault(p.peer, []).append(p.node)
    ends = sorted(n for n, peers in neighbours.items() if len(peers) == 1)
    if len(ends) != 2 or any(len(peers) > 2 for peers in neighbours.values()):
        return []
    path, previous = [ends[0]], ""
    while len(path) < len(neighbours):
        step = [n for n in neighbours[path[-1]] if n != previous]
        if not step:
            return []
        previous = path[-1]
        path.append(step[0])
    return path


class _Tcpdump:
    """One tcpdump process and a thread collecting its stderr."""

    def __init__(self, proc: LabProcess) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.listening = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        stream = self.proc.popen.stderr
        assert stream is not None
        for raw in stream:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if "listening on" in line:
                self.listening.set()

    def stats(self) -> tuple[int, int]:
        """(packets captured, packets dropped by kernel) from tcpdump's closing report."""
        captured = dropped = 0
        for line in self.lines:
            words = line.split()
            if len(words) >= 2 and words[0].isdigit():
                if "captured" in line:
                    captured = int(words[0])
                elif "dropped by kernel" in line:
                    dropped = int(words[0])
        return captured, dropped


class Capture:
    """Per-link packet captures of a lab, as a context manager.

    ``directory`` (a path, made when missing, or an open :class:`~natsim.outfiles.OutputDir`) gets
    the pcaps as ``<link>.pcap`` and ``capture.json``, never through a link.
    ``max_packets`` bounds each capture (tcpdump ``-c``); ``snaplen`` bounds each packet;
    ``bpf_filter`` (default ``ip``) keeps IPv6 neighbour discovery noise out. On stop, each tcpdump
    is given up to ``drain_timeout`` seconds to read what its link carried before it is stopped.
    """

    def __init__(self, lab: Lab, directory: str | Path | OutputDir, *, max_packets: int = DEFAULT_MAX_PACKETS,
                 snaplen: int = DEFAULT_SNAPLEN, bpf_filter: str = "ip",
                 ready_timeout: float = 10.0, drain_timeout: float = 5.0) -> None:
        self.lab = lab
        self.target = directory
        self.directory = directory.path if isinstance(directory, OutputDir) else Path(directory)
        self._out: OutputDir | None = None
        self.max_packets = max_packets
        self.snaplen = snaplen
        self.bpf_filter = bpf_filter
        self.ready_timeout = ready_timeout
        self.drain_timeout = drain_timeout
        self.addresses: dict[str, list[str]] = {}
        self.points: list[LinkPoint] = []
        self.running: dict[str, _Tcpdump] = {}
        self.summary: CaptureSummary | None = None

    def __enter__(self) -> Capture:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start every tcpdump and wait until all of them listen."""
        self._out = self.target if isinstance(self.target, OutputDir) else OutputDir.open(self.target)
        self.points = link_points(self.lab)
        self.addresses = {name: node_addresses(self.lab, name) for name in self.lab.specs}
        try:
            for point in self.points:
                argv = ["tcpdump", "-i", point.iface, "-U", "--immediate-mode", "-n",
                        "-s", str(self.snaplen), "-c", str(self.max_packets), *drop_to(), "-w", "-",
                        *([self.bpf_filter] if self.bpf_filter else [])]
                with self._out.open_stream(point.file) as pcap:
                    proc = self.lab.popen(point.node, argv, stdout=pcap, stderr=subprocess.PIPE)
                self.running[point.link] = _Tcpdump(proc)
            deadline = time.monotonic() + self.ready_timeout
            for link, dump in self.running.items():
                if not dump.listening.wait(max(0.0, deadline - time.monotonic())):
                    raise CaptureError(f"tcpdump on {link} did not start listening within "
                                       f"{self.ready_timeout} s: {' '.join(dump.lines)[-300:]}")
        except BaseException:
            self._terminate()
            if self._out is not self.target:
                self._out.close()
            raise

    def _terminate(self) -> None:
        for dump in self.running.values():
            popen = dump.proc.popen
            if popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(popen.pid, signal.SIGTERM)
        for dump in self.running.values():
            try:
                dump.proc.popen.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                dump.proc.stop()
            dump.thread.join(timeout=2.0)

    def _drain(self) -> None:
        """Wait until every tcpdump has read what its link carried so far: until it sleeps waiting
        for packets (a packet that arrives wakes it, so a sleeping tcpdump has none unread). On
        SIGTERM tcpdump stops reading at once, and packets still in its socket's ring are lost: on a
        busy machine a tcpdump not scheduled since the last connection lost that whole connection."""
        deadline = time.monotonic() + self.drain_timeout
        waiting = [d for d in self.running.values() if d.proc.popen.poll() is None]
        while waiting and time.monotonic() < deadline:
            waiting = [d for d in waiting if not _asleep(d.proc.popen.pid)]
            if waiting:
                time.sleep(0.005)

    def stop(self) -> CaptureSummary:
        """Stop every tcpdump (they flush and close their files), write ``capture.json``."""
        if self.summary is not None:
            return self.summary
        cut_early = {link for link, d in self.running.items() if d.proc.popen.poll() is not None}
        self._drain()
        self._terminate()
        summary = CaptureSummary(lab_id=self.lab.lab_id, topology=self.lab.topology_name,
                                 time_scale=self.lab.time_scale.factor, max_packets=self.max_packets,
                                 snaplen=self.snaplen, path=chain_path(self.points))
        for point in self.points:
            dump = self.running.get(point.link)
            result = LinkCapture(point)
            if dump is not None:
                result.packets, result.dropped_by_kernel = dump.stats()
                if result.packets >= self.max_packets or point.link in cut_early:
                    result.cut = True
                    result.note = (f"cut: reached the limit of {self.max_packets} packets; "
                                   "later packets on this link are missing")
                elif result.dropped_by_kernel:
                    result.note = f"{result.dropped_by_kernel} packets dropped by the kernel"
            summary.links.append(result)
        for name, spec in self.lab.specs.items():
            if spec.role not in ROLES_PLAIN:
                summary.middleboxes[name] = {
                    "kind": spec.kind,
                    "inside": [p.file for p in self.points if _touches(p, name, spec.inside)],
                    "outside": [p.file for p in self.points if _touches(p, name, spec.outside)]}
        summary.addresses = dict(self.addresses)
        assert self._out is not None
        try:
            self._out.write_text(MANIFEST, json.dumps(summary.to_dict(), indent=2) + "\n")
        finally:
            if self._out is not self.target:
                self._out.close()
        self.summary = summary
        return summary


def _asleep(pid: int) -> bool:
    """Whether process ``pid`` sleeps interruptibly (state ``S``: tcpdump waiting for packets), or is
    gone. Its state is the first field after the command name in ``/proc/PID/stat``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"S"
    except (OSError, IndexError):
        return True


def drop_to(user: str = TCPDUMP_USER) -> list[str]:
    """tcpdump's privilege drop: to its own user (its default), or, where that user has no id (natsim's
    own user namespace maps one id, without root), ``-Z root``: stay the namespace's one user, which
    outside it is the user who ran natsim (``setgroups`` succeeds there, see natsim.lab.linux)."""
    try:
        uid = pwd.getpwnam(user).pw_uid
    except KeyError:
        return []
    return [] if maps_uid(uid) else ["-Z", "root"]


def _touches(point: LinkPoint, node: str, ifaces: tuple[str, ...]) -> bool:
    return ((point.node == node and point.iface in ifaces)
            or (point.peer == node and point.peer_iface in ifaces))


def node_addresses(lab: Lab, node: str) -> list[str]:
    """Every IPv4 address of ``node`` except loopback (NAT pool addresses included)."""
    _, out = lab.run(node, ["ip", "-4", "-o", "addr", "show"])
    ips = []
    for line in out.splitlines():
        words = line.split()
        if "inet" in words:
            ip = words[words.index("inet") + 1].split("/")[0]
            if not ip.startswith("127."):
                ips.append(ip)
    return ips
