"""``ssh-proxy``: a transparent L7 SSH interceptor (the Palo Alto Networks incident)."""

from natsim.middleboxes.registry import MiddleboxKind
from natsim.middleboxes.ssh_proxy.config import PAN_BANNER, PAN_KEX, SshProxy
from natsim.middleboxes.ssh_proxy.model import model
from natsim.middleboxes.ssh_proxy.render import render
from natsim.middleboxes.ssh_proxy.runtime import runtime

KIND = MiddleboxKind(SshProxy.kind, SshProxy, render, model, runtime=runtime, terminates_tcp=True,
                     summary="transparent L7 SSH proxy (tproxy) that bypasses a tuple it cannot serve")

__all__ = ["KIND", "PAN_BANNER", "PAN_KEX", "SshProxy"]
