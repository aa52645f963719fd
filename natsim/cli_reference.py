"""``docs/cli.md``, generated from the argument parsers themselves (``python -m natsim.cli_reference``).

A unit test regenerates it and compares, so the command reference always matches ``--help``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from natsim.cli import build_parser

HEADER = """# Command reference

Generated from the parsers (`python -m natsim.cli_reference > docs/cli.md`); a test keeps it equal to
`natsim COMMAND --help`. Durations are real-world (`90`, `1h`, `2h4m`). Exit codes: 0 ok, 1 a check
failed, 2 error, 3 a probe of `natsim run` or `demo` could not run (of `classify`: a configuration
gave no answer or unparsed output), 130 interrupted.

`natsim run`, `lab`, `demo`, `conform` and `classify` build labs: run by an ordinary user, they first
enter a user, network, mount and PID namespace of natsim's own (no sudo; `natsim doctor` says whether
the kernel allows it); as root they build the lab beside the host's namespaces. `NATSIM_MODE=root|rootless`
overrides the choice (docs/lab.md, "Without root").
"""


def _choices(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """``parser``'s subcommands by every name they answer to (aliases included); {} without any."""
    for action in parser._actions:   # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            return action.choices
    return {}


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Each subcommand once, by its own name (an alias names the same parser again, after it)."""
    seen: set[int] = set()
    for name, sub in _choices(parser).items():
        if id(sub) not in seen:
            seen.add(id(sub))
            yield name, sub


def _aliases(parser: argparse.ArgumentParser, name: str) -> list[str]:
    """The other names ``parser``'s subcommand ``name`` answers to."""
    choices = _choices(parser)
    return [other for other, sub in choices.items() if sub is choices[name] and other != name]


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | meaning |", "| --- | --- |"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = ", ".join(action.option_strings) or action.dest
        if action.option_strings and action.nargs != 0:
            name += f" {action.metavar or action.dest.upper()}" if not isinstance(action.metavar, tuple) \
                else " " + " ".join(action.metavar)
        text = action.help if isinstance(action.help, str) else ""
        if "%(" in text:
            text = text % {"default": action.default}
        rows.append(f"| `{_cell(name)}` | {_cell(text)} |")
    return rows if len(rows) > 2 else ["No options."]


def reference() -> str:
    """The markdown reference of every command (and ``natsim probe`` kind)."""
    parser = build_parser()
    lines = [HEADER, "## natsim", "", *_table(parser), ""]
    for name, sub in _subparsers(parser):
        lines += [f"## natsim {name}", "", _cell(sub.description or ""), "", *_table(sub), ""]
        for kind, probe in _subparsers(sub):
            also = "".join(f" Also `natsim {name} {alias}`." for alias in _aliases(sub, kind))
            lines += [f"### natsim {name} {kind}", "", _cell(probe.description or "") + also, "",
                      *_table(probe), ""]
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":
    print(reference(), end="")
