"""The reset daemon of a ``load-balancer`` with ``expired: reset-both-at-expiry``, run in its node.

``python -m natsim.middleboxes.load_balancer.resetd --timeout S [--ports P,Q]`` (JSON lines on stdout)

An RST is accepted only with the exact sequence number its receiver expects next, so sending one at
expiry needs each flow's current sequence numbers. The daemon reads them inside the node, from an
``AF_PACKET`` socket (every frame the node receives): per flow to one of the node's own addresses (the
virtual IP) that a backend answered, the client, the backend, the next sequence number of each side
and when a packet last passed. It never touches the root namespace.

When a flow has been idle for the established timeout the ruleset sets (``--timeout``, whole lab
seconds), the daemon asks conntrack for the flow (``conntrack -G``). The kernel expires an entry
lazily: the lookup finds it expired, removes it, and answers that there is none (without the lookup,
conntrack's garbage collector may notice it many seconds later). The flow is then gone for the kernel
too, and the daemon sends two RSTs from a raw socket: to the client from the virtual IP, to the backend
from the client's address. A flow that saw a FIN or an RST is closing and is left alone; an entry
still there (refreshed by a packet the daemon did not count) is looked at again shortly.
It prints one JSON line when it reads packets (``ready``), then one per reset.
"""

from __future__ import annotations

import argparse
import json
import select
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

from natsim.middleboxes.load_balancer.packets import ACK, FIN, RST, SYN, TcpPacket, after, parse_frame, rst

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
#: After the idle timeout, how long to wait before asking conntrack (one kernel tick is 4 ms).
MARGIN = 0.004
#: How soon to ask again when the entry is still there.
RETRY = 0.005


@dataclass
class Flow:
    """One flow to the virtual IP as seen on the wire."""

    client: tuple[str, int]
    vip: tuple[str, int]
    client_next: int
    last: float
    backend: str | None = None
    backend_next: int | None = None
    answered: bool = False     # the backend's SYN-ACK passed
    established: bool = False  # and the client acknowledged it
    check_at: float = 0.0

    def due(self, timeout: float) -> float:
        """When to ask conntrack about it."""
        return max(self.last + timeout + MARGIN, self.check_at)


class Flows:
    """The flows to the node's own addresses that a backend answered (the ruleset balanced them)."""

    def __init__(self, local: set[str], ports: set[int], timeout: float) -> None:
        self.local, self.ports, self.timeout = local, ports, timeout
        self.flows: dict[tuple[str, int, int], Flow] = {}

    def seen(self, packet: TcpPacket, now: float) -> None:
        """Learn from one packet the node received."""
        if packet.dst in self.local:
            self._from_client(packet, now)
        else:
            self._from_backend(packet, now)

    def _from_client(self, packet: TcpPacket, now: float) -> None:
        if self.ports and packet.dport not in self.ports:
            return
        key = (packet.src, packet.sport, packet.dport)
        if packet.flags & (SYN | ACK) == SYN:
            self.flows[key] = Flow((packet.src, packet.sport), (packet.dst, packet.dport), packet.next_seq,
                                   now)
            return
        flow = self.flows.get(key)
        if flow is None or self.late(flow, now):
            return
        if packet.flags & (FIN | RST):
            del self.flows[key]
            return
        if after(packet.next_seq, flow.client_next):
            flow.client_next = packet.next_seq
        flow.established = flow.established or flow.answered
        flow.last = now

    def _from_backend(self, packet: TcpPacket, now: float) -> None:
        key = (packet.dst, packet.dport, packet.sport)
        flow = self.flows.get(key)
        if flow is None or (flow.backend is not None and packet.src != flow.backend) or self.late(flow, now):
            return
        if packet.flags & (FIN | RST):
            del self.flows[key]
            return
        if packet.flags & SYN:
            flow.backend, flow.answered = packet.src, True
        if flow.backend_next is None or after(packet.next_seq, flow.backend_next):
            flow.backend_next = packet.next_seq
        flow.last = now

    def late(self, flow: Flow, now: float) -> bool:
        """Whether a packet at ``now`` comes after the flow's timeout: it does not refresh the flow (the
        kernel found the entry expired and dropped it), which is looked at now, not a timeout later."""
        if not flow.established or now < flow.last + self.timeout:
            return False
        flow.check_at = now
        return True

    def next_due(self) -> float | None:
        """The earliest time an established flow is to be looked at."""
        dues = [f.due(self.timeout) for f in self.flows.values() if f.established]
        return min(dues, default=None)

    def due_now(self, now: float) -> list[tuple[tuple[str, int, int], Flow]]:
        """The established flows to look at now."""
        return [(k, f) for k, f in self.flows.items() if f.established and f.due(self.timeout) <= now]


def tracked(flow: Flow) -> bool:
    """Whether conntrack still holds the flow (the lookup removes an expired entry)."""
    done = subprocess.run(["conntrack", "-G", "-p", "tcp", "-s", flow.client[0], "-d", flow.vip[0],
                           "--sport", str(flow.client[1]), "--dport", str(flow.vip[1])],
                          capture_output=True, text=True, check=False)
    return done.returncode == 0


def reset(sender: socket.socket, flow: Flow) -> None:
    """RST to the client from the virtual IP and to the backend from the client."""
    assert flow.backend is not None and flow.backend_next is not None
    sender.sendto(rst(flow.vip, flow.client, flow.backend_next, flow.client_next), (flow.client[0], 0))
    sender.sendto(rst(flow.client, (flow.backend, flow.vip[1]), flow.client_next, flow.backend_next),
                  (flow.backend, 0))


def local_addresses() -> set[str]:
    """The node's own IPv4 addresses (``ip -j addr``)."""
    done = subprocess.run(["ip", "-j", "-4", "addr", "show"], capture_output=True, text=True, check=True)
    return {a["local"] for link in json.loads(done.stdout) for a in link.get("addr_info", ())}


def say(**fields: object) -> None:
    """One JSON line on stdout (the runtime's log)."""
    print(json.dumps(fields), flush=True)


def serve(flows: Flows) -> None:
    """Follow the node's packets and reset expired flows, until killed."""
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as sniffer, \
            socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sender:
        say(event="ready", timeout=flows.timeout)
        while True:
            due = flows.next_due()
            wait = None if due is None else max(0.0, due - time.monotonic())
            if select.select([sniffer], [], [], wait)[0]:
                frame, address = sniffer.recvfrom(65535)
                packet = parse_frame(frame)
                if packet is not None and address[2] != PACKET_OUTGOING:
                    flows.seen(packet, time.monotonic())
                continue
            now = time.monotonic()
            for key, flow in flows.due_now(now):
                if tracked(flow):
                    flow.check_at = time.monotonic() + RETRY
                    continue
                del flows.flows[key]
                reset(sender, flow)
                say(event="reset", client=list(flow.client), vip=list(flow.vip), backend=flow.backend,
                    idle=round(now - flow.last, 4))


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(prog="natsim-lb-resetd", description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=float, required=True, help="established timeout (lab seconds)")
    parser.add_argument("--ports", default="", help="listened ports, comma-separated (empty: every port)")
    args = parser.parse_args(argv)
    ports = {int(p) for p in args.ports.split(",") if p}
    try:
        serve(Flows(local_addresses(), ports, args.timeout))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
