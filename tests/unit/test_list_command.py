"""``natsim list``: topologies, shipped scenarios and the registered kinds; ``--json`` is JSON only."""

from __future__ import annotations

import json
import subprocess
import sys

from natsim.middleboxes.registry import kinds as middlebox_kinds
from natsim.probes.registry import kinds as probe_kinds


def natsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "natsim.cli", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_list_json_is_the_inventory_and_nothing_else() -> None:
    done = natsim("list", "--json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert set(found["middleboxes"]) == set(middlebox_kinds())
    assert set(found["probes"]) == set(probe_kinds())
    assert {"isp-bridge-cgn", "home-nat", "dc-ssh-proxy"} <= set(found["topologies"])
    assert "isp-modem-bridge-1h" in found["scenarios"]
    assert "not modelled" in found["probes"]["command"]


def test_list_text_names_every_section() -> None:
    done = natsim("list")
    assert done.returncode == 0, done.stderr
    for section in ("topologies:", "scenarios:", "middleboxes:", "probes:"):
        assert section in done.stdout
