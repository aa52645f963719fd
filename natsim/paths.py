"""Names that become file names, and output paths that stay inside their directory.

Probe and scenario names end up in file names written as root (``DIR/NAME.out``,
``natsim-out/NAME-TIME``), so they are restricted to :data:`NAME_PATTERN`, and every output file is
joined with :func:`inside`, which refuses a result outside the output directory (``../x``, an
absolute name, a symbolic link pointing elsewhere).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from natsim.errors import ConfigError

#: What a probe or scenario name may contain (and it must not be ``.`` or ``..``).
NAME_PATTERN = "[A-Za-z0-9._-]+"
_NAME = re.compile(NAME_PATTERN)
#: Longest probe or scenario name. Names are ASCII (one byte a character) and natsim adds at most a
#: node name and a few words to one: ``natsim-out/NAME-YYYYmmdd-HHMMSS`` (+16), ``NAME-work/``,
#: ``NODE-keepalive-NAME.json.tmp`` (node names are interface-name prefixes, under 16 bytes: +35).
#: 64 keeps every derived file name under 100 bytes, far below the 255-byte limit of Linux file
#: systems, and a name still fits a summary line.
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


def sudo_owner() -> tuple[int, int] | None:
    """The invoking user's (uid, gid) when natsim runs as root through sudo, else None."""
    if os.geteuid() != 0:
        return None
    try:
        uid, gid = int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", os.environ["SUDO_UID"]))
    except (KeyError, ValueError):
        return None
    return (uid, gid) if uid != 0 else None


def first_missing(path: Path) -> Path | None:
    """The outermost directory of ``path`` that does not exist yet (what ``mkdir -p`` will create)."""
    top = None
    current = path.absolute()
    while not current.exists():
        top, current = current, current.parent
    return top


def hand_over(directory: Path, *, since: float, created: bool) -> list[Path]:
    """Give what natsim wrote in ``directory`` to the user who ran ``sudo natsim``: every entry
    root owns that was modified at or after ``since`` (epoch seconds), and ``directory`` itself
    when natsim ``created`` it. Nothing else is touched; without sudo nothing happens. Returns the
    paths handed over."""
    owner = sudo_owner()
    if owner is None or not directory.is_dir():
        return []
    done = []
    candidates = [p for p in directory.rglob("*") if not p.is_symlink()]
    if created:
        candidates.append(directory)
    for path in candidates:
        st = path.lstat()
        if st.st_uid == 0 and (path == directory or st.st_mtime >= since):
            os.chown(path, *owner, follow_symlinks=False)
            done.append(path)
    return done


def hand_over_file(path: Path) -> None:
    """Give one file natsim just wrote to the user who ran ``sudo natsim`` (nothing without sudo)."""
    owner = sudo_owner()
    if owner is not None and path.is_file() and path.stat().st_uid == 0:
        os.chown(path, *owner)
