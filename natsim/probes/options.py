"""Probe options: one frozen dataclass per probe kind, the only declaration of its options.

Fields are declared with :mod:`natsim.fields` helpers. From that one declaration come the scenario
loader's checks (:meth:`ProbeOptions.parse`, unknown options refused with the closest name), the JSON
schema, the command-line flags of ``natsim probe KIND`` (:func:`add_cli_options`, :func:`from_cli`), the
lab driver's command line (:func:`to_argv`) and the model's typed reads. Field metadata ``cli`` names
the flag (default ``--field-name``; ``None``: the option is not a flag, e.g. which backend the lab
starts), ``cli_action="append"`` makes a list option a repeatable flag.
"""

from __future__ import annotations

import argparse
import dataclasses
import decimal
import enum
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, TypeVar

from natsim.errors import ConfigError
from natsim.fields import Settings, closest, config_from_mapping, parse_value
from natsim.units import format_duration

OptionsT = TypeVar("OptionsT", bound="ProbeOptions")


@dataclasses.dataclass(frozen=True)
class ProbeOptions(Settings):
    """Base of every probe kind's options (all durations real-world seconds)."""

    kind: ClassVar[str] = ""

    @classmethod
    def parse(cls: type[OptionsT], values: Mapping[str, Any], *, prefix: str = "") -> OptionsT:
        """Options from user values (YAML, ``--set``-style text or typed values)."""
        return config_from_mapping(cls, values, prefix=prefix)

    def setting_spec(self, path: Sequence[str], *, what: str) -> Mapping[str, Any]:
        """How the setting at ``path`` parses (its field's metadata, see :mod:`natsim.fields`):
        ``(OPTION,)`` for an option. Kinds whose options hold named items accept longer paths (ssh-idle:
        ``(VARIANT, SshOption)``). :class:`ConfigError` naming ``what`` and the valid settings else."""
        fields = {f.name: f for f in option_fields(type(self))}
        if len(path) != 1 or path[0] not in fields:
            name = ".".join(path)
            raise ConfigError(f"{what}: {self.kind} has no option '{name}'{closest(name, sorted(fields))}; "
                              f"options: {', '.join(fields)}")
        return fields[path[0]].metadata

    def with_setting(self: OptionsT, path: Sequence[str], value: Any) -> OptionsT:
        """These options with the setting at ``path`` (see :meth:`setting_spec`) set to the parsed
        ``value``, validated."""
        options = dataclasses.replace(self, **{path[0]: value})
        options.validate()
        return options


@dataclasses.dataclass(frozen=True)
class UserCode:
    """Something a probe's options make natsim run that the scenario's author chose (what
    :mod:`natsim.trust` lists when it refuses the scenario). It runs as root in the probe's client node.

    ``where``: the option holding it, inside the probe's options (``("variants", 1)``); ``runs``: what
    runs, exactly (``sh -c 'ping server'``); ``note``: one line explaining it, printed once under the
    list."""

    where: tuple[str | int, ...]
    runs: str
    note: str = ""


#: ``user_code(options) -> [UserCode, ...]``: a probe kind's declared ability to run its author's code.
UserCodeReader = Callable[[Any], list[UserCode]]


def option_fields(cls: type[ProbeOptions]) -> list[dataclasses.Field[Any]]:
    """The user-settable fields of an options class, in declaration order."""
    return [f for f in dataclasses.fields(cls) if "parse" in f.metadata]


def cli_flag(f: dataclasses.Field[Any]) -> str | None:
    """The command-line flag of option ``f`` (None: not on the command line)."""
    return f.metadata.get("cli", "--" + f.name.replace("_", "-"))  # type: ignore[no-any-return]


def _argtype(f: dataclasses.Field[Any], flag: str) -> Callable[[str], Any]:
    spec = dict(f.metadata)
    if spec["parse"] == "str-list":
        spec["parse"] = "str"    # one item per flag (the flag repeats)

    def parse(text: str) -> Any:
        try:
            return parse_value(flag, spec, text)
        except ConfigError as err:   # argparse turns it into a usage error (exit 2)
            raise argparse.ArgumentTypeError(err.message) from err
    return parse


def add_cli_options(parser: argparse.ArgumentParser, cls: type[ProbeOptions]) -> None:
    """Add a flag for every option of ``cls`` that has one (defaults: the dataclass defaults)."""
    for f in option_fields(cls):
        flag = cli_flag(f)
        if flag is None:
            continue
        default = f.default
        shown = _show(default) if default not in (None, (), "") else "none"
        kwargs: dict[str, Any] = {"type": _argtype(f, flag), "dest": f.name,
                                  "help": f"{f.metadata['doc']} (default {shown})"}
        if f.metadata.get("cli_action") == "append":
            kwargs.update(action="append", default=None)
        else:
            kwargs["default"] = default
        parser.add_argument(flag, **kwargs)


def from_cli(cls: type[OptionsT], args: argparse.Namespace) -> OptionsT:
    """The options given on the command line (flags not given keep their defaults)."""
    values = {}
    for f in option_fields(cls):
        if cli_flag(f) is None:
            continue
        value = getattr(args, f.name, None)
        if value is not None:
            values[f.name] = tuple(value) if isinstance(value, list) else value
    options = cls(**values)
    options.validate()
    return options


def to_argv(options: ProbeOptions) -> list[str]:
    """The command line that gives ``options`` to the probe tool (flags for non-default values).

    Each is one ``--flag=VALUE`` word (a value starting with ``-`` stays a value), and the tool parses
    it with the flag's parser (:func:`add_cli_options`), the one the scenario loader used: the tool
    gets exactly the options that were checked at load."""
    argv: list[str] = []
    for f in option_fields(type(options)):
        flag, value = cli_flag(f), getattr(options, f.name)
        if flag is None or value == f.default or value is None:
            continue
        items = value if f.metadata.get("cli_action") == "append" else [value]
        argv += [f"{flag}={_show(item)}" for item in items]
    return argv


def _show(value: Any) -> str:
    """A value as its flag takes it: durations as exact seconds (``3600s``, ``0.25s``, never an
    exponent, which a duration does not take), lists joined by commas."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{int(value)}s" if value.is_integer() else f"{decimal.Decimal(repr(value)):f}s"
    if isinstance(value, list | tuple):
        return ",".join(_show(v) for v in value)
    return str(value.value if isinstance(value, enum.Enum) else value)


def markdown_table(kinds: Mapping[str, type[ProbeOptions]]) -> str:
    """The probe options of ``kinds`` as a markdown table (docs/scenarios.md holds it verbatim)."""
    lines = ["| kind | option | default | meaning |", "| --- | --- | --- | --- |"]
    for name, cls in kinds.items():
        for f in option_fields(cls):
            default = f.default
            if f.metadata["parse"] == "duration" and isinstance(default, float):
                shown = format_duration(default) if default else "0"
            elif isinstance(default, tuple):
                shown = ", ".join(f"`{v}`" for v in default) if default else "-"
                shown = shown.replace("|", "\\|")
            else:
                shown = "-" if default in (None, "") else str(default)
            if not shown.startswith("`"):
                shown = f"`{shown}`" if shown != "-" else shown
            choices = f.metadata.get("choices")
            meaning = f.metadata["doc"] + (f" (one of {', '.join(choices)})" if choices else "")
            lines.append(f"| `{name}` | `{f.name}` | {shown} | {meaning} |")
    return "\n".join(lines) + "\n"
