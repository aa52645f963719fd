"""The ``command`` probe: the user's own program in a lab node (not modelled)."""

from natsim.later import later
from natsim.probes.command.options import CommandOptions, command_code
from natsim.probes.registry import ProbeKind

COMMAND = ProbeKind(CommandOptions.kind, CommandOptions, later("natsim.probes.command.driver:driver"),
                    unmodelled="a user's own program: the model cannot know what it does",
                    summary="your own program, run in a lab node; it must exit 0", user_code=command_code)

__all__ = ["COMMAND"]
