"""Peers' reports on names git prints quoted, played against git-atomic: Aider's repository
map took git's octal-quoted `doc/f\\303\\244nny_dirname/README.md` for a path and crashed
(Aider-AI/aider#82), editors' git panels that staged nothing for `café.txt` and said it
worked (nextpad-plus-plus/nextpad-plus-plus-macos#256, coollabsio/jean#647: checkpoints and
diffs of such names came back empty). With `core.quotePath` on (git's default, set here
explicitly), an operation that edits, makes, renames and deletes files whose names are not
ASCII (a name in NFC beside yours in NFD, which Linux keeps apart) is taken back by
`rollback --op` after a file of yours, `undo` makes it again, and the JSON answer names the
paths as they are on disk. The oracle: the disk by lstat, byte for byte."""

from __future__ import annotations

import unicodedata

from testing.gitrepo import GitRepo
from testing.oracle import disk

NFC = unicodedata.normalize("NFC", "café.txt")
NFD = unicodedata.normalize("NFD", "café.txt")


def test_names_git_quotes_are_taken_back_and_named_raw(repo: GitRepo) -> None:
    """Tracked `doc/fänny_dirname/README.md` edited, `日本語.md` renamed to `日本語 2.md`,
    `naïve ✓.txt` deleted, a new `café.txt` in NFC beside your untracked one in NFD, a new
    folder `données/`: the rollback gives back each, leaves your NFD file and your later file,
    undo brings the operation's result back."""
    repo.git("config", "core.quotePath", "true")
    for name, data in (("doc/fänny_dirname/README.md", b"r\n"), ("日本語.md", b"j\n")):
        repo.write(name, data)
    repo.write("naïve ✓.txt", b"n\n", mode=0o755)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "names")
    repo.write(NFD, b"yours, decomposed\n")
    before = disk(repo.path, modes=True)
    script = (
        "echo edit >> 'doc/fänny_dirname/README.md' && git mv 日本語.md '日本語 2.md'"
        f" && rm 'naïve ✓.txt' && echo op > '{NFC}' && mkdir données && echo d > données/x"
    )
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    after = disk(repo.path, modes=True)
    assert after[NFD.encode()] == before[NFD.encode()] and NFC.encode() in after
    repo.write("later.txt", b"yours\n")
    answer = repo.atomic_json("rollback", "--op", out["op_id"])
    named = repr(answer)
    assert "données" in named and "\\303" not in named, named
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    assert now == before
    assert repo.git("status", "--porcelain", "-z").split("\0").count(f"?? {NFD}") == 1
    repo.atomic("undo", check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    assert now == after
