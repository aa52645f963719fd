"""Relayed session channels: each channel the client opens is mirrored by one on the backend.

:class:`ClientChannel` opens the backend channel with the client's requests (exec, shell with pty,
subsystem), then both classes pass data both ways with flow control, plus window changes, signals,
breaks, EOF and the exit status or signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import asyncssh

from natsim.proxy.hooks import SessionHooks


class ClientChannel(asyncssh.SSHServerSession[bytes]):
    """A session channel from the client; mirrored by one on the backend."""

    def __init__(self, session: SessionHooks) -> None:
        self.session = session
        self.chan: asyncssh.SSHServerChannel[bytes] | None = None
        self.peer: asyncssh.SSHClientChannel[bytes] | None = None
        self.pty: tuple[str, tuple[int, int, int, int], Mapping[int, int]] | None = None
        self.early_eof = False
        self.early_data: list[tuple[bytes, int | None]] = []
        self.opening: asyncio.Future[None] | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel[bytes]) -> None:
        self.chan = chan

    def pty_requested(self, term_type: str, term_size: tuple[int, int, int, int],
                      term_modes: Mapping[int, int]) -> bool:
        self.pty = (term_type, term_size, term_modes)
        return True

    def shell_requested(self) -> bool:
        return self._open(None, None)

    def exec_requested(self, command: str) -> bool:
        return self._open(command, None)

    def subsystem_requested(self, subsystem: str) -> bool:
        return self._open(None, subsystem)

    def _open(self, command: str | None, subsystem: str | None) -> bool:
        backend = self.session.backend
        if backend is None or self.chan is None:
            return False
        self.chan.pause_reading()
        self.opening = asyncio.ensure_future(self._open_backend(backend, command, subsystem))
        return True

    async def _open_backend(self, backend: asyncssh.SSHClientConnection, command: str | None,
                            subsystem: str | None) -> None:
        assert self.chan is not None
        kwargs: dict[str, Any] = {"encoding": None, "env": dict(self.chan.get_environment())}
        if self.pty is not None:
            term_type, term_size, term_modes = self.pty
            kwargs.update(term_type=term_type, term_size=term_size, term_modes=term_modes)
        try:
            peer, _ = await backend.create_session(lambda: BackendChannel(self), command=command,
                                                   subsystem=subsystem, **kwargs)
        except (asyncssh.Error, OSError) as err:
            self.chan.write_stderr(f"natsim proxy: backend refused the session: {err}\r\n".encode())
            self.chan.exit(255)
            return
        self.peer = peer
        for data, datatype in self.early_data:
            peer.write(data, datatype)
        self.early_data.clear()
        if self.early_eof:
            peer.write_eof()
        self.chan.resume_reading()

    def data_received(self, data: bytes, datatype: int | None) -> None:
        if self.peer is not None:
            self.peer.write(data, datatype)
        else:   # arrived before the backend session was open (asyncssh may resume reading early)
            self.early_data.append((data, datatype))

    def eof_received(self) -> bool:
        if self.peer is not None:
            self.peer.write_eof()
        else:
            self.early_eof = True
        return True

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int) -> None:
        if self.peer is not None:
            self.peer.change_terminal_size(width, height, pixwidth, pixheight)
        elif self.pty is not None:   # before the backend session exists: open it with the new size
            self.pty = (self.pty[0], (width, height, pixwidth, pixheight), self.pty[2])

    def signal_received(self, signal: str) -> None:
        if self.peer is not None:
            self.peer.send_signal(signal)

    def break_received(self, msec: int) -> bool:
        if self.peer is not None:
            self.peer.send_break(msec)
        return True

    def pause_writing(self) -> None:
        if self.peer is not None:
            self.peer.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None:
            self.peer.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.peer is not None:
            self.peer.close()


class BackendChannel(asyncssh.SSHClientSession[bytes]):
    """The backend half of a relayed channel."""

    def __init__(self, front: ClientChannel) -> None:
        self.front = front
        self.status: int | None = None
        self.signal: tuple[str, bool, str, str] | None = None

    def data_received(self, data: bytes, datatype: int | None) -> None:
        if self.front.chan is not None:
            self.front.chan.write(data, datatype)

    def eof_received(self) -> bool:
        if self.front.chan is not None:
            self.front.chan.write_eof()
        return True

    def exit_status_received(self, status: int) -> None:
        self.status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.signal = (signal, core_dumped, msg, lang)

    def pause_writing(self) -> None:
        if self.front.chan is not None:
            self.front.chan.pause_reading()

    def resume_writing(self) -> None:
        if self.front.chan is not None:
            self.front.chan.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        chan = self.front.chan
        if chan is None:
            return
        if self.signal is not None:
            chan.exit_with_signal(*self.signal)
        elif self.status is not None:
            chan.exit(self.status)
        else:
            chan.close()
