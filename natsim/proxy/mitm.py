"""The SSH man-in-the-middle: asyncssh as a server towards the client, as a client towards the backend.

Order of events (the Palo Alto behaviour):

1. The client gets the proxy's banner and host key and completes key exchange with the proxy.
2. When the client asks to log in (``begin_auth``), the proxy connects to the backend with the
   configured banner, offering exactly the configured algorithm lists (:mod:`.backend`). If the
   backend agrees, authentication is relayed: every password or keyboard-interactive answer the
   client gives is passed on, and the backend's verdict returned. If it disagrees, the
   :class:`MitmSession` reports :attr:`Outcome.DISAGREED` and the caller adds the bypass and sends
   the client a FIN.
3. After authentication every session channel (exec, shell with pty, subsystem such as sftp) is
   opened on the backend with the same requests and relayed both ways with flow control; window
   changes, signals, EOF and exit status are passed on.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncssh

from natsim.errors import ProbeError
from natsim.probes.ssh_wire import SSH_MSG_KEXINIT, KexInit, decode_kexinit
from natsim.proxy.backend import connect_ssh, no_overlap
from natsim.proxy.settings import ProxySettings
from natsim.proxy.sockets import send_fin

KbdChallenge = tuple[str, str, str, Sequence[tuple[str, bool]]]


class Outcome(enum.StrEnum):
    """How an intercepted SSH session ended, for the session log."""

    RELAYED = "relayed"          # authenticated through the proxy and relayed
    DISAGREED = "kex-mismatch"   # backend refused the proxy's key exchanges → bypass
    AUTH_FAILED = "auth-failed"  # the backend rejected the client's credentials
    BACKEND_FAILED = "backend-failed"
    CLIENT_FAILED = "client-failed"  # the client left or misbehaved before logging in


@dataclass
class _Attempt:
    """One authentication step the client made, waiting for the backend's verdict."""

    method: str                       # "password", "kbdint-start", "kbdint-response"
    payload: Any
    result: asyncio.Future[Any]


class MitmSession:
    """One intercepted SSH connection: the client-facing server and the backend client."""

    def __init__(self, settings: ProxySettings, host_key: asyncssh.SSHKey,
                 open_backend: Callable[[], Awaitable[socket.socket]],
                 on_disagree: Callable[[], Awaitable[None]]) -> None:
        self.settings = settings
        self.host_key = host_key
        self.open_backend = open_backend      # connects a socket to the backend
        self.on_disagree = on_disagree        # adds the bypass (before the FIN goes out)
        self.client_sock: socket.socket | None = None
        self.outcome: Outcome | None = None
        self.reason = ""
        self.username = ""
        self.client_software = ""
        self.backend_software = ""
        self.channels = 0
        self.backend: asyncssh.SSHClientConnection | None = None
        self.backend_attempt: asyncssh.SSHClientConnection | None = None   # before it authenticated
        self.client: asyncssh.SSHServerConnection | None = None
        self.disagreed = asyncio.Event()
        self._ready: asyncio.Future[bool] | None = None   # backend kex done: True (auth needed)
        self._attempts: asyncio.Queue[_Attempt] = asyncio.Queue()
        self._held: _Attempt | None = None
        self._pending: _Attempt | None = None
        self._backend_task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()

    # ---- lifecycle -----------------------------------------------------------------------------
    async def run(self, client_sock: socket.socket) -> Outcome:
        """Serve the client on ``client_sock`` until the session ends; return how it ended."""
        self.client_sock = client_sock
        limits = self.settings.limits
        server = asyncio.ensure_future(asyncssh.run_server(
            client_sock, server_factory=lambda: _ClientFacing(self),
            server_host_keys=[self.host_key], server_version=self.settings.server_version,
            login_timeout=limits.login_timeout, connect_timeout=limits.login_timeout,
            encoding=None, allow_pty=True, line_editor=False, agent_forwarding=False, x11_forwarding=False,
            keepalive_interval=0))
        done = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait([server, done], return_when=asyncio.FIRST_COMPLETED)
            if server.done() and server.exception() is not None:
                self._fail(Outcome.CLIENT_FAILED, _describe(server.exception()))  # type: ignore[arg-type]
            else:
                await done
        finally:
            for task in (server, done):
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
            await self.close()
        if self.outcome is None:
            self.outcome = Outcome.RELAYED
        return self.outcome

    async def close(self) -> None:
        """Tear down both sides."""
        if self._ready is not None and not self._ready.done():
            self._ready.cancel()
        self._resolve_all(False)
        if self.backend is not None:
            self.backend.abort()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.backend.wait_closed(), 1)
        if self._backend_task is not None:
            self._backend_task.cancel()
            with contextlib.suppress(BaseException):
                await self._backend_task
        if self.client is not None:
            self.client.abort()

    def _fail(self, outcome: Outcome, reason: str) -> None:
        if self.outcome is None:
            self.outcome, self.reason = outcome, reason

    def finish(self) -> None:
        """End the session (the backend connection is gone)."""
        self._done.set()

    async def hang_up(self) -> None:
        """Close the client side with a FIN (never a RST) and wait for the client to close.

        Nothing more is written to the client (this runs inside ``begin_auth``, which asyncssh
        awaits before answering), and the socket is only closed after the client's own FIN, or
        after ``fin_linger`` — so unread data never turns the close into a reset.
        """
        if self.client_sock is not None:
            send_fin(self.client_sock)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._done.wait(), self.settings.limits.fin_linger)
        self.finish()

    # ---- backend connection --------------------------------------------------------------------
    async def start_backend(self, username: str) -> bool:
        """Connect to the backend as ``username``; True when it wants authentication.

        Raises :class:`asyncssh.KeyExchangeFailed` when the backend refuses every offered key
        exchange, other :class:`asyncssh.Error`/:class:`OSError` for other failures.
        """
        self.username = username
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self._backend_task = asyncio.create_task(self._connect_backend(username))
        return await asyncio.wait_for(asyncio.shield(self._ready),
                                      self.settings.limits.handshake_timeout)

    async def _connect_backend(self, username: str) -> None:
        assert self._ready is not None
        try:
            sock = await self.open_backend()
            conn = await connect_ssh(
                sock, self.settings.config, client_factory=lambda: _BackendFacing(self), username=username,
                known_hosts=None, client_keys=None, agent_path=None, gss_host=None,
                preferred_auth=("keyboard-interactive", "password"), encoding=None, connect_timeout=None,
                login_timeout=None, keepalive_interval=0)
        except BaseException as caught:
            err = self._refined(caught)
            if not self._ready.done():
                self._ready.set_exception(err if isinstance(err, Exception) else ConnectionError(str(err)))
            if isinstance(err, asyncssh.KeyExchangeFailed):
                self._fail(Outcome.DISAGREED, _describe(err))
            elif isinstance(err, asyncssh.PermissionDenied):
                self._fail(Outcome.AUTH_FAILED, _describe(err))
            elif not isinstance(err, asyncio.CancelledError):
                self._fail(Outcome.BACKEND_FAILED, _describe(err))
            self._resolve_all(False)
            if isinstance(err, asyncio.CancelledError):
                raise
            if self.client is not None and self._ready.done() and self._ready.exception() is None:
                self.client.close()
            return
        self.backend = conn
        self.backend_software = str(conn.get_extra_info("server_version") or "")
        if not self._ready.done():
            self._ready.set_result(False)   # no authentication needed
        self._resolve_pending(True)
        self._resolve_all(False)
        await conn.wait_closed()
        if self.client is not None:
            self.client.close()
        self.finish()

    def _refined(self, err: BaseException) -> BaseException:
        """``err``, or :class:`asyncssh.KeyExchangeFailed` when the backend's KEXINIT shows no overlap.

        When both sides detect the mismatch at once, the backend's DISCONNECT can surface as a plain
        "Connection lost"; the backend's KEXINIT (kept by asyncssh) tells what really happened.
        """
        if isinstance(err, asyncssh.KeyExchangeFailed | asyncio.CancelledError):
            return err
        offered = self.backend_kexinit()
        reason = no_overlap(self.settings.config, offered) if offered is not None else None
        return asyncssh.KeyExchangeFailed(reason) if reason else err

    def backend_kexinit(self) -> KexInit | None:
        """The algorithm lists the backend offered, if its KEXINIT arrived."""
        conn = self.backend_attempt
        payload = getattr(conn, "_server_kexinit", None) if conn is not None else None
        if not payload:
            return None
        data = bytes(payload)
        try:
            return decode_kexinit(data if data[0] == SSH_MSG_KEXINIT else bytes([SSH_MSG_KEXINIT]) + data)
        except ProbeError:
            return None

    def backend_wants_auth(self) -> None:
        """Called by the backend client at its first auth prompt: key exchange succeeded."""
        if self._ready is not None and not self._ready.done():
            self._ready.set_result(True)

    # ---- relaying authentication ---------------------------------------------------------------
    async def client_attempt(self, method: str, payload: Any) -> Any:
        """The client made an auth step; wait for the backend's verdict (True/False/challenge)."""
        if self.outcome is not None or self.backend is not None:
            return False
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        await self._attempts.put(_Attempt(method, payload, fut))
        return await fut

    async def next_attempt(self) -> _Attempt:
        """The backend asks for the next client step (held one first)."""
        self._resolve_pending(False)
        if self._held is not None:
            attempt, self._held = self._held, None
            return attempt
        return await self._attempts.get()

    def hold(self, attempt: _Attempt) -> None:
        """Keep ``attempt`` for the next backend auth method."""
        self._held = attempt

    def set_pending(self, attempt: _Attempt) -> None:
        """``attempt`` was sent to the backend; its verdict comes later."""
        self._pending = attempt

    def answer_pending(self, value: Any) -> bool:
        """Resolve the step sent to the backend with ``value``; False when none was pending."""
        if self._pending is None or self._pending.result.done():
            return False
        self._pending.result.set_result(value)
        self._pending = None
        return True

    def _resolve_pending(self, value: Any) -> None:
        self.answer_pending(value)

    def _resolve_all(self, value: Any) -> None:
        self._resolve_pending(value)
        for attempt in ([self._held] if self._held else []):
            if not attempt.result.done():
                attempt.result.set_result(value)
        self._held = None
        while not self._attempts.empty():
            attempt = self._attempts.get_nowait()
            if not attempt.result.done():
                attempt.result.set_result(value)


class _ClientFacing(asyncssh.SSHServer):
    """The proxy as the client sees it."""

    def __init__(self, session: MitmSession) -> None:
        self.session = session

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.session.client = conn

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.session._fail(Outcome.CLIENT_FAILED, _describe(exc))
        self.session.finish()

    async def begin_auth(self, username: str) -> bool:
        session = self.session
        if session.client is not None:
            session.client_software = str(session.client.get_extra_info("client_version") or "")
        try:
            return await session.start_backend(username)
        except asyncssh.KeyExchangeFailed as err:
            session._fail(Outcome.DISAGREED, _describe(err))
            session.disagreed.set()
            await session.on_disagree()
        except (asyncssh.Error, OSError, TimeoutError, ConnectionError) as err:
            session._fail(Outcome.BACKEND_FAILED, _describe(err))
        except Exception as err:  # the proxy's own bug: log it, never crash the daemon
            session._fail(Outcome.BACKEND_FAILED, f"internal: {err!r}")
        await session.hang_up()
        return True  # never reached by a live client: it has been hung up on

    def password_auth_supported(self) -> bool:
        return True

    def kbdint_auth_supported(self) -> bool:
        return True

    def public_key_auth_supported(self) -> bool:
        return False  # a man in the middle cannot relay a signature

    async def validate_password(self, username: str, password: str) -> bool:
        return bool(await self.session.client_attempt("password", password) is True)

    async def get_kbdint_challenge(self, username: str, lang: str, submethods: str) -> Any:
        return await self.session.client_attempt("kbdint-start", submethods)

    async def validate_kbdint_response(self, username: str, responses: Sequence[str]) -> Any:
        return await self.session.client_attempt("kbdint-response", list(responses))

    def session_requested(self) -> asyncssh.SSHServerSession[bytes]:
        self.session.channels += 1
        return _ClientChannel(self.session)


class _BackendFacing(asyncssh.SSHClient):
    """The proxy as the backend sees it: answers prompts with what the client typed."""

    def __init__(self, session: MitmSession) -> None:
        self.session = session

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        self.session.backend_attempt = conn

    async def kbdint_auth_requested(self) -> str | None:
        session = self.session
        session.backend_wants_auth()
        attempt = await session.next_attempt()
        if attempt.method != "kbdint-start":
            session.hold(attempt)
            return None
        session.set_pending(attempt)
        return ""

    async def kbdint_challenge_received(self, name: str, instructions: str, lang: str,
                                        prompts: Sequence[tuple[str, bool]]) -> list[str] | None:
        session = self.session
        if not prompts and not name and not instructions:
            return []
        if not session.answer_pending((name, instructions, lang, list(prompts))):
            return None
        attempt = await session.next_attempt()
        if attempt.method != "kbdint-response":
            session.hold(attempt)
            return None
        session.set_pending(attempt)
        return list(attempt.payload)

    async def password_auth_requested(self) -> str | None:
        session = self.session
        session.backend_wants_auth()
        while True:
            attempt = await session.next_attempt()
            if attempt.method == "password":
                session.set_pending(attempt)
                return str(attempt.payload)
            attempt.result.set_result(False)  # the backend is past keyboard-interactive

    def auth_completed(self) -> None:
        self.session.answer_pending(True)


class _ClientChannel(asyncssh.SSHServerSession[bytes]):
    """A session channel from the client; mirrored by one on the backend."""

    def __init__(self, session: MitmSession) -> None:
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
            peer, _ = await backend.create_session(lambda: _BackendChannel(self), command=command,
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


class _BackendChannel(asyncssh.SSHClientSession[bytes]):
    """The backend half of a relayed channel."""

    def __init__(self, front: _ClientChannel) -> None:
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


def _describe(err: BaseException) -> str:
    """A short reason for the session log."""
    text = str(err) or type(err).__name__
    return f"{type(err).__name__}: {text}" if not isinstance(err, asyncssh.Error) else text
