"""Reading what a classifier reported: one parser per output format, each recognising its own format
and nothing else. Output no parser recognises is ``unparsed`` (shown raw), never guessed at.

* ``natdiscovery``: coturn's ``turnutils_natdiscovery`` (``-m`` mapping, ``-f`` filtering, ``-H``
  hairpinning, one invocation or several): its ``-= ... Behavior Discovery =-`` sections and their
  ``NAT with ... Mapping!`` / ``... Filtering!`` lines; hairpinning is supported when its first socket
  received the request (``Received a request (maybe a successful hairpinning)``), not supported when
  the server answered the first request and no such line came.
* ``json``: the last line of standard output that is a JSON object with any of ``mapping``,
  ``filtering`` (RFC 4787's names, or null) and ``hairpinning`` (true, false, or null); other keys are
  ignored. The format to wrap any other classifier in.
* ``natsim``: ``natsim probe nat-type``'s own text (``mapping: ...``, ``filtering: ...``,
  ``hairpinning: yes|no|unknown`` lines), a baseline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from natsim.classify.findings import NAMES, Findings
from natsim.errors import ConfigError
from natsim.fields import closest
from natsim.probes.stun.judges import UNKNOWN, Behaviour


@dataclass(frozen=True)
class Parsed:
    """What a parser made of an output: the findings, or (``findings`` None) why it could not."""

    parser: str
    findings: Findings | None
    reason: str = ""


#: What a reader returns: the findings; why the output, in its format, cannot be read (a string); or
#: None when the output is not in its format at all.
Reading = Findings | str | None


@dataclass(frozen=True)
class Parser:
    """One output format: its name (``--parser``), a line of help, the function reading it."""

    name: str
    summary: str
    read: Callable[[str], Reading]


_SECTION = re.compile(r"^-= (Hairpinning|Mapping|Filtering) Behavior Discovery =-$", re.MULTILINE)
_COTURN = {"Endpoint Independent": Behaviour.ENDPOINT_INDEPENDENT,
           "Address Dependent": Behaviour.ADDRESS_DEPENDENT,
           "Address and Port Dependent": Behaviour.ADDRESS_AND_PORT_DEPENDENT}


def read_natdiscovery(text: str) -> Reading:
    """coturn's ``turnutils_natdiscovery`` (see the module's docstring)."""
    parts = _SECTION.split(text)
    if len(parts) < 3:
        return None
    judged: dict[str, Behaviour | None] = {}
    hairpinning = None
    for what, body in zip(parts[1::2], parts[2::2], strict=True):
        if what == "Hairpinning":
            if "maybe a successful hairpinning" in body:
                hairpinning = True
            elif "RFC 5780 response" in body:   # the server answered; the hairpinned request never came
                hairpinning = False
            continue
        match = re.search(rf"^NAT with (.+) {what}!$", body, re.MULTILINE)
        judged[what] = _COTURN.get(match.group(1)) if match else None
        if what == "Mapping" and "No NAT! (Endpoint Independent Mapping)" in body:
            judged[what] = Behaviour.ENDPOINT_INDEPENDENT
    return Findings(judged.get("Mapping"), judged.get("Filtering"), hairpinning)


def read_json(text: str) -> Reading:
    """The JSON line format (see the module's docstring)."""
    for line in reversed(text.splitlines()):
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and any(name in document for name in NAMES):
            return _json_findings(document)
    return None


def _json_findings(document: dict[str, object]) -> Reading:
    values: dict[str, Behaviour | None] = {}
    for name in NAMES[:2]:
        value = document.get(name)
        if value is None or value == UNKNOWN:
            values[name] = None
        elif isinstance(value, str) and value in set(Behaviour):
            values[name] = Behaviour(value)
        else:
            return f"{name} {value!r} is not one of {', '.join(Behaviour)} or null"
    hairpinning = document.get("hairpinning")
    if not isinstance(hairpinning, bool | None):
        return f"hairpinning {hairpinning!r} is not true, false or null"
    return Findings(values["mapping"], values["filtering"], hairpinning)


_NATSIM = re.compile(r"^(mapping|filtering|hairpinning): (\S+)$", re.MULTILINE)


def read_natsim(text: str) -> Reading:
    """``natsim probe nat-type``'s text (see the module's docstring)."""
    lines = dict(_NATSIM.findall(text))
    if not lines:
        return None
    values: dict[str, Behaviour | None] = {}
    for name in NAMES[:2]:
        value = lines.get(name, UNKNOWN)
        if value != UNKNOWN and value not in set(Behaviour):
            return f"{name} {value!r} is not one of {', '.join(Behaviour)} or unknown"
        values[name] = None if value == UNKNOWN else Behaviour(value)
    hairpinning = lines.get("hairpinning", UNKNOWN)
    if hairpinning not in ("yes", "no", UNKNOWN):
        return f"hairpinning {hairpinning!r} is not yes, no or unknown"
    return Findings(values["mapping"], values["filtering"],
                    None if hairpinning == UNKNOWN else hairpinning == "yes")


#: Every parser, in the order ``auto`` tries them.
PARSERS = {p.name: p for p in (
    Parser("natdiscovery", "coturn's turnutils_natdiscovery (-m, -f, -H)", read_natdiscovery),
    Parser("json", 'a JSON line: {"mapping": ..., "filtering": ..., "hairpinning": ...}', read_json),
    Parser("natsim", "natsim probe nat-type's text", read_natsim),
)}
#: The ``--parser`` value that tries every parser in turn.
AUTO = "auto"


def check_parser(name: str) -> str:
    """``name`` when it names a parser (or is ``auto``); else :class:`ConfigError`."""
    if name != AUTO and name not in PARSERS:
        raise ConfigError(f"--parser: no parser {name!r} (parsers: {AUTO}, {', '.join(PARSERS)})"
                          f"{closest(name, [AUTO, *PARSERS])}")
    return name


def parse(text: str, name: str = AUTO) -> Parsed:
    """``text`` (a classifier's standard output) read by parser ``name``, or by the first parser that
    recognises it (``auto``)."""
    for parser in PARSERS.values() if name == AUTO else (PARSERS[check_parser(name)],):
        reading = parser.read(text)
        if isinstance(reading, Findings):
            return Parsed(parser.name, reading)
        if reading is not None:
            return Parsed(parser.name, None, reading)
    tried = ", ".join(PARSERS) if name == AUTO else name
    return Parsed(name, None, f"not a format natsim reads ({tried})")
