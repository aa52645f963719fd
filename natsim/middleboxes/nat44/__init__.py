"""``nat``: a NAT44 whose every behaviour is a setting (RFC 4787 mapping, filtering, hairpinning, port
preservation and overloading, refresh, what a refused datagram meets): the kind device presets are made
of, ``cgn`` and ``home-router`` among them (``presets/``). Its render and model are the NAT44 ones
(:mod:`natsim.middleboxes.nat`)."""

from natsim.middleboxes.nat44.config import Nat44
from natsim.middleboxes.nat44.model import model
from natsim.middleboxes.nat44.render import render
from natsim.middleboxes.registry import MiddleboxKind

KIND = MiddleboxKind(Nat44.kind, Nat44, render, model, policy=Nat44.policy,
                     summary="NAT44 with every RFC 4787 behaviour a setting (mapping, filtering, "
                     "hairpinning)")

__all__ = ["KIND", "Nat44"]
