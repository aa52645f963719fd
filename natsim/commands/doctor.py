"""``natsim doctor``: can this machine run natsim labs?"""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any) -> None:
    """Add ``natsim doctor``."""
    parser = sub.add_parser("doctor", help="check the lab mode (root or rootless), Python, binaries "
                            "and kernel features",
                            description="Check that this machine can run natsim labs: which mode "
                            "will be used (root; or, for an ordinary user, natsim's own user "
                            "namespace - and when the kernel forbids that, why and the one setting "
                            "that allows it), Python, binaries and kernel features. Kernel features "
                            "are tried in a throw-away network namespace.")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the checks as a table; exit 1 if a required one failed."""
    from rich.console import Console
    from rich.table import Table

    from natsim.lab.doctor import run_checks

    checks = run_checks()
    table = Table(title="natsim doctor")
    for column in ("check", "status", "detail", "fix"):
        table.add_column(column, overflow="fold")  # wrap long sysctl names instead of cutting them
    for check in checks:
        status = "[green]ok[/]" if check.ok else ("[red]FAIL[/]" if check.required else "[yellow]warn[/]")
        table.add_row(check.name, status, check.detail, "" if check.ok else check.fix)
    Console().print(table)
    failed = [c for c in checks if c.required and not c.ok]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0
