"""A lab built from device presets: ``--set NODE.preset=NAME`` applies one, explicit settings override
it, and the lab map marks a preset that rests on a secondary source ([weak]) as approximate."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = pytest.mark.natsim_netns


def natsim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "natsim.cli", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_lab_map_marks_an_approximate_preset() -> None:
    done = natsim("lab", "dc-firewall", "--set", "fw.preset=palo-alto", "--time-scale", "60",
                  "--run", "fw nft list ruleset")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "preset palo-alto (Palo Alto Networks firewall (PAN-OS)) APPROXIMATE" in done.stdout
    assert "PAN-OS session timeout docs (read 2026-12) [weak]" in done.stdout
    assert "kernel fw.idle_timeout: 1h -> 60 s" in done.stdout   # the preset's 1 h, scaled
    assert "established : 60" in done.stdout                     # and in the node's ruleset


def test_set_overrides_the_preset_and_json_names_it() -> None:
    done = natsim("lab", "dc-load-balancer", "--set", "lb.preset=aws-nlb", "--set", "lb.idle_timeout=10m",
                  "--time-scale", "60", "--json", "--run", "lb nft list ruleset")
    assert done.returncode == 0, done.stdout + done.stderr
    found = json.loads(done.stdout)
    (lb,) = [n for n in found["nodes"] if n["name"] == "lb"]
    assert (lb["preset"]["name"], lb["preset"]["approximate"]) == ("aws-nlb", False)
    assert dict(map(tuple, lb["settings"]))["idle_timeout"] == "10m"   # the explicit value wins
    assert "established : 10" in found["runs"][0]["output"]
    assert "reject with tcp reset" in found["runs"][0]["output"]      # the preset's reset-next-packet


def test_an_unknown_preset_on_the_command_line_is_one_error_line() -> None:
    done = natsim("lab", "dc-load-balancer", "--set", "lb.preset=aws-nbl")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "natsim: error: lb.preset: unknown preset 'aws-nbl' (did you mean 'aws-nlb'?); known: "
        "aws-nat-gateway, aws-nlb, azure-lb, azure-lb-tcp-reset, azure-nat-gateway, cgn, cisco-asa, "
        "gcp-cloud-nat, gcp-vpc-firewall, home-router, ipvs-kube-proxy, juniper-srx, linux-default, openwrt, "
        "palo-alto, pfsense, rfc5382-minimum (`natsim list presets`)"]
