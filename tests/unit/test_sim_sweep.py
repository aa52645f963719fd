"""Sweeps: parameter parsing and domains, grid limits, parallel runs, CSV and heat map."""

from __future__ import annotations

import csv
import re
import socket
from pathlib import Path

import pytest

from natsim.errors import ConfigError
from natsim.middleboxes.conntrack.policy import Untracked
from natsim.middleboxes.presets import device
from natsim.report.sweep_report import sweep_figure
from natsim.run import sweep
from tests.unit.sim_scenarios import isp


def scenario() -> object:
    return isp(cgn=device("cgn", idle_timeout=4 * 3600.0), connections=10, step=600.0, first=600.0)


def test_duration_range_and_choice_list() -> None:
    s = isp()
    p = sweep.parse_param("cpe.idle_timeout=30m..3h:15m", s)
    assert p.name == "cpe.idle_timeout"
    assert p.values[:3] == (1800.0, 2700.0, 3600.0)
    assert p.values[-1] == 10800.0 and len(p.values) == 11
    q = sweep.parse_param("cpe.untracked_inbound=drop,pickup", s)
    assert q.values == (Untracked.DROP, Untracked.PICKUP)
    assert sweep.parse_param("cgn.port_preservation=true,false", s).values == (True, False)


@pytest.mark.parametrize(("text", "message"), [
    ("cpx.idle_timeout=1h", "no middlebox, host or probe 'cpx' in the scenario (did you mean 'cpe'?)"),
    ("cpe.idle_timout=1h", "has no setting 'idle_timout' (did you mean 'idle_timeout'?)"),
    ("cpe.idle_timeout=-1h..2h:1h", "malformed duration"),
    ("cpe.idle_timeout=2h..1h:15m", "lower end above its upper end"),
    ("cpe.idle_timeout=1h..2h", "expected LOW..HIGH:STEP"),
    ("cpe.idle_timeout", "expected NODE.SETTING="),
    ("send.stepp=1m,2m", "tcp-send has no option 'stepp' (did you mean 'step'?)"),
    ("send.step=soon", "malformed duration"),
    ("cpe.untracked_inbound=drop,sometimes", "'sometimes' is not one of drop, pickup, reset"),
])
def test_bad_params(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        sweep.parse_param(text, isp())


def test_grid_limits() -> None:
    s = isp()
    a = sweep.parse_param("cpe.idle_timeout=30m..3h:15m", s)
    b = sweep.parse_param("cpe.untracked_inbound=drop,pickup", s)
    assert len(sweep.grid([a, b])) == 22
    with pytest.raises(ConfigError, match="22 points, more than --max-points 21"):
        sweep.grid([a, b], max_points=21)
    with pytest.raises(ConfigError, match="given twice"):
        sweep.grid([a, a])
    with pytest.raises(ConfigError, match="nothing to sweep"):
        sweep.grid([])


def test_apply_revalidates_the_config() -> None:
    s = isp()
    with pytest.raises(ConfigError, match="not possible on a bridge"):   # refused as the value is read
        sweep.parse_param("cpe.untracked_outbound=reset", s)
    p = sweep.Param("middlebox", "cpe", ("untracked_outbound",), (Untracked.RESET,))
    with pytest.raises(ConfigError, match="not possible on a bridge"):
        sweep.apply(s, [p], (Untracked.RESET,))


def test_run_local_matches_predict_and_parallel_equals_serial() -> None:
    s = scenario()
    p = sweep.parse_param("cpe.idle_timeout=30m..2h:30m", s)
    points = sweep.grid([p])
    serial = sweep.run_local(s, [p], points, workers=1)
    assert serial == sweep.run_local(s, [p], points, workers=2)
    send = {r["cpe.idle_timeout"]: r for r in serial if r["probe"] == "send"}
    # connection i is tested at idle 600 (i+1) s: a 30 min timeout kills i >= 2
    assert send[1800.0]["alive"] == 2 and send[1800.0]["dead"] == 8
    assert send[1800.0]["first_failure_idle"] == 1800.0
    assert send[7200.0]["alive"] == 10


def test_outputs(tmp_path: Path) -> None:
    s = scenario()
    params = [sweep.parse_param("cpe.idle_timeout=30m..1h:30m", s),
              sweep.parse_param("cpe.untracked_inbound=drop,pickup", s)]
    rows = sweep.run_local(s, params, sweep.grid(params), workers=1)
    sweep.write_csv(rows, tmp_path / "s.csv")
    sweep_figure(rows, params).savefig(tmp_path / "s.png")
    with (tmp_path / "s.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 4 * 3
    assert table[0]["cpe.untracked_inbound"] == "drop"
    assert (tmp_path / "s.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_dask_missing_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    real_import = builtins.__import__

    def fake_import(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("dask"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ConfigError, match=r"pip install 'natsim\[dask\]'"):
        sweep.run_dask(scenario(), [], [], address="local")


def test_dask_local_cluster_equals_the_local_pool() -> None:
    s = scenario()
    p = sweep.parse_param("cpe.idle_timeout=30m..1h:30m", s)
    points = sweep.grid([p])
    assert sweep.run_dask(s, [p], points, address="local") == sweep.run_local(s, [p], points, workers=1)


def test_an_unreachable_scheduler_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from natsim.errors import ClusterError
    from natsim.run import cluster

    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1.0)
    with socket.socket() as unused:          # a loopback port nobody listens on
        unused.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{unused.getsockname()[1]}"
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at {address}"):
        sweep.run_dask(scenario(), [], [], address=address)
