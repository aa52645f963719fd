"""``ssh-idle``: real OpenSSH sessions left idle, with ``ServerAliveInterval``/``TCPKeepAlive`` variants.

Each variant opens ``ssh -T HOST cat`` (key authentication), checks that a line comes back, stays silent
for its idle time, then sends another line. It *survived* when the line comes back within
``reply_timeout``; it *died* when ``ssh`` exited during the idle time or when the line never came back
(``no reply``: the middlebox dropped it). How it died is what natsim's relay (ssh's ``ProxyCommand``,
:mod:`natsim.probes.ssh.proxycommand`) saw of the TCP connection: an RST (``reset``), the kernel's timeout
(``dead``), the server's FIN (``eof``), or ssh giving up on unanswered requests (``ServerAliveCountMax``:
``dead``) — not ssh's words, which after an RST often say ``Broken pipe``. Durations are real-world;
option values that are durations (``ServerAliveInterval``) are divided by the time scale and rounded to
whole seconds, which the result lists as rounded timers. ``TCPKeepAlive`` uses the OS keepalive timers of
the client's namespace: a lab scales those with sysctls (see :mod:`natsim.probes.ssh.labrun`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from natsim.errors import ProbeError
from natsim.probes.ssh.client_options import SAFE
from natsim.probes.ssh.openssh import OpenSshClient, last_line
from natsim.probes.ssh.options import IdleVariant, SshIdleOptions
from natsim.probes.ssh.outcome import RelayStatus
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, estimate_timeout
from natsim.units import TimeScale, format_duration, parse_duration

KIND = SshIdleOptions.kind
#: ssh options whose values are seconds (scaled by the time scale).
DURATION_OPTIONS = tuple(name for name, option in SAFE.items() if option.scaled)


def scaled_options(options: Mapping[str, str], scale: TimeScale) -> tuple[dict[str, str], list[str]]:
    """Options with durations as ssh takes them: whole seconds divided by the scale (≥ 1; ``0`` stays
    ``0``), and notes on rounding."""
    result, notes = dict(options), []
    for key in DURATION_OPTIONS:
        if key in result and parse_duration(result[key], what=key, allow_zero=True) == 0:
            result[key] = "0"
        elif key in result:
            real = parse_duration(result[key], what=key)
            exact = scale.to_lab(real)
            lab = max(1, round(exact))
            result[key] = str(lab)
            if abs(lab - exact) > 1e-9:
                notes.append(f"{key} {format_duration(real)} -> {lab} s (exact {exact:.3f} s, rounded)")
    return result, notes


async def _relay_done(path: Path, wait: float = 2.0) -> RelayStatus:
    """The relay's record once it wrote how the connection ended (ssh may exit a moment before its
    relay has written)."""
    deadline = time.monotonic() + wait
    status = RelayStatus.load(path)
    while status.end == "running" and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        status = RelayStatus.load(path)
    return status


def _plain(variant: IdleVariant) -> bool:
    """No keepalive of its own: ServerAliveInterval unset or 0, TCPKeepAlive unset or no."""
    interval = variant.options.get("ServerAliveInterval", "0")
    return parse_duration(interval, what="ServerAliveInterval", allow_zero=True) == 0 \
        and variant.flag("TCPKeepAlive", False) is False


async def _readline(stream: asyncio.StreamReader, timeout: float) -> bytes | None:
    try:
        return await asyncio.wait_for(stream.readline(), timeout)
    except TimeoutError:
        return None


#: Lab (wall) seconds a session waits for its echo after the idle time; the model waits the same.
REPLY_TIMEOUT_WALL = 5.0


async def _how_it_ended(proc: asyncio.subprocess.Process, errors: asyncio.Future[bytes], relay: Path,
                        host: str, port: int) -> tuple[Verdict, str, float]:
    """(verdict, detail, when) of an ssh that exited: what its relay saw of the connection."""
    code = await proc.wait()
    ended = time.monotonic()
    diag = (await errors).decode(errors="replace")
    status = await _relay_done(relay)
    verdict = status.verdict(code)
    if verdict is Verdict.OK:   # the remote command ended: the session was closed under it
        verdict = Verdict.EOF
    line = status.describe(host, port) if status.end in ("error", "eof") else last_line(diag)
    return verdict, line or f"ssh exited {code}", ended


async def idle_session(client: OpenSshClient, host: str, port: int, user: str, variant: IdleVariant, *,
                       index: int, scale: TimeScale, reply_timeout: float, started: float,
                       password: str | None = None) -> ConnectionResult:
    """Run one variant; its result row (``idle`` real-world; ``elapsed`` real-world, from the moment the
    session was up, as the model counts it: login time is not part of the session)."""
    options, _ = scaled_options(variant.options, scale)
    relay = client.new_relay_status()
    argv = client.argv(host, port, user, "cat", password=password is not None, options=options,
                       known_hosts=client.new_known_hosts(), relay=relay)
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=client.env(password), start_new_session=True)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    errors = asyncio.ensure_future(proc.stderr.read())

    origin = started

    def row(verdict: Verdict, how: str, detail: str, at: float | None = None) -> ConnectionResult:
        when = time.monotonic() if at is None else at
        return ConnectionResult(index, variant.idle, verdict, how, round(scale.to_real(when - origin), 3),
                                f"{variant.name}: {detail}", label=variant.name)

    async def died(how: str) -> ConnectionResult:
        verdict, detail, ended = await _how_it_ended(proc, errors, relay, host, port)
        return row(verdict, how, detail, ended)

    try:
        proc.stdin.write(b"hello\n")
        await proc.stdin.drain()
        if await _readline(proc.stdout, 20.0) != b"hello\n":
            if proc.returncode is not None or proc.stdout.at_eof():
                result = await died("setup")
                return ConnectionResult(index, variant.idle, Verdict.ERROR, "setup", result.elapsed,
                                        result.detail, label=variant.name)
            return row(Verdict.ERROR, "setup", "no echo from the fresh session")
        origin = time.monotonic()   # the session is up: its idle and its elapsed count from here
        wait = asyncio.ensure_future(proc.wait())
        done, _ = await asyncio.wait([wait], timeout=scale.to_lab(variant.idle))
        if done:
            return await died("idle")
        wait.cancel()
        try:
            proc.stdin.write(b"ping\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return await died("write")
        line = await _readline(proc.stdout, reply_timeout)
        if line == b"ping\n":
            return row(Verdict.ALIVE, "", "echo came back")
        if line is None:
            return row(Verdict.DEAD, "read", f"no reply within {reply_timeout:g} s (lab)")
        return await died("read")
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        errors.cancel()
        with contextlib.suppress(BaseException):
            await errors


async def ssh_idle(host: str, port: int, *, user: str = "root",
                   variants: Sequence[IdleVariant] | None = None,
                   client: OpenSshClient | None = None, password: str | None = None,
                   time_scale: TimeScale | None = None, reply_timeout: float = REPLY_TIMEOUT_WALL,
                   name: str | None = None, node: str | None = None,
                   on_result: Callable[[ConnectionResult], None] | None = None) -> ProbeResult:
    """Run every variant at once; one row per variant (``on_result`` is called with each as soon as
    it has its verdict). ``reply_timeout`` is in lab seconds."""
    if variants is None:
        variants = SshIdleOptions().parsed()
    if not variants:
        raise ProbeError("ssh-idle: no variants")
    scale = time_scale or TimeScale(1.0)
    client = client or OpenSshClient()
    started = time.monotonic()

    async def session(index: int, variant: IdleVariant) -> ConnectionResult:
        row = await idle_session(client, host, port, user, variant, index=index, scale=scale,
                                 reply_timeout=reply_timeout, started=started, password=password)
        if on_result is not None:
            on_result(row)
        return row

    rows = await asyncio.gather(*(session(i, v) for i, v in enumerate(variants)))
    notes = sorted({n for v in variants for n in scaled_options(v.options, scale)[1]})
    plain = [r for r, v in zip(rows, variants, strict=True) if _plain(v)]
    result = ProbeResult(name=name or KIND, kind=KIND, target=f"{host}:{port}", node=node,
                         connections=list(rows))
    result.estimate = estimate_timeout(plain) if plain else None
    result.extra = {"variants": [{"name": v.name, "idle": v.idle, "options": dict(v.options)}
                                 for v in variants],
                    "rounded": notes, "reply_timeout_lab": reply_timeout, "time_scale": scale.factor,
                    "unscaled": ["TCP retransmission timeout (200 ms minimum)",
                                 "TCPKeepAlive uses the namespace's net.ipv4.tcp_keepalive_* sysctls"]}
    return result
