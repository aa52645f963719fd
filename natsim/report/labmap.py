"""A printable map of a lab: nodes, addresses, middlebox settings in real-world and lab time."""

from __future__ import annotations

from typing import Any


def preset_line(preset: dict[str, Any]) -> str:
    """``preset aws-nlb (AWS Network Load Balancer)``, then ``APPROXIMATE`` and the sources when one is
    secondary ([weak])."""
    text = f"preset {preset['name']} ({preset['device']})"
    if preset["approximate"]:
        text += f" APPROXIMATE: a source is secondary: {'; '.join(preset['sources'])}"
    return text


def format_map(description: dict[str, Any]) -> str:
    """Render :meth:`natsim.lab.Lab.describe` as text."""
    lines = [f"lab {description['lab_id']}  topology {description['topology']}  "
             f"time_scale {description['time_scale']:g} (1 lab second = "
             f"{description['time_scale']:g} real-world seconds)"]
    for node in description["nodes"]:
        addrs = ", ".join(f"{i['name']} {i['ip']}/{i['prefix']}" if i["ip"] else f"{i['name']} (no IP)"
                          for i in node["interfaces"])
        lines.append(f"  {node['name']:<8} {node['role']:<12} {addrs}")
        if node.get("preset"):
            lines.append(f"      {preset_line(node['preset'])}")
        for key, value in node.get("settings", []):
            lines.append(f"      {key} = {value}")
        for timeout in node.get("kernel_timeouts", []):
            lines.append(f"      kernel {timeout}")
        for note in node.get("notes", []):
            lines.append(f"      {note}")
    return "\n".join(lines)
