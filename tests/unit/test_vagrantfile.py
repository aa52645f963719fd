"""The top-level Vagrantfile passes ``vagrant validate`` with both providers (VirtualBox, libvirt) and both
box architectures (amd64, arm64), and validation does reject a setting a provider does not have.

Debian 12's vagrant (2.3.4) and vagrant-libvirt (0.11.2) run here; VirtualBox is not in Debian, so
its provider is validated with a stand-in ``VBoxManage`` on PATH that only answers ``--version`` (Vagrant
asks nothing else while validating). vagrant-libvirt asks libvirt whether a virtiofs share is usable:
it is pointed at libvirt's in-process test driver (``LIBVIRT_DEFAULT_URI=test:///default``), so no
libvirt daemon is needed. Vagrant's own state goes to a temporary VAGRANT_HOME and the
Vagrantfile is validated from a temporary copy: nothing is written in the project or a home directory.
No VM is started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

VAGRANTFILE = Path(__file__).parents[2] / "Vagrantfile"
VBOXMANAGE = "#!/bin/sh\n[ \"$1\" = --version ] && echo 7.0.20r163906 && exit 0\nexit 1\n"

pytestmark = pytest.mark.skipif(shutil.which("vagrant") is None,
                                reason="vagrant is not installed (`sudo make packages` installs it)")


def validate(tmp_path: Path, provider: str, arch: str, extra: str = "") -> subprocess.CompletedProcess[str]:
    """``vagrant validate`` of a copy of the Vagrantfile (plus ``extra`` Ruby) as ``provider``."""
    project = tmp_path / f"{provider}-{arch}"
    project.mkdir()
    (project / "Vagrantfile").write_text(VAGRANTFILE.read_text() + extra)
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "VBoxManage").write_text(VBOXMANAGE)
    (stub / "VBoxManage").chmod(0o755)
    env = {**os.environ, "PATH": f"{stub}:{os.environ['PATH']}", "VAGRANT_HOME": str(tmp_path / "home"),
           "VAGRANT_CWD": str(project), "VAGRANT_DEFAULT_PROVIDER": provider, "NATSIM_VM_ARCH": arch,
           "VAGRANT_CHECKPOINT_DISABLE": "1", "VAGRANT_NO_COLOR": "1", "LIBVIRT_DEFAULT_URI": "test:///default"}
    return subprocess.run(["vagrant", "validate"], cwd=project, env=env, capture_output=True, text=True,
                          timeout=300, check=False)


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
@pytest.mark.parametrize("provider", ["virtualbox", "libvirt"])
def test_vagrantfile_validates(tmp_path: Path, provider: str, arch: str) -> None:
    done = validate(tmp_path, provider, arch)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Vagrantfile validated successfully." in done.stdout


@pytest.mark.parametrize("provider", ["virtualbox", "libvirt"])
def test_validation_reads_the_provider_settings(tmp_path: Path, provider: str) -> None:
    """A setting the provider lacks fails: the test above validates each provider's block for real."""
    bogus = (f'\nVagrant.configure("2") {{ |c| c.vm.provider("{provider}") '
             '{ |p| p.no_such_setting = 1 } }\n')
    done = validate(tmp_path, provider, "amd64", bogus)
    assert done.returncode != 0
    assert "The following settings shouldn't exist: no_such_setting" in done.stdout + done.stderr


def test_an_unknown_architecture_is_refused(tmp_path: Path) -> None:
    done = validate(tmp_path, "libvirt", "riscv64")
    assert done.returncode != 0
    assert "NATSIM_VM_ARCH must be amd64 or arm64, not riscv64" in done.stdout + done.stderr
