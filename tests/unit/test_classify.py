"""``natsim classify``'s pure parts: the parsers (on outputs recorded from coturn's
``turnutils_natdiscovery`` and natsim's own tool in the nat-type-matrix lab), the placeholders, the
verdicts, the table, the exit codes, and the matrix's expected column against its NATs' settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from natsim.classify.command import check_runnable, fill
from natsim.classify.findings import Findings, Verdict, compare
from natsim.classify.matrix import Configuration, configurations, judge
from natsim.classify.parsers import parse
from natsim.classify.table import exit_code, format_table, to_json
from natsim.cli import main
from natsim.errors import ConfigError
from natsim.lab.reset import fresh_ruleset
from natsim.probes.stun.judges import Behaviour
from natsim.scenario import load_scenario

OUTPUTS = Path(__file__).with_name("classify_outputs")
EI, AD = Behaviour.ENDPOINT_INDEPENDENT, Behaviour.ADDRESS_DEPENDENT
APD = Behaviour.ADDRESS_AND_PORT_DEPENDENT
EIM_ADF = Configuration("eim-adf", "c2", "server", 3478, Findings(EI, AD, False))


def output(name: str) -> str:
    return (OUTPUTS / name).read_text()


@pytest.mark.parametrize(("name", "parser", "findings"), [
    # adm-eif: coturn takes test III's destination from test II's OTHER-ADDRESS (docs/stun.md)
    ("natdiscovery-adm-eif.txt", "natdiscovery", Findings(APD, EI, False)),
    ("natdiscovery-eim-apdf.txt", "natdiscovery", Findings(EI, APD, True)),
    ("natdiscovery-no-server.txt", "natdiscovery", Findings()),
    ("natsim-adm-apdf.txt", "natsim", Findings(AD, APD, False)),
])
def test_recorded_outputs_are_read_by_their_parser(name: str, parser: str, findings: Findings) -> None:
    assert parse(output(name)) == parse(output(name), parser)
    parsed = parse(output(name))
    assert (parsed.parser, parsed.findings, parsed.reason) == (parser, findings, "")


def test_natdiscovery_reports_only_the_tests_it_ran() -> None:
    text = output("natdiscovery-eim-apdf.txt")
    mapping_only = text[text.index("\n-= Mapping"):text.index("\n-= Filtering")]
    assert parse(mapping_only, "natdiscovery").findings == Findings(EI, None, None)
    no_answer = "\n-= Hairpinning Behavior Discovery =-\nSTUN receive timeout..\nSTUN receive timeout..\n"
    assert parse(no_answer).findings == Findings()


def test_json_lines() -> None:
    line = '{"mapping": "address-dependent", "filtering": null, "hairpinning": true, "classic": "symmetric"}'
    assert parse(f"log line\n{{}}\n{line}\ntrailing words\n").findings == Findings(AD, None, True)
    assert parse('{"mapping": "endpoint-independent"}\n{"filtering": "unknown"}\n', "json").findings \
        == Findings()
    wrong = parse('{"mapping": "full cone"}')
    assert (wrong.parser, wrong.findings) == ("json", None) and "'full cone' is not one of" in wrong.reason
    assert "is not true, false or null" in parse('{"hairpinning": "yes"}').reason
    assert parse('{"other": 1}', "json").findings is None


def test_output_no_parser_knows_is_unparsed_not_guessed() -> None:
    for text in ("", "Full Cone NAT detected\n", "NAT type: symmetric\n", "[1, 2]\n"):
        parsed = parse(text)
        assert parsed.findings is None and parsed.reason.startswith("not a format natsim reads"), text
    assert parse(output("natdiscovery-adm-eif.txt"), "json").findings is None
    assert "'cone' is not one of" in parse("mapping: cone\n").reason


def test_verdicts() -> None:
    assert compare(EIM_ADF.expected, Findings(EI, AD, False)) == (Verdict.AGREE, ())
    assert compare(EIM_ADF.expected, Findings(EI, None, None)) == (Verdict.AGREE, ())
    assert compare(EIM_ADF.expected, Findings(APD, AD, True)) == (Verdict.DISAGREE,
                                                                  ("mapping", "hairpinning"))
    assert compare(EIM_ADF.expected, Findings()) == (Verdict.NO_ANSWER, ())


def _judge(code: int | None, stdout: str = "", stderr: str = "") -> tuple[Verdict, str]:
    row = judge(EIM_ADF, "cmd", exit_code=code, stdout=stdout, stderr=stderr, parser="auto", timeout=5)
    return row.verdict, row.detail


def test_a_run_is_judged_by_what_it_printed_and_how_it_ended() -> None:
    line = '{"mapping": "endpoint-independent", "filtering": "endpoint-independent"}'
    assert _judge(None, line) == (Verdict.NO_ANSWER, "still running after 5 s: stopped")
    assert _judge(127, "", "sh: 1: turnutils_x: not found\n") == (
        Verdict.NO_ANSWER, "command not found (exit 127): sh: 1: turnutils_x: not found")
    assert _judge(126) == (Verdict.NO_ANSWER, "not executable (exit 126)")
    assert _judge(0, line) == (Verdict.DISAGREE, "")
    assert _judge(1, line) == (Verdict.DISAGREE, "exit 1")
    assert _judge(255, output("natdiscovery-no-server.txt")) == (
        Verdict.NO_ANSWER, "reported no finding; exit 255")
    assert _judge(0, "hello") == (Verdict.UNPARSED, "not a format natsim reads (natdiscovery, json, natsim)")


def test_placeholders() -> None:
    values = {"stun_host": "203.0.113.10", "stun_port": "3478", "stun_alt_host": "203.0.113.11",
              "stun_alt_port": "3479", "stun": "203.0.113.10:3478", "client": "192.0.2.18", "config": "x"}
    assert fill("c -p {stun_port} {stun_host} {stun} {stun_alt_host}:{stun_alt_port} {client} {config}",
                values) == "c -p 3478 203.0.113.10 203.0.113.10:3478 203.0.113.11:3479 192.0.2.18 x"
    assert fill("awk '{print $1}' ${HOME} {}", values) == "awk '{print $1}' ${HOME} {}"
    with pytest.raises(ConfigError, match=r"no placeholder \{stunhost\}.*did you mean 'stun_host'"):
        fill("c {stunhost}", values)


@pytest.mark.parametrize(("command", "message"), [
    ("natsim-no-such-classifier -m {stun_host}", "natsim-no-such-classifier: command not found"),
    ("", "empty"),
    ("turnutils_natdiscovery 'unclosed", "No closing quotation"),
    ("echo {stunport}", "no placeholder"),
])
def test_a_command_that_cannot_run_is_refused_before_a_lab(command: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_runnable(command)


def test_shell_syntax_and_builtins_are_left_to_the_run() -> None:
    for command in ("echo hi", "FOO=1 nothing-like-this", "(cd /; ls)", "sh -c 'exit 0'"):
        check_runnable(command)


def test_the_matrix_expects_what_each_nat_is() -> None:
    """The expected column is the scenario's `found`, which must be each NAT's configured behaviour."""
    scenario = load_scenario("nat-type-matrix")
    chosen = configurations(scenario)
    assert [c.name for c in chosen] == list(scenario.middleboxes)
    for config in chosen:
        nat = scenario.middleboxes[config.name]
        assert config.expected == Findings(Behaviour(nat.mapping.value), Behaviour(nat.filtering.value),
                                           nat.hairpinning), config.name
        assert (config.client, config.server, config.port) == (f"c{chosen.index(config) + 1}", "server", 3478)
    assert [c.name for c in configurations(scenario, ["adm-eif", "eim-eif"])] == ["eim-eif", "adm-eif"]
    with pytest.raises(ConfigError, match=r"no configuration 'adm-ef'.*did you mean 'adm-eif'"):
        configurations(scenario, ["adm-ef"])
    with pytest.raises(ConfigError, match="no nat-type probe with a `found` expectation"):
        configurations(load_scenario("cloud-nat-udp"))


def test_the_table_and_the_exit_code() -> None:
    agree = judge(EIM_ADF, "c", exit_code=0, stdout=output("natdiscovery-eim-apdf.txt").replace(
        "Address and Port Dependent Filtering", "Address Dependent Filtering").replace(
        "Received a request (maybe a successful hairpinning)", ""), stderr="", parser="natdiscovery",
        timeout=5)
    disagree = judge(EIM_ADF, "c", exit_code=0, stdout=output("natdiscovery-eim-apdf.txt"), stderr="",
                     parser="natdiscovery", timeout=5)
    garbage = judge(EIM_ADF, "c", exit_code=0, stdout="a\nb\n", stderr="warning\n", parser="auto", timeout=5)
    assert agree.verdict is Verdict.AGREE and disagree.differs == ("filtering", "hairpinning")
    table = format_table([agree, disagree, garbage])
    lines = table.splitlines()
    assert lines[2].split() == ["eim-adf", "EIM", "EIM", "ADF", "ADF", "no", "no", "agree"]
    assert lines[3].split() == ["eim-adf", "EIM", "EIM", "ADF", "APDF", "no", "yes", "disagree:",
                                "filtering,", "hairpinning"]
    assert lines[4].split() == ["eim-adf", "EIM", "-", "ADF", "-", "no", "-", "unparsed"]
    assert lines[5] == "3 configurations: 1 agree, 1 disagree, 1 unparsed, 0 no answer"
    assert lines[7:] == ["eim-adf (c2): unparsed: not a format natsim reads (natdiscovery, json, natsim)",
                         "  stdout (last 2 lines):", "  | a", "  | b", "  stderr (last 1 lines):",
                         "  | warning"]
    assert (exit_code([agree], False), exit_code([agree, disagree], False),
            exit_code([agree, disagree], True), exit_code([disagree, garbage], True)) == (0, 0, 1, 3)
    document = to_json("m", "c", "auto", [disagree])
    assert document["counts"] == {"agree": 0, "disagree": 1, "unparsed": 0, "no answer": 0}
    assert document["configurations"][0]["reported"] == {
        "mapping": "endpoint-independent", "filtering": "address-and-port-dependent", "hairpinning": True}


def test_the_fresh_ruleset_deletes_every_table_it_declares_first() -> None:
    nft = "table inet natsim {\n\tset s {\n\t}\n}\ntable bridge natsim-br {\n}\n"
    assert fresh_ruleset(nft) == "delete table inet natsim\ndelete table bridge natsim-br\n" + nft


def test_a_bad_command_exits_2_with_one_line_and_builds_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "natsim-no-such-classifier -m {stun_host}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "natsim-no-such-classifier: command not found" in err


def test_wrong_options_are_refused_before_a_lab() -> None:
    from natsim.classify.runner import run_classifier

    scenario = load_scenario("nat-type-matrix")
    with pytest.raises(ConfigError, match="must be a positive number of seconds"):
        run_classifier(scenario, "true", timeout=0)
    with pytest.raises(ConfigError, match=r"no parser 'coturn'.*natdiscovery"):
        run_classifier(scenario, "true", parser="coturn")
