"""``natsim serve`` (also ``python -m natsim.probes serve``): the echo and sleep services the TCP probes
talk to (:mod:`natsim.probes.tcp.protocol`), the UDP service of the UDP probes
(:mod:`natsim.probes.udp.datagram`) and, with ``--stun``, the RFC 5780 STUN server the
``nat-type`` probe talks to (:mod:`natsim.probes.stun.stun_server`) and, with ``--rendezvous``, the
rendezvous of the ``hole-punch`` probe (:mod:`natsim.probes.punch.rendezvous`).

Runs unprivileged on a public host; see ``docs/probes.md`` and ``docs/stun.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

from natsim.cliargs import add_time_scale
from natsim.probes.punch.messages import RENDEZVOUS, RENDEZVOUS_PORT
from natsim.probes.punch.rendezvous import RendezvousConfig, start_rendezvous
from natsim.probes.registry import kinds
from natsim.probes.service import Service
from natsim.probes.stun.ports import STUN, STUN_ALT_PORT, STUN_PORT, StunConfig
from natsim.probes.tcp.protocol import ECHO, ECHO_PORT, SLEEP, SLEEP_PORT
from natsim.probes.tcp.server import ProbeServer, ServerConfig
from natsim.probes.udp.datagram import UDP_ECHO, UDP_PORT
from natsim.probes.udp.responder import UdpServiceConfig, start_udp

#: The services ``natsim serve`` provides without ``--stun``, in the order it starts them.
SERVICES: tuple[Service, ...] = (UDP_ECHO, ECHO, SLEEP)


def register(sub: Any) -> None:
    """Add ``natsim serve``."""
    parser = sub.add_parser("serve",
                            help="run the probe server (echo, sleep and UDP services; STUN with --stun)",
                            description=f"Serve {_services(SERVICES)}; echo and sleep are wire-compatible "
                            f"with the NAT-TCP-test clients; with --stun also {_services((STUN,))}: RFC 5389 "
                            "Binding with RFC 5780 behaviour discovery on UDP (docs/stun.md); with "
                            f"--rendezvous also {_services((RENDEZVOUS,))}: the NSH1 rendezvous of UDP hole "
                            "punching (docs/probes.md).")
    parser.add_argument("--bind", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    parser.add_argument("--echo-port", type=int, default=ECHO_PORT, help=f"default {ECHO_PORT}")
    parser.add_argument("--sleep-port", type=int, default=SLEEP_PORT, help=f"default {SLEEP_PORT}")
    parser.add_argument("--udp-port", type=int, default=UDP_PORT, help=f"default {UDP_PORT} (UDP)")
    add_time_scale(parser, note="a sleep request of N seconds is answered after N/S wall seconds (labs)")
    parser.add_argument("--per-source", type=int, default=ServerConfig.per_source,
                        help="open connections (and delayed UDP answers) per source address "
                        f"(default {ServerConfig.per_source})")
    parser.add_argument("--max-connections", type=int, default=ServerConfig.max_connections,
                        help="open connections (and delayed UDP answers) in total "
                        f"(default {ServerConfig.max_connections})")
    parser.add_argument("--request-timeout", type=float, default=ServerConfig.request_timeout,
                        help="seconds a sleep client has to send its request")
    _add_stun(parser)
    meet = parser.add_argument_group("rendezvous (hole-punch, UDP)")
    meet.add_argument("--rendezvous", action="store_true", help="serve the rendezvous as well")
    meet.add_argument("--rendezvous-only", action="store_true",
                      help="serve the rendezvous only (no TCP or UDP probe services)")
    meet.add_argument("--rendezvous-port", type=int, default=RENDEZVOUS_PORT,
                      help=f"default {RENDEZVOUS_PORT}")
    parser.add_argument("--quiet", action="store_true", help="log only warnings")
    parser.set_defaults(func=run)


def _add_stun(parser: argparse.ArgumentParser) -> None:
    stun = parser.add_argument_group("STUN (RFC 5389/5780, UDP)")
    stun.add_argument("--stun", action="store_true", help="serve STUN as well")
    stun.add_argument("--stun-only", action="store_true", help="serve STUN only (no TCP services)")
    stun.add_argument("--stun-address", default=None, metavar="ADDR",
                      help="the primary address STUN listens on (default: --bind)")
    stun.add_argument("--stun-alt-address", default=None, metavar="ADDR",
                      help="a second address of this host: with it the server answers RFC 5780 "
                      "CHANGE-REQUEST and sends OTHER-ADDRESS (two addresses times two ports)")
    stun.add_argument("--stun-port", type=int, default=STUN_PORT, help=f"default {STUN_PORT}")
    stun.add_argument("--stun-alt-port", type=int, default=STUN_ALT_PORT,
                      help=f"the second port, with --stun-alt-address (default {STUN_ALT_PORT})")
    stun.add_argument("--stun-rate", type=float, default=StunConfig.rate, metavar="N",
                      help=f"requests answered per second per source address, in bursts of up to 2N "
                      f"(default {StunConfig.rate:g})")


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted."""
    if not any(getattr(h, "natsim_cli", False) for h in logging.getLogger("natsim").handlers):
        # python -m natsim.probes serve (labs): a line per event; under `natsim` its own -v/-q decide
        logging.basicConfig(stream=sys.stderr, level=logging.WARNING if args.quiet else logging.INFO,
                            format="%(asctime)s %(message)s")
    only = args.stun_only or args.rendezvous_only
    tcp = None if only else ServerConfig(
        bind=args.bind, echo_port=args.echo_port, sleep_port=args.sleep_port, time_scale=args.time_scale,
        per_source=args.per_source, max_connections=args.max_connections,
        request_timeout=args.request_timeout)
    stun = None
    if args.stun or args.stun_only:
        stun = StunConfig(address=args.stun_address or args.bind, port=args.stun_port,
                          alt_address=args.stun_alt_address, alt_port=args.stun_alt_port, rate=args.stun_rate)
    udp = None if only else UdpServiceConfig(
        bind=args.bind, port=args.udp_port, time_scale=args.time_scale, per_source=args.per_source,
        max_pending=args.max_connections)
    meet = RendezvousConfig(bind=args.bind, port=args.rendezvous_port) \
        if args.rendezvous or args.rendezvous_only else None
    asyncio.run(serve(tcp, stun, udp, meet))
    return 0


def _services(services: tuple[Service, ...]) -> str:
    """``the echo service (port 31415: tcp-keepalive, tcp-send) and the sleep service (...)``: what the
    registered probe kinds say they talk to."""
    users = {service: [k.name for k in kinds().values() if k.service == service] for service in services}
    return " and ".join(f"the {s.name} service ({s.transport} port {s.port}: "
                        f"{', '.join(names) or 'no probe kind'})" for s, names in users.items())


async def serve(config: ServerConfig | None, stun: StunConfig | None = None,
                udp: UdpServiceConfig | None = None, rendezvous: RendezvousConfig | None = None) -> None:
    """Start the UDP service (``udp``), the rendezvous (``rendezvous``), the STUN server (``stun``) and the
    TCP services (``config``), and run until cancelled. The UDP sockets are bound first: once the TCP
    ports listen, every service is up."""
    service = await start_udp(udp) if udp is not None else None
    meeting = await start_rendezvous(rendezvous) if rendezvous is not None else None
    stun_server = None
    if stun is not None:
        from natsim.probes.stun.stun_server import StunServer  # the codec (aioice) only when STUN runs
        stun_server = StunServer(stun)
    try:
        if stun_server is not None:
            await stun_server.start()
        if config is None:
            await asyncio.Event().wait()
            return
        server = ProbeServer(config)
        await server.start()
        await server.serve_forever()
    finally:
        if stun_server is not None:
            stun_server.close()
        if service is not None:
            service.close()
        if meeting is not None:
            meeting.close()
