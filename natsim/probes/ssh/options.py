"""Options of the SSH probes, declared once (scenario files, ``natsim probe`` flags, the lab driver and
the model all read these classes).

``backend`` and ``port`` say which server the lab starts behind a probe (go-ssh or OpenSSH sshd, on
its default port unless ``port`` says otherwise); on the command line the probe is given
``--target HOST:PORT`` instead, so they are not flags.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from natsim.errors import ConfigError, OptionError
from natsim.fields import closest, duration_field, plain_field
from natsim.paths import name_problem, quoted
from natsim.probes.options import ProbeOptions, UserCode
from natsim.probes.ssh.backends import BACKENDS
from natsim.probes.ssh.client_options import SAFE, canonical, check_option, is_code
from natsim.units import format_duration, parse_duration

#: The SSH client a login probe uses: a library client that behaves like golang.org/x/crypto/ssh, or
#: OpenSSH's ``ssh``.
CLIENTS = ("go", "openssh")


def _backend_field() -> str:
    return plain_field("go-ssh", "server the lab starts behind the probe", "choice",  # type: ignore[no-any-return]
                       choices=tuple(BACKENDS), cli=None)


def _port_field() -> int | None:
    return plain_field(None, "port of that server (default: go-ssh 2222, sshd 22)", "int",  # type: ignore[no-any-return]
                       optional=True, minimum=1, maximum=65535, cli=None)


def _client_field() -> str:
    return plain_field("go", "the SSH client: go behaves like golang.org/x/crypto/ssh, openssh is ssh",  # type: ignore[no-any-return]
                       "choice", choices=CLIENTS, cli="--client")


@dataclass(frozen=True)
class SshServerOptions(ProbeOptions):
    """Which server the lab starts behind the probe."""

    backend: str = _backend_field()
    port: int | None = _port_field()

    def server_port(self) -> int:
        """The port the probe connects to."""
        return self.port if self.port is not None else BACKENDS[self.backend].port


@dataclass(frozen=True)
class SshFirstConnectOptions(SshServerOptions):
    """Options of ssh-first-connect (the kind, its summary and tool: :mod:`natsim.probes.ssh.kinds`)."""

    kind: ClassVar[str] = "ssh-first-connect"

    attempts: int = plain_field(3, "login attempts", "int", minimum=1, maximum=10_000)
    interval: float = duration_field(0.0, "real-world wait between attempts", allow_zero=True)
    client_impl: str = _client_field()


@dataclass(frozen=True)
class SshBypassTimerOptions(SshServerOptions):
    """Options of ssh-bypass-timer: the schedule of growing waits and the bisection."""

    kind: ClassVar[str] = "ssh-bypass-timer"

    step: float = duration_field(600.0, "growing waits after an interception, by this much")
    resolution: float = duration_field(30.0, "bisect the bracket down to this width")
    max_wait: float = duration_field(4 * 3600.0, "give up when no expiry is seen by then")
    client_impl: str = _client_field()

    def validate(self) -> None:
        """The schedule must make sense (the tool's ``TimerPlan`` checks the same)."""
        problem = schedule_problem(self.step, self.resolution, self.max_wait)
        if problem is not None:
            raise ConfigError(problem)


def schedule_problem(step: float, resolution: float, max_wait: float) -> str | None:
    """Why an ssh-bypass-timer schedule cannot run (None: it can)."""
    if step <= 0 or resolution <= 0:
        return f"step ({step:g} s) and resolution ({resolution:g} s) must be greater than zero"
    if max_wait < step:
        return f"max_wait ({format_duration(max_wait)}) is shorter than one step ({format_duration(step)})"
    return None


@dataclass(frozen=True)
class SshKexOptions(SshServerOptions):
    """Options of ssh-kex: only which server the lab starts."""

    kind: ClassVar[str] = "ssh-kex"


@dataclass(frozen=True)
class IdleVariant:
    """One idle session: how long it stays idle and the ssh options it uses (names spelt as ssh's
    manual spells them, values checked: :mod:`natsim.probes.ssh.client_options`)."""

    name: str
    idle: float                                     # real-world seconds
    options: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> IdleVariant:
        """``"2h,ServerAliveInterval=300"`` or ``"name=2h,TCPKeepAlive=yes"``; :class:`ConfigError`
        for an unknown ssh option (with the closest name), a bad value, a control character."""
        head, *rest = [p.strip() for p in text.split(",") if p.strip()] or [""]
        name, _, duration = head.rpartition("=") if "=" in head else ("", "", head)
        if name and name_problem(name) is not None:
            raise ConfigError(f"variant {text!r}: name {quoted(name)} {name_problem(name)}")
        options: dict[str, str] = {}
        for item in rest:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"variant {text!r}: expected Option=value, got {item!r}")
            try:
                key = check_option(key.strip(), value.strip())
            except ConfigError as err:
                raise ConfigError(f"variant {text!r}: {err.message}") from err
            if key in options:
                raise ConfigError(f"variant {text!r}: {key} is given twice")
            options[key] = value.strip()
        idle = parse_duration(duration, what=f"variant {text!r}: idle")
        label = name or "-".join([format_duration(idle)] + [f"{k}={v}" for k, v in options.items()])
        return cls(label, idle, options)

    def text(self) -> str:
        """The variant as a scenario file writes it (``NAME=IDLE,Option=value,...``; a name made from
        the options, which has ``=`` in it, is left out and made again): parses back to an equal
        variant."""
        head = f"{self.idle:g}s" if name_problem(self.name) else f"{self.name}={self.idle:g}s"
        return ",".join([head, *(f"{k}={v}" for k, v in self.options.items())])

    def flag(self, name: str, default: bool) -> bool:
        """An ssh yes/no option (``TCPKeepAlive``), OpenSSH's default when not given."""
        value = self.options.get(name)
        return default if value is None else value.lower() in ("yes", "true")

    def code(self) -> dict[str, str]:
        """Its options that can run commands or touch files (not in ``client_options.SAFE``)."""
        return {k: v for k, v in self.options.items() if is_code(k)}


#: The incident's variants: plain, ServerAliveInterval 300, TCPKeepAlive only.
DEFAULT_VARIANTS = ("idle-61m=61m,TCPKeepAlive=no",
                    "serveralive-300=2h,ServerAliveInterval=300,TCPKeepAlive=no",
                    "tcpkeepalive-only=2h20m,TCPKeepAlive=yes")


@dataclass(frozen=True)
class SshIdleOptions(ProbeOptions):
    """Options of ssh-idle: one OpenSSH session per variant."""

    kind: ClassVar[str] = "ssh-idle"

    variants: tuple[str, ...] = plain_field(
        DEFAULT_VARIANTS, "sessions: IDLE[,Option=value...] or NAME=IDLE[,...], e.g. "
        "'2h,ServerAliveInterval=300'; ssh options other than " + ", ".join(SAFE) + " are code (a "
        "scenario setting one needs trust)",
        "str-list", cli="--variant", cli_action="append", list_only=True, item="session")
    port: int | None = plain_field(None, "port of the lab's sshd (default 22)", "int", optional=True,
                                   minimum=1, maximum=65535, cli=None)

    def validate(self) -> None:
        """Every variant must parse (:meth:`IdleVariant.parse`); at least one."""
        if not self.variants:
            raise OptionError("variants: at least one session is needed", path=("variants",))
        for i, text in enumerate(self.variants):
            try:
                IdleVariant.parse(text)
            except ConfigError as err:
                raise OptionError(err.message, path=("variants", i)) from err

    def parsed(self) -> tuple[IdleVariant, ...]:
        """The variants, parsed."""
        return tuple(IdleVariant.parse(v) for v in self.variants)

    def _variant(self, key: str, what: str) -> int:
        """The index of the variant called ``key`` (or numbered ``key``)."""
        names = [v.name for v in self.parsed()]
        if key in names:
            return names.index(key)
        if key.isdigit() and int(key) < len(names):
            return int(key)
        raise ConfigError(f"{what}: no variant '{key}'{closest(key, names)}; variants: {', '.join(names)} "
                          f"(or their numbers 0..{len(names) - 1})")

    def setting_spec(self, path: Sequence[str], *, what: str) -> Mapping[str, Any]:
        """An option (``port``), or one variant's ssh option: ``(VARIANT, Option)`` with VARIANT a
        variant's name or number, e.g. ``("serveralive-300", "ServerAliveInterval")``; an option whose
        value is a duration (one the lab scales, :data:`~natsim.probes.ssh.client_options.SAFE`) parses
        as one; the variant's own parsing checks the value (and refuses an option ssh does not know)."""
        if len(path) != 2:
            if len(path) == 1 and path[0] == "variants":
                raise ConfigError(f"{what}: vary one variant's ssh option instead, as "
                                  "PROBE.VARIANT.Option (e.g. sessions.serveralive-300.ServerAliveInterval)")
            return super().setting_spec(path, what=what)
        self._variant(path[0], what)
        try:
            option = canonical(path[1])
        except ConfigError as err:
            raise ConfigError(f"{what}: {err.message}") from err
        if option not in SAFE:   # the others set no timer: nothing a prediction would change
            raise ConfigError(f"{what}: {option} is not an option a sweep can vary (one of "
                              f"{', '.join(SAFE)})")
        if SAFE[option].scaled:
            return {"parse": "duration", "allow_zero": True, "doc": f"ssh option {option}"}
        return {"parse": "str", "doc": f"ssh option {option}"}

    def with_setting(self, path: Sequence[str], value: Any) -> SshIdleOptions:
        """With one variant's ssh option set (a duration is written as whole or fractional seconds)."""
        if len(path) != 2:
            return super().with_setting(path, value)
        index = self._variant(path[0], ".".join(path))
        variants = list(self.parsed())
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        old = variants[index]
        variants[index] = IdleVariant(old.name, old.idle, {**old.options, canonical(path[1]): shown})
        options = replace(self, variants=tuple(v.text() for v in variants))
        options.validate()
        return options


#: Printed once under a refusal that lists ssh options.
_CODE_NOTE = ("ssh options other than " + ", ".join(SAFE) + " can run commands or read and write "
              "files; ssh runs as root")


def idle_user_code(options: Any) -> list[UserCode]:
    """The ssh options of each variant that are code (see :mod:`natsim.probes.ssh.client_options`)."""
    assert isinstance(options, SshIdleOptions)
    found = []
    for i, variant in enumerate(options.parsed()):
        code = variant.code()
        if code:
            flags = " ".join(f"-o {shlex.quote(f'{k}={v}')}" for k, v in code.items())
            found.append(UserCode(("variants", i), f"ssh {flags} (variant {variant.name})", _CODE_NOTE))
    return found
