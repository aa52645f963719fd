"""``natsim lab exec``: a command in a kept lab's node, attached to this terminal or these streams.

When standard input is a terminal the command gets a pseudo-terminal of its own (pexpect, which
copies keystrokes and output in raw mode): an interactive shell, ``ssh`` asking for a password or
``top`` work as in a terminal of theirs, the window size follows this one (SIGWINCH), and a Ctrl-C
is a keystroke for the command, not a signal for natsim. Otherwise it inherits natsim's standard
streams (pipes, files), so ``natsim lab exec LAB client cat FILE | wc`` works as expected.

natsim waits and returns the command's exit code (128 + N when signal N ended it). A command killed
because its lab went down (``natsim lab down``, the keeper killed) is an error of its own: natsim
checks the lab when the command ends by a signal.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from natsim.errors import KeptLabError
from natsim.lab.join import Joined, join
from natsim.lab.kept import KeptLab, Status


def attach(lab: KeptLab, node: str, command: Sequence[str], reload: Callable[[], KeptLab | None]) -> int:
    """Run ``command`` in ``node`` of ``lab`` and return its exit code; ``reload`` reads the lab's
    entry again (None: it is gone), to tell a lab that went down from a command that was killed."""
    with join(lab, node, command) as joined:
        if sys.stdin.isatty():
            child = _spawn_pty(joined)
            joined.close()      # the command holds the namespaces itself now
            code = _interact(child)
        else:
            proc = subprocess.Popen(joined.argv, env=joined.env, pass_fds=joined.fds)
            joined.close()
            code = _wait(proc)
    if code > 128:
        now = reload()
        status = now.status() if now is not None else Status.GONE
        if status is not Status.UP:
            raise KeptLabError(f"lab {lab.name} went down while `{shlex.join(command)}` ran in {node} "
                               f"(it ended by signal {code - 128})")
    return code


def _wait(proc: subprocess.Popen[bytes]) -> int:
    """Wait for ``proc``; an interruption (Ctrl-C reaches it too, SIGTERM is passed on) waits for it
    to end first."""
    try:
        return _code(proc.wait())
    except KeyboardInterrupt:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        raise


def _code(returncode: int) -> int:
    """A ``subprocess`` return code as a shell exit code (128 + N for signal N)."""
    return 128 - returncode if returncode < 0 else returncode


def _size() -> tuple[int, int]:
    """This terminal's (rows, columns)."""
    try:
        size = os.get_terminal_size(sys.stdin.fileno())
    except OSError:
        return 24, 80
    return size.lines, size.columns


def _spawn_pty(joined: Joined) -> Any:
    """``joined``'s command in a new pseudo-terminal of this terminal's size."""
    import pexpect
    import ptyprocess

    class Spawn(pexpect.spawn):  # type: ignore[misc]
        """pexpect's spawn, handing the namespace descriptors on (ptyprocess closes all others)."""

        def _spawnpty(self, args: list[str], **kwargs: Any) -> Any:
            for fd in joined.fds:
                os.set_inheritable(fd, True)    # ptyprocess keeps them open, but not across exec
            return ptyprocess.PtyProcess.spawn(args, pass_fds=tuple(joined.fds), **kwargs)

    return Spawn(joined.argv[0], joined.argv[1:], env=joined.env, dimensions=_size(), timeout=None)


@contextlib.contextmanager
def _resizing(child: Any) -> Iterator[None]:
    """The child's window follows this terminal's size while the block runs."""
    def resize(signum: int, frame: object) -> None:
        if child.isalive():
            child.setwinsize(*_size())

    previous = signal.signal(signal.SIGWINCH, resize)
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _interact(child: Any) -> int:
    """Copy this terminal to ``child`` and back (raw mode) until it ends; its exit code."""
    try:
        with _resizing(child):
            child.interact(escape_character=None)
        if child.isalive():
            child.wait()
    finally:
        child.close(force=True)
    if child.signalstatus is not None:
        return 128 + int(child.signalstatus)
    return int(child.exitstatus or 0)
