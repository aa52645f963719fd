"""The lab: a topology brought up in network namespaces with its middleboxes applied.

``with Lab("isp-bridge-cgn", {"cpe": CpeBridge()}, time_scale=TimeScale(60)) as lab:`` builds the
nodes (Mininet's, in natsim's container :class:`~natsim.lab.labnet.LabNet`), applies every render
atomically inside its node, and removes everything in ``finally``: processes by PID, namespaces
by emptying them. Interfaces are created inside the namespaces (never in the root namespace),
so two labs never collide.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from natsim import signals
from natsim.errors import ConfigError, LabError
from natsim.fields import closest
from natsim.lab.bringup import NodeSetup, apply_all, build, log_render
from natsim.lab.cleanup import destroy, stop_process
from natsim.lab.exec import NamespaceRunner
from natsim.lab.home import LabHome
from natsim.lab.kernel import require_sysctls
from natsim.lab.labnet import LabNet
from natsim.lab.links import LabIntf, LabLink
from natsim.lab.netns import HeldNamespace, own_identities
from natsim.lab.nodes import LabNode
from natsim.lab.records import ANCHOR, LabRecord, ProcessEntry, new_lab_id, process_start_time
from natsim.lab.substitute import substitute_nodes
from natsim.lab.topology import ROLES_PLAIN, NodeSpec, TopologyRef, load_topology, node_specs
from natsim.labview import NodeProcess
from natsim.middleboxes import kind, render
from natsim.middleboxes.base import Middlebox, RenderContext, Rendered
from natsim.middleboxes.presets import chosen_preset, configure, preset_of, record
from natsim.outfiles import make_dir
from natsim.privileges import require_lab_privileges
from natsim.units import TimeScale

LOG = logging.getLogger("natsim.lab")


@dataclass
class LabProcess:
    """A process started in a lab node; a context manager that stops it."""

    node: str
    popen: subprocess.Popen[Any]
    entry: ProcessEntry

    @property
    def pid(self) -> int:
        """Its PID."""
        return self.popen.pid

    def stop(self, grace: float = 1.0) -> None:
        """Terminate it (and its process group)."""
        stop_process(self.entry, grace)
        try:
            self.popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass

    def __enter__(self) -> LabProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def resolve_middleboxes(specs: Mapping[str, NodeSpec],
                        given: Mapping[str, Middlebox]) -> dict[str, Middlebox]:
    """Every middlebox node gets its config: the given one, or the kind's defaults."""
    for name, config in given.items():
        if name not in specs:
            raise ConfigError(f"no node '{name}' in this topology (nodes: {', '.join(specs)})")
        if specs[name].kind != config.kind:
            given_as = preset.name if (preset := preset_of(config)) is not None else config.kind
            raise ConfigError(f"node '{name}' is a {specs[name].role}, not a {given_as}")
    result = dict(given)
    for name, spec in specs.items():
        if spec.role not in ROLES_PLAIN and name not in result:
            result[name] = configure(spec.role, {})
    return result


class Lab:
    """A running lab (use as a context manager)."""

    def __init__(self, topology: str | TopologyRef, middleboxes: Mapping[str, Middlebox] | None = None, *,
                 time_scale: TimeScale | None = None, lab_id: str | None = None,
                 runtimes: bool = True, workdir: Path | None = None, seed: int = 0,
                 loaded: tuple[str, Any] | None = None, run_dir: Path | None = None) -> None:
        """``runtimes``: start the processes middleboxes need (e.g. the SSH proxy daemon);
        ``workdir``: where their files and logs go (default: a :meth:`scratch` directory);
        ``seed``: the run's seed for the middleboxes' random draws (the model uses the same);
        ``loaded``: ``(name, Topo)`` already loaded from ``topology`` (it is then not loaded again);
        ``run_dir``: the caller's own work directory (not yet existing: :meth:`start` creates it, mode
        0700, once the record names it (``LabRecord.run_dir``), so a SIGKILL at any moment leaves it
        to ``natsim cleanup``; the caller removes it)."""
        self.seed = seed
        self.topology_name, self.topo = loaded if loaded is not None else load_topology(topology)
        self.specs = node_specs(self.topo)
        self.time_scale = time_scale or TimeScale(1.0)
        self.middleboxes = resolve_middleboxes(self.specs, middleboxes or {})
        self.lab_id = lab_id or new_lab_id()
        self.rendered: dict[str, Rendered] = {
            name: render(config, self.context(name)) for name, config in self.middleboxes.items()}
        self.record: LabRecord | None = None
        self.held: dict[str, HeldNamespace] = {}
        self._anchors: list[subprocess.Popen[bytes]] = []
        self.net: Any = None
        self.processes: list[LabProcess] = []
        self.start_runtimes = runtimes
        self.runtimes: dict[str, Any] = {}
        self.workdir, self.run_dir = workdir, run_dir
        self.home: LabHome | None = None

    def context(self, node: str) -> RenderContext:
        """Where middlebox ``node`` sits."""
        spec = self.specs[node]
        return RenderContext(node=node, inside=spec.inside, outside=spec.outside,
                             time_scale=self.time_scale)

    # ---- lifecycle ----------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Build nodes and links, configure routing, apply middleboxes; on failure, undo."""
        require_lab_privileges("natsim lab")
        for name, rendered in self.rendered.items():
            require_sysctls(name, rendered.sysctls)   # br_netfilter missing: one clear line
            log_render(name, rendered)
        self.record = LabRecord(lab_id=self.lab_id, owner_pid=os.getpid(), topology=self.topology_name,
                                owner_start=process_start_time(os.getpid()), run_dir=str(self.run_dir or ""))
        self.record.save()
        try:
            if self.run_dir is not None:
                os.mkdir(self.run_dir, 0o700)   # never an existing one (nor a link put in its place)
            self.home = LabHome.create(self.lab_id)
            self.record.home = str(self.home.base)
            self.record.save()
            host = functools.partial(LabNode, lab_id=self.lab_id, on_shell=self._register_shell,
                                     env=self.home.env, setup=self.home.shell_setup())
            self.net = LabNet(self.topo, host, LabLink, LabIntf)
            build(self.net, self.topo, self.runner, self._held_fds, self.rendered)
            if self.start_runtimes:
                self._start_runtimes()
        except BaseException:
            self.stop()
            raise

    def _held_fds(self) -> dict[str, int]:
        """The descriptor natsim holds on each node's namespace."""
        return {name: held.fd for name, held in self.held.items() if held.fd is not None}

    def _start_runtimes(self) -> None:
        """Start what middleboxes run besides their ruleset (their kind's optional ``runtime``)."""
        for name, config in self.middleboxes.items():
            start = kind(config.kind).runtime
            if start is not None:
                self.workdir = self.workdir or self.scratch("runtimes-")
                make_dir(self.workdir)
                self.runtimes[name] = start(config, self, name, self.workdir)

    def _register_shell(self, node: LabNode) -> None:
        """Record the node's shell and take hold of its namespace (from now on it is ours)."""
        assert self.record is not None
        start = process_start_time(node.pid)
        if start is None:
            raise LabError(f"node {node.name}: its shell died at start")
        entry = ProcessEntry(node.pid, start, node.name, "shell")
        held = HeldNamespace.of_process(entry)
        if held is None:
            raise LabError(f"node {node.name}: its shell died at start")
        if held.identity in own_identities():
            held.close()
            raise LabError(f"node {node.name}: its shell is not in a namespace of its own")
        self.held[node.name] = held
        self.record.shells.append(entry)
        self.record.namespaces[node.name] = held.inode
        self.record.processes.append(self._anchor(node))
        self.record.save()
        if self.home is None or not self.home.mounted_in(node.pid):
            raise LabError(f"node {node.name}: could not give root the lab's home (mount --bind over "
                           "/etc/passwd in the node's mount namespace failed)")

    def _anchor(self, node: LabNode) -> ProcessEntry:
        """Start the node's anchor: a detached ``sleep infinity`` in its namespace, recorded with its
        start time. The shell dies with natsim (its pty closes); the anchor outlives a crash, so
        ``natsim cleanup`` can still reach the namespace through a recorded process."""
        popen = subprocess.Popen(["mnexec", "-da", str(node.pid), "sleep", "infinity"],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        self._anchors.append(popen)
        start = process_start_time(popen.pid)
        if start is None:
            raise LabError(f"node {node.name}: its anchor process died at start")
        return ProcessEntry(popen.pid, start, node.name, ANCHOR)

    def stop(self) -> None:
        """Remove every process and namespace of this lab (idempotent). SIGINT, SIGTERM and SIGHUP
        wait until it is done."""
        if self.record is None:
            return
        recorded = {entry.pid for entry in self.record.shells}
        with signals.deferred():
            try:
                report = destroy(self.record, self.held)
            finally:
                for held in self.held.values():
                    held.close()
                self.held.clear()
                for anchor in self._anchors:
                    anchor.poll()   # reaped by the teardown; this only settles the Popen
                self._anchors.clear()
                if self.net is not None:
                    for node in self.net.hosts:
                        if node.pid not in recorded:    # spawned, never reported: our child still
                            node.shell.kill()
                            node.shell.wait()
                        node.close_fds()
                self.net = None
                self.home = None     # removed by destroy() with the record, or left for `natsim cleanup`
                self.runtimes.clear()
            self.record = None
        if report.remaining:
            raise LabError(f"lab {self.lab_id}: processes {report.remaining} would not stop; "
                           f"run `natsim cleanup --lab {self.lab_id}`")

    # ---- nodes and commands -------------------------------------------------------------------
    def node(self, name: str) -> LabNode:
        """The Mininet node ``name``."""
        if self.net is None:
            raise LabError("the lab is not running")
        try:
            node: LabNode = self.net[name]
        except KeyError:
            raise LabError(f"no node '{name}' (nodes: {', '.join(self.specs)})") from None
        return node

    def scratch(self, prefix: str) -> Path:
        """A new private directory, seen in every node, removed with the lab (:class:`LabHome`)."""
        if self.home is None:
            raise LabError("the lab is not running")
        return self.home.scratch(prefix)

    @property
    def node_env(self) -> dict[str, str]:
        """What every process natsim starts in a node gets in its environment (the lab's ``HOME``)."""
        return self.home.env if self.home is not None else {}

    def runner(self, name: str) -> NamespaceRunner:
        """A runner executing inside node ``name``."""
        return NamespaceRunner(name, self.node(name).pid, self.node_env)

    def apply(self, name: str, rendered: Rendered) -> None:
        """Apply a middlebox render in its running node (a lab applies its own while it comes up):
        its ``ip`` commands in one batch, its other commands and sysctls (stopping at the first failure,
        which is reported with its command), then its ruleset atomically (``nft -f -``)."""
        require_sysctls(name, rendered.sysctls)
        log_render(name, rendered)
        setup = NodeSetup(name)
        setup.add_render(rendered)
        apply_all({name: self.runner(name)}, [setup])

    def popen(self, name: str, argv: Sequence[str], **kwargs: Any) -> LabProcess:
        """Start ``argv`` in node ``name`` (own session), tracked until the lab stops."""
        node = self.node(name)
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        kwargs["env"] = {**(kwargs.get("env") or os.environ), **self.node_env}
        popen = subprocess.Popen(["mnexec", "-da", str(node.pid), *argv], **kwargs)
        start = process_start_time(popen.pid) or 0
        entry = ProcessEntry(popen.pid, start, name, " ".join(argv)[:200])
        assert self.record is not None
        self.record.processes.append(entry)
        self.record.save()
        proc = LabProcess(name, popen, entry)
        self.processes.append(proc)
        return proc

    def substitute(self, command: str) -> str:
        """``command`` with node names after its first word (and in ``USER@NODE``) replaced by their
        addresses, as Mininet's CLI does (:mod:`natsim.lab.substitute`)."""
        return substitute_nodes(command, self.specs, self.address)

    def run(self, name: str, argv: Sequence[str] | str, *, check: bool = False,
            timeout: float | None = 60.0) -> tuple[int, str]:
        """Run a command in node ``name`` and return (exit code, stdout and stderr).

        A string is a shell command line (``sh -c``) whose node names are replaced by addresses
        (:meth:`substitute`: ``lab.run("client", "ping -c1 server")``); a list is an argv, run as it
        is. It returns when the command exits, even if it left a background process running (that
        one is stopped with the lab); after ``timeout`` wall seconds it is stopped and
        :class:`~natsim.errors.CommandTimeout` raised (``None``: no limit)."""
        args = ["sh", "-c", self.substitute(argv)] if isinstance(argv, str) else list(argv)
        done = self.runner(name).run(args, check=check, timeout=timeout)
        return done.returncode, done.stdout + done.stderr

    def wait_port(self, name: str, port: int, proc: NodeProcess, *, timeout: float = 10.0,
                  log: Path | None = None, transport: str = "tcp") -> None:
        """Return once something listens on ``port`` (``transport`` ``tcp`` or ``udp``) in node
        ``name``; :class:`LabError` (with the end of ``log``) when ``proc`` exits first or ``timeout``
        passes. The one wait-for-a-server of natsim's labs."""
        flags = {"tcp": "-ltnH", "udp": "-lunH"}[transport]
        give_up = time.monotonic() + timeout
        while time.monotonic() < give_up:
            _, out = self.run(name, ["ss", flags, f"sport = :{port}"])
            if f":{port}" in out:
                return
            if proc.popen.poll() is not None:
                break
            time.sleep(0.05)
        text = log.read_text(errors="replace")[-600:] if log is not None and log.exists() else ""
        raise LabError(f"{name}: nothing listens on {transport} port {port} after {timeout:g} s"
                       + (f": {text.strip()}" if text.strip() else ""))

    def address(self, name: str) -> str:
        """The first IPv4 address configured on node ``name``."""
        for intf in self.node(name).intfList():
            ip = intf.IP()
            if ip:
                return str(ip)
        raise LabError(f"node {name} has no address")

    # ---- description --------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """A map of the lab: nodes, interfaces, addresses, middlebox settings (real and lab time)."""
        nodes = []
        for name, spec in self.specs.items():
            intfs = []
            if self.net is not None:
                for intf in self.node(name).intfList():
                    if intf.name != "lo":
                        intfs.append({"name": intf.name, "ip": intf.IP() or "",
                                      "prefix": intf.prefixLen if intf.IP() else None})
            entry: dict[str, Any] = {"name": name, "role": spec.role, "interfaces": intfs}
            if name in self.middleboxes:
                preset = chosen_preset(self.middleboxes[name])
                if preset is not None:
                    entry["preset"] = record(preset)
                entry["settings"] = self.middleboxes[name].describe()
                entry["kernel_timeouts"] = list(dict.fromkeys(
                    t.describe() for t in self.rendered[name].timeouts))
                entry["notes"] = list(self.rendered[name].notes)
            nodes.append(entry)
        return {"lab_id": self.lab_id, "topology": self.topology_name,
                "time_scale": self.time_scale.factor, "nodes": nodes}


def lab_from_settings(topology: str | TopologyRef,
                      settings: Mapping[str, Mapping[str, Any] | Middlebox], time_scale: TimeScale) -> Lab:
    """Build (not start) a lab from ``{node: {setting: raw value}}`` (YAML or ``--set``; ``preset`` names
    a preset, the other settings override its values); a node may also be given a config object, used
    as it is."""
    name, topo = load_topology(topology)
    specs = node_specs(topo)
    configs: dict[str, Middlebox] = {}
    for node, values in settings.items():
        if node not in specs:
            raise ConfigError(f"no node '{node}' in topology {topology}{closest(node, sorted(specs))}")
        if not isinstance(values, Mapping):
            configs[node] = values  # a config object: Lab checks its kind against the node's role
            continue
        if specs[node].role in ROLES_PLAIN:
            raise ConfigError(f"node '{node}' is a plain {specs[node].role}: it has no settings")
        configs[node] = configure(specs[node].role, values, prefix=f"{node}.")
    return Lab(topology, configs, time_scale=time_scale, loaded=(name, topo))
