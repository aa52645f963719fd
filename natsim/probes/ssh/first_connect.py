"""``ssh-first-connect``: log in N times in a row and record banner, key exchange and outcome.

Behind the incident's firewall the first attempt to the Go server fails (``ssh: handshake failed:
EOF``) and the next ones succeed, because the failure put the tuple on the firewall's bypass list.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from natsim.probes.ssh.login import LoginOutcome, SshLogin, login_once
from natsim.probes.ssh.options import SshFirstConnectOptions
from natsim.probes.ssh.wire import identify_proxy
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict
from natsim.units import TimeScale

KIND = SshFirstConnectOptions.kind


async def first_connect(host: str, port: int, *, attempts: int = 3, login: SshLogin | None = None,
                        interval: float = 0.0, time_scale: TimeScale | None = None,
                        name: str | None = None, node: str | None = None,
                        on_result: Callable[[ConnectionResult], None] | None = None) -> ProbeResult:
    """Log in ``attempts`` times, ``interval`` real-world seconds apart (absolute deadlines: attempt
    ``k`` starts ``k * interval`` after the first, however long logins take); one connection per
    attempt, its ``elapsed`` when the attempt started (``on_result`` is called with each as soon as it
    has its verdict).

    ``extra`` holds, per attempt, the banner, key exchange and host key seen, and ``proxy`` names a
    known intercepting proxy when a banner gave one away.
    """
    login = login or SshLogin()
    scale = time_scale or TimeScale(1.0)
    started = time.monotonic()
    result = ProbeResult(name=name or KIND, kind=KIND, target=f"{host}:{port}", node=node)
    seen: list[dict[str, object]] = []
    for index in range(attempts):
        if index and interval > 0:
            await asyncio.sleep(max(0.0, started + scale.to_lab(interval) * index - time.monotonic()))
        begin = time.monotonic()
        outcome = await login_once(host, port, login)
        result.connections.append(connection(index, interval if index else 0.0, outcome,
                                             scale.to_real(begin - started)))
        if on_result is not None:
            on_result(result.connections[-1])
        seen.append({"banner": outcome.banner, "kex": outcome.kex, "host_key": outcome.host_key,
                     "error": outcome.error, "elapsed_lab": round(outcome.elapsed, 4)})
    proxies = sorted({p for a in seen if (p := identify_proxy(str(a["banner"])))})
    result.extra = {"client": login.client, "user": login.user, "attempts": seen,
                    "proxy": proxies[0] if proxies else None, "time_scale": scale.factor}
    return result


def connection(index: int, idle: float, outcome: LoginOutcome, elapsed: float) -> ConnectionResult:
    """The schema row of one attempt."""
    return ConnectionResult(index=index, idle=idle, verdict=outcome.verdict,
                            how="" if outcome.verdict is Verdict.OK else "handshake",
                            elapsed=round(elapsed, 3), detail=outcome.detail(), local=outcome.local)
