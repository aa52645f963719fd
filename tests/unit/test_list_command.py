"""``natsim list``: topologies, shipped scenarios and the registered kinds; ``--json`` is JSON only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from natsim.middleboxes.registry import kinds as middlebox_kinds
from natsim.probes.registry import kinds as probe_kinds

CHECKOUT = Path(__file__).resolve().parents[2]


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
    assert found["presets"]["aws-nlb"].startswith("load-balancer")


def test_list_text_names_every_section() -> None:
    done = natsim("list")
    assert done.returncode == 0, done.stderr
    for section in ("topologies:", "scenarios:", "middleboxes:", "probes:", "presets:"):
        assert section in done.stdout


def test_the_installed_natsim_finds_the_top_level_scenarios_and_topologies(tmp_path: Path) -> None:
    """This venv's natsim (``make setup``: ``pip install -e .``), run outside the checkout and without
    PYTHONPATH, finds the project's top-level scenarios/ and topologies/ by name."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    natsim_bin = Path(sys.executable).parent / "natsim"
    listed = subprocess.run([str(natsim_bin), "list", "--json"], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=60, check=False)
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert Path(found["scenarios"]["isp-modem-bridge-1h"]) == \
        CHECKOUT / "scenarios" / "isp-modem-bridge-1h.yaml"
    assert Path(found["topologies"]["home-nat"]) == CHECKOUT / "topologies" / "home_nat.py"
    predicted = subprocess.run([str(natsim_bin), "predict", "isp-modem-bridge-1h", "--json"],
                               capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
                               check=False)
    assert predicted.returncode == 0, predicted.stderr
    assert json.loads(predicted.stdout)["scenario"] == "isp-modem-bridge-1h"
