"""Options of the ``command`` probe: the user's own program, run in a lab node."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any, ClassVar

from natsim.errors import ConfigError
from natsim.fields import duration_field, plain_field
from natsim.probes.options import ProbeOptions, UserCode


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


def command_line(argv: str) -> str:
    """The exact shell command line a ``command`` probe runs."""
    return f"sh -c {shlex.quote(argv)}"


def command_code(options: Any) -> list[UserCode]:
    """A command probe runs its ``argv``: always its author's code."""
    assert isinstance(options, CommandOptions)
    return [UserCode(("argv",), command_line(options.argv),
                     "node names after a command's first word are replaced by their addresses")]
