"""``natsim sweep``, ``analyze``, ``predict`` and the probe tools never write through a symbolic link
planted where their output goes, and refuse while another natsim writes the same directory.

Each planted link points at a file outside the output directory; the command must exit 2 with one
line naming the link, and the file it points at must be unchanged. (``natsim run``: tests/e2e.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from natsim.cli import main
from natsim.outfiles import LOCK_NAME

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = str(ROOT / "scenarios" / "isp-modem-bridge-1h.yaml")
PCAPS = ROOT / "tests" / "golden" / "pcaps" / "cpe-silent-drop"
TARGET_TEXT = "not natsim's to write\n"
LINK = "is a symbolic link; natsim does not write through links"


def _plant(out: Path, name: str, tmp_path: Path) -> Path:
    """A link ``out/name`` to a file outside ``out``; returns the file."""
    target = tmp_path / "target"
    target.write_text(TARGET_TEXT)
    (out / name).parent.mkdir(parents=True, exist_ok=True)
    (out / name).symlink_to(target)
    return target


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str], expected: str) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1] == f"natsim: error: {expected}", err


def _sweep(out: Path) -> list[str]:
    return ["sweep", SCENARIO, "--param", "cpe.idle_timeout=30m,1h", "--workers", "1", "--out", str(out)]


def _ladder(capture: Path, out: Path | None) -> list[str]:
    return ["analyze", str(capture), "--ladder", "c1", *(["--out", str(out)] if out else [])]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """A copy of a golden capture directory (analyze writes its ladder there by default)."""
    return Path(shutil.copytree(PCAPS, tmp_path / "capture"))


@pytest.mark.parametrize("name", ["sweep.csv", "sweep.png", LOCK_NAME])
def test_sweep_never_writes_through_a_link(name: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    target = _plant(out, name, tmp_path)
    _refused(_sweep(out), capsys, f"{out / name} {LINK}")
    assert target.read_text() == TARGET_TEXT


def test_sweep_refuses_an_output_directory_that_is_a_link(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").symlink_to(tmp_path / "elsewhere")
    _refused(_sweep(tmp_path / "out"), capsys, f"{tmp_path / 'out'} {LINK}")
    assert os.listdir(tmp_path / "elsewhere") == []


@pytest.mark.parametrize("name", ["ladder-c1.png", "ladder-c1.svg", LOCK_NAME])
def test_analyze_never_writes_through_a_link(name: str, capture: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    target = _plant(capture, name, tmp_path)
    _refused(_ladder(capture, None), capsys, f"{capture / name} {LINK}")
    assert target.read_text() == TARGET_TEXT


@pytest.mark.parametrize("name", ["mine.png", "mine.svg"])
def test_analyze_out_never_writes_through_a_link(name: str, capture: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "ladders"
    target = _plant(out, name, tmp_path)
    _refused(_ladder(capture, out / "mine"), capsys, f"{out / name} {LINK}")
    assert target.read_text() == TARGET_TEXT


@pytest.mark.parametrize("name", ["p.json", LOCK_NAME])
def test_predict_never_writes_through_a_link(name: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    target = _plant(out, name, tmp_path)
    _refused(["predict", SCENARIO, "--out", str(out / "p.json")], capsys, f"{out / name} {LINK}")
    assert target.read_text() == TARGET_TEXT


@pytest.mark.parametrize("tool", [
    ["probe", "send", "--server", "127.0.0.1", "--connections", "1"],
    ["probe", "ssh-kex", "--target", "127.0.0.1:1"],
], ids=["tcp", "ssh"])
def test_probe_tools_refuse_a_link_before_measuring(tool: list[str], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    target = _plant(tmp_path, "result.json", tmp_path)
    started = time.monotonic()
    _refused([*tool, "--out", str(tmp_path / "result.json")], capsys, f"{tmp_path / 'result.json'} {LINK}")
    assert target.read_text() == TARGET_TEXT
    assert time.monotonic() - started < 5     # refused at once: nothing was measured


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """Another natsim holding ``tmp_path/out`` (its lock), as a running ``natsim run`` does."""
    code = ("import sys, time; from natsim.outfiles import OutputDir\n"
            f"d = OutputDir.open({str(tmp_path / 'out')!r}); d.lock(); print('held', flush=True); "
            "time.sleep(60)\n")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    try:
        yield tmp_path / "out", holder.pid
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("command", ["sweep", "analyze", "predict"])
def test_one_natsim_per_output_directory(command: str, held: tuple[Path, int], capture: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    out, pid = held
    argv = {"sweep": _sweep(out), "analyze": _ladder(capture, out / "ladder"),
            "predict": ["predict", SCENARIO, "--out", str(out / "p.json")]}[command]
    before = sorted(os.listdir(out))
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"natsim: error: {out} is in use by another natsim run (pid {pid}: natsim"), err
    assert err.endswith("natsim writes an output directory from one run at a time")
    assert sorted(os.listdir(out)) == before == [LOCK_NAME]
