"""``natsim --help`` lists every command without importing them; a command line builds only the
command it names, and each command's line in ``natsim --help`` is the help its own module registers."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from natsim.cli import COMMANDS, build_parser, command_named, main

LOADED = """
import sys
from natsim.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(" ".join(sorted(m for m in sys.modules if m.startswith("natsim"))))
"""


def _loaded(*argv: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", LOADED, *argv], capture_output=True, text=True,
                          timeout=60, check=True)
    return set(done.stdout.splitlines()[-1].split())


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_help_imports_no_command_and_no_probe_kind() -> None:
    loaded = _loaded("--help")
    assert sorted(m for m in loaded if m.startswith(("natsim.commands.", "natsim.probes"))) == []


def test_a_command_line_imports_only_its_command() -> None:
    loaded = _loaded("-v", "predict", "--help")
    assert sorted(m for m in loaded if m.startswith("natsim.commands.")) == [
        "natsim.commands.common", "natsim.commands.predict"]


def test_each_commands_line_is_the_help_its_module_registers() -> None:
    full = {action.dest: action.help for action in _commands(build_parser())._choices_actions}
    assert full == COMMANDS


@pytest.mark.parametrize(("argv", "named"), [([], None), (["--help"], None), (["-v", "run", "x"], "run"),
                                             (["probe", "send", "--help"], "probe")])
def test_the_command_named_is_the_first_non_option(argv: list[str], named: str | None) -> None:
    assert command_named(argv) == named


def test_the_named_command_parses_in_full(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["-q", "probe", "send", "--help"])
    assert done.value.code == 0
    assert "--server" in capsys.readouterr().out
