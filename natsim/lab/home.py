"""A lab's own home directory for root, so nothing run in a lab writes the host's ``~/.ssh``.

Every process in a lab node runs as root. OpenSSH finds ``~/.ssh`` (``known_hosts``, ``config``)
through the password database, not ``$HOME``: ``client ssh server`` typed in the Mininet CLI would
record the lab's throw-away host key in the host's ``/root/.ssh/known_hosts``, and the next lab, with
a new key at the same address, would fail with "REMOTE HOST IDENTIFICATION HAS CHANGED".

So each lab gets a home of its own, ``/dev/shm/natsim-LABID-home-XXXXXXXX/root`` (``mkdtemp``,
mode 0700, named in the lab's record; on a tmpfs, so removing it costs no disk work: under ``$TMPDIR``
where ``/dev/shm`` is no tmpfs; inside natsim's own namespaces, without root, under their private
``/run``, so it goes with them even when they are killed), holding ``.ssh/config``
(``UserKnownHostsFile`` in that home, ``GlobalKnownHostsFile /dev/null``, ``StrictHostKeyChecking
accept-new``). Every node's shell already
runs in a private mount namespace (Mininet's ``mnexec -n``); natsim bind-mounts there a copy of
``/etc/passwd`` in which root's home is the lab's (the file on disk is never touched) as the shell's
first command, before anything else runs in the node, checks it is there (``/proc/PID/mountinfo``), and sets
``HOME`` to it in the node's shell and in every process natsim starts in a node. It is removed with
the lab (``natsim cleanup`` included).

The same directory holds every other file of the lab's processes: ``tmp`` (``TMPDIR`` in the nodes,
so a tool's own temporary files go there too) and the work directories natsim makes for them
(:meth:`LabHome.scratch`: sshd's config and keys, a probe's output, the proxy's log). So nothing of a
lab is left in ``$TMPDIR``: without root they go with natsim's namespaces however it ends; as root
they go with the lab, or with its record (``natsim cleanup``) when natsim was killed.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
import tempfile
from pathlib import Path

from natsim.lab.records import LabRecord
from natsim.outfiles import make_dir, write_file

SSH_CONFIG = """\
# natsim lab {lab_id}: ssh in this lab's nodes keeps its state in this lab's home, never in yours
UserKnownHostsFile {home}/.ssh/known_hosts
GlobalKnownHostsFile /dev/null
StrictHostKeyChecking accept-new
"""


def home_passwd(passwd: str, home: str) -> str:
    """``passwd`` (the text of ``/etc/passwd``) with root's home directory (uid 0) set to ``home``."""
    lines = []
    for line in passwd.splitlines():
        fields = line.split(":")
        if len(fields) == 7 and fields[2] == "0":
            fields[5] = home
        lines.append(":".join(fields))
    return "\n".join(lines) + "\n"


SHM = Path("/dev/shm")


def home_parent(mountinfo: str | None = None) -> Path | None:
    """Where lab homes are made: natsim's private ``/run`` inside its namespaces; else ``/dev/shm`` when
    it is a tmpfs this user may write (removing a home there costs no disk work, and a reboot removes
    one a crash left); else None (``$TMPDIR``). ``mountinfo``: ``/proc/self/mountinfo``'s text."""
    from natsim.lab.userns_support import private_run

    text = Path("/proc/self/mountinfo").read_text() if mountinfo is None else mountinfo
    run = private_run(text)
    if run is not None:
        return run
    fstype = None
    for line in text.splitlines():   # "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - FSTYPE SOURCE OPTS"
        mine, _, fs = line.partition(" - ")
        if len(mine.split()) > 4 and mine.split()[4] == str(SHM) and fs.split():
            fstype = fs.split()[0]    # the last mount on it is the one seen
    return SHM if fstype == "tmpfs" and os.access(SHM, os.W_OK | os.X_OK) else None


class LabHome:
    """The home directory of one lab: :meth:`create` makes it, :meth:`remove` deletes it."""

    def __init__(self, base: Path, lab_id: str) -> None:
        self.lab_id = lab_id
        self.base = base              # everything of this home lives under it
        self.home = base / "root"
        self.passwd = base / "passwd"
        self.tmp = base / "tmp"       # TMPDIR in the nodes

    @classmethod
    def create(cls, lab_id: str) -> LabHome:
        """Make a new home for lab ``lab_id`` (``.ssh/config`` inside) and the password file naming it."""
        made = cls(Path(tempfile.mkdtemp(prefix=f"natsim-{lab_id}-home-", dir=home_parent())), lab_id)
        try:
            make_dir(made.home, mode=0o700)
            make_dir(made.home / ".ssh", mode=0o700)
            make_dir(made.tmp, mode=0o700)
            write_file(made.home / ".ssh" / "config", SSH_CONFIG.format(lab_id=lab_id, home=made.home),
                       mode=0o600)
            write_file(made.passwd, home_passwd(Path("/etc/passwd").read_text(), str(made.home)))
        except BaseException:
            made.remove()
            raise
        return made

    @classmethod
    def recorded(cls, record: LabRecord) -> LabHome | None:
        """The home ``record`` names, when it is one natsim made for that lab (name, a real directory
        owned by this user): ``natsim cleanup`` removes nothing else."""
        if not record.home:
            return None
        base = Path(record.home)
        try:
            st = os.lstat(base)
        except OSError:
            return None
        if (not base.name.startswith(f"natsim-{record.lab_id}-home-") or not stat.S_ISDIR(st.st_mode)
                or st.st_uid != os.geteuid()):
            return None
        return cls(base, record.lab_id)

    @property
    def env(self) -> dict[str, str]:
        """What every process in the lab's nodes gets in its environment."""
        return {"HOME": str(self.home), "TMPDIR": str(self.tmp)}

    def scratch(self, prefix: str) -> Path:
        """A new private directory (mode 0700) for files of the lab's processes, removed with the home."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.base))

    def shell_setup(self) -> str:
        """The first command line of a node's shell, inside the node's new mount namespace: bind-mount
        the password file naming this home over ``/etc/passwd`` (:meth:`mounted_in` checks it)."""
        return shlex.join(["mount", "--bind", str(self.passwd), "/etc/passwd"])

    def mounted_in(self, pid: int) -> bool:
        """Whether process ``pid`` sees this home's password file over ``/etc/passwd``."""
        try:
            mounts = Path(f"/proc/{pid}/mountinfo").read_text()
        except OSError:
            return False
        return any(line.split()[4] == "/etc/passwd" for line in mounts.splitlines())

    def remove(self) -> None:
        """Delete the home and everything in it (``shutil.rmtree`` never follows links)."""
        shutil.rmtree(self.base, ignore_errors=True)


def remove_private_dir(path: str) -> bool:
    """Remove ``path`` when it is a directory (not a link) of this user's, closed to others (mode 0700,
    as ``mkdtemp`` makes it): ``natsim cleanup`` removes a recorded work directory, nothing else.
    True when it was removed."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o077:
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True
