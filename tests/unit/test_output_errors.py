"""An output natsim cannot write is one line and exit 2, whichever command writes it (sweep and
analyze --ladder: tests/unit/test_sweep_outputs.py, test_analysis_names.py; run: tests/netns)."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from natsim.cli import main
from natsim.errors import NatsimError
from natsim.probes.results import hand_out
from natsim.report.schema import RunResult


def test_predict_out_unwritable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("")
    assert main(["predict", "isp-modem-bridge-1h", "--out", str(tmp_path / "file" / "p.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("natsim: error: ") and str(tmp_path / "file") in err and err.count("\n") == 1, err


def test_a_probes_out_unwritable(tmp_path: Path) -> None:
    """A NatsimError, which the probe tools' CLI handler prints as one line."""
    (tmp_path / "file").write_text("")
    args = argparse.Namespace(out=tmp_path / "file" / "send.json", json=False)
    with pytest.raises(NatsimError, match="exists and is not a directory"):
        hand_out(RunResult("field"), args)
