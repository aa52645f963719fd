"""Commands in a node of a kept lab, run from a process outside it (``natsim lab exec``, ``natsim watch``).

A command joins the namespaces of the node's *anchor* (:mod:`natsim.lab.lab`), through descriptors
opened on them and checked afterwards, so a reused PID never leads it elsewhere:

* **root**: the anchor's network and mount namespaces (the mount namespace has the lab's home for
  root, :mod:`natsim.lab.home`): ``nsenter --net=FD --mount=FD -- mnexec -c CMD``, after checking
  that the anchor (PID *and* start time) is the one recorded once the descriptors are open.
* **rootless**: the lab lives in natsim's own user, mount and PID namespaces, held by the keeper
  (:mod:`natsim.lab.userns`). The same user may enter them (it owns the user namespace): ``nsenter
  --preserve-credentials --user=FD --mount=FD --pid=FD -- mnexec -c -a PID CMD``, with the keeper's
  user and mount namespaces and the PID namespace of its children, PID being the anchor's PID in
  there. nsenter forks into that PID namespace, so the command dies with the lab like everything
  else in it. (``--preserve-credentials``: the user is already uid 0 there; nsenter's own
  ``setgroups`` would be refused.)

The command starts in the caller's working directory (``/`` when the lab cannot see it).
``mnexec -c`` closes every descriptor but the standard three before the command starts, so the
command holds no reference to the lab's namespaces beyond its own membership.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from natsim.errors import KeptLabError
from natsim.lab.kept import KeptLab, Status
from natsim.lab.substitute import substitute_argv

#: Namespaces joined (``/proc/PID/ns/`` name, nsenter option), per mode.
_ROOT = (("net", "--net"), ("mnt", "--mount"))
_ROOTLESS = (("user", "--user"), ("mnt", "--mount"), ("pid_for_children", "--pid"))


@dataclass
class Joined:
    """A command line that runs in a node, and the descriptors it needs until it has started."""

    argv: list[str]
    env: dict[str, str]
    fds: list[int] = field(default_factory=list)

    def close(self) -> None:
        """Let go of the namespaces (once the command has started, it holds them itself)."""
        for fd in self.fds:
            os.close(fd)
        self.fds.clear()

    def __enter__(self) -> Joined:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_node(lab: KeptLab, node: str) -> None:
    """:class:`KeptLabError` unless ``lab`` is up and has ``node``."""
    status = lab.status()
    if status is not Status.UP:
        raise KeptLabError(describe_unusable(lab, status))
    if node not in lab.anchors:
        raise KeptLabError(f"no node {node!r} in lab {lab.name} (nodes: {', '.join(lab.anchors)})")


def describe_unusable(lab: KeptLab, status: Status) -> str:
    """Why lab ``lab`` in ``status`` takes no command, and what to do."""
    if status is Status.STARTING:
        return f"lab {lab.name} is still starting; try again once `natsim lab up` has returned"
    if status is Status.STOPPING:
        return f"lab {lab.name} is going down"
    if status is Status.BROKEN:
        return (f"lab {lab.name} is broken: its keeper is gone; `natsim lab down {lab.name}` removes what "
                "is left")
    return f"lab {lab.name} is gone (its keeper ended); `natsim lab down {lab.name}` forgets it"


def words(lab: KeptLab, command: Sequence[str]) -> list[str]:
    """``command`` with node names (and ``USER@NODE``) after the first word replaced by their
    addresses, as in ``--run`` and Mininet's CLI (:mod:`natsim.lab.substitute`)."""
    def address(node: str) -> str:
        if node not in lab.addresses:
            raise KeptLabError(f"node {node} has no address")
        return lab.addresses[node]

    return substitute_argv(command, lab.roles or lab.anchors, address)


def join(lab: KeptLab, node: str, command: Sequence[str], env: Mapping[str, str] | None = None) -> Joined:
    """The command line running ``command`` (as given: see :func:`words`) in ``node`` of ``lab``."""
    check_node(lab, node)
    anchor = lab.anchors[node]
    rootless = lab.rootless
    target = lab.keeper if rootless else anchor
    assert target is not None
    fds: list[int] = []
    try:
        for name, _ in _ROOTLESS if rootless else _ROOT:
            fds.append(os.open(f"/proc/{target.pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        pass
    if len(fds) < len(_ROOTLESS if rootless else _ROOT) or not target.alive():
        for fd in fds:
            os.close(fd)
        raise KeptLabError(f"lab {lab.name}: node {node} is gone (lab status: {lab.status().value})")
    options = [f"{option}=/proc/self/fd/{fd}" for (_, option), fd in zip(_ROOTLESS if rootless else _ROOT,
                                                                          fds, strict=True)]
    inner = ["mnexec", "-c", "-a", str(anchor.pid)] if rootless else ["mnexec", "-c"]
    argv = ["nsenter", *(["--preserve-credentials"] if rootless else []), *options,
            f"--wd={_workdir(rootless)}", "--", *inner, *command]
    node_env = {**(env if env is not None else os.environ), "NATSIM_LAB": lab.name, "NATSIM_NODE": node,
                "debian_chroot": f"{lab.name}:{node}"}   # Debian's bash prompt shows it: (lab:node)root@...
    if lab.home:
        node_env["HOME"] = lab.home
    if lab.tmpdir:
        node_env["TMPDIR"] = lab.tmpdir
    return Joined(argv, node_env, fds)


def _workdir(rootless: bool) -> str:
    """Where the command starts: this process's working directory, as for ``natsim lab --run``; ``/``
    when the lab cannot see it (rootless: natsim's namespace has a ``/run`` and a ``/proc`` of its own)."""
    try:
        here = os.getcwd()
    except OSError:
        return "/"
    hidden = any(here == top or here.startswith(top + "/") for top in ("/run", "/proc"))
    return "/" if rootless and hidden else here


def run_captured(lab: KeptLab, node: str, command: Sequence[str], *,
                 timeout: float = 30.0) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in ``node`` and collect its output (``natsim watch`` reads conntrack so)."""
    with join(lab, node, command) as joined:
        try:
            return subprocess.run(joined.argv, env=joined.env, pass_fds=joined.fds, capture_output=True,
                                  text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as err:
            raise KeptLabError(f"lab {lab.name}: `{' '.join(command)}` in {node} did not finish within "
                               f"{timeout:g} s") from err
