"""Conformance battery: RFC 5382 (NAT behaviour for TCP) and RFC 4787 (for UDP) against a lab middlebox.

Entry point: :func:`natsim.conform.battery.run_battery`.
"""
