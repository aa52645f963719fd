"""A tiny TCP idle tester for the lab-foundation tests (independent of natsim's probes).

server PORT: per connection, answers ``PING`` with ``PONG`` at once and ``LATER s`` with ``PONG``
after ``s`` seconds; prints one JSON line per connection end (how it ended).
client HOST PORT SPEC...: SPEC is ``out:IDLE`` (client speaks after IDLE lab seconds) or ``in:IDLE``
(server speaks after IDLE), all connections opened at once; prints one JSON line per connection.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

TCP_USER_TIMEOUT = 18


_PRINT = threading.Lock()


def _result(**fields: object) -> None:
    with _PRINT:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


def serve(port: int, user_timeout_ms: int) -> None:
    listener = socket.create_server(("0.0.0.0", port), backlog=128)

    def handle(conn: socket.socket, peer: tuple[str, int]) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout_ms)
        how = "eof"
        try:
            buf = b""
            while True:
                data = conn.recv(64)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.startswith(b"LATER "):
                        time.sleep(float(line.split()[1]))
                    conn.sendall(b"PONG\n")
        except OSError as err:
            how = {104: "reset", 110: "timeout"}.get(err.errno or 0, f"errno{err.errno}")
        finally:
            conn.close()
        _result(peer=f"{peer[0]}:{peer[1]}", ended=how)

    while True:
        conn, peer = listener.accept()
        threading.Thread(target=handle, args=(conn, peer), daemon=True).start()


def client(host: str, port: int, specs: list[str], user_timeout_ms: int, keepalive: int) -> None:
    conns = []
    for spec in specs:
        direction, idle = spec.split(":")
        sock = socket.create_connection((host, port), timeout=5)
        sock.setsockopt(socket.IPPROTO_TCP, TCP_USER_TIMEOUT, user_timeout_ms)
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 3)
        if direction == "in":
            sock.sendall(f"LATER {idle}\n".encode())
        conns.append((spec, direction, float(idle), sock, time.monotonic()))

    def run(spec: str, direction: str, idle: float, sock: socket.socket, opened: float) -> None:
        try:
            if direction == "out":
                time.sleep(max(0.0, opened + idle - time.monotonic()))
                sock.sendall(b"PING\n")
            sock.settimeout(idle + user_timeout_ms / 1000 + 3)
            data = sock.recv(64)
            verdict = "alive" if data.startswith(b"PONG") else "eof"
        except OSError as err:  # ETIMEDOUT and a socket timeout are both TimeoutError: use errno
            verdict = {None: "silent", 104: "reset", 110: "timeout", 111: "refused"}.get(
                err.errno, f"errno{err.errno}")
        _result(spec=spec, verdict=verdict)
        sock.close()

    threads = [threading.Thread(target=run, args=c) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def connect_once(host: str, port: int) -> None:
    sock = socket.socket()
    sock.settimeout(3)
    try:
        sock.connect((host, port))
        verdict = "connected"
    except OSError as err:
        verdict = {None: "silent", 111: "refused", 104: "reset", 110: "timeout"}.get(
            err.errno, f"errno{err.errno}")
    _result(verdict=verdict)


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        serve(int(sys.argv[2]), int(sys.argv[3]))
    elif mode == "client":
        client(sys.argv[2], int(sys.argv[3]), sys.argv[6:], int(sys.argv[4]), int(sys.argv[5]))
    else:
        connect_once(sys.argv[2], int(sys.argv[3]))
