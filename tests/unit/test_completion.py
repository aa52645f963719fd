"""Shell completion (argcomplete) of subcommands and flags, as bash asks for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def complete(line: str, tmp_path: Path) -> str:
    natsim = str(Path(sys.executable).parent / "natsim")   # the console script of this venv
    out = tmp_path / "completion.txt"
    env = {**os.environ, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_IFS": " ", "COMP_LINE": line,
           "COMP_POINT": str(len(line)), "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}
    subprocess.run([natsim], env=env, check=True, timeout=30, capture_output=True)
    return out.read_text()


@pytest.mark.parametrize(("line", "expected"), [("natsim li", "list"), ("natsim run --tr", "--trust"),
                                               ("natsim probe ssh-f", "ssh-first-connect")])
def test_subcommands_and_flags_complete(line: str, expected: str, tmp_path: Path) -> None:
    assert expected in complete(line, tmp_path).split()
