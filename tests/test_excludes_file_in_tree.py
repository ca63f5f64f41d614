"""A `core.excludesFile` that is a file of the worktree (`.myignore` at the top, tracked, or an
untracked one in a folder, named relative to the top or by its whole path): git reads its
rules as it reads a `.gitignore`'s, and a checkpoint holds it and a restore writes it back like
any other file. An operation that made a file and hid it behind a rule it added there left the
file after its rollback: the capture of the state it left did not see it (git ignored it),
and the restore put the rule back, which showed it, one more untracked file nobody made
(unseen.py looked for rules changed in `.gitignore` files and `.git/info/exclude` only). It
goes now, as with a `.gitignore` (test_peer_reports, test_empty_folders), in every way back,
and `undo` brings it back. The oracle is the disk: every file's kind, bits and bytes."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

# (where the rule file is in the tree, how core.excludesFile names it, whether it is tracked)
PLACES = {
    "top-relative-tracked": (".myignore", ".myignore", True),
    "top-absolute-tracked": (".myignore", "{root}/.myignore", True),
    "folder-relative-untracked": ("conf/ign", "conf/ign", False),
    "dotted-path-tracked": ("conf/ign", "./conf/../conf/ign", True),
}


def disk(root: Path) -> dict[bytes, tuple[str, int, bytes]]:
    """Every entry under `root` but `.git`, by lstat, never through a link."""
    out: dict[bytes, tuple[str, int, bytes]] = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == base:
            dirnames[:] = [d for d in dirnames if d != b".git"]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rel = os.path.relpath(full, base)
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), b"")
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(full))
            else:
                with open(full, "rb") as fh:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), fh.read())
    return out


def setup(repo: GitRepo, place: str) -> str:
    """The rule file in the tree, named by core.excludesFile, and a file of yours it ignores
    (`yours.tmp`, never captured, never touched). Returns the rule file's path."""
    rel, configured, tracked = PLACES[place]
    repo.write(rel, b"*.tmp\n")
    if tracked:
        repo.git("add", rel)
        repo.git("commit", "-qm", "rules")
    repo.git("config", "core.excludesFile", configured.format(root=repo.path))
    repo.write("yours.tmp", b"yours\n")
    repo.write("notes.txt", b"untracked of yours\n")
    return rel


def hide(rule_file: str) -> str:
    """An operation's script: files made (one deep) and hidden behind rules it adds."""
    return (
        "mkdir -p made/deep && printf 'n\\n' > new.txt && printf 'd\\n' > made/deep/gen.out"
        f" && printf 'new.txt\\n*.out\\n' >> {rule_file} && printf 'x\\n' > README"
    )


def op_id(repo: GitRepo) -> str:
    ops = repo.atomic_json("log")["operations"]
    found: str = ops[0]["op_id"]
    return found


@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("how", ["failed-run", "kept-run", "abort", "rollback-op-effect"])
def test_files_an_operation_hid_behind_a_rule_of_the_excludes_file_go_with_it(
    repo: GitRepo, place: str, how: str
) -> None:
    rule_file = setup(repo, place)
    before = disk(repo.path)
    script = hide(rule_file)
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", f"{script}; exit 1", check=1)
    elif how == "kept-run":
        repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=0)
        repo.atomic("rollback", check=0)
    elif how == "abort":
        repo.atomic("begin", "hide", check=0)
        subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=True)
        repo.atomic("abort", check=0)
    else:  # its effect taken back on top of a later edit of yours
        repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
        repo.write("notes.txt", b"edited since\n")
        before[b"notes.txt"] = ("file", 0o644, b"edited since\n")
        repo.atomic("rollback", "--op", op_id(repo), check=0)
    after = disk(repo.path)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))
    # the rescue held what the rules hid: `undo` brings the operation's files back
    repo.atomic("undo", check=0)
    assert repo.read("new.txt") == b"n\n"
    assert repo.read("made/deep/gen.out") == b"d\n"
    assert repo.read("yours.tmp") == b"yours\n"


@pytest.mark.parametrize("place", ["top-relative-tracked", "folder-relative-untracked"])
def test_the_dry_run_names_the_files_the_rule_hid(repo: GitRepo, place: str) -> None:
    rule_file = setup(repo, place)
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", hide(rule_file))
    before = disk(repo.path)
    said = repo.atomic("rollback", "--dry-run", check=0).stdout
    assert disk(repo.path) == before
    assert "new.txt" in said and "made/deep/gen.out" in said, said
    assert "yours.tmp" not in said, said


def test_a_file_of_yours_the_rule_hid_before_the_operation_stays(repo: GitRepo) -> None:
    """The other side of the family: a file the rule hid before the operation (yours) is not
    the operation's, even where the operation changes the rules around it."""
    rule_file = setup(repo, "top-relative-tracked")
    before = disk(repo.path)
    repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        f"printf 'new.txt\\n' >> {rule_file}; echo n > new.txt; exit 1",
        check=1,
    )
    assert disk(repo.path) == before


@pytest.mark.parametrize("rules", [".gitignore", ".myignore", "conf/ign"])
@pytest.mark.parametrize("how", ["failed-run", "abort"])
def test_the_excludes_file_is_written_back_before_the_files_it_judges(
    repo: GitRepo, rules: str, how: str
) -> None:
    """An operation took a rule out of the worktree's excludes file and wrote to the file of
    yours it hid (`yours.log`, there before, never captured). The rollback deleted it: a
    restore writes the target's `.gitignore` files first, and judges by them which files the
    target lacks are ignored ones (yours, which stay), but wrote the excludes file with the
    rest, after that judgement. It is written with the `.gitignore` files now (one of them:
    the control)."""
    repo.write(rules, b"*.log\n")
    repo.git("add", rules)
    repo.git("commit", "-qm", "rules")
    if rules != ".gitignore":
        repo.git("config", "core.excludesFile", rules)
    repo.write("yours.log", b"yours\n")
    time.sleep(0.05)  # born before PRE-OP by more than the clock's grain
    before = disk(repo.path)
    script = f"printf '' > {rules} && echo more >> yours.log && echo n > new.txt"
    if how == "failed-run":
        repo.atomic("run", "--", "sh", "-c", f"{script}; exit 1", check=1)
    else:
        repo.atomic("begin", "rules", check=0)
        subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=True)
        repo.atomic("abort", check=0)
    after = disk(repo.path)
    # Yours, ignored by the rules put back: it stays, as the operation left it.
    before[b"yours.log"] = ("file", 0o644, b"yours\nmore\n")
    assert after == before, sorted(set(after.items()) ^ set(before.items()))
