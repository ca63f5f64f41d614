"""A shell script run where `/etc` holds files of the test's own (`/etc/gitattributes`, which a
distribution's git reads before any attributes file of yours), while `/etc` itself is never
changed: the script runs in a mount namespace of its own (`unshare -m`), over an overlay of
`/etc` whose upper folder holds those files. Every other process of the machine (the other
tests, other users of it) sees `/etc` as it is, during the test and after it.

Needs what the overlay needs (root, `unshare`, overlayfs): `available` says whether it is
there, and the tests that need it are skipped where it is not."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

# In the namespace: the mounts made private (none of ours reaches the machine's), the overlay
# over /etc, then the script.
_MOUNT = (
    "mount --make-rprivate / && "
    'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc && '
    'shift 2 && exec sh -c "$1"'
)


def _command(upper: Path, work: Path, script: str) -> list[str]:
    return ["unshare", "-m", "sh", "-c", _MOUNT, "sh", str(upper), str(work), script]


@functools.cache
def available() -> bool:
    """Whether a script can be run with a private `/etc` here."""
    with tempfile.TemporaryDirectory() as scratch:
        try:
            probe = run({"git-atomic-probe": b"x"}, "cat /etc/git-atomic-probe", Path(scratch))
        except (OSError, subprocess.SubprocessError):
            return False
    return probe.returncode == 0 and probe.stdout == "x"


def run(
    files: Mapping[str, bytes],
    script: str,
    scratch: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`sh -c script` where `/etc/<name>` holds each of `files` (the rest of `/etc` as it is).
    `scratch`: a folder of the test's for the overlay's own folders."""
    scratch.mkdir(parents=True, exist_ok=True)
    upper = Path(tempfile.mkdtemp(prefix="etc-", dir=scratch))
    work = Path(tempfile.mkdtemp(prefix="work-", dir=scratch))
    for name, data in files.items():
        (upper / name).write_bytes(data)
    return subprocess.run(
        _command(upper, work, script),
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
