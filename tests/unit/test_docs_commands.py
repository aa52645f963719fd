"""Every natsim command shown in a ```sh block of docs/ or README.md parses with natsim's own parser,
and the ones that need no root and no network run here (exit 0); root ones that finish in seconds run
in tests/netns/test_docs_lab_commands.py; the rest are only parsed, each for the reason
``tests/docs_commands.py`` gives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from natsim.cli import build_parser
from tests.docs_commands import DocCommand, commands, how

COMMANDS, OTHERS = commands()


def test_the_docs_show_commands_and_every_one_is_classified() -> None:
    assert len(COMMANDS) >= 20
    assert [c.id for c in COMMANDS if how(c)[0] == "unclassified"] == []
    # the lines that are not natsim commands are known ones (installing, make, the shell)
    firsts = {(line.split()[1] if line.startswith("sudo ") else line.split()[0]) for _, line in OTHERS}
    assert firsts <= {".venv/bin/pip", "python3", "wait", "make", "N=.venv/bin/natsim", "dask"}


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.id)
def test_docs_command_parses(command: DocCommand) -> None:
    """A flag the docs show that natsim no longer has (``--json send.json``) fails here."""
    try:
        args = build_parser().parse_args(list(command.argv))
    except SystemExit as exit_:
        pytest.fail(f"{command.id}: natsim's parser refuses it (exit {exit_.code})")
    assert getattr(args, "func", None) is not None


def test_an_old_flag_would_fail_the_parse() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["probe", "send", "--server", "vps.example.org", "--json", "send.json"])


@pytest.mark.parametrize("command", [c for c in COMMANDS if how(c)[0] == "run"], ids=lambda c: c.id)
def test_docs_command_runs(command: DocCommand, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "natsim.cli", *command.argv], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300, check=False, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, f"{command.id}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
