"""``ssh-kex``: the server's banner and algorithm lists, read from the wire, and who really answered.

The probe sends its own banner, reads the peer's identification line and ``SSH_MSG_KEXINIT``, and
closes — no key exchange, no login, so it never changes a firewall's state. A banner of a known
intercepting proxy (``SSH-2.0-PaloAltoNetworks_0.2``) is named.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from natsim.errors import ProbeError
from natsim.probes.ssh.options import SshKexOptions
from natsim.probes.ssh.wire import GO_SERVER_KEX, PeerClosed, read_banner_and_kexinit
from natsim.report.schema import ConnectionResult, ProbeResult, Verdict, errno_verdict

KIND = SshKexOptions.kind
PROBE_BANNER = b"SSH-2.0-natsim_kex_probe\r\n"


async def kex_scan(host: str, port: int, *, timeout: float = 10.0, name: str | None = None,
                   node: str | None = None) -> ProbeResult:
    """Read ``host:port``'s banner and KEXINIT; one connection row, details in ``extra``."""
    result = ProbeResult(name=name or KIND, kind=KIND, target=f"{host}:{port}", node=node)
    started = time.monotonic()
    writer: asyncio.StreamWriter | None = None
    try:
        reader, stream = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        writer = stream
        stream.write(PROBE_BANNER)
        await stream.drain()
        banner, kexinit = await read_banner_and_kexinit(reader, timeout=timeout)
    except (ProbeError, OSError, TimeoutError) as err:
        verdict = Verdict.EOF if isinstance(err, PeerClosed) else (
            errno_verdict(err.errno) if isinstance(err, OSError) else Verdict.ERROR)
        text = str(err) or type(err).__name__
        result.connections.append(ConnectionResult(0, 0.0, verdict, "banner",
                                                   round(time.monotonic() - started, 3), text))
        result.extra = {"banner": None, "kex": [], "proxy": None}
        return result
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
    proxy = banner.proxy
    detail = banner.line + (f" — intercepted by {proxy}" if proxy else "")
    result.connections.append(ConnectionResult(0, 0.0, Verdict.OK, "", round(time.monotonic() - started, 3),
                                               detail))
    result.extra = {"banner": banner.line, "software": banner.software, "proxy": proxy,
                    "kex": list(kexinit.kex), "host_key": list(kexinit.host_key),
                    "ciphers": list(kexinit.cipher_c2s), "macs": list(kexinit.mac_c2s),
                    "go_server_kex": [k for k in kexinit.kex if not k.startswith(("ext-info", "kex-strict"))]
                    == list(GO_SERVER_KEX)}
    return result
