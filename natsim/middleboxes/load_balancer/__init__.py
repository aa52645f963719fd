"""``load-balancer``: an L4 virtual IP in front of backends (DNAT), idle timeout, expired-flow behaviour."""

from natsim.middleboxes.load_balancer.config import Expiry, LoadBalancer
from natsim.middleboxes.load_balancer.model import model
from natsim.middleboxes.load_balancer.render import render
from natsim.middleboxes.load_balancer.runtime import backends, runtime
from natsim.middleboxes.registry import MiddleboxKind

KIND = MiddleboxKind(LoadBalancer.kind, LoadBalancer, render, model, policy=LoadBalancer.policy,
                     runtime=runtime, backends=backends,
                     summary="L4 load balancer: a virtual IP sent to backends in turn, idle timeout, expired "
                     "flows silent, reset on the next packet, or reset both ways at expiry")

__all__ = ["KIND", "Expiry", "LoadBalancer"]
