"""Commit signing without keys: a fake gpg.program, and whether a commit carries a signature."""

from __future__ import annotations

from pathlib import Path

from testing.gitrepo import GitRepo

# A gpg.program as git calls it (`--status-fd=2 -bsau KEY`): it reads the payload, says on its
# status fd that it signed, and prints a detached signature; where `<its path>.fail` exists,
# it refuses.
FAKE_GPG = """#!/bin/sh
cat > /dev/null
test -e "$0.fail" && { echo 'gpg: signing failed: No secret key' >&2; exit 2; }
printf '\\n[GNUPG:] SIG_CREATED D 1 8 00 0 X\\n' >&2
printf -- '-----BEGIN PGP SIGNATURE-----\\n\\nZmFrZQ==\\n-----END PGP SIGNATURE-----\\n'
"""


def fake_signing(repo: GitRepo, tmp_path: Path) -> Path:
    """commit.gpgSign set, signing by FAKE_GPG (its path: touch `<path>.fail` to have it
    refuse)."""
    gpg = tmp_path / "fake-gpg"
    gpg.write_text(FAKE_GPG)
    gpg.chmod(0o755)
    repo.git("config", "gpg.program", str(gpg))
    repo.git("config", "commit.gpgSign", "true")
    return gpg


def signed(repo: GitRepo, rev: str) -> bool:
    return "\ngpgsig -----BEGIN PGP SIGNATURE-----" in repo.git("cat-file", "commit", rev)
