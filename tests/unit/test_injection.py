"""Where a scenario value (or a ``--set``/command-line value) reaches a command line or a config file,
nothing it holds can become a command, a flag or another directive. One test per place; the scenario
files trying it are in scenario_cases/ (ssh-idle-*, ssh-proxy-*, cgn-pool-injection, captures-filter,
ssh-kex-port-injection). ssh-idle's ssh options: test_ssh_client_options.py and test_trust.py."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

import pytest

from natsim.cliargs import parse_sets
from natsim.errors import ConfigError
from natsim.middleboxes import build_config
from natsim.middleboxes.base import RenderContext
from natsim.middleboxes.presets import configure
from natsim.middleboxes.ssh_proxy.config import SshProxy, config_json
from natsim.probes.options import to_argv
from natsim.probes.registry import kinds
from natsim.probes.ssh.options import SshIdleOptions
from natsim.probes.ssh.sshd import render_config, start_script
from natsim.probes.tcp.labrun import probe_argv
from natsim.probes.tcp.options import TcpSendOptions, run_options
from natsim.probes.tools import TOOL_COMMAND, add_tools
from natsim.proxy.__main__ import build_parser as proxy_parser
from natsim.proxy.__main__ import settings_from_args


@pytest.mark.parametrize(("key", "value"), [
    ("TCPKeepAlive", 'yes\n Match exec "touch /tmp/natsim-pwned"'),
    ("ClientAliveInterval", "0\rForceCommand touch /tmp/natsim-pwned"),
    ("Banner", "/etc/issue\x00"),
    ("Match", ""),
    ("Match exec true\nX", "y"),
    ("Subsystem sftp", "/tmp/natsim-pwned"),
])
def test_sshd_config_takes_one_directive_per_option(key: str, value: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sshd option"):
        render_config(tmp_path, 22, password=False, options={key: value})
    text = render_config(tmp_path, 22, password=False, options={"TCPKeepAlive": "yes"})
    assert "TCPKeepAlive yes\n" in text and text.count("TCPKeepAlive") == 1


def test_sshd_start_script_quotes_its_paths(tmp_path: Path) -> None:
    odd = tmp_path / "it's; touch pwned"
    words = shlex.split(start_script(odd / "sshd_config", odd / "shadow"))
    assert str(odd / "sshd_config") in words and str(odd / "shadow") in words
    on_run = Path("/run/natsim-ab12cd-home-x") / "it's; touch pwned"
    script = start_script(on_run / "sshd_config", on_run / "shadow")   # steps end in ";"
    assert shlex.quote(str(on_run)) in script and shlex.quote(f"/tmp/{on_run.relative_to('/run')}") in script


@pytest.mark.parametrize("iface", ['eth0" accept; flush ruleset; "', "eth0\nflush ruleset", "a b", "x" * 16,
                                   ""])
def test_nft_renders_take_only_interface_names(iface: str) -> None:
    with pytest.raises(ConfigError, match="is not a Linux interface name"):
        RenderContext(node="cpe", inside=(iface,), outside=("cpe-eth1",))


@pytest.mark.parametrize(("item", "message"), [
    ("cgn.pool=192.0.2.0/30; flush ruleset", "not an IPv4 address or prefix"),
    ("cgn.subscribers=100.64.0.0/10\nflush ruleset", "not an IPv4 address or prefix"),
    ("cgn.idle_timeout=1h; flush ruleset", "malformed duration"),
    ("cgn.port_range=1024-65535 ; flush ruleset", "expected a port range"),
    ("cgn.port_preservation=true; flush ruleset", "expected true or false"),
    ("cgn.untracked_inbound=drop; flush ruleset", "is not one of"),
])
def test_set_values_reaching_nft_are_parsed_strictly(item: str, message: str) -> None:
    (node, values), = parse_sets([item]).items()
    with pytest.raises(ConfigError, match=message):
        configure("cgn", values, prefix=f"{node}.")


@pytest.mark.parametrize(("setting", "value"), [
    ("banner", "SSH-2.0-x\r\nSSH-2.0-y"), ("banner", "SSH-2.0-x\x00"), ("backend_banner", "SSH-2.0-\n"),
    ("kex", "curve25519-sha256 --no-nft"), ("backend_macs", "hmac-sha1\nx"), ("ports", "22 --debug"),
])
def test_proxy_settings_with_spaces_or_newlines_are_refused(setting: str, value: str) -> None:
    with pytest.raises(ConfigError):
        build_config("ssh-proxy", {setting: value}, prefix="fw.")


def test_the_proxy_daemon_gets_its_config_as_one_word_and_reads_it_back_exactly() -> None:
    """Spaces and quotes in a banner stay inside the one ``--config`` JSON word; the daemon parses it with
    the middlebox's own parser and gets the same config."""
    config = build_config("ssh-proxy", {"banner": "SSH-2.0-PAN 'x' --upstream 127.0.0.1:22 \"y\"",
                                        "ports": "22,2222", "bypass": "1h-2h"}, prefix="fw.")
    assert isinstance(config, SshProxy)
    text = config_json(config)
    assert text.startswith("{")   # never '@FILE', which the daemon would read
    args = proxy_parser().parse_args(["--config", text, "--node", "fw"])
    assert args.upstream is None and settings_from_args(args).config == config
    assert json.loads(text)["banner"] == config.banner


def test_probe_values_starting_with_a_dash_stay_values(tmp_path: Path) -> None:
    """A probe named ``-h``, a node ``--x``, an output under ``-o`` and an ssh-idle variant named
    ``--help`` reach their tools as values, never as flags."""
    options = run_options(TcpSendOptions(connections=1, step=1.0), server="127.0.0.1", name="-h", node="--x")
    argv = probe_argv("tcp-send", options, tmp_path / "-o" / "r.json")
    assert argv[:3] == list(TOOL_COMMAND)
    parser = argparse.ArgumentParser()
    add_tools(parser.add_subparsers(dest="tool"), kinds())
    args = parser.parse_args(argv[3:])
    assert (args.name, args.node, args.out) == ("-h", "--x", tmp_path / "-o" / "r.json")
    assert to_argv(SshIdleOptions(variants=("--help=1m",))) == ["--variant=--help=1m"]
