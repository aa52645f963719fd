"""Deferred imports (natsim.later): a probe kind's lab driver, model and tool are imported when first
used, so a lab node's ``python -m natsim.probes TOOL`` imports only its own tool's code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from natsim.later import Later, later
from tests.unit.test_layers import import_graph

LOADED = """
import sys
from natsim.probes.__main__ import main
try:
    main({argv!r})
except SystemExit:
    pass
print()
print(" ".join(sorted(m for m in sys.modules if m.startswith("natsim"))))
"""


def loaded_by(argv: list[str]) -> set[str]:
    """The natsim modules a ``python -m natsim.probes ARGV`` process has imported when it ends."""
    done = subprocess.run([sys.executable, "-c", LOADED.format(argv=argv)], capture_output=True, text=True,
                          check=True, timeout=60)
    return set(done.stdout.splitlines()[-1].split())


def test_a_target_is_imported_on_the_first_call_and_called() -> None:
    dumps = later("json:dumps")
    assert isinstance(dumps, Later) and dumps({"a": 1}) == json.dumps({"a": 1})
    assert dumps.resolve() is json.dumps and repr(dumps) == "Later('json:dumps')"


@pytest.mark.parametrize("target", ["json", "json:", ":dumps", "json.dumps"])
def test_a_target_without_module_and_name_is_refused(target: str) -> None:
    with pytest.raises(ValueError, match="expected 'module:name'"):
        later(target)


def test_a_tool_process_imports_its_own_tool_only() -> None:
    send = loaded_by(["send", "--help"])
    assert "natsim.probes.tcp.cli" in send and "natsim.probes.tcp.send" in send
    for other in ("natsim.probes.serve", "natsim.probes.tcp.driver", "natsim.probes.tcp.model",
                  "natsim.probes.udp.cli", "natsim.probes.ssh.cli", "natsim.probes.stun.cli",
                  "natsim.probes.punch.model", "natsim.middleboxes.registry", "natsim.sim.world"):
        assert other not in send, other
    serve = loaded_by(["serve", "--help"])
    assert "natsim.probes.serve" in serve and "natsim.probes.tcp.cli" not in serve
    assert {"natsim.probes.serve", "natsim.probes.udp.cli"} <= loaded_by(["--help"])


def test_a_tool_named_by_its_kind_loads_no_other_kind() -> None:
    """As labs start tools (tests/unit/test_progress.py checks the command line): ``tcp-send`` is
    ``send``, and only its own kinds' module is imported (by ``send``'s name, every kind is loaded)."""
    by_kind = loaded_by(["tcp-send", "--help"])
    assert "natsim.probes.tcp.send" in by_kind and "natsim.probes.tcp.kinds" in by_kind
    for other in ("natsim.probes.udp.kinds", "natsim.probes.ssh.kinds", "natsim.probes.ssh.options",
                  "natsim.probes.stun.kinds", "natsim.probes.punch.kinds", "natsim.probes.command.kinds"):
        assert other not in by_kind, other
    assert "natsim.probes.ssh.kinds" in loaded_by(["send", "--help"])


def test_a_tool_named_by_its_kind_is_the_same_tool() -> None:
    def usage(argv: list[str]) -> str:
        done = subprocess.run([sys.executable, "-m", "natsim.probes", *argv], capture_output=True,
                              text=True, timeout=60)
        return f"{done.returncode} {done.stdout} {done.stderr}"
    assert usage(["tcp-send", "--help"]) == usage(["send", "--help"])
    assert usage(["tcp-send", "--help"]).startswith("0 usage: python -m natsim.probes send [-h] --server")
    assert usage(["tcp-keepalive", "--bogus"]) == usage(["keepalive", "--bogus"])
    assert usage(["tcp-keepalive", "--bogus"]).startswith("2 ")


def test_the_layer_check_follows_a_deferred_import() -> None:
    graph = import_graph()
    assert {"natsim.probes.tcp.driver", "natsim.probes.tcp.model", "natsim.probes.tcp.cli"} <= \
        graph["natsim.probes.tcp.kinds"]
    assert "natsim.probes.ssh.idle_model" in graph["natsim.probes.ssh.kinds"]
