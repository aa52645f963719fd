"""The ssh options an ``ssh-idle`` variant may set, and which of them are code.

An ssh option can run commands (``ProxyCommand``, ``LocalCommand``, ``KnownHostsCommand``,
``RemoteCommand``) or read and write files (``Include``, ``IdentityFile``, ``UserKnownHostsFile``,
``ControlPath``, ``SecurityKeyProvider``, ...), and ssh runs as root in a lab node, so a variant's
options are code unless they are in :data:`SAFE`: options that only set timers and keepalives. A
scenario using any other option needs ``--trust`` (:func:`natsim.probes.ssh.options.idle_user_code`
lists them in the refusal). Names are matched case-insensitively, as OpenSSH matches them; a name ssh
does not know is refused with the closest one. No value may hold a control character (a newline would
start a new ``ssh_config`` line), trusted or not.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

from natsim.errors import ConfigError
from natsim.units import parse_duration

#: Every ``ssh_config(5)`` keyword of OpenSSH 9.2p1 (Debian 12's ssh), as the manual spells it; ``Host``
#: and ``Match`` are left out (ssh refuses them in ``-o``). Written out (no library lists them); a
#: test checks it against the installed ``ssh -G``.
KEYWORDS = (
    "AddKeysToAgent", "AddressFamily", "BatchMode", "BindAddress", "BindInterface", "CanonicalDomains",
    "CanonicalizeFallbackLocal", "CanonicalizeHostname", "CanonicalizeMaxDots",
    "CanonicalizePermittedCNAMEs", "CASignatureAlgorithms", "CertificateFile", "CheckHostIP", "Ciphers",
    "ClearAllForwardings", "Compression", "ConnectionAttempts", "ConnectTimeout", "ControlMaster",
    "ControlPath", "ControlPersist", "DynamicForward", "EnableEscapeCommandline", "EnableSSHKeysign",
    "EscapeChar", "ExitOnForwardFailure", "FingerprintHash", "ForkAfterAuthentication", "ForwardAgent",
    "ForwardX11", "ForwardX11Timeout", "ForwardX11Trusted", "GatewayPorts", "GlobalKnownHostsFile",
    "GSSAPIAuthentication", "GSSAPIClientIdentity", "GSSAPIDelegateCredentials", "GSSAPIKeyExchange",
    "GSSAPIRenewalForcesRekey", "GSSAPIServerIdentity", "GSSAPITrustDns", "GSSAPIKexAlgorithms",
    "HashKnownHosts", "HostbasedAcceptedAlgorithms", "HostbasedAuthentication", "HostKeyAlgorithms",
    "HostKeyAlias", "Hostname", "IdentitiesOnly", "IdentityAgent", "IdentityFile", "IgnoreUnknown",
    "Include", "IPQoS", "KbdInteractiveAuthentication", "KbdInteractiveDevices", "KexAlgorithms",
    "KnownHostsCommand", "LocalCommand", "LocalForward", "LogLevel", "LogVerbose", "MACs",
    "NoHostAuthenticationForLocalhost", "NumberOfPasswordPrompts", "PasswordAuthentication",
    "PermitLocalCommand", "PermitRemoteOpen", "PKCS11Provider", "Port", "PreferredAuthentications",
    "ProxyCommand", "ProxyJump", "ProxyUseFdpass", "PubkeyAcceptedAlgorithms", "PubkeyAuthentication",
    "RekeyLimit", "RemoteCommand", "RemoteForward", "RequestTTY", "RequiredRSASize", "RevokedHostKeys",
    "SecurityKeyProvider", "SendEnv", "ServerAliveCountMax", "ServerAliveInterval", "SessionType",
    "SetEnv", "StdinNull", "StreamLocalBindMask", "StreamLocalBindUnlink", "StrictHostKeyChecking",
    "SyslogFacility", "TCPKeepAlive", "Tunnel", "TunnelDevice", "UpdateHostKeys", "User",
    "UserKnownHostsFile", "VerifyHostKeyDNS", "VisualHostKey", "XAuthLocation",
)
_CANONICAL = {k.lower(): k for k in KEYWORDS}
#: ssh_config block keywords: ssh refuses them in ``-o``.
_BLOCKS = ("host", "match")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FLAGS = ("yes", "no", "true", "false")   # OpenSSH's parse_flag, matched case-insensitively


def _duration(name: str, value: str, *, allow_zero: bool) -> None:
    if not value or re.search(r"\s", value):   # parse_duration ignores spaces; ssh would not
        raise ConfigError(f"{name}: malformed duration {value!r} (one word, e.g. '300' or '5m')")
    parse_duration(value, what=name, allow_zero=allow_zero)


def _count(name: str, value: str, *, minimum: int) -> None:
    if not re.fullmatch(r"\d{1,9}", value) or int(value) < minimum:
        raise ConfigError(f"{name}: expected a whole number of at least {minimum}, got {value!r}")


def _flag(name: str, value: str) -> None:
    if value.lower() not in _FLAGS:
        raise ConfigError(f"{name}: expected yes or no, got {value!r}")


@dataclass(frozen=True)
class SafeOption:
    """An ssh option any scenario may set: how its value is checked, whether it is a duration natsim
    divides by the time scale, and why it cannot run code."""

    check: Callable[[str, str], None]
    scaled: bool
    why: str


#: The options a variant may set without ``--trust``. Each only sets a timer, a count or a keepalive of
#: the connection ssh already makes: none names a file, a program, a host or a forwarding.
SAFE: dict[str, SafeOption] = {
    "ServerAliveInterval": SafeOption(
        lambda n, v: _duration(n, v, allow_zero=True), True,
        "seconds between encrypted keepalives ssh sends inside the session (0: none)"),
    "ServerAliveCountMax": SafeOption(
        lambda n, v: _count(n, v, minimum=0), False,
        "unanswered keepalives before ssh gives up (a count)"),
    "TCPKeepAlive": SafeOption(
        _flag, False, "whether the OS sends TCP keepalives on ssh's socket (yes or no)"),
    "ConnectTimeout": SafeOption(
        lambda n, v: _duration(n, v, allow_zero=False), True,
        "how long ssh waits for the TCP connection to be set up"),
    "ConnectionAttempts": SafeOption(
        lambda n, v: _count(n, v, minimum=1), False,
        "how many times ssh tries to connect, one second apart (a count)"),
}


def canonical(name: str) -> str:
    """The manual's spelling of ssh option ``name`` (any case); :class:`ConfigError` with the closest
    name for one ssh does not know, or one ssh takes only in a config file."""
    if not re.fullmatch(r"[A-Za-z0-9]+", name):
        raise ConfigError(f"{name!r} is not an ssh option name (letters and digits only)")
    if name.lower() in _BLOCKS:
        raise ConfigError(f"{name!r} starts a block of an ssh_config file; ssh does not take it as an "
                          "option")
    if name.lower() in _CANONICAL:
        return _CANONICAL[name.lower()]
    match = difflib.get_close_matches(name.lower(), list(_CANONICAL), n=1, cutoff=0.6)
    hint = f" (did you mean '{_CANONICAL[match[0]]}'?)" if match else ""
    raise ConfigError(f"unknown ssh option {name!r}{hint}; ssh_config(5) of OpenSSH 9.2 lists the options")


def check_option(name: str, value: str) -> str:
    """Check one ``Option=value`` of a variant; its canonical name. Safe options get their value
    checked; any option's value is refused when it holds a control character."""
    key = canonical(name)
    bad = _CONTROL.search(value)
    if bad is not None:
        raise ConfigError(f"{key}: the value holds the control character U+{ord(bad.group()):04X}; "
                          "ssh would read what follows as a new option")
    if key in SAFE:
        SAFE[key].check(key, value)
    return key


def is_code(name: str) -> bool:
    """Whether the (canonical) option ``name`` can run commands or touch files: not in :data:`SAFE`."""
    return name not in SAFE
