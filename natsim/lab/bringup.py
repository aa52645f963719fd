"""Bringing a lab's nodes and links up with few processes, side by side.

Mininet runs one command per setting (``ifconfig`` per address and interface, ``ip route`` per
route, each a round trip through the node's shell) and starts one node after the other. Here:

1. every node's shell is spawned, then each is waited for (:meth:`LabNode.wait_started`), so the
   namespaces are made side by side;
2. every veth pair of the lab is made by one ``ip -batch`` (:func:`link_lines`), each end named
   by the namespace natsim *holds* (``netns /proc/self/fd/N``), never by a PID the kernel could
   have handed to somebody else's process;
3. each node is set up by one shell script (:func:`node_script`), all nodes at once: one
   ``ip -batch`` (loopback, interfaces, addresses, routes, and its middlebox's ``ip`` commands),
   its sysctls (written to ``/proc/sys``: no process), its middlebox's other commands, and its
   ruleset with ``nft -f -`` (atomic); it ends when the node's veth interfaces are operationally
   UP (:func:`wait_up_lines`), so the lab is not handed over while the kernel still drops packets.

What each node gets is computed here without running anything (:func:`node_setup`), so it is tested
without root.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from natsim.addresses import check_lab_address
from natsim.errors import CommandError, ConfigError, LabError
from natsim.lab.exec import NamespaceRunner, Started
from natsim.lab.links import IntfSettings, LabIntf, LabLink, VethPair
from natsim.middleboxes.base import Rendered

LOG = logging.getLogger("natsim.lab")
#: Where a node's ``ip`` lines end in its script (a line no ``ip`` command can be).
END_OF_BATCH = "NATSIM_END_OF_IP_BATCH"
#: The interface index of the first veth end; every end of a lab gets its own (see :func:`link_lines`).
FIRST_IFINDEX = 1000
_PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_.:/@+,=-]+")
_SYSCTL_KEY = re.compile(r"[A-Za-z0-9_-]+([./][A-Za-z0-9_-]+)*")


@dataclass
class NodeSetup:
    """Everything one node is set to, as data: ``ip -batch`` lines, sysctls, other commands (argv,
    in order, after the batch) and an nftables ruleset."""

    node: str
    ip_lines: list[str] = field(default_factory=list)
    sysctls: dict[str, str] = field(default_factory=dict)
    commands: list[tuple[str, ...]] = field(default_factory=list)
    nft: str = ""
    wait_up: list[str] = field(default_factory=list)

    def add_render(self, rendered: Rendered) -> None:
        """Add a middlebox render: its leading ``ip`` commands join the batch (in order), the rest
        run after it; its sysctls and ruleset are added."""
        for argv in rendered.commands:
            if not self.commands and batchable(argv):
                self.ip_lines.append(" ".join(argv[1:]))
            else:
                self.commands.append(tuple(argv))
        self.sysctls.update(rendered.sysctls)
        self.nft += rendered.nft


def log_render(name: str, rendered: Rendered) -> None:
    """Log (``natsim -v``) what a middlebox render sets in its node."""
    steps = [shlex.join(argv) for argv in rendered.commands]
    LOG.info("%s: set-up commands and sysctls:\n  %s", name,
             "\n  ".join([*steps, *(f"{k}={v}" for k, v in rendered.sysctls.items())]) or "(none)")
    LOG.info("%s: nft -f - <<\n%s", name, rendered.nft.rstrip())


def batchable(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is an ``ip`` command that reads the same as an ``ip -batch`` line: no
    options, and only plain words (no space, quote, ``#`` or empty word)."""
    return (len(argv) > 1 and argv[0] == "ip" and not argv[1].startswith("-")
            and all(_PLAIN_TOKEN.fullmatch(a) for a in argv[1:]))


def _batch_line(node: str, what: str, text: str) -> str:
    """``text`` as one ``ip -batch`` line (topology parameters), or ConfigError."""
    words = str(text).split(" ")
    words = [w for w in words if w]
    if not words or not all(_PLAIN_TOKEN.fullmatch(w) for w in words):
        raise ConfigError(f"node {node}: {what} {text!r} is not a list of plain words")
    return " ".join(words)


def node_setup(node: str, params: Mapping[str, Any], intfs: Sequence[IntfSettings],
               rendered: Rendered | None = None, wait_up: Sequence[str] = ()) -> NodeSetup:
    """What node ``node`` (topology parameters ``params``, its interfaces ``intfs`` in port order) is
    set to: what Mininet's ``Intf.config`` and ``Node.config`` do (MAC, address and state of each
    interface; the node's ``ip``, ``mac`` and ``defaultRoute``; loopback up), then natsim's own node
    parameters (``natsim_addresses``, ``natsim_routes``, forwarding for any role but ``host``), then
    the middlebox render, if any; the script then waits for the interfaces ``wait_up`` (those whose
    both ends are set up) to be operationally UP."""
    setup = NodeSetup(node, ["link set dev lo up"])
    for intf in intfs:
        if intf.mac:
            setup.ip_lines.append(f"link set dev {intf.name} address {intf.mac}")
        if intf.address:
            setup.ip_lines.append(f"addr add {intf.address} dev {intf.name}")
        if intf.up:
            setup.ip_lines.append(f"link set dev {intf.name} up")
    first = intfs[0].name if intfs else None
    if params.get("mac") and first:
        setup.ip_lines.append(f"link set dev {first} address {params['mac']}")
    if params.get("ip") and first:
        ip = str(params["ip"])
        setup.ip_lines.append(f"addr add {ip if '/' in ip else ip + '/8'} dev {first}")
    for address in params.get("natsim_addresses", ()):
        check_lab_address(str(address).split()[0], what=f"node {node}: natsim_addresses")
        setup.ip_lines.append("addr add " + _batch_line(node, "natsim_addresses entry", address))
    route = params.get("defaultRoute")
    if route:
        route = str(route) if " " in str(route) else f"dev {route}"
        setup.ip_lines.append("route replace default " + _batch_line(node, "defaultRoute", route))
    for route in params.get("natsim_routes", ()):
        setup.ip_lines.append("route add " + _batch_line(node, "natsim_routes entry", route))
    if params.get("natsim_role", "host") != "host":
        setup.sysctls["net.ipv4.ip_forward"] = "1"
    if rendered is not None:
        setup.add_render(rendered)
    setup.wait_up = list(wait_up)
    return setup


def sysctl_line(key: str, value: str) -> str:
    """A shell line writing sysctl ``key`` (dotted, or with slashes as ``sysctl`` takes it) as
    ``sysctl -w`` does: the value to its file under ``/proc/sys`` (a shell builtin: no process)."""
    if not _SYSCTL_KEY.fullmatch(key):
        raise ConfigError(f"not a sysctl name: {key!r}")
    path = "/proc/sys/" + (key if "/" in key else key.replace(".", "/"))
    return f"printf '%s\\n' {shlex.quote(str(value))} > {path}"


def node_script(setup: NodeSetup) -> str:
    """The ``sh`` script that applies ``setup`` in its node, stopping at the first failure. Its
    stdin (fd 3 inside) is the ruleset, read by ``nft -f -`` only."""
    lines = ["set -e", "exec 3<&0 </dev/null"]
    if setup.ip_lines:
        lines += ["ip -batch - <<'" + END_OF_BATCH + "'", *setup.ip_lines, END_OF_BATCH]
    lines.append("set -x")
    lines += [shlex.join(argv) for argv in setup.commands]
    lines += [sysctl_line(key, value) for key, value in setup.sysctls.items()]
    if setup.nft:
        lines.append("nft -f - <&3")
    lines += wait_up_lines(setup.wait_up)
    return "\n".join(lines) + "\n"


def wait_up_lines(names: Sequence[str], tries: int = 500) -> list[str]:
    """Shell lines waiting (10 ms steps, ``tries`` at most) until every interface in ``names`` is
    operationally UP, else failing with the ones that are not.

    Setting both ends of a veth pair up switches its carrier on, but the kernel activates the
    interface's queueing discipline (and reports it UP) only when its link-watch work has run: until
    then a packet sent on it is dropped. That work is queued, so a loaded machine can hand over a
    lab whose first SYN is lost (seen: ``ip -br addr`` in a fresh lab showed its link not yet UP).
    One ``ip -br link`` per step; ``read`` and ``case`` are shell builtins."""
    if not names:
        return []
    patterns = "|".join(f"{shlex.quote(name)}@*" for name in names)
    return ["set +x", "natsim_n=0", "while :; do",
            "  natsim_down=$(ip -br link show | while read -r name state rest; do",
            f'    case "$name" in {patterns})',
            '      [ "$state" = UP ] || printf "%s " "${name%%@*}";; esac; done)',
            '  [ -n "$natsim_down" ] || break',
            "  natsim_n=$((natsim_n + 1))",
            f'  if [ "$natsim_n" -ge {tries} ]; then echo "not operationally UP after {tries / 100:g} s: '
            '$natsim_down" >&2; exit 1; fi',
            "  sleep 0.01", "done"]


def failed_line(setup: NodeSetup, output: str) -> str:
    """The batch line ``ip -batch`` names in ``output`` as the one that failed ('' if none)."""
    found = re.search(r"Command failed -:(\d+)", output)
    if found is None or not 0 < int(found.group(1)) <= len(setup.ip_lines):
        return ""
    return "ip " + setup.ip_lines[int(found.group(1)) - 1]


def apply_all(runners: Mapping[str, NamespaceRunner], setups: Iterable[NodeSetup]) -> None:
    """Run every node's script, all at once; wait for all; raise for the first that failed (naming
    the ``ip`` line that failed, when it was one)."""
    started: list[tuple[NodeSetup, Started]] = []
    try:
        for setup in setups:
            run = runners[setup.node]
            started.append((setup, run.start(["sh", "-c", node_script(setup)], input=setup.nft)))
        for setup, running in started:
            try:
                running.finish()
            except CommandError as err:
                line = failed_line(setup, err.output)
                what = f"`{line}`" if line else "its set-up (the last `+` line is the command)"
                raise LabError(f"node {setup.node}: {what} failed: {err.output.strip()[-800:]}") from err
    finally:
        for _, running in started:
            running.close()


def link_lines(pairs: Sequence[VethPair], fds: Mapping[str, int]) -> list[str]:
    """``ip -batch`` lines making each veth pair, each end directly in its node's namespace, named by
    the descriptor natsim holds on it (``fds``: node -> descriptor, passed to ``ip`` as it is).

    Each end gets an interface index of its own in the lab. Made in fresh namespaces, both ends of a
    pair would otherwise get the same index (2, the first after ``lo``), and the kernel takes a veth
    whose index equals its peer's for one whose carrier change is not urgent: its link-watch work
    then waits up to a second, and until it runs the interface drops every packet (the lab's first
    ARP request, so its first connection lost a second). Measured: all links operationally UP 0.9 s
    after the set-up with equal indexes, at once with distinct ones (benchmarks/lab_lifecycle.py)."""
    lines = []
    for number, pair in enumerate(pairs):
        ends = []
        for end, (name, mac, node) in enumerate(((pair.name1, pair.mac1, pair.node1),
                                                 (pair.name2, pair.mac2, pair.node2))):
            ends.append(f"{name}{f' address {mac}' if mac else ''} netns /proc/self/fd/{fds[node]} "
                        f"index {FIRST_IFINDEX + 2 * number + end}")
        lines.append(f"link add name {ends[0]} type veth peer name {ends[1]}")
    return lines


def create_links(run: NamespaceRunner, pairs: Sequence[VethPair], fds: Mapping[str, int]) -> None:
    """Make every veth pair with one ``ip -batch``, run by ``run`` (in one of the lab's nodes)."""
    if pairs:
        run.run(["ip", "-batch", "-"], input="\n".join(link_lines(pairs, fds)) + "\n",
                pass_fds=sorted({fds[p.node1] for p in pairs} | {fds[p.node2] for p in pairs}))


def build(net: Any, topo: Any, runner: Callable[[str], NamespaceRunner],
          held_fds: Callable[[], Mapping[str, int]], rendered: Mapping[str, Rendered]) -> None:
    """Build ``topo`` in ``net`` (natsim's Mininet container, with :class:`LabLink` and
    :class:`LabIntf`): shells side by side (each reported to the lab as it comes up), every veth pair
    at once, then every node's set-up at once, middlebox renders (``rendered``, by node) included."""
    for name in topo.hosts():
        net.addHost(name, **topo.nodeInfo(name))
    for node in net.hosts:
        node.wait_started()
    for _, _, params in topo.links(sort=True, withInfo=True):
        net.addLink(**params)
    pairs = [link.pair for link in net.links if isinstance(link, LabLink)]
    if pairs:
        create_links(runner(pairs[0].node1), pairs, held_fds())
    both_up = {intf.name for link in net.links if isinstance(link, LabLink) and link.intf1.up
               and link.intf2.up for intf in (link.intf1, link.intf2)}
    setups = [node_setup(node.name, node.params,
                         [i.settings() for i in node.intfList() if isinstance(i, LabIntf)],
                         rendered.get(node.name),
                         [i.name for i in node.intfList() if i.name in both_up]) for node in net.hosts]
    apply_all({node.name: runner(node.name) for node in net.hosts}, setups)
    net.built = True
