"""A natsim plugin: the middlebox kind ``idle-firewall`` (a routed stateful firewall that forgets idle
TCP connections) and the probe kind ``tcp-open`` (which ports a firewall lets a connection through to).

natsim finds both through the entry points in ``pyproject.toml``, which name :data:`KIND` (the config
class, the ruleset render and the simpy model, all reading one config) and :data:`PROBE` (the
options, the tool ``natsim probe tcp-open`` and the lab driver).
"""

from natsim.middleboxes import MiddleboxKind
from natsim.probes.registry import ProbeKind, ProbeTool

from natsim_idle_firewall.config import IdleFirewall
from natsim_idle_firewall.model import model
from natsim_idle_firewall.probe import TcpOpenOptions, build, driver
from natsim_idle_firewall.render import render

KIND = MiddleboxKind(IdleFirewall.kind, IdleFirewall, render, model, policy=IdleFirewall.policy,
                     summary="routed stateful firewall: idle timeout, untracked policy, inbound allow-list")

PROBE = ProbeKind(TcpOpenOptions.kind, TcpOpenOptions, driver, tool=ProbeTool(TcpOpenOptions.kind, build),
                  unmodelled="an example of a plugin's probe kind: it measures, the model does not predict",
                  summary="open a TCP connection to each port: which ones a firewall lets through")

__all__ = ["KIND", "PROBE", "IdleFirewall", "TcpOpenOptions"]
