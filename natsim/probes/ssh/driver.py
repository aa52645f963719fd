"""Lab drivers of the SSH probes: start the backend a probe needs, run the probe's tool in its client
node (``python -m natsim.probes KIND``) with the probe's declared options, hand back the result."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from natsim.endpoint import DEFAULT
from natsim.errors import ProbeError
from natsim.outfiles import make_dir, write_file
from natsim.paths import inside
from natsim.probes.driver_context import DriverContext
from natsim.probes.options import to_argv
from natsim.probes.registry import Handle, options_of
from natsim.probes.ssh.backends import LAB_PASSWORD, LAB_USER
from natsim.probes.ssh.labrun import run_ssh_probe, scale_os_keepalive, start_go_ssh
from natsim.probes.ssh.openssh import OpenSshClient
from natsim.probes.ssh.options import (
    SshBypassTimerOptions,
    SshFirstConnectOptions,
    SshIdleOptions,
    SshKexOptions,
    SshServerOptions,
)
from natsim.probes.ssh.sshd import openssh_server
from natsim.probes.tally import Tally, read_tally
from natsim.report.schema import ProbeResult


@dataclass
class _Backend:
    port: int
    user: str
    password: str | None


def _backend(ctx: DriverContext, spec: Any, options: SshServerOptions, *,
             key: str | None = None) -> _Backend:
    """Start (once per node and port) the backend the probe asks for and say how to log in: sshd takes
    the lab password and every probe's key (a probe sharing a running sshd adds its key to it)."""
    node, port = spec.server, options.server_port()
    if ctx.serving(node) != (node,):   # each backend would show its own host key behind one address
        raise ProbeError(f"{spec.name}: the SSH probes need one SSH server; {node} fronts "
                         f"{', '.join(ctx.serving(node))}: name one of them as the server")
    if options.backend == "go-ssh":
        ctx.server(node, f"go-ssh:{port}",
                   lambda: start_go_ssh(ctx.lab, node, port=port, workdir=ctx.workdir))
        return _Backend(port, LAB_USER, LAB_PASSWORD)
    sshd = ctx.server(node, f"sshd:{port}", lambda: ctx.stack.enter_context(
        openssh_server(ctx.lab, node, port=port, password=LAB_PASSWORD)))
    if key is None:
        return _Backend(port, "root", LAB_PASSWORD)
    keys = sshd.workdir / "authorized_keys"
    write_file(keys, keys.read_text() + key.strip() + "\n")
    return _Backend(port, "root", None)


@dataclass
class _ThreadHandle:
    """Runs a blocking probe in a thread so the runner can wait on several at once; its progress is
    what the probe writes to ``tally`` (``total``: its connections, None when it cannot know)."""

    run: Any
    tally: Path
    total: int | None
    result: ProbeResult | None = None
    error: BaseException | None = None
    thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.thread = threading.Thread(target=self._target, daemon=True)
        self.thread.start()

    def _target(self) -> None:
        try:
            self.result = self.run()
        except BaseException as err:  # handed to wait()
            self.error = err

    def wait(self, timeout: float | None = None) -> ProbeResult:
        self.thread.join(timeout)
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise ProbeError("the SSH probe did not finish")
        return self.result

    def stop(self) -> None:
        """The probe process is a lab process: the lab's teardown stops it."""

    def progress(self) -> Tally:
        """Connections (login attempts, sessions) with a verdict so far."""
        if self.result is not None:
            return Tally(len(self.result.connections), len(self.result.connections))
        return read_tally(self.tally, self.total)


def _run(ctx: DriverContext, spec: Any, args: list[str], timeout: float, total: int | None) -> _ThreadHandle:
    workdir = make_dir(inside(ctx.workdir, f"{spec.name}-work"))
    argv = [*args, f"--name={spec.name}"]
    tally = inside(workdir, "progress")
    return _ThreadHandle(lambda: run_ssh_probe(ctx.lab, spec.client, spec.kind, argv, timeout=timeout,
                                               workdir=workdir, progress=tally),
                         tally, total)


def _login_args(ctx: DriverContext, spec: Any, options: SshServerOptions) -> list[str]:
    """``--target``, the credentials of the backend it starts, and the probe's own options."""
    backend = _backend(ctx, spec, options)
    args = ["--target", f"{ctx.lab.address(spec.server)}:{backend.port}", "--user", backend.user]
    if backend.password is not None:
        args += ["--password", backend.password]
    return [*args, *to_argv(options)]


def first_connect(ctx: DriverContext, spec: Any) -> Handle:
    """ssh-first-connect in the lab."""
    options = options_of(spec)
    assert isinstance(options, SshFirstConnectOptions)
    wait = ctx.scenario.time_scale.to_lab(options.interval) * options.attempts
    return _run(ctx, spec, _login_args(ctx, spec, options), timeout=60 + 15 * options.attempts + wait,
                total=options.attempts)


def bypass_timer(ctx: DriverContext, spec: Any) -> Handle:
    """ssh-bypass-timer in the lab."""
    options = options_of(spec)
    assert isinstance(options, SshBypassTimerOptions)
    return _run(ctx, spec, _login_args(ctx, spec, options),
                timeout=120 + 2.5 * ctx.scenario.time_scale.to_lab(options.max_wait), total=None)


def kex(ctx: DriverContext, spec: Any) -> Handle:
    """ssh-kex in the lab (no login: only the target)."""
    options = options_of(spec)
    assert isinstance(options, SshKexOptions)
    backend = _backend(ctx, spec, options)
    return _run(ctx, spec, ["--target", f"{ctx.lab.address(spec.server)}:{backend.port}"], timeout=60,
                total=1)


def idle(ctx: DriverContext, spec: Any) -> Handle:
    """ssh-idle in the lab: sshd with the probe's throw-away key, the client's OS keepalive scaled."""
    options = options_of(spec)
    assert isinstance(options, SshIdleOptions)
    workdir = inside(ctx.workdir, f"{spec.name}-work")
    client = OpenSshClient(workdir)
    sshd = SshServerOptions(backend="sshd", port=options.port)
    backend = _backend(ctx, spec, sshd, key=client.public_key())
    notes = scale_os_keepalive(ctx.lab, spec.client, ctx.scenario.hosts.get(spec.client, DEFAULT))
    args = ["--target", f"{ctx.lab.address(spec.server)}:{backend.port}", f"--workdir={workdir}",
            *to_argv(options)]
    tally = inside(workdir, "progress")

    def run() -> ProbeResult:
        result = run_ssh_probe(ctx.lab, spec.client, spec.kind, [*args, f"--name={spec.name}"],
                               timeout=600, workdir=workdir, progress=tally)
        result.extra.setdefault("unscaled", []).extend(notes)
        return result

    return _ThreadHandle(run, tally, len(options.parsed()))
