"""docs/cli.md is the parsers' own reference: regenerated and compared; every flag each subcommand's
``--help`` shows is in it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.cli import build_parser
from natsim.cli_reference import _subparsers, reference

DOC = Path(__file__).parents[2] / "docs" / "cli.md"


def test_docs_cli_md_is_current() -> None:
    assert DOC.read_text() == reference(), "regenerate: python -m natsim.cli_reference > docs/cli.md"


def _commands() -> list[list[str]]:
    found = []
    for name, sub in _subparsers(build_parser()):
        found.append([name])
        found += [[name, kind] for kind, _ in _subparsers(sub)]
    return found


@pytest.mark.parametrize("command", _commands(), ids=" ".join)
def test_every_flag_of_help_is_documented(command: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "natsim.cli", *command, "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", done.stdout)) - {"--help"}
    section = DOC.read_text().split(f"natsim {' '.join(command)}\n", 1)[1].split("\n#", 1)[0]
    assert sorted(f for f in flags if f"`{f}" not in section and f", {f}" not in section) == []
