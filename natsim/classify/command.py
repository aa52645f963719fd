"""The user's classifier command: its placeholders, and whether it can run at all (checked on the host
before a lab is built, so a typo costs one line, not a lab).

The command is a shell command line (``sh -c``) run in each configuration's client node. These
placeholders are replaced; node names are not (unlike ``--probe-cmd``), so the command runs exactly as
printed:

=================== ===================================================================
``{stun_host}``     the STUN server's primary address (203.0.113.10 in ``nat-type-matrix``)
``{stun_port}``     its primary port (3478)
``{stun_alt_host}`` its alternate address (203.0.113.11)
``{stun_alt_port}`` its alternate port (3479)
``{stun}``          ``{stun_host}:{stun_port}``
``{client}``        the client node's own address
``{config}``        the configuration's name (``eim-eif`` ...)
=================== ===================================================================
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Mapping

from natsim.errors import ConfigError
from natsim.fields import closest

#: Default wall-clock limit of one configuration's run, in seconds.
TIMEOUT = 60.0
#: Placeholder → what it stands for (``natsim classify --help`` and docs/stun.md list them).
PLACEHOLDERS = {
    "stun_host": "the STUN server's primary address",
    "stun_port": "its primary port",
    "stun_alt_host": "its alternate address",
    "stun_alt_port": "its alternate port",
    "stun": "{stun_host}:{stun_port}",
    "client": "the client node's own address",
    "config": "the configuration's name",
}
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def check_placeholders(command: str) -> None:
    """:class:`ConfigError` naming a ``{word}`` that is no placeholder (other braces are left alone)."""
    for word in _PLACEHOLDER.findall(command):
        if word not in PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
            raise ConfigError(f"classifier command: no placeholder {{{word}}} (placeholders: {known})"
                              f"{closest(word, list(PLACEHOLDERS))}")


def fill(command: str, values: Mapping[str, str]) -> str:
    """``command`` with every placeholder replaced by its value."""
    check_placeholders(command)
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], command)


def check_runnable(command: str) -> None:
    """:class:`ConfigError` when ``command`` is empty, does not parse as a shell word list, or its
    first word is not a command the host's ``sh`` finds (the lab's nodes share the host's files and
    ``PATH``). Anything shell syntax may hide (``FOO=1 cmd``, ``(cmd)``, ``cmd1; cmd2``) is left to
    the run, where a missing command makes that configuration's verdict ``no answer``."""
    check_placeholders(command)
    try:
        words = shlex.split(command)
    except ValueError as err:
        raise ConfigError(f"classifier command: {err}: {command}") from None
    if not words:
        raise ConfigError("classifier command: empty")
    first = words[0]
    if not re.fullmatch(r"[\w./+-]+", first):
        return
    found = subprocess.run(["sh", "-c", 'command -v "$1"', "sh", first], capture_output=True,
                           text=True, check=False, timeout=10)
    if found.returncode != 0:
        raise ConfigError(f"classifier command: {first}: command not found (not on this host's PATH, "
                          "which the lab's nodes share)")
