"""Every middlebox kind natsim registers is complete: a config class of its kind whose every setting is
parsed and documented, ``describe()``, a render that works on the default config, a model that handles
a packet, and golden render cases in ``tests/unit/test_render_golden.py``. A kind lacking one fails.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from collections.abc import Callable
from importlib.metadata import distribution
from typing import Any, ClassVar

import pytest

import natsim.middleboxes
from natsim.middleboxes import build_config, build_model, kind, kinds, registry, render
from natsim.middleboxes.base import RenderContext, Rendered
from natsim.middleboxes.cpe_bridge import KIND as CPE_BRIDGE
from natsim.middleboxes.cpe_bridge import CpeBridge
from natsim.middleboxes.presets import configure, resolve
from natsim.sim.network import Answer, Drop, Forward, Segment
from natsim.units import TimeScale
from tests.unit.test_render_golden import CASES, GOLDEN

SAMPLE = RenderContext(node="mb", inside=("mb-eth0",), outside=("mb-eth1",), time_scale=TimeScale(60))
SYN = Segment(("100.64.1.10", 40000), ("203.0.113.10", 31415), "S", "c0")


def own_kinds() -> list[str]:
    """The kinds natsim's own distribution registers (an installed plugin brings its own tests)."""
    return sorted(p.name for p in distribution("natsim").entry_points.select(group=registry.GROUP))


def check_config(name: str) -> list[str]:
    cls = kind(name).config
    if not dataclasses.is_dataclass(cls):
        return [f"{name}: config {cls.__name__} is not a dataclass"]
    found = [] if getattr(cls, "kind", None) == name else [f"{name}: config says kind={cls.kind!r}"]
    for f in dataclasses.fields(cls):
        if f.init and "parse" not in f.metadata:
            found.append(f"{name}: setting {f.name} has no parse metadata (use a natsim field helper)")
        if f.init and not f.metadata.get("doc"):
            found.append(f"{name}: setting {f.name} has no doc string")
    return found


def check_describe(name: str) -> list[str]:
    rows = build_config(name, {}).describe()
    if not rows or not all(isinstance(k, str) and isinstance(v, str) for k, v in rows):
        return [f"{name}: describe() gave {rows!r}, not (setting, value) pairs"]
    return []


def check_render(name: str) -> list[str]:
    rendered = render(build_config(name, {}), SAMPLE)
    if not isinstance(rendered, Rendered) or not rendered.nft.strip():
        return [f"{name}: render of the default config gave no nftables ruleset"]
    return []


def check_model(name: str) -> list[str]:
    model = build_model("mb", build_config(name, {}), TimeScale(60), 0)
    if getattr(model, "name", None) != "mb" or not callable(getattr(model, "handle", None)):
        return [f"{name}: model {type(model).__name__} has no name 'mb' and handle()"]
    action = model.handle(SYN, True, 0.0)
    return [] if isinstance(action, Forward | Drop | Answer) else [f"{name}: handle() gave {action!r}"]


def check_golden(name: str) -> list[str]:
    cases = [case for case, spec in CASES.items() if spec[0] == name]
    if not cases:
        return [f"{name}: no golden render case in tests/unit/test_render_golden.py CASES"]
    return [f"{name}: golden file {case}.nft missing" for case in cases
            if not (GOLDEN / f"{case}.nft").exists()]


CHECKS: tuple[Callable[[str], list[str]], ...] = (check_config, check_describe, check_render, check_model,
                                                  check_golden)


def problems(name: str) -> list[str]:
    """What the registered kind ``name`` lacks (empty: complete); a check that crashes is a problem."""
    found = []
    for check in CHECKS:
        try:
            found += check(name)
        except Exception as err:  # the kind is broken: say where, keep checking the rest
            found.append(f"{name}: {check.__name__} raised {type(err).__name__}: {err}")
    return found


def kind_folders() -> list[str]:
    """The kinds defined by natsim's folders (a package of natsim.middleboxes with a ``KIND``)."""
    names = []
    for info in pkgutil.iter_modules(natsim.middleboxes.__path__):
        module = importlib.import_module(f"natsim.middleboxes.{info.name}")
        found = getattr(module, "KIND", None)
        if info.ispkg and isinstance(found, registry.MiddleboxKind):
            names.append(found.name)
    return sorted(names)


def test_every_kind_folder_is_registered_through_natsims_entry_points() -> None:
    assert own_kinds() == kind_folders()
    assert {"cpe-bridge", "nat", "ssh-proxy"} <= set(own_kinds()) <= set(kinds())
    # no folder of forwarders per device: cgn and home-router are presets of nat
    assert not {"cgn", "home-router"} & set(kinds())


@pytest.mark.parametrize("name", own_kinds())
def test_every_kind_is_complete(name: str) -> None:
    assert problems(name) == []


# ---- the test fails for a kind that lacks a piece -----------------------------------------------

@dataclasses.dataclass(frozen=True)
class Bare:
    """A config written without natsim's field helpers and without describe()."""

    kind: ClassVar[str] = "bare"
    size: int = 3


class Unnamed:
    """A model without ``name`` and ``handle``."""


@dataclasses.dataclass(frozen=True)
class Copy(CpeBridge):
    """A complete kind (a cpe-bridge under another name) that only lacks golden cases."""

    kind: ClassVar[str] = "copy"


def with_kind(monkeypatch: pytest.MonkeyPatch, extra: registry.MiddleboxKind) -> None:
    real = registry._registered()
    monkeypatch.setattr(registry, "_registered", lambda: {**real, extra.name: extra})


def test_a_kind_lacking_every_piece_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def empty(config: Any, ctx: RenderContext) -> Rendered:
        return Rendered(nft="")

    with_kind(monkeypatch, registry.MiddleboxKind("bare", Bare, empty, lambda *args: Unnamed()))
    assert "bare" in kinds()
    assert problems("bare") == [
        "bare: setting size has no parse metadata (use a natsim field helper)",
        "bare: setting size has no doc string",
        "bare: check_describe raised AttributeError: 'Bare' object has no attribute 'describe'",
        "bare: render of the default config gave no nftables ruleset",
        "bare: model Unnamed has no name 'mb' and handle()",
        "bare: no golden render case in tests/unit/test_render_golden.py CASES",
    ]


def test_a_new_kind_without_golden_cases_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    with_kind(monkeypatch, registry.MiddleboxKind("copy", Copy, CPE_BRIDGE.render, CPE_BRIDGE.model))
    assert problems("copy") == ["copy: no golden render case in tests/unit/test_render_golden.py CASES"]


def test_a_render_that_raises_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(config: Any, ctx: RenderContext) -> Rendered:
        raise ValueError("no interfaces")

    with_kind(monkeypatch, registry.MiddleboxKind("copy", Copy, broken, CPE_BRIDGE.model))
    assert "copy: check_render raised ValueError: no interfaces" in problems("copy")


# ---- what code outside a kind asks about it is an attribute of the kind ---------------------------

def test_the_kinds_declare_what_code_outside_them_asks() -> None:
    assert [n for n in own_kinds() if kind(n).terminates_tcp] == ["ssh-proxy"]
    assert {n: kind(n).idle_timeouts(build_config(n, {})) for n in own_kinds()} == {
        "cpe-bridge": [3600.0], "nat": [3600.0], "ssh-proxy": [], "firewall": [3600.0],
        "load-balancer": [3600.0]}
    # cgn and home-router are presets of the nat kind: a name where a kind is expected
    assert {n: kind(resolve(n)[0]).idle_timeouts(configure(n, {})) for n in ("cgn", "home-router")} == {
        "cgn": [7440.0], "home-router": [3600.0]}
    fronting = {n: kind(n).backends for n in own_kinds() if kind(n).backends is not None}
    assert {n: f(build_config(n, {})) for n, f in fronting.items()} == {
        "load-balancer": ("203.0.113.10", "203.0.113.130")}
    assert kind("nat").idle_timeouts(configure("cgn", {"idle_timeout": "1h"})) == [3600.0]


def test_only_a_declared_policy_gives_a_plot_line() -> None:
    stateful = registry.MiddleboxKind("copy", Copy, CPE_BRIDGE.render, CPE_BRIDGE.model, policy=Copy.policy)
    silent = registry.MiddleboxKind("copy", Copy, CPE_BRIDGE.render, CPE_BRIDGE.model)
    assert (stateful.idle_timeouts(Copy(idle_timeout=60.0)), silent.idle_timeouts(Copy())) == ([60.0], [])
