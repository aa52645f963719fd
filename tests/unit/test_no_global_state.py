"""Importing natsim and drawing its plots leaves global state alone: the importer's matplotlib backend
stays what it was and pyplot (with its global figure manager) is never imported.

Runs in a fresh interpreter, so other tests (or pytest plugins) that import pyplot cannot hide a
regression. The backend is pinned to ``svg`` there, a backend natsim never picks itself, so a stray
``matplotlib.use("Agg")`` shows up as a changed backend.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]

CHILD = r"""
import importlib, json, pkgutil, sys
from pathlib import Path

import matplotlib

out = Path(sys.argv[1])
before = matplotlib.get_backend()

import natsim
imported = []
for info in pkgutil.walk_packages(natsim.__path__, "natsim."):
    importlib.import_module(info.name)
    imported.append(info.name)

from natsim.analysis import analyze_directory, draw_ladder
from natsim.report.plot import plot_survival
from natsim.report.schema import ConnectionResult, ProbeResult, RunResult, Verdict
from natsim.report.sweep_report import sweep_figure
from natsim.run import sweep
from tests.unit.sim_scenarios import isp

result = RunResult(source="model", scenario="tiny", probes=[ProbeResult(
    name="send", kind="tcp-send", target="server",
    connections=[ConnectionResult(index=0, idle=600.0, verdict=Verdict.ALIVE),
                 ConnectionResult(index=1, idle=4000.0, verdict=Verdict.DEAD)])])
plot_survival(result, out / "survival.png", {"cpe idle": 3600.0})

scenario = isp(connections=3, step=600.0, first=600.0)
params = [sweep.parse_param("cpe.idle_timeout=30m..1h:30m", scenario),
          sweep.parse_param("cgn.idle_timeout=1h,2h", scenario)]
rows = sweep.run_local(scenario, params, sweep.grid(params), workers=1)
sweep_figure(rows, params[:1]).savefig(out / "line.png")
sweep_figure(rows, params).savefig(out / "heat.png")

pcaps = Path("tests/golden/pcaps/cpe-silent-drop")
draw_ladder(analyze_directory(pcaps), "c1", out / "ladder")

print(json.dumps({"before": before, "pyplot": "matplotlib.pyplot" in sys.modules,
                  "after": matplotlib.get_backend(), "imported": imported}))
"""


def test_importing_and_plotting_keeps_backend_and_never_imports_pyplot(tmp_path: Path) -> None:
    env = {**os.environ, "MPLBACKEND": "svg"}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["before"] == "svg"
    assert report["pyplot"] is False
    assert report["after"] == "svg"
    assert {"natsim.report.plot", "natsim.run.sweep", "natsim.analysis.ladder",
            "natsim.cli"} <= set(report["imported"])
    for name in ("survival.png", "heat.png", "ladder.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    assert "lost at cpe" in (tmp_path / "ladder.svg").read_text()
