"""An isolated run whose branch moved meanwhile copies its commits onto the new tip: each copy
keeps what its commit said about itself. git's t3900-i18n-commit: a commit's `encoding` header
names the encoding of the bytes it holds. Before, every copy was made with your
`i18n.commitEncoding`: a commit the command made in ISO-8859-1 lost its header (its bytes then
read as broken UTF-8), our UTF-8 `OP-EXEC` commit was labelled ISO-8859-1 under that setting, and
an author's name in ISO-8859-1 had its bytes replaced."""

from __future__ import annotations

import subprocess
from pathlib import Path

from testing.gitrepo import GitRepo
from tests.test_isolate import _run_while

LATIN1_NAME = b"J\xfcrgen"  # "Jürgen" in ISO-8859-1
LATIN1_MESSAGE = b"caf\xe9"  # "café" in ISO-8859-1


def _raw(repo: GitRepo, oid: str) -> tuple[bytes, bytes]:
    raw = subprocess.run(
        ["git", "cat-file", "commit", oid], cwd=repo.path, env=repo.env, capture_output=True
    ).stdout
    header, _, message = raw.partition(b"\n\n")
    return header, message


def _isolated_run_while_the_branch_moves(repo: GitRepo, tmp_path: Path, body: str) -> list[str]:
    """`run --isolate` of `body` while you commit `mine.txt`: the commits it put on top."""
    repo.write("base.txt", b"b\n")
    repo.git("add", "base.txt")
    repo.git("commit", "-qm", "base")
    mine: list[str] = []

    def commit_mine() -> None:
        repo.write("mine.txt", b"m\n")
        repo.git("add", "mine.txt")
        repo.git("-c", "i18n.commitEncoding=UTF-8", "commit", "-qm", "mine")
        mine.append(repo.git("rev-parse", "HEAD").strip())

    code, _res, err = _run_while(repo, tmp_path, body, commit_mine)
    assert code == 0, err
    made = repo.git("rev-list", "--reverse", f"{mine[0]}..HEAD").split()
    assert made and repo.git("rev-parse", f"{made[0]}^").strip() == mine[0]
    return made


def test_a_commit_made_in_iso_8859_1_keeps_its_encoding_and_bytes(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Your setting is UTF-8 (none); the command commits in ISO-8859-1, author name too."""
    body = (
        "echo t > theirs.txt; git add theirs.txt; "
        "GIT_AUTHOR_NAME=\"$(printf 'J\\374rgen')\" "
        "git -c i18n.commitEncoding=ISO-8859-1 commit -qm \"$(printf 'caf\\351')\""
    )
    made = _isolated_run_while_the_branch_moves(repo, tmp_path, body)
    theirs = [oid for oid in made if _raw(repo, oid)[1].startswith(LATIN1_MESSAGE)]
    assert len(theirs) == 1, [_raw(repo, oid) for oid in made]
    header, message = _raw(repo, theirs[0])
    assert b"\nencoding ISO-8859-1" in header, header
    assert message == LATIN1_MESSAGE + b"\n"
    author = next(line for line in header.split(b"\n") if line.startswith(b"author "))
    assert author.startswith(b"author " + LATIN1_NAME + b" <"), author
    assert repo.read("theirs.txt") == b"t\n" and repo.read("mine.txt") == b"m\n"


def test_a_utf8_commit_stays_utf8_under_an_iso_8859_1_setting(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Your setting is ISO-8859-1; the command's commit and our OP-EXEC commit are UTF-8."""
    repo.git("config", "i18n.commitEncoding", "ISO-8859-1")
    body = (
        "echo t > theirs.txt; git add theirs.txt; "
        "git -c i18n.commitEncoding=UTF-8 commit -qm 'café 名前'; echo more > more.txt"
    )
    made = _isolated_run_while_the_branch_moves(repo, tmp_path, body)
    assert len(made) >= 2  # the command's commit, and OP-EXEC for more.txt
    for oid in made:
        header, message = _raw(repo, oid)
        assert b"\nencoding " not in header, (header, message)
        message.decode("utf-8")
    assert "café 名前".encode() + b"\n" in [_raw(repo, oid)[1] for oid in made]
