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
   changes, signals, EOF and exit status are passed on (:mod:`.channels`).

asyncssh drives the session through its two faces (:mod:`.facing`), which see it only through
:class:`~natsim.proxy.hooks.SessionHooks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import asyncssh

from natsim.errors import ProbeError
from natsim.probes.ssh.wire import SSH_MSG_KEXINIT, KexInit, decode_kexinit
from natsim.proxy.backend import connect_ssh, no_overlap
from natsim.proxy.facing import BackendFacing, ClientFacing
from natsim.proxy.hooks import Attempt, Outcome, describe
from natsim.proxy.settings import ProxySettings
from natsim.proxy.sockets import send_fin


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
        self._attempts: asyncio.Queue[Attempt] = asyncio.Queue()
        self._held: Attempt | None = None
        self._pending: Attempt | None = None
        self._backend_task: asyncio.Task[None] | None = None
        self._done = asyncio.Event()

    # ---- lifecycle -----------------------------------------------------------------------------
    async def run(self, client_sock: socket.socket) -> Outcome:
        """Serve the client on ``client_sock`` until the session ends; return how it ended."""
        self.client_sock = client_sock
        limits = self.settings.limits
        server = asyncio.ensure_future(asyncssh.run_server(
            client_sock, server_factory=lambda: ClientFacing(self),
            server_host_keys=[self.host_key], server_version=self.settings.server_version,
            login_timeout=limits.login_timeout, connect_timeout=limits.login_timeout,
            encoding=None, allow_pty=True, line_editor=False, agent_forwarding=False, x11_forwarding=False,
            keepalive_interval=0))
        done = asyncio.ensure_future(self._done.wait())
        try:
            await asyncio.wait([server, done], return_when=asyncio.FIRST_COMPLETED)
            if server.done() and server.exception() is not None:
                self.fail(Outcome.CLIENT_FAILED, describe(server.exception()))  # type: ignore[arg-type]
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

    def fail(self, outcome: Outcome, reason: str) -> None:
        """Record how the session ended (the first call wins)."""
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
                sock, self.settings.config, client_factory=lambda: BackendFacing(self), username=username,
                known_hosts=None, client_keys=None, agent_path=None, gss_host=None,
                preferred_auth=("keyboard-interactive", "password"), encoding=None, connect_timeout=None,
                login_timeout=None, keepalive_interval=0)
        except BaseException as caught:
            err = self._refined(caught)
            if not self._ready.done():
                self._ready.set_exception(err if isinstance(err, Exception) else ConnectionError(str(err)))
            if isinstance(err, asyncssh.KeyExchangeFailed):
                self.fail(Outcome.DISAGREED, describe(err))
            elif isinstance(err, asyncssh.PermissionDenied):
                self.fail(Outcome.AUTH_FAILED, describe(err))
            elif not isinstance(err, asyncio.CancelledError):
                self.fail(Outcome.BACKEND_FAILED, describe(err))
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
        await self._attempts.put(Attempt(method, payload, fut))
        return await fut

    async def next_attempt(self) -> Attempt:
        """The backend asks for the next client step (held one first)."""
        self._resolve_pending(False)
        if self._held is not None:
            attempt, self._held = self._held, None
            return attempt
        return await self._attempts.get()

    def hold(self, attempt: Attempt) -> None:
        """Keep ``attempt`` for the next backend auth method."""
        self._held = attempt

    def set_pending(self, attempt: Attempt) -> None:
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
