"""Benchmark the SSH proxy: set-up time and scp throughput through the proxy vs bypassed, and concurrency.

``sudo .venv/bin/python benchmarks/ssh_proxy.py [--logins 20] [--size-mb 100] [--concurrent 100]``

In the ``dc-ssh-proxy`` lab (time scale 1), client1 logs in to OpenSSH sshd (203.0.113.130:22) with
a password, once intercepted by the proxy and once with the tuple in the firewall's bypass set.
Targets (issue 4): set-up overhead <= 50 ms median, throughput >= 50 % of bypassed. The overhead is
taken from the Go-like client, which negotiates the same key exchange on both paths; OpenSSH's own
login is also shown (direct it negotiates sntrup761x25519, which the proxy does not offer).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from figures import Figure, record
from own_namespace import enter_for_labs

from natsim.lab import Lab
from natsim.middleboxes.ssh_proxy import SshProxy
from natsim.middleboxes.ssh_proxy.runtime import start_proxy
from natsim.probes.ssh.backends import LAB_PASSWORD
from natsim.probes.ssh.openssh import OpenSshClient
from natsim.probes.ssh.sshd import openssh_server
from natsim.units import TimeScale

SSHD, PORT, PASSWORD = "203.0.113.130", 22, LAB_PASSWORD
CLIENT = "client1"

CONCURRENT = """
import asyncio, sys, time
from natsim.probes.ssh.goclient import go_attempt
async def main(n):
    start = time.monotonic()
    results = await asyncio.gather(*(go_attempt("{host}", {port}, "root", "{password}", command="true",
                                                timeout=120) for _ in range(n)))
    ok = sum(r.verdict.value == "ok" for r in results)
    print(ok, n, round(time.monotonic() - start, 3),
          sorted(set(r.error for r in results if r.error))[:3])
asyncio.run(main(int(sys.argv[1])))
"""


GO_LOGINS = """
import asyncio, statistics, sys
from natsim.probes.ssh.goclient import go_attempt
async def main(n):
    times = []
    for _ in range(n):
        r = await go_attempt("{host}", {port}, "root", "{password}", command="true")
        assert r.verdict.value == "ok", r.error
        times.append(r.elapsed)
    print(statistics.median(times))
asyncio.run(main(int(sys.argv[1])))
"""


def go_login_median(lab: Lab, count: int) -> float:
    """Median seconds of a Go-like library login (same key exchange towards client on both paths).
    Warnings are off in the client (asyncssh's import warns of DSA's deprecation on stderr, which the
    lab's output interleaves with the one number read here)."""
    code = GO_LOGINS.format(host=SSHD, port=PORT, password=PASSWORD)
    _, out = lab.run(CLIENT, [sys.executable, "-W", "ignore", "-c", code, str(count)], timeout=300)
    return float(out.strip().splitlines()[-1])


def login_times(lab: Lab, client: OpenSshClient, count: int) -> list[float]:
    """Wall seconds of ``ssh HOST true`` (password via askpass), ``count`` times."""
    times = []
    for _ in range(count):
        argv = client.argv(SSHD, PORT, "root", "true", password=True, known_hosts=client.new_known_hosts())
        start = time.monotonic()
        done = subprocess.run(["mnexec", "-a", str(lab.node(CLIENT).pid), *argv], env=client.env(PASSWORD),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        times.append(time.monotonic() - start)
        if done.returncode != 0:
            raise SystemExit(f"login failed: {done.stderr.strip()}")
    return times


def scp_rate(lab: Lab, client: OpenSshClient, source: Path, target: Path) -> float:
    """MB/s of one scp upload of ``source`` to ``target`` on the server."""
    argv = ["scp", "-q", "-F", os.devnull, "-P", str(PORT), "-o", "StrictHostKeyChecking=no",
            "-o", f"UserKnownHostsFile={client.new_known_hosts()}", "-o", "PubkeyAuthentication=no",
            "-o", "BatchMode=no", "-o", "NumberOfPasswordPrompts=1",
            str(source), f"root@{SSHD}:{target}"]
    start = time.monotonic()
    done = subprocess.run(["mnexec", "-a", str(lab.node(CLIENT).pid), *argv], env=client.env(PASSWORD),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - start
    if done.returncode != 0 or target.stat().st_size != source.stat().st_size:
        raise SystemExit(f"scp failed: {done.stderr.strip()}")
    target.unlink()
    return source.stat().st_size / 1e6 / elapsed


def concurrent(lab: Lab, n: int) -> str:
    """``ok/n in seconds`` for ``n`` simultaneous logins with the Go-like client."""
    code = CONCURRENT.format(host=SSHD, port=PORT, password=PASSWORD)
    _, out = lab.run(CLIENT, [sys.executable, "-W", "ignore", "-c", code, str(n)], timeout=300)
    ok, total, secs, errors = out.strip().splitlines()[-1].split(" ", 3)
    return f"{ok}/{total} in {secs} s" + (f" errors {errors}" if errors != "[]" else "")


def main() -> int:
    """Run the benchmark and print a table."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--logins", type=int, default=20)
    p.add_argument("--size-mb", type=int, default=100)
    p.add_argument("--concurrent", type=int, default=100)
    args = p.parse_args()
    enter_for_labs()
    with tempfile.TemporaryDirectory(prefix="natsim-sshbench-") as scratch:
        return run(args, Path(scratch))


def run(args: argparse.Namespace, work: Path) -> int:
    """The measurements, with scratch files in ``work``."""
    source = work / "payload.bin"
    with open(source, "wb") as out:
        for _ in range(args.size_mb):
            out.write(os.urandom(1_000_000))
    client = OpenSshClient(work / "client")
    rows = []
    with Lab("dc-ssh-proxy", {"fw": SshProxy(ports=(22,))}, time_scale=TimeScale(1), runtimes=False) as lab:
        start_proxy(lab, workdir=work)
        with openssh_server(lab, "sshd", password=PASSWORD,
                            options={"MaxStartups": "1000:30:2000", "MaxSessions": "1000"}):
            for mode in ("proxied", "bypassed"):
                if mode == "bypassed":
                    lab.run("fw", ["nft", "add", "element", "inet", "natsim", "bypass",
                                   f"{{ 192.0.2.10 . {SSHD} . {PORT} timeout 1h }}"], check=True)
                times = login_times(lab, client, args.logins)
                go = go_login_median(lab, args.logins)
                rate = scp_rate(lab, client, source, work / f"copy-{mode}.bin")
                many = concurrent(lab, args.concurrent) if args.concurrent else "-"
                rows.append((mode, statistics.median(times), go, rate, many))
    source.unlink()
    print(f"{'path':9} {'ssh login':>12} {'go login':>10} {'scp MB/s':>9}  "
          f"{args.concurrent} concurrent logins")
    for mode, median, go, rate, many in rows:
        print(f"{mode:9} {median * 1000:9.1f} ms {go * 1000:7.1f} ms {rate:9.1f}  {many}")
    overhead = (rows[0][2] - rows[1][2]) * 1000
    share = rows[0][3] / rows[1][3]
    print(f"set-up overhead (go login) {overhead:.1f} ms (target <= 50), "
          f"throughput {share:.0%} of bypassed (target >= 50 %)")
    record(Figure("ssh_proxy", "go login overhead: proxied - bypassed, same run", overhead, "ms", 50.0))
    record(Figure("ssh_proxy", "scp through the proxy", rows[0][3], "MB/s", 0.5, "ratio", at_most=False,
                  reference=rows[1][3], reference_name="bypassed"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
