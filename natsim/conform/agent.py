"""The conformance agent: a small RPC server run inside a lab node (``python -m natsim.conform.agent``).

It reads one JSON request per line on stdin and answers one JSON line on stdout. Sockets are kept by
name between requests, so the controller can open a connection, leave it idle, and use it later.
Received data stays in the kernel's buffers until asked for, so requests can be strictly sequential.
Scapy is imported only for the two tests that need crafted packets (unsolicited SYN, ICMP error).
"""

from __future__ import annotations

import errno
import json
import select
import socket
import sys
import time
from typing import Any

_sockets: dict[str, socket.socket] = {}
#: ``IP_RECVERR`` (linux/in.h), which Python's socket module does not name.
IP_RECVERR = 11


def _error(err: OSError) -> dict[str, Any]:
    code = err.errno or 0
    name = errno.errorcode.get(code, type(err).__name__) if code else type(err).__name__
    return {"ok": False, "error": name}


def _addr(sock: socket.socket, peer: bool = False) -> str:
    host, port = sock.getpeername() if peer else sock.getsockname()
    return f"{host}:{port}"


def udp_bind(name: str, port: int = 0, address: str = "0.0.0.0", recverr: bool = False) -> dict[str, Any]:
    """A UDP socket; ``recverr``: ICMP errors about what it sent are reported by :func:`udp_recv`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if recverr:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    sock.bind((address, port))
    _sockets[name] = sock
    return {"ok": True, "local": _addr(sock)}


def udp_send(name: str, host: str, port: int, data: str) -> dict[str, Any]:
    _sockets[name].sendto(data.encode(), (host, port))
    return {"ok": True}


def udp_recv(name: str, timeout: float = 0.0) -> dict[str, Any]:
    """Every datagram waiting on ``name`` (waiting up to ``timeout`` for the first); an ICMP error a
    ``recverr`` socket was told of is an item ``{"error": "ECONNREFUSED"}`` among them."""
    sock = _sockets[name]
    got: list[dict[str, str]] = []
    ready, _, _ = select.select([sock], [], [], timeout)
    while ready:
        try:
            data, (host, port) = sock.recvfrom(65535)
        except OSError as err:
            got.append({"error": errno.errorcode.get(err.errno or 0, str(err))})
            try:   # the error's report: read, so that it is not reported again
                sock.recvmsg(512, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except OSError:
                pass
        else:
            got.append({"data": data.decode(errors="replace"), "from": f"{host}:{port}"})
        ready, _, _ = select.select([sock], [], [], 0)
    return {"ok": True, "datagrams": got}


def tcp_listen(name: str, port: int, address: str = "0.0.0.0", reuse_port: bool = False) -> dict[str, Any]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((address, port))
        sock.listen(128)
    except OSError as err:
        sock.close()
        return _error(err)
    _sockets[name] = sock
    return {"ok": True, "local": _addr(sock)}


def tcp_accept(name: str, listener: str, timeout: float = 5.0) -> dict[str, Any]:
    server = _sockets[listener]
    server.settimeout(timeout)
    try:
        conn, _ = server.accept()
    except OSError as err:
        return _error(err)
    _sockets[name] = conn
    return {"ok": True, "peer": _addr(conn, peer=True), "local": _addr(conn)}


def tcp_connect(name: str, host: str, port: int, timeout: float = 5.0, local_port: int = 0,
                user_timeout_ms: int = 0, reuse_port: bool = False) -> dict[str, Any]:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if user_timeout_ms:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, user_timeout_ms)
    if local_port:
        sock.bind(("0.0.0.0", local_port))
    sock.settimeout(timeout)
    started = time.monotonic()
    try:
        sock.connect((host, port))
    except OSError as err:
        sock.close()
        return {**_error(err), "after": round(time.monotonic() - started, 6)}
    _sockets[name] = sock
    return {"ok": True, "local": _addr(sock), "after": round(time.monotonic() - started, 6)}


def tcp_send(name: str, data: str) -> dict[str, Any]:
    try:
        _sockets[name].sendall(data.encode())
    except OSError as err:
        return _error(err)
    return {"ok": True}


def tcp_recv(name: str, timeout: float = 0.0) -> dict[str, Any]:
    """Data waiting on ``name``: ``data``, ``eof``, ``error`` or ``timeout``."""
    sock = _sockets[name]
    sock.settimeout(timeout if timeout > 0 else 0.0001)
    try:
        data = sock.recv(65535)
    except TimeoutError:
        return {"ok": True, "result": "timeout"}
    except BlockingIOError:
        return {"ok": True, "result": "timeout"}
    except OSError as err:
        return {**_error(err), "result": "error"}
    return {"ok": True, "result": "data" if data else "eof", "data": data.decode(errors="replace")}


def tcp_shutdown(name: str) -> dict[str, Any]:
    """Half-close: send FIN, keep receiving."""
    _sockets[name].shutdown(socket.SHUT_WR)
    return {"ok": True}


def close(name: str) -> dict[str, Any]:
    sock = _sockets.pop(name, None)
    if sock is not None:
        sock.close()
    return {"ok": True}


def syn_probe(host: str, port: int, timeout: float, sport: int = 40123) -> dict[str, Any]:
    """Send one unsolicited SYN with scapy; report what came back (RST, ICMP, nothing) and when."""
    from scapy.layers.inet import ICMP, IP, TCP
    from scapy.sendrecv import sr1

    started = time.monotonic()
    reply = sr1(IP(dst=host) / TCP(sport=sport, dport=port, flags="S", seq=1000), timeout=timeout,
                verbose=False)
    after = round(time.monotonic() - started, 6)
    if reply is None:
        return {"ok": True, "reply": "none", "after": None}
    if TCP in reply:
        return {"ok": True, "reply": "rst" if reply[TCP].flags & 0x04 else f"tcp-{reply[TCP].flags}",
                "after": after}
    if ICMP in reply:
        return {"ok": True, "reply": f"icmp-{reply[ICMP].type}-{reply[ICMP].code}", "after": after}
    return {"ok": True, "reply": reply.summary(), "after": after}


def icmp_error(dst: str, inner_src: str, inner_sport: int, inner_dst: str, inner_dport: int,
               icmp_type: int = 3, icmp_code: int = 1, proto: str = "tcp") -> dict[str, Any]:
    """Send an ICMP error about the packet ``inner_src:sport → inner_dst:dport`` to ``dst``."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP
    from scapy.sendrecv import send

    inner_l4 = TCP(sport=inner_sport, dport=inner_dport, flags="A") if proto == "tcp" \
        else UDP(sport=inner_sport, dport=inner_dport)
    packet = IP(dst=dst) / ICMP(type=icmp_type, code=icmp_code) / IP(src=inner_src, dst=inner_dst) / inner_l4
    send(packet, verbose=False)
    return {"ok": True, "sent": packet.summary()}


OPS = {f.__name__: f for f in (udp_bind, udp_send, udp_recv, tcp_listen, tcp_accept, tcp_connect, tcp_send,
                               tcp_recv, tcp_shutdown, close, syn_probe, icmp_error)}


def serve() -> None:
    """Answer requests until stdin closes."""
    print(json.dumps({"ok": True, "ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            op = OPS[request.pop("op")]
            answer = op(**request)
        except OSError as err:
            answer = _error(err)
        except Exception as err:  # report to the controller rather than die
            answer = {"ok": False, "error": f"{type(err).__name__}: {err}"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    serve()
