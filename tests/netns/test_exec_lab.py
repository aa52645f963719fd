"""Commands run in a lab node (:class:`natsim.lab.exec.NamespaceRunner`): they return as soon as the
command exits, not when a background child closes its output; input reaches them; one that outlasts
its timeout is stopped and says what it printed."""

from __future__ import annotations

import time

import pytest

from natsim.errors import CommandError, CommandTimeout
from natsim.lab import Lab

pytestmark = pytest.mark.natsim_netns


def test_commands_return_when_they_exit_with_input_output_and_timeouts() -> None:
    with Lab("isp-bridge-cgn") as lab:
        runner = lab.runner("client")
        assert runner.run(["cat"], input="to stdin\n").stdout == "to stdin\n"
        start = time.monotonic()
        assert lab.run("client", "sleep 30 & echo started") == (0, "started\n")
        assert time.monotonic() - start < 5.0          # the background sleep is not waited for
        with pytest.raises(CommandError, match="nope"):
            runner.run(["sh", "-c", "echo nope >&2; exit 3"])
        start = time.monotonic()
        with pytest.raises(CommandTimeout) as stopped:
            runner.run(["sh", "-c", "echo partial; exec sleep 30"], timeout=0.3)
        assert time.monotonic() - start < 5.0
        assert stopped.value.output == "partial\n"
