"""One exception root for natsim, with specific subclasses.

Callers catch :class:`NatsimError`; the CLI turns it into one clear line and an exit code. Exit codes
are the same for every command: 0 ok, 1 a check failed (an expectation, a conformance requirement,
a model disagreement), 2 an error (usage, configuration, a lab that could not start), 3 a probe of a
run could not run (it crashed, its tool exited non-zero or measured nothing: the run is incomplete),
130 interrupted (Ctrl-C, SIGTERM, SIGHUP).
"""

from __future__ import annotations

from pathlib import Path

#: Exit codes of every natsim command.
EXIT_OK, EXIT_CHECK_FAILED, EXIT_ERROR, EXIT_PROBE_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class NatsimError(Exception):
    """Root of every error natsim raises on purpose (exit code 2)."""

    exit_code = EXIT_ERROR


class ConfigError(NatsimError):
    """Bad user input: a scenario file, a ``--set`` option, a duration.

    ``source`` names where the value came from (a file or an option); ``line`` and
    ``column`` are 1-based when known.
    """

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source or ""
        if self.source and self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}" if where else self.message


class OptionError(ConfigError):
    """A probe option's value is wrong; ``path`` is where inside the probe's options (``("variants",
    2)``: the third item of ``variants``), so the scenario loader can point at that item."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 column: int | None = None, *, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message, source, line, column)
        self.path = path


class ScenarioError(ConfigError):
    """A scenario file is invalid; always carries file and line."""


class DurationError(ConfigError):
    """A duration string is malformed or out of range."""


class TimeScaleError(ConfigError):
    """A scaled kernel timeout cannot be represented precisely enough; ``setting`` names it
    (``NODE.SETTING``) when it is a middlebox's."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 column: int | None = None, *, setting: str | None = None) -> None:
        super().__init__(message, source, line, column)
        self.setting = setting


class UntrustedCodeError(ConfigError):
    """A scenario or topology would run its own code (command probes, ssh options, a topology file) and
    the user did not pass ``--trust``; the message lists exactly what would run."""


class AddressError(ConfigError):
    """An address outside the ranges a lab may use."""


class PrivilegeError(NatsimError):
    """The command needs root (network namespaces, nftables)."""


class OutputError(NatsimError):
    """An output file or directory cannot be written safely: a name there is a symbolic link (natsim
    never writes through one), it is not what natsim expects, or another natsim run is writing it."""


class ClusterError(NatsimError):
    """A Dask cluster could not be reached, or its work could not be finished there (a task failed on
    every worker it was given to)."""


class LabError(NatsimError):
    """Bringing up, driving or tearing down a lab failed."""


class CommandError(LabError):
    """A command run inside a lab node failed."""

    def __init__(self, node: str, argv: list[str] | str, returncode: int, output: str) -> None:
        self.node = node
        self.argv = argv
        self.returncode = returncode
        self.output = output
        cmd = argv if isinstance(argv, str) else " ".join(argv)
        super().__init__(f"{node}: `{cmd}` exited {returncode}: {output.strip()[:500]}")


class CommandTimeout(LabError):
    """A command run inside a lab node did not finish in time (it was stopped); ``output`` is what it
    printed until then."""

    def __init__(self, node: str, argv: list[str] | str, timeout: float, output: str) -> None:
        self.node = node
        self.argv = argv
        self.timeout = timeout
        self.output = output
        cmd = argv if isinstance(argv, str) else " ".join(argv)
        super().__init__(f"{node}: `{cmd}` did not finish within {timeout:g} s")


class ProbeError(NatsimError):
    """A probe could not run (connection set-up failed, bad server reply, its tool failed); ``log`` is
    the file holding what it printed, when there is one."""

    def __init__(self, message: str, *, log: Path | None = None) -> None:
        super().__init__(message)
        self.log = log


class ProxyError(NatsimError):
    """The SSH proxy could not start or serve."""
