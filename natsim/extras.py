"""Which optional part of natsim (pip extra) a missing module belongs to.

``pip install natsim`` gives the probes, the probe server and the model; ``natsim[lab]`` adds labs
(Mininet), captures and their analysis (scapy), ``natsim doctor`` and ``natsim watch`` (rich) and
``natsim lab exec`` in a terminal (pexpect); ``natsim[plots]`` the plots (matplotlib) and ``natsim run
--html`` (matplotlib, jinja2); ``natsim[ssh]`` the SSH proxy and the SSH login probes (asyncssh);
``natsim[population]`` the CGN population model (numpy).
"""

from __future__ import annotations

#: Top-level module → the extra that installs it.
EXTRA_OF = {"mininet": "lab", "scapy": "lab", "rich": "lab", "pexpect": "lab", "ptyprocess": "lab",
            "matplotlib": "plots", "jinja2": "plots", "asyncssh": "ssh", "dask": "dask",
            "distributed": "dask", "numpy": "population"}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """The message for a module that an optional part would install, or None for any other."""
    top = (err.name or "").split(".")[0]
    extra = EXTRA_OF.get(top)
    if extra is None:
        return None
    return (f"this needs natsim's optional '{extra}' part (module {top} is not installed): "
            f"pip install 'natsim[{extra}]'")
