"""What every middlebox shares: the render context, the render result, the config contract, presets.

A middlebox config is a frozen dataclass whose fields are declared with :mod:`natsim.fields`;
its kind's pure ``render(config, ctx)`` returns nftables
text, per-namespace sysctls and in-namespace setup commands. See ``docs/middleboxes.md``.

A :class:`Preset` is a real device as data: one kind's settings with their sources (loaded from the
``presets/`` files by :mod:`natsim.middleboxes.presets`). A config built from one remembers it
(:attr:`DeviceConfig.preset`), so maps and reports can say which device it stands for and whether
that device's numbers are approximate.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, TypeVar

from natsim.errors import ConfigError
from natsim.fields import Settings
from natsim.units import ScaledTimeout, TimeScale

#: What an interface name may be (Linux: at most 15 bytes, no '/', ':' or white space; natsim's
#: topologies name them NODE-ethN). Renders quote them inside nftables text, so no quote may pass.
IFACE_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,15}")


@dataclass(frozen=True)
class RenderContext:
    """Where a middlebox is placed: its node and which interfaces face which side."""

    node: str
    inside: tuple[str, ...]
    outside: tuple[str, ...]
    time_scale: TimeScale = TimeScale(1.0)

    def __post_init__(self) -> None:
        for name in (*self.inside, *self.outside):
            if not IFACE_NAME.fullmatch(name):
                raise ConfigError(f"{self.node}: interface name {name!r} is not a Linux interface name "
                                  f"({IFACE_NAME.pattern})")


@dataclass(frozen=True)
class Rendered:
    """The kernel state of one middlebox, as data. Applied atomically inside its namespace."""

    nft: str
    sysctls: Mapping[str, str] = field(default_factory=dict)
    commands: tuple[tuple[str, ...], ...] = ()
    timeouts: tuple[ScaledTimeout, ...] = ()
    notes: tuple[str, ...] = ()


class Middlebox(Protocol):
    """The contract of a middlebox config (see ``docs/middleboxes.md``)."""

    kind: ClassVar[str]

    def describe(self) -> list[tuple[str, str]]:
        """(setting, real-world value) pairs for maps and reports."""
        ...


@dataclass(frozen=True)
class Source:
    """Where a preset's numbers come from: a document ``title`` or URL, when it was ``read``, and
    ``weak`` when it is secondary (a config dump, a blog, a write-up: the field catalogue's "[weak]")."""

    title: str
    read: str
    weak: bool = False

    def describe(self) -> str:
        """``'AWS ELB docs "Update the TCP idle timeout" (read 2026-12)'``, ``[weak]`` when secondary."""
        return f"{self.title} (read {self.read})" + (" [weak]" if self.weak else "")


@dataclass(frozen=True)
class Preset:
    """A named, sourced set of one kind's settings (one ``presets/NAME.yaml`` file).

    ``settings`` are the values as written (each kind's config parses them); ``where`` gives the file
    position of each (``file:line:col``), for errors about a value that came from the preset. ``names``:
    (the device's own name, the kind's setting) for settings the device calls otherwise (a ``cgn``'s
    ``subscribers`` is the ``nat`` kind's ``inside``): user values may use either.
    """

    name: str
    kind: str
    device: str
    settings: tuple[tuple[str, Any], ...]
    sources: tuple[Source, ...]
    note: str
    path: str
    where: tuple[tuple[str, str], ...] = ()
    names: tuple[tuple[str, str], ...] = ()

    @property
    def device_names(self) -> dict[str, str]:
        """The kind's setting → the name this device gives it (``inside`` → ``subscribers``)."""
        return {setting: own for own, setting in self.names}

    @property
    def approximate(self) -> bool:
        """True when one of its sources is secondary ([weak]): its numbers are approximate."""
        return any(s.weak for s in self.sources)

    def position(self, setting: str) -> str:
        """``file:line:col`` of ``setting`` in the preset's file (the file alone when unknown)."""
        return dict(self.where).get(setting, self.path)

    def describe(self) -> str:
        """``'aws-nlb (AWS Network Load Balancer)'``, marked approximate when a source is [weak]."""
        text = f"{self.name} ({self.device})"
        return text + (" — approximate: a source is secondary [weak]" if self.approximate else "")


@dataclass(frozen=True)
class DeviceConfig(Settings):
    """Base of a config that may be built from a :class:`Preset` (natsim's kinds all derive from it;
    a plugin's config takes presets when it does too). ``preset`` is not a setting nor a dataclass
    field (it takes no part in equality, ``replace`` or the settings' declarations): it records the
    preset the config was built from (explicit settings may have overridden some of its values)."""

    #: The preset this config was built from (set by :func:`with_preset`), None: none.
    preset: ClassVar[Preset | None] = None
    #: True when that preset is the node's role (``natsim_role="cgn"``), not one its settings chose:
    #: the node is then what its topology says it is (maps and results name the preset only when it is
    #: approximate: :func:`natsim.middleboxes.presets.chosen_preset`).
    preset_is_role: ClassVar[bool] = False

    def describe(self) -> list[tuple[str, str]]:
        """Its settings as :meth:`Settings.describe` gives them, each under the name its preset's device
        gives it (a ``cgn`` shows ``subscribers``, the ``nat`` kind's ``inside``)."""
        names = self.preset.device_names if self.preset is not None else {}
        return [(names.get(key, key), value) for key, value in super().describe()]


C = TypeVar("C", bound=DeviceConfig)


def with_preset(config: C, preset: Preset, *, role: bool = False) -> C:
    """``config``, remembering that it was built from ``preset`` (``role``: the node's role named it)."""
    object.__setattr__(config, "preset", preset)
    object.__setattr__(config, "preset_is_role", role)
    return config
