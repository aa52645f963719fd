"""``cgn``: an ISP's carrier-grade NAT44 (RFC 6888, RFC 5382 defaults)."""

from natsim.middleboxes.cgn.config import RFC5382_ESTABLISHED, RFC5382_TRANSITORY, Cgn
from natsim.middleboxes.cgn.model import model
from natsim.middleboxes.cgn.render import render
from natsim.middleboxes.registry import MiddleboxKind

KIND = MiddleboxKind(Cgn.kind, Cgn, render, model, policy=Cgn.policy,
                     summary="carrier-grade NAT44: subscribers in 100.64.0.0/10 behind a TEST-NET pool")

__all__ = ["KIND", "RFC5382_ESTABLISHED", "RFC5382_TRANSITORY", "Cgn"]
