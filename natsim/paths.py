"""Names that become file names, and paths that stay inside their directory.

Probe and scenario names end up in file names written as root (``DIR/NAME.out``,
``natsim-out/NAME-TIME``), so they are restricted to :data:`NAME_PATTERN`, and a file name joined
to a directory with :func:`inside` is refused when it would leave it (``../x``, an absolute name, a
symbolic link pointing elsewhere). Writing itself goes through :mod:`natsim.outfiles`.
"""

from __future__ import annotations

import re
from pathlib import Path

from natsim.errors import ConfigError

#: What a probe or scenario name may contain (and it must not be ``.`` or ``..``).
NAME_PATTERN = "[A-Za-z0-9._-]+"
_NAME = re.compile(NAME_PATTERN)
#: Longest probe or scenario name. Names are ASCII (one byte a character) and natsim adds at most a
#: node name and a few words to one: ``natsim-out/NAME-YYYYmmdd-HHMMSS`` (+16), ``NAME-work/``,
#: ``.NODE-keepalive-NAME.json.XXXXXXXX.tmp`` (:mod:`natsim.outfiles`' temporary name; node names are
#: interface-name prefixes, under 16 bytes: +45). 64 keeps every derived file name under 110 bytes,
#: far below the 255-byte limit of Linux file systems, and a name still fits a summary line.
MAX_NAME = 64


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a probe or scenario name, or None when it can."""
    if not _NAME.fullmatch(name):
        return f"must match {NAME_PATTERN} (letters, digits, '.', '_', '-')"
    if name in (".", ".."):
        return "must not be '.' or '..'"
    if len(name) > MAX_NAME:
        return f"is {len(name)} characters long; the limit is {MAX_NAME} (it becomes part of file names)"
    return None


def quoted(name: str) -> str:
    """``name`` quoted for a message, its middle cut when it is long (the message stays one line)."""
    return repr(name) if len(name) <= 40 else repr(f"{name[:20]}...{name[-10:]}")


def check_name(name: str, what: str) -> str:
    """``name`` unchanged, or :class:`ConfigError` saying why ``what`` cannot be called that."""
    problem = name_problem(name)
    if problem is not None:
        raise ConfigError(f"{what} {quoted(name)} {problem}")
    return name


def inside(directory: Path, name: str) -> Path:
    """``directory / name``, refused (:class:`ConfigError`) unless it lies inside ``directory``.

    Both are resolved first (``..``, symbolic links), so neither ``../x``, ``/etc/x``, ``a/../..``
    nor an existing link out of the directory passes; ``name`` may contain sub-directories.
    """
    base = directory.resolve()
    target = (base / name).resolve()
    if target == base or not target.is_relative_to(base):
        raise ConfigError(f"output file {name!r} would be outside the output directory {directory}")
    return directory / name
