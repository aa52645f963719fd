"""Options of the ``command`` probe: the user's own program, run in a lab node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from natsim.errors import ConfigError
from natsim.fields import duration_field, plain_field
from natsim.probes.options import ProbeOptions


@dataclass(frozen=True)
class CommandOptions(ProbeOptions):
    """command: run ``argv`` (a shell command line) in the probe's client node; it must exit 0.

    Node names after the first word are replaced by their addresses. A scenario file that has one is
    code: natsim runs it only with ``--trust``.
    """

    kind: ClassVar[str] = "command"

    argv: str = plain_field("", "the command line (run with sh -c, as root, in the client node)", "str",
                            cli=None)
    timeout: float = duration_field(3600.0, "stop it after this long (real-world)", cli=None)

    def validate(self) -> None:
        """A command is needed."""
        if not self.argv.strip():
            raise ConfigError("argv: the command is empty")
