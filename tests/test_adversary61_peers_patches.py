"""Peers' reports on an agent's patch tool and on ignore rules a tool read its own way, played
against git-atomic: Codex's `apply_patch`, whose `Add File` wrote over a file that was there
(openai/codex#25399) and whose `Move to` naming the file itself deleted it
(openai/codex#6358, fixed in openai/codex#6552); and rules under a folder a rule already
ignores, which git never reads (jj-vcs/jj#1785: a `node_modules/` subfolder; libgit2/libgit2
#7283: a negation that re-included a file under an ignored folder). The oracle is the disk:
bytes and modes by lstat."""

from __future__ import annotations

from testing.agents import shell_turn
from testing.gitrepo import GitRepo
from testing.oracle import disk


def test_a_patch_that_wrote_over_moved_onto_and_deleted_files_is_taken_back(
    repo: GitRepo,
) -> None:
    """One call of a turn plays what those patches did: `Add File` over your untracked
    `notes.txt`, `Move to` of the tracked `a.py` onto your untracked `b.py` with an edit, and a
    self-move that left `c.py` deleted. The gate fails: the take-back at Stop gives each file
    its bytes and mode back, yours and the tracked ones. Kept instead, `rollback --op` of the
    turn after a file of yours does the same and leaves that file."""
    repo.write("a.py", b"a = 1\n")
    repo.write("c.py", b"c = 1\n", mode=0o755)
    repo.git("add", "a.py", "c.py")
    repo.git("commit", "-qm", "py")
    repo.write("notes.txt", b"your notes\n", mode=0o600)
    repo.write("b.py", b"your b\n")
    before = disk(repo.path, modes=True)
    patch = "printf 'added\\n' > notes.txt && sed 's/1/2/' a.py > b.py && rm a.py && rm c.py"
    answer = shell_turn(repo, patch, "echo x > bad")
    assert answer.get("decision") == "block", answer
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    assert now == before
    kept = shell_turn(repo, patch)
    assert kept.get("decision") != "block", kept
    assert repo.read("b.py") == b"a = 2\n" and not repo.exists("c.py")
    op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", op_id, check=0)
    now = disk(repo.path, modes=True)
    now.pop(b".git-atomic.toml")
    assert now.pop(b"later.txt")[1] == b"yours\n" and now == before


def test_rules_git_never_reads_under_an_ignored_folder_decide_nothing(repo: GitRepo) -> None:
    """`build/` ignored with `!build/keep.txt` after it (inert: the folder is excluded),
    `node_modules/` ignored with a `.gitignore` inside it that re-includes everything
    (never read), `logs/*` with `!logs/keep.txt` (read: the folder itself is not excluded).
    An operation writes a file at each; `rollback --op` after your later file removes only
    `logs/keep.txt` and `sub/important.tmp` (the files git lists) and leaves every ignored one
    with its bytes; `undo` brings the two back."""
    repo.write(".gitignore", b"build/\n!build/keep.txt\nnode_modules/\nlogs/*\n!logs/keep.txt\n")
    repo.write("sub/.gitignore", b"*.tmp\n!important.tmp\n")
    repo.write("node_modules/.gitignore", b"!*\n")
    repo.git("add", ".gitignore", "sub/.gitignore")
    repo.git("commit", "-qm", "rules")
    before = disk(repo.path, modes=True)
    made = [
        "build/keep.txt",
        "build/o.bin",
        "node_modules/pkg/index.js",
        "logs/keep.txt",
        "logs/run.log",
        "sub/a.tmp",
        "sub/important.tmp",
    ]
    script = "mkdir -p build logs node_modules/pkg sub && " + " && ".join(
        f"echo made > {p}" for p in made
    )
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    now = disk(repo.path, modes=True)
    assert now.pop(b"later.txt")[1] == b"yours\n"
    listed = {b"logs/keep.txt", b"sub/important.tmp"}
    for p in made:
        if p.encode() not in listed:
            assert now.pop(p.encode())[1] == b"made\n", p
    assert {k: v for k, v in now.items() if v != ("dir",)} == {
        k: v for k, v in before.items() if v != ("dir",)
    }
    repo.atomic("undo", check=0)
    assert repo.read("logs/keep.txt") == b"made\n" and repo.read("sub/important.tmp") == b"made\n"


def test_a_file_a_turn_made_and_the_next_deleted_comes_back(
    repo: GitRepo,
) -> None:
    """anthropics/claude-code#34368 (a rewind past the turn that deleted a file the session
    had made did not bring it back) and #91733 (an untracked file made by one turn and edited
    by the next was not reverted). A kept turn makes `new.txt` and `edit.txt`; the next one
    edits `edit.txt` and deletes `new.txt`; a third makes and deletes a scratch folder, an
    effect of nothing, and is no operation in the log. `rollback --op` of the second, after
    a file of yours, gives both files the bytes the first left, and leaves yours."""
    made = "printf 'v1\\n' > new.txt && printf 'e1\\n' > edit.txt"
    assert shell_turn(repo, made).get("decision") != "block"
    assert shell_turn(repo, "printf 'e2\\n' > edit.txt && rm new.txt").get("decision") != "block"
    ops = [o["op_id"] for o in repo.atomic_json("log")["operations"]]
    repo.write("yours.txt", b"yours\n")
    nothing = "mkdir -p scratch/d && echo t > scratch/d/t && rm -rf scratch"
    assert shell_turn(repo, nothing).get("decision") != "block"
    assert [o["op_id"] for o in repo.atomic_json("log")["operations"]] == ops
    repo.atomic("rollback", "--op", ops[0], check=0)
    assert repo.read("new.txt") == b"v1\n" and repo.read("edit.txt") == b"e1\n"
    assert repo.read("yours.txt") == b"yours\n" and not repo.exists("scratch")
