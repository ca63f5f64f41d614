"""Effect, not state (issue 15): rollback and undo take back or re-apply an operation's effect,
on top of what others did since; an overlap changes nothing; a whole state only by name."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo, State

MODES = ("commits", "shadow")
TEXT = b"".join(b"line %d\n" % i for i in range(1, 10))


def same(a: State, b: State) -> None:
    assert a == b, "\n".join(a.diff(b))


def with_line(data: bytes, n: int, text: bytes) -> bytes:
    lines = data.split(b"\n")
    lines[n - 1] = text
    return b"\n".join(lines)


def shared(repo: GitRepo) -> None:
    repo.write("shared.txt", TEXT)
    repo.git("add", "shared.txt")
    repo.git("commit", "-qm", "shared")


def commit(repo: GitRepo, path: str, data: bytes, message: str) -> None:
    repo.write(path, data)
    repo.git("add", path)
    repo.git("commit", "-qm", message)


@pytest.mark.parametrize("mode", MODES)
def test_undo_never_moves_a_branch_back_over_later_commits(repo: GitRepo, mode: str) -> None:
    """The issue's first scenario: a failed operation is rolled back; the user then makes three
    commits and writes notes.txt; `undo` used to move main back over the three commits and
    delete notes.txt. Now the branch stays, notes.txt stays, the operation's change comes back."""
    shared(repo)
    script = "echo op > op.txt; sed -i 's/line 2/op/' shared.txt; exit 1"
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script, check=1)
    assert res["status"] == "rolled_back"
    for i in range(3):
        commit(repo, f"user{i}.txt", b"%d\n" % i, f"user commit {i}")
    tip = repo.head()
    repo.write("notes.txt", b"my notes\n")
    dry = repo.atomic_json("undo", "--dry-run")
    assert dry["branches"] == [] and dry["dropped_commits"] == []
    repo.atomic("undo", check=0)
    assert repo.head() == tip
    assert repo.git("rev-parse", "main").strip() == tip
    assert repo.read("notes.txt") == b"my notes\n"
    assert [repo.read(f"user{i}.txt") for i in range(3)] == [b"0\n", b"1\n", b"2\n"]
    assert repo.read("op.txt") == b"op\n"
    assert repo.read("shared.txt") == with_line(TEXT, 2, b"op")
    # And again: the undo is taken back in turn, the user's work still there.
    repo.atomic("undo", check=0)
    assert repo.head() == tip and repo.read("notes.txt") == b"my notes\n"
    assert not repo.exists("op.txt") and repo.read("shared.txt") == TEXT


@pytest.mark.parametrize("mode", MODES)
def test_rollback_keeps_other_writers_changes(repo: GitRepo, mode: str) -> None:
    """After the operation: the user edits another file, a second session adds one. Rolling
    the operation back takes its change back, and theirs stay, byte for byte."""
    shared(repo)
    op = repo.atomic_json(
        "run", "--history", mode, "--", "sh", "-c", "echo op > op.txt; echo op >> README"
    )
    repo.write("shared.txt", with_line(TEXT, 5, b"user"))  # the user, another file
    repo.write("docs.md", b"session B\n")  # a second session's new file
    others = {p: repo.read(p) for p in ("shared.txt", "docs.md")}
    res = repo.atomic_json("rollback", "--op", op["op_id"])
    assert res["status"] == "rolled_back"
    assert {c["path"] for c in res["changes"]} == {"op.txt", "README"}
    assert {p: repo.read(p) for p in others} == others
    assert not repo.exists("op.txt") and repo.read("README") == b"hello\n"
    assert repo.git("rev-parse", "HEAD").strip() == repo.git("rev-parse", "main").strip()
    assert repo.atomic_json("show", op["op_id"])["status"] == "rolled_back"
    # undo re-applies the operation's effect, theirs still intact.
    repo.atomic("undo", check=0)
    assert {p: repo.read(p) for p in others} == others
    assert repo.read("op.txt") == b"op\n" and repo.read("README") == b"hello\nop\n"
    assert repo.atomic_json("show", op["op_id"])["status"] == "committed"


@pytest.mark.parametrize("mode", MODES)
def test_the_same_hunk_is_refused_and_nothing_changes(repo: GitRepo, mode: str) -> None:
    shared(repo)
    op = repo.atomic_json(
        "run", "--history", mode, "--", "sh", "-c", "sed -i 's/line 3/op/' shared.txt"
    )
    repo.write("shared.txt", with_line(with_line(TEXT, 3, b"op"), 3, b"user, over it"))
    before, refs = repo.fingerprint(), repo.checkpoint_refs()
    dry = repo.atomic("rollback", "--op", op["op_id"], "--dry-run", check=3)
    assert dry.stdout == "overlap shared.txt: content (near line 3), in the files\n"
    assert "nothing changed" in dry.stderr
    res = repo.atomic("rollback", "--op", op["op_id"], check=3)
    assert "shared.txt: content (near line 3)" in res.stderr
    assert f"rollback --op {op['op_id']} --whole" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1
    same(repo.fingerprint(), before)
    assert repo.checkpoint_refs() == refs
    assert repo.atomic_json("show", op["op_id"])["status"] == "committed"


def test_a_refusal_shows_each_side_of_a_file_that_exists_there(repo: GitRepo) -> None:
    """The operation deleted gone.txt, the user wrote it again: the hint's `git show` of the
    operation's side would only fail, so it says the file is absent there; the other side's
    command works."""
    commit(repo, "gone.txt", b"gone\n", "gone")
    op = repo.atomic_json("run", "--history", "shadow", "--", "rm", "gone.txt")
    repo.write("gone.txt", b"back, different\n")
    before = repo.fingerprint()
    res = repo.atomic("rollback", "--op", op["op_id"], check=3)
    same(repo.fingerprint(), before)
    shown = re.findall(r"`git show ([0-9a-f]+:files/gone.txt)`", res.stderr)
    assert len(shown) == 1 and repo.git("show", shown[0]) == "gone\n"
    assert re.search(r"no gone.txt at [0-9a-f]{12} \(after the effect", res.stderr)


@pytest.mark.parametrize("mode", MODES)
def test_the_same_file_in_other_hunks_is_merged(repo: GitRepo, mode: str) -> None:
    shared(repo)
    repo.atomic("run", "--history", mode, "--", "sh", "-c", "sed -i 's/line 2/op/' shared.txt")
    repo.write("shared.txt", with_line(with_line(TEXT, 2, b"op"), 8, b"user"))
    repo.git("add", "shared.txt")  # staged by the user: the index is merged as well
    repo.atomic("rollback", check=0)
    assert repo.read("shared.txt") == with_line(TEXT, 8, b"user")
    # The index is merged by the same rule: in commits mode the operation's change was in it
    # (its commit) and goes; in shadow mode it never was, and what the user staged stays.
    staged = (
        with_line(TEXT, 8, b"user")
        if mode == "commits"
        else (with_line(with_line(TEXT, 2, b"op"), 8, b"user"))
    )
    assert repo.git("show", ":shared.txt").encode() == staged
    repo.atomic("undo", check=0)
    assert repo.read("shared.txt") == with_line(with_line(TEXT, 2, b"op"), 8, b"user")


@pytest.mark.parametrize("head", ["branch", "alias"])
def test_later_commits_stay_when_the_operation_committed(repo: GitRepo, head: str) -> None:
    """Commits mode, the user committed on top of the operation's commits: the branch stays,
    the operation's change is taken back in the files and the index, and the message says so.
    `alias`: HEAD on a symbolic ref among the branches that leads to the branch."""
    shared(repo)
    if head == "alias":
        repo.git("symbolic-ref", "refs/heads/alias", "refs/heads/main")
        repo.git("symbolic-ref", "HEAD", "refs/heads/alias")
    op = repo.atomic_json("run", "--", "sh", "-c", "echo op > op.txt")
    commit(repo, "user.txt", b"u\n", "the user's commit")
    tip = repo.head()
    res = repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert "branch main has moved since" in res.stderr
    assert "the change is made in the files and the index instead" in res.stderr, res.stderr
    assert repo.head() == tip and not repo.exists("op.txt")
    assert repo.git("status", "--porcelain") == "D  op.txt\n"


@pytest.mark.parametrize("where", ["not-checked-out", "other-worktree"])
def test_a_branch_not_checked_out_here_that_moved_since_stays_and_says_so(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """The operation moved a branch this worktree does not have checked out, and someone moved
    it again: it stays, and nothing of it is in this worktree's files (the message said the
    change was made in the files and the index instead)."""
    shared(repo)
    other = tmp_path / "wt"
    if where == "other-worktree":
        repo.git("worktree", "add", "-q", "-b", "side", str(other))
    else:
        repo.git("branch", "side")
    base = repo.head()
    move = "git commit-tree -p side -m op side^{tree} | xargs git update-ref refs/heads/side"
    op = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", f"echo op > op.txt; {move}"
    )
    moved = repo.git("rev-parse", "side").strip()
    assert moved != base
    repo.git(
        "update-ref",
        "refs/heads/side",
        repo.git("commit-tree", "-p", moved, "-m", "user", f"{moved}^{{tree}}").strip(),
    )
    tip = repo.git("rev-parse", "side").strip()
    res = repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert "branch side has moved since" in res.stderr, res.stderr
    assert "and what the change did to it stays" in res.stderr
    assert "in the files and the index instead" not in res.stderr
    assert not repo.exists("op.txt") and repo.git("rev-parse", "side").strip() == tip
    assert repo.head() == base


def test_whole_dry_run_lists_the_commits_and_files_it_would_drop(repo: GitRepo) -> None:
    shared(repo)
    before = repo.fingerprint()
    op = repo.atomic_json("run", "--", "sh", "-c", "echo op > op.txt")
    commit(repo, "user.txt", b"u\n", "the user's commit")
    repo.write("notes.txt", b"notes\n")
    now, refs = repo.fingerprint(), repo.checkpoint_refs()
    res = repo.atomic("rollback", "--op", op["op_id"], "--whole", "--dry-run", check=0)
    lines = res.stdout.splitlines()
    assert {"delete  op.txt", "delete  user.txt", "delete  notes.txt"} <= set(lines)
    dropped = [line for line in lines if line.startswith("drop")]
    assert len(dropped) == 2 and "the user's commit (main)" in dropped[0]
    assert "OP-EXEC: sh" in dropped[1]
    assert "drop 2 commits" in res.stderr
    same(repo.fingerprint(), now)
    assert repo.checkpoint_refs() == refs
    repo.atomic("rollback", "--op", op["op_id"], "--whole", check=0)
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), now)


def test_emergency_dry_run_lists_the_commits_it_would_drop(repo: GitRepo) -> None:
    """`emergency` is a whole-state request by nature: its dry run says what it would drop."""
    repo.atomic("run", "--", "sh", "-c", "echo good > good.txt", check=0)
    commit(repo, "later.txt", b"later\n", "a later commit")
    now = repo.fingerprint()
    res = repo.atomic("emergency", "--dry-run", check=0)
    assert "delete  later.txt" in res.stdout.splitlines()
    assert any(
        line.startswith("drop") and "a later commit (main)" in line
        for line in res.stdout.splitlines()
    )
    assert "drop 1 commit" in res.stderr
    same(repo.fingerprint(), now)


def test_a_committed_session_with_staged_work_rolls_back_exactly(repo: GitRepo) -> None:
    """Commits mode: the POST-OP checkpoint is captured before its commit moves the branch and
    merges the commit into the index, so the state the operation left is worked out from the
    commit (effect.end_state). Nothing changed since: the rollback is exact, index included."""
    shared(repo)
    repo.write("shared.txt", with_line(TEXT, 8, b"staged by you"))
    repo.git("add", "shared.txt")
    repo.write("README", b"yours, unstaged\n")
    before = repo.fingerprint()
    op = repo.atomic_json("begin", "session", "--history", "commits")
    repo.write("shared.txt", with_line(with_line(TEXT, 8, b"staged by you"), 2, b"op"))
    repo.write("op.txt", b"op\n")
    repo.atomic("commit", "--no-gates", check=0)
    res = repo.atomic_json("rollback")
    assert res["target"]["label"].startswith("PRE-OP"), res["target"]
    assert res["op_id"] == op["op_id"]
    same(repo.fingerprint(), before)


def _op_on_shared(repo: GitRepo, attribute: bytes, line: int) -> dict[str, Any]:
    """shared.txt under `attribute`, and a kept operation that rewrote its line `line`."""
    repo.write(".gitattributes", b"shared.txt " + attribute + b"\n")
    repo.git("add", ".gitattributes")
    shared(repo)
    script = f"sed -i 's/line {line}/op/' shared.txt"
    return repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", script)


@pytest.mark.parametrize("driver", ["union", "keep", "k=eep"])
def test_a_merge_attribute_never_keeps_the_effect_it_was_to_take_back(
    repo: GitRepo, driver: str
) -> None:
    """`merge=union` (built in) or a configured driver (`merge.keep.driver = true`, a common
    "keep ours" idiom; t0021: one named `k=eep`, which no `-c` can name) used to make the overlap
    merge "cleanly": the rollback said the effect was taken back and left the operation's line
    in the file, as if it were the user's. The effect is merged as text whatever the attributes
    say: the same hunk is refused, nothing changed."""
    repo.git("config", "merge.keep.driver", "true")
    repo.git("config", "merge.k=eep.driver", "true")
    op = _op_on_shared(repo, b"merge=" + driver.encode(), 3)
    repo.write("shared.txt", with_line(with_line(TEXT, 3, b"op"), 4, b"user, next to it"))
    before = repo.fingerprint()
    res = repo.atomic("rollback", "--op", op["op_id"], check=3)
    assert "shared.txt: content" in res.stderr
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("mode", MODES)
def test_info_exclude_rules_are_taken_back_line_by_line(repo: GitRepo, mode: str) -> None:
    """An operation that adds a rule to .git/info/exclude and makes a file it hides: taking its
    effect back removes its rule and its file; a rule the user added since, and the file it
    hides, stay. The file outside the repository that info/ is later made a link to is never
    read or written."""
    exclude = repo.path / ".git" / "info" / "exclude"
    exclude.write_bytes(b"# mine\nsecret/\n")
    repo.write("user.log", b"u\n")
    script = "printf '*.log\\n' >> .git/info/exclude; echo x > debug.log; echo y > op.txt"
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script, check=0)
    op = res["op_id"]
    exclude.write_bytes(b"*.tmp\n" + exclude.read_bytes())
    repo.write("later.tmp", b"later\n")
    repo.atomic("rollback", "--op", op, check=0)
    assert exclude.read_bytes() == b"*.tmp\n# mine\nsecret/\n"
    assert not (repo.path / "debug.log").exists() and not (repo.path / "op.txt").exists()
    assert repo.read("user.log") == b"u\n" and repo.read("later.tmp") == b"later\n"
    repo.atomic("undo", check=0)
    assert exclude.read_bytes() == b"*.tmp\n# mine\nsecret/\n*.log\n"
    assert repo.read("debug.log") == b"x\n" and repo.read("op.txt") == b"y\n"
    assert repo.read("user.log") == b"u\n" and repo.read("later.tmp") == b"later\n"


def test_info_exclude_made_a_link_is_never_followed(repo: GitRepo, tmp_path: Path) -> None:
    """An operation that makes .git/info a link to a folder outside: git would read its rules
    there, so the capture refuses (exit 3, nothing read or changed, the operation interrupted:
    tests/test_hostile_tree.py); once the link is gone, `recover` writes the repository's
    rules back; the file outside is byte for byte as it was."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "exclude").write_bytes(b"outside\n")
    info = repo.path / ".git" / "info"
    before = (info / "exclude").read_bytes()
    script = f"rm -rf .git/info && ln -s {outside} .git/info && echo y > op.txt; exit 1"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=3)
    assert (outside / "exclude").read_bytes() == b"outside\n"
    info.unlink()
    repo.atomic("recover", check=0)
    assert (outside / "exclude").read_bytes() == b"outside\n"
    assert not (repo.path / "op.txt").exists()
    assert info.is_dir() and not info.is_symlink()
    assert (info / "exclude").read_bytes() == before


def test_a_file_folder_overlap_names_the_path_itself(repo: GitRepo) -> None:
    """merge-tree names one side of a file/directory overlap `path~<id>`, in no tree of yours:
    the refusal names the path, and its hint's `git show` works (adversarial review)."""
    repo.write("tofolder", b"t\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a file")
    repo.atomic_json(
        "run",
        "--history",
        "shadow",
        "--no-gates",
        "--",
        "sh",
        "-c",
        "rm tofolder; mkdir tofolder; echo op > tofolder/op",
    )
    repo.write("tofolder/user.txt", b"user\n")  # yours, in the folder the operation made
    res = repo.atomic_json("rollback", check=3)
    assert [c["path"] for c in res["conflicts"]] == ["tofolder"]
    assert "~" not in res["error"] + res["hint"]
    assert repo.read("tofolder/user.txt") == b"user\n"


@pytest.mark.parametrize("attribute", ["merge=binary", "-merge"])
def test_a_binary_merge_attribute_on_a_text_file(repo: GitRepo, attribute: str) -> None:
    """`merge=binary` names a driver, merged as text like every other (hunks apart merge);
    `-merge` (and the `binary` macro) has git take the file whole, which no option changes:
    any change on both sides is then an overlap, refused with nothing changed."""
    op = _op_on_shared(repo, attribute.encode(), 2)
    repo.write("shared.txt", with_line(with_line(TEXT, 2, b"op"), 9, b"user, far away"))
    before = repo.fingerprint()
    if attribute == "merge=binary":
        repo.atomic("rollback", "--op", op["op_id"], check=0)
        assert repo.read("shared.txt") == with_line(TEXT, 9, b"user, far away")
    else:
        res = repo.atomic("rollback", "--op", op["op_id"], check=3)
        assert "shared.txt: binary" in res.stderr, res.stderr
        same(repo.fingerprint(), before)


# --- a file the operation hid behind a rule it added (peers: a restore that reverted a
# .gitignore lost the untracked files it had hidden) ----------------------------------------
HIDE = {
    "gitignore": "echo notes.txt >> .gitignore",
    "info/exclude": "echo notes.txt >> .git/info/exclude",
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("how", sorted(HIDE))
@pytest.mark.parametrize("take_back", ["rollback", "rollback --op", "rollback --op, later op"])
def test_a_file_the_operation_hid_keeps_your_later_edit(
    repo: GitRepo, mode: str, how: str, take_back: str
) -> None:
    """The operation only added a rule that hides your untracked file; you edit the file
    afterwards. Taking the operation back takes the rule back and leaves your file as you left
    it (it was written over with its bytes from before the operation, exit 0, "exactly its
    PRE-OP state"); `undo` puts the rule back, your file still yours."""
    repo.write("notes.txt", b"precious\n")
    op = repo.atomic_json("run", "-n", "hide", "--history", mode, "--", "sh", "-c", HIDE[how])
    repo.write("notes.txt", b"precious\nyour later edit\n")
    if take_back.endswith("later op"):
        repo.atomic("run", "-n", "later", "--history", mode, "--", "sh", "-c", "echo x > x")
    args = ["rollback"] if take_back == "rollback" else ["rollback", "--op", op["op_id"]]
    dry = repo.atomic(*args, "--dry-run", check=0).stdout
    assert not re.search(r"^\w+ +notes\.txt$", dry, re.M), dry
    repo.atomic(*args, check=0)
    assert repo.read("notes.txt") == b"precious\nyour later edit\n"
    rules = repo.path / (".git/info/exclude" if how == "info/exclude" else ".gitignore")
    assert b"notes.txt" not in (rules.read_bytes() if rules.exists() else b"")
    repo.atomic("undo", check=0)
    assert b"notes.txt" in rules.read_bytes()
    assert repo.read("notes.txt") == b"precious\nyour later edit\n"
    repo.atomic("undo", check=0)  # and the rollback again: nothing changed since
    assert b"notes.txt" not in (rules.read_bytes() if rules.exists() else b"")
    assert repo.read("notes.txt") == b"precious\nyour later edit\n"


def test_a_file_the_operation_hid_and_changed_goes_back(repo: GitRepo) -> None:
    """What the operation itself wrote into the file it hid is its effect: taken back."""
    repo.write("notes.txt", b"precious\n")
    script = "echo notes.txt >> .gitignore; echo 'by the operation' >> notes.txt"
    repo.atomic("run", "-n", "hide", "--history", "shadow", "--", "sh", "-c", script, check=0)
    repo.atomic("rollback", check=0)
    assert repo.read("notes.txt") == b"precious\n"
    assert not repo.exists(".gitignore")
    # What `undo` wrote again of it is its effect too: taken back again.
    repo.atomic("undo", check=0)
    assert repo.read("notes.txt") == b"precious\nby the operation\n"
    repo.atomic("rollback", check=0)
    assert repo.read("notes.txt") == b"precious\n"


# --- renames: an effect is what happened at each path (git's merge follows renames) ----------
ONE = b"one\n1\n2\n3\nfour\n5\n6\n7\n"


def _base(repo: GitRepo) -> None:
    repo.write("a.txt", ONE)
    repo.write("other.txt", b"other\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")


def test_undo_never_carries_the_change_into_your_renamed_file(repo: GitRepo) -> None:
    _base(repo)
    repo.atomic("run", "--", "sh", "-c", "sed -i s/one/ONE/ a.txt; exit 1", check=1)
    os.rename(repo.path / "a.txt", repo.path / "notes.txt")  # yours, after the rollback
    res = repo.atomic("undo", check=3)
    assert "a.txt: modify/delete" in res.stderr, res.stderr
    assert repo.read("notes.txt") == ONE and not repo.exists("a.txt")


@pytest.mark.parametrize("mode", MODES)
def test_rollback_never_takes_back_in_your_renamed_file(repo: GitRepo, mode: str) -> None:
    _base(repo)
    script = "sed -i s/one/ONE/ a.txt"
    repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=0)
    os.rename(repo.path / "a.txt", repo.path / "mine.txt")
    res = repo.atomic("rollback", check=3)
    assert "a.txt: modify/delete" in res.stderr, res.stderr
    assert repo.read("mine.txt").startswith(b"ONE\n")


def test_undo_never_moves_your_edit_to_the_operations_new_name(repo: GitRepo) -> None:
    _base(repo)
    repo.atomic("run", "--history", "shadow", "--", "git", "mv", "a.txt", "moved.txt", check=0)
    repo.atomic("rollback", check=0)
    mine = with_line(ONE, 8, b"MINE")
    repo.write("a.txt", mine)
    res = repo.atomic("undo", check=3)
    assert "a.txt: modify/delete" in res.stderr, res.stderr
    assert repo.read("a.txt") == mine and not repo.exists("moved.txt")


def test_a_rename_elsewhere_does_not_stop_a_rollback(repo: GitRepo) -> None:
    """Per path both ways: your rename of a file the operation never touched is yours, and
    the operation's edit elsewhere is taken back."""
    _base(repo)
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo op > other.txt", check=0)
    os.rename(repo.path / "a.txt", repo.path / "renamed.txt")
    repo.atomic("rollback", check=0)
    assert repo.read("other.txt") == b"other\n"
    assert repo.read("renamed.txt") == ONE and not repo.exists("a.txt")


PKG = {"pkg/__init__.py": b"# the package\n", "pkg/mod.py": b"def f():\n    return 1\n"}


def _package(repo: GitRepo) -> None:
    shared(repo)
    for path, data in PKG.items():
        repo.write(path, data)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "package")


@pytest.mark.parametrize("mode", MODES)
def test_a_moved_package_comes_back_after_you_deleted_one_of_its_files(
    repo: GitRepo, mode: str
) -> None:
    """git's merge pairs the files alike as renames (new/X -> pkg/X) and saw your deletion of
    `new/__init__.py` as a rename/delete overlap: the rollback was refused, exit 3. Path by
    path nothing overlaps: `new/__init__.py` is gone on both sides, `pkg/__init__.py` is the
    effect's alone. Your edit of another line of a file the operation also edited is merged."""
    _package(repo)
    script = "git mv pkg new && sed -i 's/line 2/op/' shared.txt"
    op_id = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script)["op_id"]
    os.unlink(repo.path / "new" / "__init__.py")
    repo.write("shared.txt", with_line(repo.read("shared.txt"), 8, b"MINE"))
    repo.atomic("rollback", "--op", op_id, check=0)
    assert {p: repo.read(p) for p in PKG} == PKG
    assert not repo.exists("new")
    assert repo.read("shared.txt") == with_line(TEXT, 8, b"MINE")


def test_undo_moves_a_package_again_after_you_deleted_one_of_its_files(repo: GitRepo) -> None:
    """The same pairing the other way: `undo` of a failed move after you deleted
    `pkg/__init__.py` makes the operation's `new/` again (it was refused, rename/delete)."""
    _package(repo)
    repo.atomic("run", "--", "sh", "-c", "git mv pkg new; exit 1", check=1)
    os.unlink(repo.path / "pkg" / "__init__.py")
    repo.atomic("undo", check=0)
    assert {p.replace("pkg/", "new/"): repo.read(p.replace("pkg/", "new/")) for p in PKG} == {
        p.replace("pkg/", "new/"): data for p, data in PKG.items()
    }
    assert not repo.exists("pkg")


def test_a_moved_file_you_edited_still_overlaps(repo: GitRepo) -> None:
    """Path by path, your edit of a file the operation made is an overlap: refused, exit 3,
    nothing changed."""
    _package(repo)
    op_id = repo.atomic_json("run", "--history", "shadow", "--", "git", "mv", "pkg", "new")["op_id"]
    os.unlink(repo.path / "new" / "__init__.py")
    repo.write("new/mod.py", b"def f():\n    return 2\n")
    before = repo.fingerprint()
    res = repo.atomic("rollback", "--op", op_id, check=3)
    assert "new/mod.py: modify/delete" in res.stderr, res.stderr
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("how", ["failed run", "abort"])
def test_rollback_op_of_a_rollback_undo_brought_back(repo: GitRepo, how: str) -> None:
    """A failed run's (or an abort's) effect that `undo` brought back is in the tree like a
    kept operation's: `rollback --op` takes it back (it said "nothing further to roll back",
    exit 0), the log follows each step, and another `rollback --op` has nothing left."""
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a")
    if how == "abort":
        op_id = repo.atomic_json("begin", "failing")["op_id"]
        repo.write("a.txt", b"OP\n")
        repo.atomic("abort", check=0)
    else:
        script = "echo OP > a.txt; exit 1"
        op_id = repo.atomic_json("run", "-n", "failing", "--", "sh", "-c", script, check=1)["op_id"]
    repo.atomic("undo", check=0)
    repo.atomic("run", "-n", "later", "--", "sh", "-c", "echo x > b.txt; exit 1", check=1)

    def line() -> str:
        return next(x for x in repo.atomic("log", check=0).stdout.splitlines() if op_id[:8] in x)

    assert "brought back by undo" in line()
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("a.txt") == b"a\n"
    assert "brought back by undo" not in line()
    shown = repo.atomic("show", op_id, check=0).stdout
    timeline = shown.split("timeline", 1)[1]
    assert [w for w in timeline.split() if w in ("rollback", "undo", "abort")][-1] == "rollback"
    assert "`git atomic undo` brings its result back" in shown, shown
    repo.atomic("undo", check=0)
    assert repo.read("a.txt") == b"OP\n" and "brought back by undo" in line()
    repo.atomic("rollback", "--op", op_id, check=0)
    res = repo.atomic("rollback", "--op", op_id, check=0)
    assert "nothing further" in res.stderr and repo.read("a.txt") == b"a\n"


@pytest.mark.parametrize("since", ["edit", "commit"])
@pytest.mark.parametrize("how", ["failed run", "abort"])
def test_an_undo_worked_out_on_top_of_later_changes_brings_the_operation_back(
    repo: GitRepo, how: str, since: str
) -> None:
    """An `undo` of a rollback after you changed another file (or committed) works its result
    out on top of your change: its target is a new commit, which named neither the rollback's
    rescue nor the operation, so the log did not say "brought back by undo", `rollback --op`
    said the operation "is rolled back; nothing further to roll back" (exit 0) with its change
    in the tree, and `show` left the undo out of its timeline. Each undo now names the event
    it undid, along a chain of them each on top of a later change of yours."""
    repo.write("a.txt", b"a\n")
    repo.write("b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a")
    if how == "abort":
        op_id = repo.atomic_json("begin", "failing")["op_id"]
        repo.write("a.txt", b"OP\n")
        repo.atomic("abort", check=0)
    else:
        script = "echo OP > a.txt; exit 1"
        op_id = repo.atomic_json("run", "-n", "failing", "--", "sh", "-c", script, check=1)["op_id"]

    def later(n: int) -> None:
        repo.write(f"yours{n}.txt" if since == "commit" else "b.txt", f"yours {n}\n".encode())
        if since == "commit":
            repo.git("add", "-A")
            repo.git("commit", "-qm", f"yours {n}")

    def line() -> str:
        return next(x for x in repo.atomic("log", check=0).stdout.splitlines() if op_id[:8] in x)

    later(1)
    assert "later changes kept" in repo.atomic_json("undo", check=0)["target"]["label"]
    assert repo.read("a.txt") == b"OP\n" and "brought back by undo" in line(), line()
    timeline = repo.atomic("show", op_id, check=0).stdout.split("timeline", 1)[1]
    assert [w for w in timeline.split() if w in ("rollback", "undo", "abort")][-1] == "undo"
    later(2)
    repo.atomic("undo", check=0)  # the undo undone: the operation rolled back again
    assert repo.read("a.txt") == b"a\n" and "brought back by undo" not in line(), line()
    assert "nothing further" in repo.atomic("rollback", "--op", op_id, check=0).stderr
    later(3)
    repo.atomic("undo", check=0)
    assert repo.read("a.txt") == b"OP\n" and "brought back by undo" in line(), line()
    res = repo.atomic("rollback", "--op", op_id, check=0)
    assert "later changes kept" in res.stderr, res.stderr
    assert repo.read("a.txt") == b"a\n" and "brought back by undo" not in line()
    assert repo.read("yours3.txt" if since == "commit" else "b.txt") == b"yours 3\n"


@pytest.mark.parametrize("case", ["rollback --op", "undo"])
def test_an_empty_folder_the_effect_makes_again_where_you_wrote_a_file_is_an_overlap(
    repo: GitRepo, case: str
) -> None:
    """An empty folder is part of an effect as a file is: made again where you wrote a file
    since (at its path or on the way to it), the take-back is refused, exit 3, nothing
    changed (it said "nothing further to roll back", exit 0, and dropped the folder)."""
    if case == "rollback --op":
        (repo.path / "e" / "f").mkdir(parents=True)
        res = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "rm", "-rf", "e")
        repo.write("e", b"yours\n")
        argv = ["rollback", "--op", res["op_id"]]
        folder = "e/f/"
    else:
        out = repo.atomic("run", "--no-gates", "--", "sh", "-c", "mkdir -p n/m; exit 1", check=1)
        assert "changed nothing" not in out.stderr, out.stderr  # it made a folder
        repo.write("n", b"yours\n")
        argv = ["undo"]
        folder = "n/m/"
    before = repo.fingerprint()
    res = repo.atomic(*argv, check=3)
    assert f"{folder}: file/directory" in res.stderr, res.stderr
    same(repo.fingerprint(), before)
