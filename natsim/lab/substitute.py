"""Node names in a command line become addresses, as Mininet's CLI does: the one substitution of
``natsim lab --run``, ``natsim run --probe-cmd``, command probes, ``Lab.run`` with a string and (on an
argv, word by word) ``natsim lab exec``.

After the command's first word (the program), every word that is a node name becomes that node's
address, and so does the host part of a ``USER@NODE`` word (``ssh root@server`` →
``ssh root@203.0.113.10``). Anything else is left as written: ``server.log``, ``TCP:server:22`` and
quoted names are not words of their own (write the address there, or use ``$(...)``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

_WORD = re.compile(r"\S+")


def _word(word: str, nodes: Collection[str], address: Callable[[str], str]) -> str:
    """One word after the first: a node name, or ``USER@NODE``, with the node's address."""
    user, at, host = word.rpartition("@")
    if word in nodes:
        return address(word)
    if at and user and host in nodes:
        return f"{user}@{address(host)}"
    return word


def substitute_nodes(command: str, nodes: Collection[str], address: Callable[[str], str]) -> str:
    """``command`` with node names (``nodes``) after its first word replaced by ``address(name)``."""
    first = _WORD.search(command)
    if first is None:
        return command
    return command[:first.end()] + _WORD.sub(lambda match: _word(match.group(0), nodes, address),
                                             command[first.end():])


def substitute_argv(argv: Sequence[str], nodes: Collection[str], address: Callable[[str], str]) -> list[str]:
    """``argv`` (a command as separate arguments, ``natsim lab exec``) with each argument after the
    first that is a node name or ``USER@NODE`` substituted; an argument with spaces (``sh -c 'ping
    server'``) is one argument, left as written."""
    return [*argv[:1], *(_word(word, nodes, address) for word in argv[1:])]
