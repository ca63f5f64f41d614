"""Peers' reports on names that break a tool's lines, played against git-atomic:
desktop/desktop#3271 (a path holding a newline split GitHub Desktop's reading of `git status`
into two bogus entries) and git's own `core.quotePath`, which exists because a name may hold
any byte but `/` and NUL. Our contract is one line per failure, warning or note: a newline,
tab or ESC a name brings is written `\\xNN` in what we say, never put on the terminal as it is;
the bytes on disk stay exactly the name's."""

from __future__ import annotations

import os
import re

from testing.gitrepo import GitRepo

# A name with a newline, a tab, ESC (a terminal's escape) and a backslash and quote.
ODD = 'x\ny\t\x1b[31mz\\".txt'
ODD_SHOWN = "x\\x0ay\\x09\\x1b[31mz"


def said_lines(text: str) -> list[str]:
    """Each line of what was said; every one starts as ours does."""
    lines = text.splitlines()
    assert lines, text
    for line in lines:
        assert line.startswith(("git-atomic: ", "overlap ")), repr(text)
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), repr(line)
    return lines


def commit_all(repo: GitRepo) -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")


def test_an_overlap_refused_names_the_file_in_one_line(repo: GitRepo) -> None:
    """`rollback --op` of an operation whose change you edited on top of since: refused,
    exit 3, nothing changed. Its line (and the dry run's listing) names the file with its
    newline and tab escaped, as one line."""
    (repo.path / ODD).write_bytes(b"one\n")
    commit_all(repo)
    script = 'printf "two\\n" > "$ODD"'
    out = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", script, env={"ODD": ODD})
    (repo.path / ODD).write_bytes(b"three\n")
    for dry in ([], ["--dry-run"]):
        res = repo.atomic("rollback", "--op", out["op_id"], *dry, check=3)
        assert len(said_lines(res.stderr)) == 1, res.stderr
        assert ODD_SHOWN in res.stderr, res.stderr
        if dry:
            assert len(said_lines(res.stdout)) == 1, res.stdout
    assert (repo.path / ODD).read_bytes() == b"three\n"


def test_a_large_file_not_held_is_named_in_one_line(repo: GitRepo) -> None:
    """A new file over `max_new_file_size` named before the command and, once the command
    deleted it, by the rollback: each warning one line, the name escaped."""
    (repo.path / ODD).write_bytes(os.urandom(11 * 1024 * 1024))
    script = 'rm -f "$ODD"; exit 1'
    res = repo.atomic("run", "--", "sh", "-c", script, env={"ODD": ODD}, check=1)
    lines = said_lines(res.stderr)
    assert sum(ODD_SHOWN in line for line in lines) == 2, res.stderr


def test_a_path_refused_by_a_selective_rollback_is_one_line(repo: GitRepo) -> None:
    """`rollback --to CHECKPOINT -- PATH` with a path outside the repository holding a
    newline: exit 2 or 3, one line, the path escaped."""
    out = repo.atomic_json("run", "--no-gates", "--", "sh", "-c", "echo x > a.txt")
    pre = out["checkpoints"]["pre_op"]
    res = repo.atomic("rollback", "--to", pre, "--", "/etc/" + ODD, check=None)
    assert res.returncode in (2, 3), res.stderr
    assert len(said_lines(res.stderr)) == 1, res.stderr
    assert "/etc/" + ODD_SHOWN in res.stderr, res.stderr
