"""A commit's subject shows its command as the shell takes it, and never a control character.

Met following the README's demo: its `run -- sed -i '1a\\    ...' calc.py` was committed
with a subject whose four spaces inside the quotes were one, quotes kept, spaces squeezed:
a command that reads as pasteable and is not the one that ran. `tdd` kept those spaces, but wrote
its subject raw: an ESC of its command or of `-m` sat in the commit's message, where the README
promises `\\xNN`. One repository, each case a commit; the oracle is the commit object's bytes.
"""

from __future__ import annotations

import shlex

from testing.gitrepo import GitRepo


def _subject(repo: GitRepo) -> str:
    return repo.git("log", "-1", "--format=%s").rstrip("\n")


def test_run_and_tdd_subjects_keep_the_commands_spaces_and_escape_its_controls(
    repo: GitRepo,
) -> None:
    repo.write("a.txt", b"a\n")
    repo.write(".git-atomic.toml", b'[tdd]\ntest = "true"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")

    spaced = ["sh", "-c", "echo a    b > two.txt"]
    repo.atomic("run", "-n", "r", "--", *spaced, check=0)
    assert _subject(repo) == f"OP-EXEC: r - {shlex.join(spaced)}"
    repo.atomic("tdd", "green", "--", "sh", "-c", "echo c    d > three.txt", check=0)
    assert _subject(repo) == "GREEN: sh -c 'echo c    d > three.txt'"

    for args, want in [
        (["--", "sh", "-c", "echo \x1b[31m > 4.txt"], "GREEN: sh -c 'echo \\x1b[31m > 4.txt'"),
        (["-m", "ring\x07 it", "--", "sh", "-c", "echo 5 > five.txt"], "GREEN: ring\\x07 it"),
    ]:
        repo.atomic("tdd", "green", *args, check=0)
        raw = repo.git("cat-file", "commit", "HEAD")
        assert "\x1b" not in raw and "\x07" not in raw, raw
        assert _subject(repo) == want
    # A message of paragraphs stays one: its first line the subject, the rest the body.
    repo.atomic("tdd", "green", "-m", "first\n\nmore", "--", "sh", "-c", ": > six.txt", check=0)
    assert _subject(repo) == "GREEN: first"
    assert repo.git("log", "-1", "--format=%b").startswith("more\n")
