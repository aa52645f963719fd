"""A middlebox's state back to what it was when the lab came up: its connection-tracking table
emptied and its ruleset applied afresh, so every dynamic set and map its render declares (a NAT's
mapping tables, ``natsim/middleboxes/nat/tables.py``) is empty again.

In one ``nft -f -`` transaction every table the render declares is deleted and declared again, so no
packet ever meets a half-applied ruleset. Set-up commands and sysctls are not run again (they hold no
per-flow state); neither is restarted what a kind runs besides its ruleset (an SSH proxy daemon).
"""

from __future__ import annotations

import logging
import re

from natsim.lab.lab import Lab

LOG = logging.getLogger("natsim.lab")
_TABLE = re.compile(r"^table\s+(\w+)\s+([\w-]+)\s*\{", re.MULTILINE)


def fresh_ruleset(nft: str) -> str:
    """``nft`` (a render's ruleset) preceded by the deletion of every table it declares."""
    tables = dict.fromkeys(_TABLE.findall(nft))
    return "".join(f"delete table {family} {name}\n" for family, name in tables) + nft


def reset_state(lab: Lab, node: str) -> None:
    """Empty middlebox ``node``'s conntrack table and apply its ruleset afresh (see the module)."""
    run = lab.runner(node)
    LOG.info("%s: conntrack -F; its ruleset applied afresh", node)
    run.run(["conntrack", "-F"])
    run.run(["nft", "-f", "-"], input=fresh_ruleset(lab.rendered[node].nft))
    run.run(["conntrack", "-F"])
