"""Emulation: network namespaces (Mininet nodes), middlebox rulesets, lifecycle and cleanup."""

from natsim.lab.lab import Lab, LabProcess

__all__ = ["Lab", "LabProcess"]
