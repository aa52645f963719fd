"""Node names in a command line become addresses, as Mininet's CLI does: the one substitution of
``natsim lab --run``, ``natsim run --probe-cmd``, command probes and ``Lab.run`` with a string.

After the command's first word (the program), every word that is a node name becomes that node's
address, and so does the host part of a ``USER@NODE`` word (``ssh root@server`` →
``ssh root@203.0.113.10``). Anything else is left as written: ``server.log``, ``TCP:server:22`` and
quoted names are not words of their own (write the address there, or use ``$(...)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

_WORD = re.compile(r"\S+")


def substitute_nodes(command: str, nodes: Collection[str], address: Callable[[str], str]) -> str:
    """``command`` with node names (``nodes``) after its first word replaced by ``address(name)``."""
    first = _WORD.search(command)
    if first is None:
        return command

    def replace(match: re.Match[str]) -> str:
        word = match.group(0)
        user, at, host = word.rpartition("@")
        if word in nodes:
            return address(word)
        if at and user and host in nodes:
            return f"{user}@{address(host)}"
        return word

    return command[:first.end()] + _WORD.sub(replace, command[first.end():])
