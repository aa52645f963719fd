"""The root commands of the docs' ```sh blocks that finish in seconds, run as shown (the Mininet CLI
of ``--sshd`` gets an empty stdin and ends); the others are parsed in tests/unit/test_docs_commands.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_commands import DocCommand, commands, how

pytestmark = pytest.mark.natsim_netns


@pytest.mark.parametrize("command", [c for c in commands()[0] if how(c)[0] == "lab"], ids=lambda c: c.id)
def test_docs_lab_command_runs(command: DocCommand, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "natsim.cli", *command.argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=180, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{command.id}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
