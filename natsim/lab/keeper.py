"""The keeper of a lab that stays up between commands (``natsim lab up``).

``natsim lab up`` checks everything first, reserves the lab's name (:mod:`natsim.lab.kept`), then
starts a keeper and returns once the keeper says the lab is up:

* **root** (or root inside a user namespace): the keeper is a forked natsim in a session of its own
  (``natsim-keeper`` in ``ps``) that holds the :class:`~natsim.lab.lab.Lab` as ``natsim lab`` does: the
  lab record names it as the lab's owner (PID and start time), so ``natsim cleanup`` sees a lab whose
  keeper was killed as one whose owner is gone.
* **rootless**: natsim's own namespaces are entered detached (:func:`natsim.lab.userns.enter`); the
  holder of the namespaces is the keeper and the process inside builds the lab. Whatever ends the
  holder, the kernel removes the lab with it.

The keeper writes the lab's entry (up, then stopping), logs to ``NAME.log`` beside it, waits for
SIGTERM, SIGINT or SIGHUP (``natsim lab down``), tears the lab down and removes the entry. Two pipes
tie it to ``lab up`` while it starts: ``go`` (``up`` has recorded the keeper; the keeper may build)
and ``ready`` (one JSON line: the lab is up, or the error that stopped it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from natsim.errors import EXIT_ERROR, KeptLabError, LabError, NatsimError
from natsim.lab.kept import KeptLab, Registry, Status
from natsim.lab.records import ANCHOR, ProcessEntry, process_start_time

if TYPE_CHECKING:
    from natsim.lab.lab import Lab

LOG = logging.getLogger("natsim.lab")


def reserve(registry: Registry, entry: KeptLab) -> None:
    """Take ``entry``'s name (:class:`KeptLabError` when taken), with this process as its keeper
    until the keeper exists: a crash in between leaves a lab that ``natsim lab list`` shows as gone."""
    entry.keeper = ProcessEntry(os.getpid(), process_start_time(os.getpid()) or 0, "", "natsim lab up")
    registry.reserve(entry)


def start(lab: Lab, sshd: Sequence[str], entry: KeptLab, registry: Registry, *, rootless: bool) -> KeptLab:
    """Start the keeper of ``lab`` (not started yet; ``entry`` reserved) and return its entry once the
    lab is up; :class:`KeptLabError` with the keeper's error when it did not come up."""
    go_read, go_write = os.pipe()
    ready_read, ready_write = os.pipe()
    try:
        keeper = _fork(rootless)
    except BaseException:
        registry.remove(entry.name)
        raise
    if keeper == 0:               # the keeper (rootless: the process inside natsim's namespaces)
        os.close(go_write)
        os.close(ready_read)
        code = EXIT_ERROR
        try:
            code = _keep(lab, sshd, entry, registry, go_read, ready_write)
        finally:
            os._exit(code)
    os.close(go_read)
    os.close(ready_write)
    entry.keeper = ProcessEntry(keeper, process_start_time(keeper) or 0, "", "keeper")
    try:
        registry.save(entry)
        with os.fdopen(go_write, "w") as go:
            go.write(json.dumps(asdict(entry.keeper)) + "\n")
        with os.fdopen(ready_read) as ready:
            message = ready.readline()
    except BaseException:         # Ctrl-C while it starts: the keeper takes the lab down again
        stop(entry, registry)
        raise
    return _outcome(message, entry, registry)


def _fork(rootless: bool) -> int:
    """Fork the keeper: its PID here, 0 in the keeper."""
    if rootless:
        from natsim.lab.userns import enter

        outer = enter(detached=True)
        return 0 if outer is None else outer.holder
    for stream in (sys.stdout, sys.stderr):
        stream.flush()            # or the keeper would print what is buffered a second time
    pid = os.fork()
    if pid == 0:
        os.setsid()               # no terminal: Ctrl-C and a closed terminal do not reach it
    return pid


def _outcome(message: str, entry: KeptLab, registry: Registry) -> KeptLab:
    """The lab's entry once ``message`` (the keeper's ready line) says it is up; else its error."""
    try:
        said = json.loads(message) if message else {}
    except ValueError:
        said = {}
    if said.get("up"):
        return registry.get(entry.name)
    stop(entry, registry)
    if "error" in said:
        raise KeptLabError(str(said["error"]))
    raise KeptLabError(f"lab {entry.name}: its keeper ended before the lab was up (its log: "
                       f"{registry.log_path(entry.name)})")


class _Ready:
    """The ``ready`` pipe to ``lab up``: one line, said once."""

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def say(self, message: dict[str, object]) -> None:
        """Tell ``lab up`` (it may be gone) and close the pipe; later calls do nothing."""
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.write(self.fd, (json.dumps(message) + "\n").encode())
        os.close(self.fd)
        self.fd = None


def _keep(lab: Lab, sshd: Sequence[str], entry: KeptLab, registry: Registry, go: int, ready_fd: int) -> int:
    """The keeper's life: build, say so, wait, tear down. Returns its exit code."""
    ready = _Ready(ready_fd)
    try:
        _detach(registry, entry.name)
        with os.fdopen(go) as pipe:
            line = pipe.readline()
        if not line:
            return EXIT_ERROR     # `lab up` died before it recorded us: nothing was built
        entry.keeper = ProcessEntry(**json.loads(line))
        _hold(lab, sshd, entry, registry, ready)
    except KeyboardInterrupt:     # natsim lab down (SIGTERM), SIGINT or SIGHUP: torn down
        pass
    except NatsimError as err:    # it did not come up, or its teardown left something (the record says what)
        LOG.error("%s", err)
        ready.say({"error": str(err)})
        return err.exit_code
    except BaseException as err:
        LOG.error("%s", "".join(traceback.format_exception(err)))
        ready.say({"error": f"lab {entry.name}: its keeper failed: {err!r} (its log: "
                            f"{registry.log_path(entry.name)})"})
        return EXIT_ERROR
    finally:
        ready.say({"error": f"lab {entry.name}: it went down before it was up"})
    registry.remove(entry.name)
    return 0


def _hold(lab: Lab, sshd: Sequence[str], entry: KeptLab, registry: Registry, ready: _Ready) -> None:
    """Bring ``lab`` up, record it, say so on ``ready``, and wait until a signal ends it."""
    from natsim.probes.ssh.backends import LAB_PASSWORD
    from natsim.probes.ssh.sshd import openssh_server

    with lab, contextlib.ExitStack() as stack:
        for node in sshd:
            stack.enter_context(openssh_server(lab, node, password=LAB_PASSWORD))
        _fill(entry, lab)
        entry.state = Status.UP.value
        registry.save(entry)
        ready.say({"up": True})
        LOG.warning("lab %s (%s) is up", entry.name, lab.lab_id)
        try:
            while True:
                signal.pause()
        finally:
            entry.state = Status.STOPPING.value
            registry.save(entry)
            LOG.warning("lab %s: going down", entry.name)


def _fill(entry: KeptLab, lab: Lab) -> None:
    """What commands need to know of the running ``lab``: its id, each node's anchor and address,
    root's home and TMPDIR in the nodes, the map."""
    assert lab.record is not None
    entry.lab_id = lab.lab_id
    entry.anchors = {p.node: p for p in lab.record.processes if p.what == ANCHOR}
    entry.addresses = {}
    for node in lab.specs:
        with contextlib.suppress(LabError):   # a node without an address (a bridge) keeps its name
            entry.addresses[node] = lab.address(node)
    entry.home = lab.node_env.get("HOME", "")
    entry.tmpdir = lab.node_env.get("TMPDIR", "")
    entry.map = lab.describe()


def _detach(registry: Registry, name: str) -> None:
    """Standard output and error to the lab's log, input from /dev/null, working directory /: the
    keeper holds nothing of the terminal or the directory it was started from."""
    with open("/proc/self/comm", "w") as comm:
        comm.write("natsim-keeper")
    log = registry.log(name)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    log.close()
    os.chdir("/")


def stop(entry: KeptLab, registry: Registry, *, grace: float = 30.0) -> list[str]:
    """Take lab ``entry`` down: SIGTERM to its keeper, which tears it down and removes the entry; a
    keeper that does not end within ``grace`` seconds is killed. Then (root) whatever a killed
    keeper left is removed through the lab's record, as ``natsim cleanup`` does; rootless, the
    kernel removed it with the keeper. Returns what is left (empty: nothing)."""
    from natsim.lab.cleanup import destroy
    from natsim.lab.netns import signal_entry
    from natsim.lab.records import LabRecord

    keeper = entry.keeper
    if (keeper is not None and signal_entry(keeper, signal.SIGTERM) and not _wait_ended(keeper, grace)
            and signal_entry(keeper, signal.SIGKILL)):
        _wait_ended(keeper, 5.0)
    if keeper is not None and keeper.alive():
        raise KeptLabError(f"lab {entry.name}: its keeper (process {keeper.pid}) would not end")
    left: list[str] = []
    if not entry.rootless and entry.lab_id:
        from natsim.lab.kept import record_path

        path = record_path(entry.lab_id)
        if path.exists():
            report = destroy(LabRecord.load(path))
            left = [f"process {pid}" for pid in report.remaining]
            left += [f"node {node}'s namespace (no recorded process left in it)" for node in report.untrusted]
    if not left:
        registry.remove(entry.name)
    return left


def _wait_ended(process: ProcessEntry, timeout: float) -> bool:
    """Wait until ``process`` has ended (our own child is reaped); False after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while process.alive():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(process.pid, os.WNOHANG)
    return True
