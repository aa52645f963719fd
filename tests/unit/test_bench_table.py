"""``make bench``: benchmarks/run_all.py runs every benchmark and tables the figures they record."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks"
HELPERS = {"figures", "own_namespace", "run_all"}

sys.path.insert(0, str(BENCH))
from figures import ENV, Figure, load, record  # noqa: E402
from run_all import BENCHES, Bench, Ran, table  # noqa: E402


def test_every_benchmark_script_is_run_and_documented() -> None:
    scripts = {p.stem for p in BENCH.glob("*.py")} - HELPERS
    assert {b.name for b in BENCHES} == scripts
    documented = set(re.findall(r"^\| `(\w+)` \|", (ROOT / "docs/benchmarks.md").read_text(), re.M))
    assert documented == scripts


def test_every_benchmark_records_a_figure() -> None:
    for bench in BENCHES:
        assert "record(Figure(" in (BENCH / f"{bench.name}.py").read_text(), bench.name


def test_ratio_and_value_targets() -> None:
    help_ = Figure("cli", "natsim --help", 80.0, "ms", 4.0, "ratio", reference=20.0, reference_name="bare")
    assert help_.ratio == 4.0 and help_.met
    assert not Figure("cli", "slow", 81.0, "ms", 4.0, "ratio", reference=20.0).met
    assert not Figure("cli", "no reference", 1.0, "ms", 4.0, "ratio").met
    assert Figure("sim", "predict", 199.0, "ms", 200.0).met
    assert not Figure("sim", "predict", 201.0, "ms", 200.0).met
    scp = Figure("ssh", "scp", 4.0, "MB/s", 0.5, "ratio", at_most=False, reference=10.0)
    assert not scp.met and Figure("ssh", "scp", 5.0, "MB/s", 0.5, "ratio", at_most=False, reference=10.0).met
    assert help_.describe_target() == "<= 4x bare" and scp.describe_target() == ">= 0.5x "


def test_record_writes_only_when_asked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figure = Figure("sim", "predict", 150.0, "ms", 200.0)
    monkeypatch.delenv(ENV, raising=False)
    record(figure)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(ENV, str(tmp_path / "f.jsonl"))
    record(figure)
    record(figure)
    assert load(str(tmp_path / "f.jsonl")) == [figure, figure]


def test_table_marks_missed_targets_and_failed_benchmarks() -> None:
    ok = Figure("cli_startup", "natsim --help", 60.0, "ms", 4.0, "ratio", reference=30.0,
                reference_name="python -c pass")
    slow = Figure("sim_predict", "predict()", 250.0, "ms", 200.0)
    lines = table([Ran(Bench("cli_startup"), 0, 1.0, (ok,)), Ran(Bench("sim_predict"), 0, 1.0, (slow,)),
                   Ran(Bench("ssh_proxy"), 1, 1.0, ()), Ran(Bench("probe_ladder"), 0, 1.0, ())])
    assert lines[0].split()[:3] == ["benchmark", "figure", "value"]
    assert re.search(r"cli_startup +natsim --help +60 ms +30 ms python -c pass +2 x "
                     r"+<= 4x python -c pass +met$", lines[1])
    assert re.search(r"sim_predict +predict\(\) +250 ms .*<= 200 ms +MISSED$", lines[2])
    assert re.search(r"ssh_proxy +FAILED \(exit 1\) .*FAILED$", lines[3])
    assert re.search(r"probe_ladder +no figure recorded .*FAILED$", lines[4])


def test_quick_run_of_the_model_benchmarks_prints_one_table(tmp_path: Path) -> None:
    """The benchmarks that need no lab, at --quick sizes, through the runner as `make bench` runs it."""
    done = subprocess.run([sys.executable, str(BENCH / "run_all.py"), "--quick", "--only", "cli_startup",
                           "sim_predict", "sim_population"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp_path)}, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    tail = done.stdout.split("=== natsim benchmarks", 1)[1].splitlines()[1:]
    assert [line.split()[0] for line in tail] == ["benchmark", "cli_startup", "sim_predict", "sim_population"]
    assert all(line.endswith(("met", "MISSED")) for line in tail[1:])
    assert list(tmp_path.iterdir()) == []   # the figures' scratch directory is gone
