"""ssh-idle's ssh options: names as OpenSSH knows them (any case), the allow-list's values checked as ssh
checks them, control characters refused in every value, the rest is code (tests/unit/test_trust.py)."""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from natsim.errors import ConfigError, OptionError
from natsim.probes.ssh.client_options import KEYWORDS, SAFE, canonical, check_option, is_code
from natsim.probes.ssh.idle import scaled_options
from natsim.probes.ssh.options import IdleVariant, SshIdleOptions, idle_user_code
from natsim.units import TimeScale

MANUAL = Path("/usr/share/man/man5/ssh_config.5.gz")
needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="needs OpenSSH's ssh")


@pytest.mark.skipif(not MANUAL.exists(), reason="needs ssh_config(5) (openssh-client)")
def test_keywords_are_the_manuals() -> None:
    manual = re.findall(r"^\.It Cm (\S+)", gzip.decompress(MANUAL.read_bytes()).decode(), re.M)
    assert sorted(KEYWORDS, key=str.lower) == sorted(set(manual) - {"Host", "Match"}, key=str.lower)


@needs_ssh
def test_every_option_ssh_prints_is_known() -> None:
    printed = subprocess.run(["ssh", "-G", "-F", "/dev/null", "192.0.2.1"], capture_output=True, text=True,
                             check=True).stdout
    names = {line.split()[0].lower() for line in printed.splitlines() if line.strip()} - {"host"}
    assert sorted(n for n in names if n not in {k.lower() for k in KEYWORDS}) == []


@pytest.mark.parametrize(("given", "spelt"), [
    ("serveraliveinterval", "ServerAliveInterval"), ("TCPKEEPALIVE", "TCPKeepAlive"),
    ("proxycommand", "ProxyCommand"), ("KnownHostsCommand", "KnownHostsCommand")])
def test_names_are_matched_case_insensitively(given: str, spelt: str) -> None:
    assert canonical(given) == spelt


@pytest.mark.parametrize(("name", "message"), [
    ("ServerAliveInteval", "unknown ssh option 'ServerAliveInteval' (did you mean 'ServerAliveInterval'?)"),
    ("tcpkeepalve", "unknown ssh option 'tcpkeepalve' (did you mean 'TCPKeepAlive'?)"),
    ("Frobnicate", "unknown ssh option 'Frobnicate'; ssh_config(5)"),
    ("Match", "'Match' starts a block of an ssh_config file"),
    ("host", "'host' starts a block of an ssh_config file"),
    ("Proxy Command", "'Proxy Command' is not an ssh option name"),
    ("-oProxyCommand", "'-oProxyCommand' is not an ssh option name"),
])
def test_unknown_names_are_refused_with_the_closest(name: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        canonical(name)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("value", ["x\n", "x\r", "a\rb", "\x00", "yes\x1b[2J", "1\x7f", "a\tb"])
@pytest.mark.parametrize("name", ["TCPKeepAlive", "ProxyCommand", "localcommand", "ServerAliveInterval"])
def test_control_characters_are_refused_in_every_value(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match="the value holds the control character"):
        check_option(name, value)


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("ServerAliveInterval", ["0", "30", "5m", "1h", "300s"],
     ["abc", "-1", "30 x", "5 m ProxyCommand=x", "3651d", "0 0", "5 m", " 30", ""]),
    ("ServerAliveCountMax", ["0", "3", "100"], ["-1", "2.5", "3 x", "", "1e3"]),
    ("TCPKeepAlive", ["yes", "no", "Yes", "NO", "true", "false"], ["on", "1", "yes no", ""]),
    ("ConnectTimeout", ["10", "1m", "1.5m", "250ms"], ["0", "ten", "10 ProxyCommand=x", "1 0"]),
    ("ConnectionAttempts", ["1", "3"], ["0", "x"]),
])
def test_allow_listed_values_are_checked(name: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert check_option(name, value) == name
    for value in bad:
        with pytest.raises(ConfigError, match=f"^{name}: "):
            check_option(name, value)


@needs_ssh
@pytest.mark.parametrize("factor", [1.0, 60.0])
def test_what_natsim_accepts_ssh_accepts(factor: float) -> None:
    """Each allow-listed value natsim accepts, scaled as the lab scales it, is one ssh takes (``ssh -G``
    parses and prints, it connects nowhere and runs nothing)."""
    samples = {"ServerAliveInterval": ["0", "0s", "30", "5m", "1h30m", "250ms", "0.5"],
               "ServerAliveCountMax": ["0", "3"],
               "TCPKeepAlive": ["Yes", "no", "true", "FALSE"], "ConnectTimeout": ["10", "2m", "1.5s"],
               "ConnectionAttempts": ["1", "4"]}
    assert set(samples) == set(SAFE)
    for name, values in samples.items():
        for value in values:
            scaled, _ = scaled_options({name: value}, TimeScale(factor))
            argv = ["ssh", "-G", "-F", "/dev/null", "-o", f"{name}={scaled[name]}", "192.0.2.1"]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            assert done.returncode == 0, (name, value, done.stderr)


def test_only_timers_and_keepalives_are_safe() -> None:
    assert list(SAFE) == ["ServerAliveInterval", "ServerAliveCountMax", "TCPKeepAlive", "ConnectTimeout",
                          "ConnectionAttempts"]
    assert all(option.why for option in SAFE.values())
    for name in ("ProxyCommand", "LocalCommand", "PermitLocalCommand", "KnownHostsCommand", "RemoteCommand",
                 "Include", "IdentityFile", "UserKnownHostsFile", "ControlPath", "ProxyJump", "SetEnv",
                 "SecurityKeyProvider", "PKCS11Provider", "LocalForward", "RekeyLimit", "LogLevel"):
        assert is_code(name), name


def test_a_variant_spells_options_as_the_manual_and_lists_its_code() -> None:
    variant = IdleVariant.parse("x=1m, serveraliveinterval=30 ,proxyjump=evil")
    assert variant.options == {"ServerAliveInterval": "30", "ProxyJump": "evil"}
    assert variant.code() == {"ProxyJump": "evil"}
    assert IdleVariant.parse("1h,TCPKeepAlive=No").flag("TCPKeepAlive", True) is False
    assert IdleVariant.parse("1h,TCPKeepAlive=TRUE").flag("TCPKeepAlive", False) is True


def test_option_errors_say_which_variant() -> None:
    with pytest.raises(OptionError) as info:
        SshIdleOptions(variants=("1h", "2h", "3h,ServerAliveInterval=x")).validate()
    assert info.value.path == ("variants", 2)
    assert idle_user_code(SshIdleOptions()) == []   # the shipped variants run no code of their own


def test_docs_list_exactly_the_allow_list() -> None:
    text = (Path(__file__).parents[2] / "docs" / "scenarios.md").read_text()
    table = text[text.index("| ssh option | value | why it is safe |"):].split("\n\n")[0]
    assert re.findall(r"^\| `(\w+)` \|", table, re.M) == list(SAFE)
