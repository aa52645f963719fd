"""Every file natsim writes, written without ever following a symbolic link.

natsim runs as root and writes where a user pointed it (``--out``), so a link planted there must never
redirect a write. Everything natsim writes goes through this module:

* An :class:`OutputDir` is a directory opened once (its last component with ``O_NOFOLLOW``) and
  written only relative to that descriptor: renaming it, or a directory above it, afterwards cannot
  send a write elsewhere. Missing directories are made with ``mkdir`` (like ``mkdir -p``).
* A file is written to a new temporary file (``O_CREAT | O_EXCL | O_NOFOLLOW``) in that directory and
  renamed over its name: a rename replaces a link, it never writes through one. A name that is a
  symbolic link when natsim is about to write it is refused with :class:`~natsim.errors.OutputError`
  (``out/summary.txt is a symbolic link; natsim does not write through links``), and so is an output
  directory that is one. A sub-directory is made with ``mkdir`` and opened with ``O_NOFOLLOW``.
* Under ``sudo`` (``for_user=True``), each file and directory natsim creates — and nothing else — is
  given to the invoking user through the descriptor it was created with (``fchown``, so no later
  path lookup can hit something else), and listed in :attr:`OutputDir.created`.
* :meth:`OutputDir.lock` lets one natsim at a time write a directory (``flock`` on ``.natsim.lock``).

Programs natsim starts are never given a path inside an output directory: they write into a private
temporary directory natsim made (``mkdtemp``, mode 0700), or to a descriptor natsim opened here
(tcpdump's ``-w -``, every log).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shlex
import shutil
import stat
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import BinaryIO

from natsim.errors import OutputError
from natsim.outlock import lock_holder

#: The lock file :meth:`OutputDir.lock` holds while a natsim writes the directory.
LOCK_NAME = ".natsim.lock"
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


def sudo_owner() -> tuple[int, int] | None:
    """The invoking user's (uid, gid) when natsim runs as root through sudo, else None."""
    if os.geteuid() != 0:
        return None
    try:
        uid, gid = int(os.environ["SUDO_UID"]), int(os.environ.get("SUDO_GID", os.environ["SUDO_UID"]))
    except (KeyError, ValueError):
        return None
    return (uid, gid) if uid != 0 else None


def _link_error(path: Path) -> OutputError:
    return OutputError(f"{path} is a symbolic link; natsim does not write through links")


def _kind_of(path: Path, name: str | Path, dir_fd: int | None) -> int | None:
    """``st_mode`` of ``name`` (not following a link), None when it does not exist."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        raise OutputError(f"{path}: {err.strerror}") from None


def _open_dir(path: Path, name: str | Path, dir_fd: int | None, *, follow: bool = False) -> int:
    """A descriptor on directory ``name`` (its last component not followed unless ``follow``)."""
    try:
        return os.open(name, _DIR | (0 if follow else os.O_NOFOLLOW), dir_fd=dir_fd)
    except OSError as err:
        mode = _kind_of(path, name, dir_fd)
        if mode is not None and stat.S_ISLNK(mode) and not follow:
            raise _link_error(path) from None
        if mode is not None and not stat.S_ISDIR(mode):
            raise OutputError(f"{path} exists and is not a directory") from None
        raise OutputError(f"{path}: cannot open: {err.strerror}") from None


def _copier(source: BinaryIO) -> Callable[[BinaryIO], object]:
    return lambda target: shutil.copyfileobj(source, target)


def _check_name(name: str) -> str:
    if not name or "/" in name or name in (".", ".."):
        raise OutputError(f"{name!r} is not a file name")
    return name


class OutputDir:
    """A directory natsim writes into, held by a file descriptor (use as a context manager)."""

    def __init__(self, fd: int, path: Path, owner: tuple[int, int] | None, created: list[Path]) -> None:
        self.fd, self.path, self.owner = fd, path, owner
        #: Every path created here or in a sub-directory (under sudo: given to the invoking user).
        self.created = created
        self._lock: int | None = None
        self._children: list[OutputDir] = []

    @classmethod
    def open(cls, path: str | Path, *, for_user: bool = False) -> OutputDir:
        """Open directory ``path``, making it and missing parents (``mkdir -p``) when needed.

        ``path`` itself must not be a symbolic link (links above it are the user's own path).
        ``for_user``: under sudo, what is created here belongs to the invoking user.
        """
        shown = Path(os.path.normpath(path))
        missing: list[str] = []
        top, shown_top = Path(os.path.abspath(shown)), shown
        while not os.path.lexists(top) and top != top.parent:
            missing.append(top.name)
            top, shown_top = top.parent, shown_top.parent
        made = cls(_open_dir(shown_top, top, None, follow=bool(missing)), shown_top,
                   sudo_owner() if for_user else None, [])
        try:
            for name in reversed(missing):
                fd = made._make_dir(name)
                os.close(made.fd)
                made.fd, made.path = fd, made.path / name
        except BaseException:
            made.close()
            raise
        return made

    # ---- the directory ------------------------------------------------------------------------
    def subdir(self, name: str) -> OutputDir:
        """Sub-directory ``name``: made (and handed to the user) when missing, else opened; either
        way never through a link. Closed with this directory."""
        child = OutputDir(self._make_dir(name), self.path / name, self.owner, self.created)
        self._children.append(child)
        return child

    def _make_dir(self, name: str) -> int:
        """``mkdir name`` here unless it exists; a descriptor on it (never through a link)."""
        path = self.path / _check_name(name)
        try:
            os.mkdir(name, 0o755, dir_fd=self.fd)
            made = True
        except FileExistsError:
            made = False
        except OSError as err:
            raise OutputError(f"{path}: cannot create: {err.strerror}") from None
        fd = _open_dir(path, name, self.fd)
        if made and os.fstat(fd).st_uid == os.geteuid():   # ours, not one put there meanwhile
            self._hand_over(fd, path)
        return fd

    def refuse_links(self, names: Iterable[str]) -> None:
        """Raise :class:`OutputError` for the first of ``names`` that is a symbolic link here (a check
        before any work; every write checks again)."""
        for name in names:
            mode = _kind_of(self.path / name, _check_name(name), self.fd)
            if mode is not None and stat.S_ISLNK(mode):
                raise _link_error(self.path / name)

    def _hand_over(self, fd: int, path: Path) -> None:
        if self.owner is not None:
            os.fchown(fd, *self.owner)
        self.created.append(path)

    # ---- files --------------------------------------------------------------------------------
    def _new_temp(self, name: str, mode: int) -> tuple[str, int]:
        temp = f".{_check_name(name)}.{secrets.token_hex(4)}.tmp"
        try:
            fd = os.open(temp, _NEW, mode, dir_fd=self.fd)
        except OSError as err:
            raise OutputError(f"{self.path / name}: cannot create: {err.strerror}") from None
        if self.owner is not None:
            os.fchown(fd, *self.owner)
        return temp, fd

    def _discard(self, temp: str) -> None:
        with contextlib.suppress(OSError):
            os.unlink(temp, dir_fd=self.fd)

    def _install(self, temp: str, name: str) -> None:
        """Rename ``temp`` over ``name`` unless ``name`` is a link or a directory."""
        path = self.path / name
        try:
            mode = _kind_of(path, name, self.fd)
            if mode is not None and stat.S_ISLNK(mode):
                raise _link_error(path)
            if mode is not None and stat.S_ISDIR(mode):
                raise OutputError(f"{path} is a directory")
            try:
                os.rename(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
            except OSError as err:
                raise OutputError(f"{path}: cannot write: {err.strerror}") from None
        except BaseException:
            self._discard(temp)
            raise
        self.created.append(path)

    def write_with(self, name: str, write: Callable[[BinaryIO], object], *, mode: int = 0o644) -> Path:
        """Write file ``name`` atomically with ``write(file)``: readers see the old or the new file."""
        temp, fd = self._new_temp(name, mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
        except BaseException:
            self._discard(temp)
            raise
        self._install(temp, name)
        return self.path / name

    def write_bytes(self, name: str, data: bytes, *, mode: int = 0o644) -> Path:
        """Write ``data`` to file ``name`` (atomically, never through a link); returns its path."""
        return self.write_with(name, lambda handle: handle.write(data), mode=mode)

    def write_text(self, name: str, text: str, *, mode: int = 0o644) -> Path:
        """Write ``text`` (UTF-8) to file ``name``; see :meth:`write_bytes`."""
        return self.write_bytes(name, text.encode(), mode=mode)

    def write_new(self, name: str, text: str, *, mode: int = 0o644) -> Path:
        """Create file ``name``, complete at once; FileExistsError when the name is taken (first wins)."""
        temp, fd = self._new_temp(name, mode)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(text.encode())
            os.link(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd, follow_symlinks=False)
        finally:
            self._discard(temp)
        self.created.append(self.path / name)
        return self.path / name

    def open_stream(self, name: str, *, mode: int = 0o644) -> BinaryIO:
        """A new file ``name``, open for writing (a log, a capture), in place at once (a new inode
        renamed over the name: an existing file is replaced, a link refused)."""
        temp, fd = self._new_temp(name, mode)
        try:
            self._install(temp, name)
        except BaseException:
            os.close(fd)
            raise
        return os.fdopen(fd, "wb")

    def write_tree(self, name: str, files: Mapping[str, bytes]) -> Path:
        """Directory ``name`` holding exactly ``files`` (relative path → content), in place at once:
        written in a hidden directory renamed to ``name`` (a directory already there is replaced), so
        a reader, or a natsim killed meanwhile, never leaves ``name`` half-written."""
        temp = f".{_check_name(name)}.{secrets.token_hex(4)}.tmp"
        try:
            with self.subdir(temp) as staged:
                for relative, data in sorted(files.items()):
                    *parts, leaf = Path(relative).parts
                    staged._subdirs(Path(*parts)).write_bytes(leaf, data)
            mode = _kind_of(self.path / name, name, self.fd)
            if mode is not None and not stat.S_ISDIR(mode):
                raise _link_error(self.path / name) if stat.S_ISLNK(mode) else OutputError(
                    f"{self.path / name} exists and is not a directory")
            if mode is not None:
                old = f".{name}.{secrets.token_hex(4)}.old"
                os.rename(name, old, src_dir_fd=self.fd, dst_dir_fd=self.fd)
                os.rename(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
                shutil.rmtree(old, dir_fd=self.fd)
            else:
                os.rename(temp, name, src_dir_fd=self.fd, dst_dir_fd=self.fd)
        except OSError as err:
            raise OutputError(f"{self.path / name}: cannot write: {err.strerror}") from None
        finally:
            with contextlib.suppress(OSError):
                shutil.rmtree(temp, dir_fd=self.fd)
        return self.path / name

    def copy_files(self, source: Path, suffixes: tuple[str, ...]) -> list[Path]:
        """Copy the regular files under ``source`` (a private directory) whose names end with one of
        ``suffixes`` here, keeping their relative place; links there are skipped."""
        copied = []
        targets: dict[Path, OutputDir] = {Path("."): self}
        for root, dirs, files in os.walk(source):
            dirs.sort()
            relative = Path(root).relative_to(source)
            for name in sorted(f for f in files if f.endswith(suffixes)):
                src = Path(root) / name
                if not stat.S_ISREG(os.lstat(src).st_mode):
                    continue
                if relative not in targets:
                    targets[relative] = self._subdirs(relative)
                with os.fdopen(os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as handle:
                    copied.append(targets[relative].write_with(name, _copier(handle)))
        return copied

    def _subdirs(self, relative: Path) -> OutputDir:
        target = self
        for part in relative.parts:
            target = target.subdir(part)
        return target

    # ---- one writer at a time -----------------------------------------------------------------
    def lock(self) -> None:
        """Take this directory until :meth:`close`, or raise :class:`OutputError` naming its holder."""
        for _ in range(10):
            fd, writable = self._open_lock()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = lock_holder(fd)
                os.close(fd)
                raise OutputError(f"{self.path} is in use by {holder}; natsim writes an output "
                                  "directory from one run at a time") from None
            if not self._is_lock_file(fd):
                os.close(fd)   # its holder removed it between our open and our lock: take the new one
                continue
            if not writable:   # left by a killed natsim of another user: ours to remove, then retry
                self._unlock(fd)
                continue
            os.ftruncate(fd, 0)
            command = shlex.join(["natsim", *sys.argv[1:]])
            os.pwrite(fd, f"another natsim run (pid {os.getpid()}: {command})\n".encode(), 0)
            self._lock = fd
            return
        raise OutputError(f"{self.path}: could not take {LOCK_NAME}")

    def _open_lock(self) -> tuple[int, bool]:
        """A descriptor on the lock file (made when missing) and whether it is open for writing."""
        path, flags = self.path / LOCK_NAME, os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            try:
                fd, writable = os.open(LOCK_NAME, os.O_RDWR | os.O_CREAT | flags, 0o644, dir_fd=self.fd), True
            except PermissionError:
                fd, writable = os.open(LOCK_NAME, os.O_RDONLY | flags, dir_fd=self.fd), False
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise _link_error(path) from None
            raise OutputError(f"{path}: cannot open: {err.strerror}") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OutputError(f"{path} is not a regular file")
        return fd, writable

    def _is_lock_file(self, fd: int) -> bool:
        """Whether ``fd`` is still the file named :data:`LOCK_NAME` here."""
        try:
            now = os.stat(LOCK_NAME, dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)

    def _unlock(self, fd: int) -> None:
        """Remove the lock file while holding it (waiters then see it is gone), then release it."""
        with contextlib.suppress(OSError):
            os.unlink(LOCK_NAME, dir_fd=self.fd)
        os.close(fd)

    def close(self) -> None:
        """Release the lock (its file is removed) and the descriptors, sub-directories' included."""
        for child in self._children:
            child.close()
        self._children.clear()
        if self._lock is not None:
            self._unlock(self._lock)
            self._lock = None
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> OutputDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def refuse_link(path: str | Path) -> None:
    """:class:`OutputError` when ``path`` is a symbolic link (a check before any work: every write
    checks again)."""
    if os.path.islink(path):
        raise _link_error(Path(path))


def write_file(path: str | Path, data: bytes | str, *, for_user: bool = False, mode: int = 0o644) -> Path:
    """Write one file atomically, never through a link (its directory is made when missing).
    ``for_user``: under sudo the new file belongs to the invoking user."""
    path = Path(path)
    with OutputDir.open(path.parent, for_user=for_user) as directory:
        directory.write_bytes(path.name, data.encode() if isinstance(data, str) else data, mode=mode)
    return path


def open_new(path: str | Path, *, mode: int = 0o644) -> BinaryIO:
    """A new file at ``path`` open for writing (a log), never through a link; see
    :meth:`OutputDir.open_stream`."""
    path = Path(path)
    with OutputDir.open(path.parent) as directory:
        return directory.open_stream(path.name, mode=mode)


def make_dir(path: str | Path, *, mode: int | None = None) -> Path:
    """``mkdir -p path`` whose last component is never a link; ``mode`` (e.g. 0o700) is set on it."""
    with OutputDir.open(path) as directory:
        if mode is not None:
            os.fchmod(directory.fd, mode)
    return Path(path)
