"""Scenario-runner drivers for the SSH probes: start the backend a probe needs, run the probe in its
client node (``python -m natsim.probes.ssh_cli``), hand back the result. Registered on import."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from natsim.errors import ProbeError
from natsim.lab.sshd import openssh_server
from natsim.paths import inside
from natsim.probes.ssh_goserver import DEFAULT_PASSWORD, DEFAULT_PORT, DEFAULT_USER
from natsim.probes.ssh_lab import run_ssh_probe, scale_os_keepalive, start_go_ssh
from natsim.probes.ssh_openssh import OpenSshClient
from natsim.report.schema import ProbeResult
from natsim.runner import Context, driver
from natsim.scenario import ProbeSpec
from natsim.units import format_duration

SSHD_PASSWORD = "natsim"


@dataclass
class _Backend:
    port: int
    user: str
    password: str | None


def _backend(ctx: Context, spec: ProbeSpec, *, key: str | None = None) -> _Backend:
    """Start (once per node) the backend the probe asks for and say how to log in."""
    kind = spec.options.get("backend", "go-ssh")
    node = spec.server
    if kind == "go-ssh":
        port = int(spec.options.get("port", DEFAULT_PORT))
        ctx.server(node, f"go-ssh:{port}", lambda: start_go_ssh(ctx.lab, node, port=port, workdir=ctx.out))
        return _Backend(port, DEFAULT_USER, DEFAULT_PASSWORD)
    port = int(spec.options.get("port", 22))
    keys = [key] if key else []
    ctx.server(node, f"sshd:{port}", lambda: ctx.stack.enter_context(
        openssh_server(ctx.lab, node, port=port, authorized_keys=keys,
                       password=None if key else SSHD_PASSWORD)))
    return _Backend(port, "root", None if key else SSHD_PASSWORD)


@dataclass
class _ThreadHandle:
    """Runs a blocking probe in a thread so the runner can wait on several at once."""

    run: Any
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


def _run(ctx: Context, spec: ProbeSpec, kind: str, args: list[str], timeout: float) -> _ThreadHandle:
    workdir = inside(ctx.out, f"{spec.name}-work")
    workdir.mkdir(parents=True, exist_ok=True)
    return _ThreadHandle(lambda: run_ssh_probe(ctx.lab, spec.client, kind, [*args, "--name", spec.name],
                                               timeout=timeout, workdir=workdir))


def _login_args(backend: _Backend, spec: ProbeSpec) -> list[str]:
    args = ["--client", str(spec.options.get("client_impl", "go")), "--user", backend.user]
    if backend.password is not None:
        args += ["--password", backend.password]
    return args


def _target(ctx: Context, spec: ProbeSpec, backend: _Backend) -> str:
    return f"{ctx.lab.address(spec.server)}:{backend.port}"


@driver("ssh-first-connect")
def _first_connect(ctx: Context, spec: ProbeSpec) -> _ThreadHandle:
    backend = _backend(ctx, spec)
    attempts = int(spec.options.get("attempts", 3))
    args = ["--target", _target(ctx, spec, backend), "--attempts", str(attempts),
            *_login_args(backend, spec)]
    return _run(ctx, spec, "ssh-first-connect", args, timeout=60 + 15 * attempts)


@driver("ssh-bypass-timer")
def _bypass_timer(ctx: Context, spec: ProbeSpec) -> _ThreadHandle:
    backend = _backend(ctx, spec)
    args = ["--target", _target(ctx, spec, backend), *_login_args(backend, spec)]
    for option in ("step", "resolution", "max_wait"):
        if option in spec.options:
            args += [f"--{option.replace('_', '-')}", format_duration(spec.options[option])]
    max_wait = float(spec.options.get("max_wait", 4 * 3600.0))
    return _run(ctx, spec, "ssh-bypass-timer", args,
                timeout=120 + 2.5 * ctx.scenario.time_scale.to_lab(max_wait))


@driver("ssh-kex")
def _kex(ctx: Context, spec: ProbeSpec) -> _ThreadHandle:
    backend = _backend(ctx, spec)
    return _run(ctx, spec, "ssh-kex", ["--target", _target(ctx, spec, backend)], timeout=60)


@driver("ssh-idle")
def _idle(ctx: Context, spec: ProbeSpec) -> _ThreadHandle:
    workdir = inside(ctx.out, f"{spec.name}-work")
    client = OpenSshClient(workdir)
    spec_sshd = ProbeSpec(spec.name, spec.kind, spec.client, spec.server, spec.start,
                          {**spec.options, "backend": "sshd"})
    backend = _backend(ctx, spec_sshd, key=client.public_key())
    notes = scale_os_keepalive(ctx.lab, spec.client)
    args = ["--target", _target(ctx, spec, backend), "--workdir", str(workdir)]
    for variant in spec.options.get("variants", ()):
        args += ["--variant", variant]

    def run() -> ProbeResult:
        result = run_ssh_probe(ctx.lab, spec.client, "ssh-idle", [*args, "--name", spec.name],
                               timeout=600, workdir=workdir)
        result.extra.setdefault("unscaled", []).extend(notes)
        return result

    return _ThreadHandle(run)



