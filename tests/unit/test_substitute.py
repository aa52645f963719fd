"""Node names become addresses in commands, one way everywhere (``--run``, ``--probe-cmd``, command
probes, ``Lab.run`` with a string)."""

from __future__ import annotations

import pytest

from natsim.lab.substitute import substitute_nodes

ADDRESSES = {"client": "192.0.2.10", "server": "198.51.100.10", "router": "192.0.2.1"}


def sub(command: str) -> str:
    return substitute_nodes(command, ADDRESSES, ADDRESSES.__getitem__)


@pytest.mark.parametrize(("command", "expected"), [
    ("ping -c1 server", "ping -c1 198.51.100.10"),
    ("ssh root@server uptime", "ssh root@198.51.100.10 uptime"),
    ("ssh -l root server", "ssh -l root 198.51.100.10"),
    ("server --bind server", "server --bind 198.51.100.10"),           # the program is not a node
    ("  my-probe   server  client", "  my-probe   198.51.100.10  192.0.2.10"),   # spacing kept
    ("cat server.log /tmp/server", "cat server.log /tmp/server"),    # not words of their own
    ("socat - TCP:server:31415", "socat - TCP:server:31415"),
    ("echo 'server'", "echo 'server'"),
    ("ssh user@host server@x", "ssh user@host server@x"),
    ("", ""),
])
def test_substitute_nodes(command: str, expected: str) -> None:
    assert sub(command) == expected


def test_every_command_path_uses_the_one_function() -> None:
    """--run, --probe-cmd/command probes and Lab.run(str) all go through Lab.substitute, which is
    substitute_nodes: no second copy of the rule."""
    import inspect

    from natsim.commands import lab as lab_command
    from natsim.lab.lab import Lab
    from natsim.probes.command import driver

    assert "substitute_nodes(" in inspect.getsource(Lab.substitute)
    assert "self.substitute(argv)" in inspect.getsource(Lab.run)
    assert "lab.substitute(options.argv)" in inspect.getsource(driver.driver)
    assert "lab.run(node, cmd," in inspect.getsource(lab_command._run_commands)
