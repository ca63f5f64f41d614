"""A checkpoint's commit message is ours, written in UTF-8: it is labelled UTF-8 whatever your
`i18n.commitEncoding` says (git's t3900-i18n-commit: the setting names the encoding of the
bytes a commit holds). Before, with `ISO-8859-1` there, each checkpoint carried an `encoding
ISO-8859-1` header over UTF-8 bytes, and a log in that encoding showed a name garbled."""

from __future__ import annotations

import subprocess

import pytest

from testing.gitrepo import GitRepo


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "EUC-JP"])
def test_a_checkpoint_commit_is_labelled_utf8(repo: GitRepo, encoding: str) -> None:
    repo.git("config", "i18n.commitEncoding", encoding)
    repo.write("README", "é, 名前\n".encode())
    repo.atomic("begin", "name é 名前", check=0)
    refs = repo.checkpoint_refs("%(objectname) %(objecttype)").split()
    commits = [oid for oid, kind in zip(refs[::2], refs[1::2], strict=True) if kind == "commit"]
    assert commits
    for oid in commits:
        raw = subprocess.run(
            ["git", "cat-file", "commit", oid], cwd=repo.path, env=repo.env, capture_output=True
        ).stdout
        header = raw.partition(b"\n\n")[0]
        assert b"\nencoding " not in header, header
        raw.partition(b"\n\n")[2].decode("utf-8")  # the message's bytes are UTF-8
    repo.atomic("abort", check=0)
    assert repo.read("README") == "é, 名前\n".encode()


def test_a_commits_mode_runs_commits_are_labelled_utf8(repo: GitRepo) -> None:
    """The OP-EXEC and POST-OP commits a `--history commits` run puts on your branch: their
    messages are ours, in UTF-8."""
    repo.git("config", "i18n.commitEncoding", "ISO-8859-1")
    head = repo.git("rev-parse", "HEAD").strip()
    repo.atomic(
        "run", "--history", "commits", "--no-gates", "--", "sh", "-c", "echo é > f.txt", check=0
    )
    made = repo.git("rev-list", f"{head}..HEAD").split()
    assert made, "the run committed"
    for oid in made:
        raw = subprocess.run(
            ["git", "cat-file", "commit", oid], cwd=repo.path, env=repo.env, capture_output=True
        ).stdout
        assert b"\nencoding " not in raw.partition(b"\n\n")[0], raw
    assert repo.read("f.txt") == "é\n".encode()
