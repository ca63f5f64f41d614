"""t7510-signed-commit with t4202-log's `log.showSignature` (stop 58's adversary D): the user
signs their commits and has `git log` verify them. A whole-state move lists the commits it
drops from `git log` of its own: with `log.showSignature=true`, git ran the user's
gpg.program to verify each signed one and printed its lines with them, which the list read as
commits ("drop commit gpg: Good signature from ...", and "would drop 5 commits" for 3). The
list holds the dropped commits alone, and no verification runs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

GPG = """#!/bin/sh
echo "$*" >> "$0.log"
cat > /dev/null
case "$*" in
  *--verify*) printf '[GNUPG:] GOODSIG X tester\\n'; echo 'gpg: Good signature from tester' >&2;;
  *) printf '\\n[GNUPG:] SIG_CREATED D 1 8 00 0 X\\n' >&2
     printf -- '-----BEGIN PGP SIGNATURE-----\\n\\nZmFrZQ==\\n-----END PGP SIGNATURE-----\\n';;
esac
"""


def _signed_history(tmp_path: Path) -> tuple[GitRepo, Path, str]:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    gpg = tmp_path / "gpg"
    gpg.write_text(GPG)
    gpg.chmod(0o755)
    for key, value in (
        ("gpg.program", str(gpg)),
        ("commit.gpgSign", "true"),
        ("log.showSignature", "true"),
    ):
        repo.git("config", key, value)
    op = "printf 'y\\n' > a; git add a; git commit -qm mine; printf 'z\\n' > b"
    run = ("run", "--history", "commits", "--", "sh", "-c", op)
    op_id = str(repo.atomic_json(*run)["op_id"])
    repo.write("later", b"l\n")
    repo.git("add", "later")
    repo.git("commit", "-qm", "later")
    return repo, gpg, op_id


def _verified(gpg: Path) -> list[str]:
    log = Path(f"{gpg}.log")
    return [x for x in log.read_text().splitlines() if "--verify" in x] if log.exists() else []


@pytest.mark.parametrize("dry", [True, False])
def test_the_dropped_commits_are_the_commits_alone(tmp_path: Path, dry: bool) -> None:
    repo, gpg, op_id = _signed_history(tmp_path)
    dropped = repo.git("rev-list", "--count", f"{repo.head()}", "^HEAD~3").strip()
    args = ["rollback", "--op", op_id, "--whole", *(["--dry-run"] if dry else [])]
    res = repo.atomic(*args, check=0)
    text = res.stdout + res.stderr
    assert "GOODSIG" not in text and "Good signature" not in text, text
    rows = [x for x in text.splitlines() if "drop" in x and "commit" in x and "would" not in x]
    assert len(rows) == (int(dropped) if dry else 0) and dropped == "3", text
    assert _verified(gpg) == [], "git ran the user's gpg.program to verify"
