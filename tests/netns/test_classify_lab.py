"""``natsim classify`` in the nat-type-matrix lab: coturn's ``turnutils_natdiscovery`` (an RFC 5780 client
natsim did not write) in all nine configurations, natsim's own classifier as the baseline, bad
commands, and the reset that gives every configuration empty tables.

What coturn reports is asserted as it is, not as it should be: it reports each address-dependent
mapping as address-and-port-dependent (docs/stun.md, "A ground truth for classifiers", says why).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from natsim.classify.findings import Verdict
from natsim.classify.runner import run_classifier
from natsim.lab.lab import Lab
from natsim.lab.reset import reset_state
from natsim.probes.stun.labrun import start_server
from natsim.scenario import load_scenario

pytestmark = pytest.mark.natsim_netns

EI, AD, APD = "endpoint-independent", "address-dependent", "address-and-port-dependent"
TOOL = [sys.executable, "-m", "natsim.probes", "nat-type", "--stun", "203.0.113.10", "--timeout", "1"]
COTURN = "turnutils_natdiscovery -m -f -H {stun_host}"
#: configuration → what coturn reports against natsim's server (mapping, filtering, hairpinning), verdict
COTURN_REPORTS = {
    "eim-eif": ((EI, EI, True), "agree"),
    "eim-adf": ((EI, AD, False), "agree"),
    "eim-apdf": ((EI, APD, True), "agree"),
    "adm-eif": ((APD, EI, False), "disagree"),
    "adm-adf": ((APD, AD, True), "disagree"),
    "adm-apdf": ((APD, APD, False), "disagree"),
    "apdm-eif": ((APD, EI, True), "agree"),
    "apdm-adf": ((APD, AD, False), "agree"),
    "apdm-apdf": ((APD, APD, True), "agree"),
}


def natsim_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "natsim.cli", "classify", *args], capture_output=True,
                          text=True, timeout=600, check=False, env=os.environ)


@pytest.mark.skipif(shutil.which("turnutils_natdiscovery") is None,
                    reason="coturn is not installed: run `sudo make setup`")
def test_coturns_natdiscovery_in_all_nine_configurations() -> None:
    """Measured: ≈ 60 s on the shared 2-core machine (coturn waits 3 s per unanswered request)."""
    done = natsim_command(COTURN, "--json")
    assert done.returncode == 0, done.stderr
    for k, name in enumerate(COTURN_REPORTS, start=1):   # what runs is shown first, exactly
        assert f"  c{k} ({name}): turnutils_natdiscovery -m -f -H 203.0.113.10\n" in done.stderr
    document = json.loads(done.stdout)
    rows = {row["configuration"]: row for row in document["configurations"]}
    seen = {name: ((row["reported"]["mapping"], row["reported"]["filtering"], row["reported"]["hairpinning"]),
                   row["verdict"]) for name, row in rows.items()}
    assert seen == COTURN_REPORTS
    assert {name: row["differs"] for name, row in rows.items() if row["differs"]} == {
        "adm-eif": ["mapping"], "adm-adf": ["mapping"], "adm-apdf": ["mapping"]}
    assert {row["parser"] for row in rows.values()} == {"natdiscovery"}
    assert document["counts"] == {"agree": 6, "disagree": 3, "unparsed": 0, "no answer": 0}
    failing = natsim_command(COTURN, "--only", "adm-eif", "--fail-on-disagree")
    assert failing.returncode == 1, failing.stderr
    assert failing.stdout.splitlines()[2].split() == ["adm-eif", "ADM", "APDM", "EIF", "EIF", "no", "no",
                                                      "disagree:", "mapping"]


def test_natsims_own_classifier_agrees_everywhere() -> None:
    """The baseline: the harness itself biases nothing (natsim's tool, its text read by the natsim parser)."""
    command = f"{sys.executable} -m natsim.probes nat-type --stun {{stun}} --timeout 1"
    rows = run_classifier(load_scenario("nat-type-matrix"), command, parser="natsim")
    assert [(row.config.name, row.verdict) for row in rows] == [
        (name, Verdict.AGREE) for name in COTURN_REPORTS]
    assert all(row.reported == row.config.expected for row in rows)


def test_bad_commands_get_no_answer_and_leave_nothing_behind() -> None:
    """One command, three behaviours by configuration: it hangs (stopped after the timeout, its
    background child too, before the next configuration runs), it runs a command that does not exist
    behind shell syntax, it prints a JSON line."""
    line = json.dumps({"mapping": EI, "filtering": EI})
    command = ("case {config} in eim-eif) sleep 31.25 & sleep 31.5;; "
               "adm-eif) FOO=1 natsim-no-such-classifier;; "
               f"eim-adf) pgrep -f '^sleep 31[.]25$' && echo left running; echo '{line}';; esac")
    rows = run_classifier(load_scenario("nat-type-matrix"), command, timeout=2.0,
                          only=["eim-eif", "eim-adf", "adm-eif"])
    seen = {row.config.name: (row.verdict, row.detail, row.differs) for row in rows}
    assert seen["eim-eif"] == (Verdict.NO_ANSWER, "still running after 2 s: stopped", ())
    assert seen["eim-adf"] == (Verdict.DISAGREE, "", ("filtering",))
    assert "left running" not in rows[1].stdout   # the next configuration ran after eim-eif's was stopped
    verdict, detail, _ = seen["adm-eif"]
    assert verdict is Verdict.NO_ANSWER and detail.startswith("command not found (exit 127)"), detail
    left = subprocess.run(["pgrep", "-f", "sleep 31.[25]"], capture_output=True, text=True, check=False)
    assert left.stdout == ""


def test_the_reset_empties_a_nats_conntrack_and_mapping_tables(tmp_path: Path) -> None:
    scenario = load_scenario("nat-type-matrix")
    with Lab(scenario.topology, scenario.middleboxes, loaded=(scenario.topology, scenario.topo)) as lab:
        server = start_server(lab, "server", log=tmp_path / "serve.log")
        code, out = lab.run("c5", [*TOOL, "--test", "mapping"], timeout=60)
        assert code == 0 and "mapping: address-dependent" in out, out

        def state() -> tuple[str, str]:
            flows = lab.run("adm-adf", ["conntrack", "-L", "-p", "udp"])[1]
            tables = lab.run("adm-adf", ["nft", "list", "map", "inet", "natsim", "map_u"])[1]
            return flows, tables

        flows, tables = state()
        assert "dport=3478" in flows and "elements = {" in tables, (flows, tables)
        reset_state(lab, "adm-adf")
        flows, tables = state()
        assert "dport=" not in flows and "elements" not in tables, (flows, tables)
        code, out = lab.run("c5", TOOL, timeout=60)
        assert code == 0 and "mapping: address-dependent" in out and "hairpinning: yes" in out, out
        server.stop()
