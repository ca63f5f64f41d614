"""Ignore rules are part of the state; large new files have a budget; ignored files a user
names are protected. Every check reads the disk (bytes, lstat), not only git."""

from __future__ import annotations

import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo, State

MODES = ("commits", "shadow")


def same(a: State, b: State) -> None:
    assert a == b, "\n".join(a.diff(b))


def configure(repo: GitRepo, text: str) -> None:
    repo.write(".git-atomic.toml", text.encode())
    repo.git("add", ".git-atomic.toml")
    repo.git("commit", "-qm", "config")


def held(repo: GitRepo, checkpoint: str) -> set[str]:
    out = repo.git("ls-tree", "-r", "--name-only", "--full-tree", f"{checkpoint}:files")
    return set(out.splitlines())


# --- ignore rules -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_a_file_the_operation_tracks_and_ignores_goes(repo: GitRepo, mode: str) -> None:
    """info/exclude is not the tree's: what it ignores now says nothing of what PRE-OP had."""
    repo.write(".gitignore", b"*.log\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    before = repo.fingerprint()
    script = (
        "echo n > n.txt && git add n.txt && echo n.txt >> .git/info/exclude && "
        "echo l > build.log && git add -f build.log; exit 1"
    )
    repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=1)
    same(repo.fingerprint(), before)  # the walk sees ignored files too
    assert not repo.exists("n.txt") and not repo.exists("build.log")


@pytest.mark.parametrize("mode", MODES)
def test_a_self_ignoring_gitignore_dropped_by_the_operation_goes(repo: GitRepo, mode: str) -> None:
    repo.write("src/app.py", b"code\n")
    repo.git("add", "src/app.py")
    repo.git("commit", "-qm", "src")
    repo.write("src/notes.txt", b"mine\n")
    before = repo.fingerprint()
    res = repo.atomic_json(
        "run", "--history", mode, "--", "sh", "-c", "echo '*' > src/.gitignore; exit 1", check=1
    )
    same(repo.fingerprint(), before)
    assert not repo.exists("src/.gitignore")
    # The rescue held it, so undo brings it back exactly, and a rollback removes it again.
    assert "src/.gitignore" in held(repo, res["checkpoints"]["rescue"])
    repo.atomic("undo", check=0)
    assert repo.read("src/.gitignore") == b"*\n"
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)
    # Later checkpoints still see the user's files in that folder.
    repo.write("src/later.txt", b"later\n")
    pre = repo.atomic_json("run", "--history", "shadow", "--", "true")["checkpoints"]["pre_op"]
    assert {"src/notes.txt", "src/later.txt"} <= held(repo, pre)


@pytest.mark.parametrize("mode", MODES)
def test_the_users_own_ignored_files_stay(repo: GitRepo, mode: str) -> None:
    """A self-ignoring .gitignore of the user's (a virtualenv's) and an ignored file the
    operation un-ignored: there before PRE-OP, so not the operation's to take away."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("venv/.gitignore", b"*\n")
    repo.write("venv/lib.py", b"lib\n")
    repo.write(".env", b"SECRET=1\n")
    time.sleep(0.05)  # the files predate PRE-OP by more than the clock's grain
    before = repo.fingerprint()
    script = "rm venv/.gitignore && : > .gitignore && echo x > x.txt; exit 1"
    repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=1)
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("mode", MODES)
def test_a_rollback_names_no_change_to_the_users_ignored_files_it_keeps(
    repo: GitRepo, mode: str
) -> None:
    """An operation un-ignored `.env` and `target/` (Cline's checkpoint restore and
    `.gitignore`: https://github.com/cline/cline/issues/14367): its rollback keeps them, yet
    its `--dry-run`, its JSON `changes` and its count said `delete .env`. Only what it changes
    is named now; a file the operation renamed from an older one still goes, and is named."""
    repo.write(".gitignore", b".env\ntarget/\n")
    repo.write("old.txt", b"old\n")
    repo.git("add", ".gitignore", "old.txt")
    repo.git("commit", "-qm", "rules")
    repo.write(".env", b"SECRET=1\n")
    repo.write("target/out.bin", b"\x00built\n")
    time.sleep(0.05)  # the files predate PRE-OP by more than the clock's grain
    script = "printf 'other/\\n' > .gitignore && mv old.txt renamed.txt && echo n > new.txt"
    repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=0)
    expected = [
        {"path": ".gitignore", "action": "modify"},
        {"path": "new.txt", "action": "delete"},
        {"path": "old.txt", "action": "create"},
        {"path": "renamed.txt", "action": "delete"},
    ]
    dry = repo.atomic_json("rollback", "--dry-run")
    assert sorted(dry["changes"], key=lambda c: c["path"]) == expected
    assert "would change 4 paths" in repo.atomic("rollback", "--dry-run").stderr
    done = repo.atomic_json("rollback")
    assert sorted(done["changes"], key=lambda c: c["path"]) == expected
    assert repo.read(".env") == b"SECRET=1\n" and repo.read("target/out.bin") == b"\x00built\n"
    assert not repo.exists("renamed.txt") and repo.read("old.txt") == b"old\n"
    assert not repo.exists("new.txt")


def test_show_diff_names_an_unignored_file_but_never_prints_it(repo: GitRepo) -> None:
    """An operation emptied `.gitignore`, so your `.env` (there before it, ignored) showed up
    in its POST-OP: `show --diff` printed the secret as the operation's new file. A new file
    the rules of the state before ignore is named now, its content not printed; the
    operation's own new file is printed as before."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write(".env", b"SECRET=hunter2\n")
    time.sleep(0.05)
    done = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", "printf 'x\\n' > .gitignore; echo b > b"
    )

    shown = repo.atomic("show", done["op_id"], "--diff", check=0).stdout

    assert "hunter2" not in shown, shown
    assert "new file .env: ignored by the rules of the state before" in shown
    assert "+b" in shown and "+x" in shown


def test_log_and_show_stat_do_not_count_an_unignored_file_as_the_operation_s(
    repo: GitRepo,
) -> None:
    """The same operation: `log` said "2 files +2 -1" and `show --stat` listed `.env | 1 +`,
    your file, there before, that its rollback leaves (the rules come back first and ignore
    it). They count what the operation changed (`.gitignore`, `b`); `show --stat` names the
    file it does not count."""
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write(".env", b"SECRET=hunter2\n")
    time.sleep(0.05)
    done = repo.atomic_json(
        "run", "--history", "shadow", "--", "sh", "-c", "printf 'x\\n' > .gitignore; echo b > b"
    )

    log = repo.atomic("log", check=0).stdout
    shown = repo.atomic("show", done["op_id"], "--stat", check=0).stdout

    assert "2 files +2 -1" in log, log
    assert "change    2 files +2 -1" in shown, shown
    assert ".env |" not in shown and " 2 files changed, 2 insertions(+), 1 deletion(-)" in shown
    assert "not counted: .env, which the rules of the state before ignore" in shown, shown
    repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert repo.read(".env") == b"SECRET=hunter2\n"  # what the count said: it stays


@pytest.mark.parametrize("mode", MODES)
def test_files_the_operation_hid_behind_its_own_rules_go(repo: GitRepo, mode: str) -> None:
    """A virtualenv with its self-ignoring `.gitignore`, and a file hidden by a line added to
    the root `.gitignore`: once the rules are back, those files would be the user's untracked
    files (and every later checkpoint would hold them). They go; the rescue holds them, so
    `undo` brings them back; what the old rules ignore too (the user's, or the operation's
    build output) stays."""
    repo.write(".gitignore", b"*.log\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("old.log", b"the user's\n")
    time.sleep(0.05)  # the user's file predates PRE-OP by more than the clock's grain
    before = repo.fingerprint()
    script = (
        "mkdir -p .venv/lib && echo '*' > .venv/.gitignore && echo v > .venv/lib/x.py && "
        "echo '*.tmp' >> .gitignore && echo t > made.tmp && echo b > build.log; exit 1"
    )
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script, check=1)
    for gone in (".venv/lib/x.py", ".venv/.gitignore", "made.tmp"):
        assert not os.path.lexists(repo.path / gone), gone
    assert repo.read("old.log") == b"the user's\n"
    assert repo.read("build.log") == b"b\n"  # ignored before and after: not the rules' doing
    os.unlink(repo.path / "build.log")
    same(repo.fingerprint(), before)
    assert {".venv/lib/x.py", "made.tmp"} <= held(repo, res["checkpoints"]["rescue"])
    repo.atomic("undo", check=0)
    assert repo.read(".venv/lib/x.py") == b"v\n" and repo.read("made.tmp") == b"t\n"


@pytest.mark.parametrize("mode", MODES)
def test_the_effect_rollback_of_a_kept_operation_takes_its_hidden_files_too(
    repo: GitRepo, mode: str
) -> None:
    """The same, for `rollback` of an operation that passed and was kept, after a change of the
    user's: the effect taken back includes what it hid behind its own rules; the user's later
    file stays."""
    script = (
        "mkdir -p .venv/lib && echo '*' > .venv/.gitignore && echo v > .venv/lib/x.py && "
        "echo '*.tmp' >> .gitignore && echo t > made.tmp && echo code > app.py"
    )
    repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=0)
    repo.write("mine.txt", b"the user's, after\n")
    repo.atomic("rollback", check=0)
    for gone in (".venv", "made.tmp", "app.py"):
        assert not os.path.lexists(repo.path / gone), gone
    assert repo.read("mine.txt") == b"the user's, after\n"
    repo.atomic("undo", check=0)
    assert repo.read(".venv/lib/x.py") == b"v\n" and repo.read("made.tmp") == b"t\n"


@pytest.mark.parametrize("mode", MODES)
def test_a_repository_inside_what_the_operation_hid_is_left_alone(repo: GitRepo, mode: str) -> None:
    """`pip install -e git+...` clones into a virtualenv that ignores itself: the listing of
    what the new rules hide names a repository of its own as a folder (`venv/src/pkg/`), which
    crashed the rollback (exit 3, the operation's changes left, recover crashing the same way).
    Now the rollback goes through; a repository of its own is never ours to hold or remove."""
    script = (
        "mkdir -p venv/src && echo '*' > venv/.gitignore && git init -q venv/src/pkg && "
        "echo precious > venv/src/pkg/code.py && echo changed > README; exit 1"
    )
    res = repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=1)
    assert "internal error" not in res.stderr, res.stderr
    assert repo.read("README") == b"hello\n"
    assert not os.path.lexists(repo.path / "venv/.gitignore")
    assert repo.read("venv/src/pkg/code.py") == b"precious\n"


def test_a_repository_in_an_ignored_folder_does_not_stop_a_rules_rollback(repo: GitRepo) -> None:
    repo.write(".gitignore", b"vendor/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.git("init", "-q", "vendor/lib")
    repo.write("vendor/lib/x", b"x\n")
    script = "echo '*.tmp' >> .gitignore && echo changed > README; exit 1"
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=1)
    assert "internal error" not in res.stderr, res.stderr
    assert repo.read("README") == b"hello\n" and repo.read(".gitignore") == b"vendor/\n"
    assert repo.read("vendor/lib/x") == b"x\n"


def test_a_tracked_file_the_operation_ignores_comes_back_tracked(repo: GitRepo) -> None:
    before = repo.fingerprint()
    script = "echo README >> .gitignore && git rm -q --cached README && echo new > README; exit 1"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=1)
    same(repo.fingerprint(), before)
    assert repo.read("README") == b"hello\n"


# --- the size budget ----------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_new_files_over_the_budget_are_named_and_left_alone(repo: GitRepo, mode: str) -> None:
    configure(repo, 'max_new_file_size = "1KiB"\n')
    repo.write("mine.bin", os.urandom(4096))  # the user's, before the operation
    before = repo.fingerprint()
    script = "head -c 3000 /dev/urandom > big.bin && echo s > small.txt && rm mine.bin; exit 1"
    res = repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=1)
    assert "not protected" in res.stderr and "big.bin" in res.stderr, res.stderr
    assert res.stderr.count("not protected") == 1
    assert not repo.exists("small.txt")
    assert repo.exists("big.bin") and os.lstat(repo.path / "big.bin").st_size == 3000
    assert not repo.exists("mine.bin")  # never held, so it cannot come back: it was named
    after = repo.fingerprint()
    extra = {f[0] for f in after.files} ^ {f[0] for f in before.files}
    assert extra == {b"big.bin", b"mine.bin"}
    pre = repo.atomic_json("run", "--history", "shadow", "--", "true")["checkpoints"]["pre_op"]
    assert "big.bin" not in held(repo, pre)


@pytest.mark.parametrize("rule", ["", "*.txt text\n"])
@pytest.mark.parametrize("fifo", [False, True])
def test_a_new_file_over_the_budget_is_in_no_checkpoint_either_way(
    repo: GitRepo, rule: str, fifo: bool
) -> None:
    """Whether the capture scans or, a FIFO standing where a tracked file was, reads the tree
    with `git add -A`, and whether or not a line-ending rule has the raw bytes read apart: a
    new file over the budget is in no checkpoint, and the rollback leaves it as it is."""
    configure(repo, "max_new_file_size = 10\n")
    if rule:
        repo.write(".gitattributes", rule.encode())
    os.symlink("nowhere", repo.path / "link")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rule and link")
    repo.atomic("run", "--", "true", check=0)  # the scan state of this tree
    swap = "rm link && mkfifo link && " if fifo else ""
    script = swap + "printf 'aaaa\\r\\nbbbb\\r\\ncccc\\r\\n' > big.txt; exit 1"
    res = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", script, check=1)
    assert repo.read("big.txt") == b"aaaa\r\nbbbb\r\ncccc\r\n"
    for name in ("pre_op", "rescue"):
        assert "big.txt" not in held(repo, res["checkpoints"][name]), name
    refs = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/").split()
    for ref in refs:
        names = repo.git("ls-tree", "-r", "--name-only", ref).split()
        assert not any(n.endswith("big.txt") for n in names), ref


@pytest.mark.parametrize("rule", ["", "*.bin text eol=lf\n", "*.bin filter=lfs -text\n"])
def test_a_tracked_file_over_the_budget_the_last_scan_saw_gone_is_read_exactly(
    repo: GitRepo, rule: str
) -> None:
    """The budget is for new files. A file your index tracks, larger than the budget, that an
    operation deleted and its rollback put back is untracked to the scan (its last reading saw
    it gone) but not to you: the next capture reads its bytes, whatever the attributes say
    (before: with a line-ending rule or git-lfs's filter, the checkpoint held git's converted
    blob or a pointer, not the bytes on disk, and `undo` was refused)."""
    configure(repo, "max_new_file_size = 10\n")
    data = b"two\r\nlines\r\n"  # committed before the rule, as in a clone
    repo.write("dir/f.bin", data)
    repo.git("add", "dir/f.bin")
    repo.git("commit", "-qm", "file")
    if rule:
        repo.write(".gitattributes", rule.encode())
        repo.git("add", ".gitattributes")
        repo.git("commit", "-qm", "rule")
    if "lfs" in rule:  # configured, but git-lfs is not installed
        repo.git("config", "filter.lfs.clean", "git-lfs-not-installed clean -- %f")
        repo.git("config", "filter.lfs.required", "true")
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "rm dir/f.bin; exit 1", check=1)
    assert repo.read("dir/f.bin") == data
    pre = repo.atomic_json("run", "--history", "shadow", "--", "true")["checkpoints"]["pre_op"]
    held_bytes = subprocess.run(
        ["git", "cat-file", "blob", f"{pre}:files/dir/f.bin"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        check=True,
    ).stdout
    assert held_bytes == data
    repo.atomic("undo", check=0)  # the rollback taken back: the file is gone again
    assert not os.path.lexists(repo.path / "dir/f.bin")


@pytest.mark.parametrize("later_change", [False, True])
def test_what_you_made_in_a_folder_the_operation_hid_after_it_ended_stays(
    repo: GitRepo, later_change: bool
) -> None:
    """Effect, not state: the rollback of a kept operation takes back the virtualenv it made,
    not the file you put in that virtualenv afterwards (git ignores both, so no checkpoint can
    tell them apart; when each was made does). With no other change since, the rollback is
    exact; with one, its target is worked out: both keep your file."""
    script = "mkdir -p .venv/lib && echo '*' > .venv/.gitignore && echo v > .venv/lib/x.py"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=0)
    time.sleep(0.05)  # made after the operation by more than the clock's grain
    repo.write(".venv/mine.txt", b"the user's, after\n")
    if later_change:
        repo.write("later.txt", b"later\n")
    repo.atomic("rollback", check=0)
    assert not os.path.lexists(repo.path / ".venv/lib/x.py")
    assert not os.path.lexists(repo.path / ".venv/.gitignore")
    assert repo.read(".venv/mine.txt") == b"the user's, after\n"
    repo.atomic("undo", check=0)
    assert repo.read(".venv/lib/x.py") == b"v\n"
    assert repo.read(".venv/mine.txt") == b"the user's, after\n"


@pytest.mark.parametrize("mode", MODES)
def test_a_large_file_the_operation_cut_below_the_budget_stays(repo: GitRepo, mode: str) -> None:
    """The user's untracked file over the budget (so in no checkpoint), cut small by the
    operation: the PRE-OP state lacks it only because it did not hold it, so the rollback
    leaves it on disk (and says so) rather than deleting it; its first bytes cannot come back,
    as the operation's first line said."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    repo.write("data.bin", b"x" * 4096)
    script = "printf small > data.bin; echo s > small.txt; exit 1"
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script, check=1)
    assert repo.read("data.bin") == b"small"
    assert not repo.exists("small.txt")
    assert any("data.bin" in p and "left as it is" in p for p in res["problems"]), res
    repo.write("data2.bin", b"x" * 4096)  # new again: the scan knows data.bin now
    time.sleep(0.05)
    cut = "printf small > data2.bin; exit 1"
    said = repo.atomic("run", "--history", mode, "--", "sh", "-c", cut, check=1).stderr
    assert "warning: data2.bin was larger than max_new_file_size" in said, said
    assert "except what the warnings above name" in said, said
    # The effect of a kept operation taken back later: the same.
    repo.write("other.bin", b"y" * 4096)
    repo.atomic("run", "--history", mode, "--", "sh", "-c", "printf cut > other.bin", check=0)
    repo.write("mine.txt", b"the user's, after\n")  # not exact: the target is worked out
    repo.atomic("rollback", check=0)
    assert repo.read("other.bin") == b"cut"
    assert repo.read("mine.txt") == b"the user's, after\n"


@pytest.mark.parametrize(
    "script", ["rm big.bin && ln -s README big.bin", "rm big.bin && printf new > big.bin"]
)
def test_what_the_operation_put_where_a_large_file_was_goes(repo: GitRepo, script: str) -> None:
    """The operation deleted the user's file over the budget (never held: its first line said
    so) and put a link or a new file of that name there: that one is the operation's, and goes."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    repo.write("big.bin", b"x" * 4096)
    time.sleep(0.05)  # the user's file predates PRE-OP by more than the clock's grain
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script + "; exit 1", check=1)
    assert not os.path.lexists(repo.path / "big.bin")


@pytest.mark.parametrize("how", ["failed run", "rollback", "rollback --dry-run"])
def test_a_large_file_the_operation_only_moved_is_moved_back(repo: GitRepo, how: str) -> None:
    """An operation whose only effect was `mv big.bin d/big.bin` of a file over the budget: no
    checkpoint holds either name, so the rollback said "nothing further" (a kept run's) or
    named big.bin as gone for good (a failed run's), and left it moved. The file under the new
    name, born before PRE-OP at a name PRE-OP lacked, is the one that was moved: it is moved
    back, a rename, no byte read, and the folder the operation made for it goes."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    data = os.urandom(4096)
    repo.write("big.bin", data)
    inode = os.lstat(repo.path / "big.bin").st_ino
    time.sleep(0.05)  # the user's file predates PRE-OP by more than the clock's grain
    script = "mkdir d && mv big.bin d/big.bin"
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    else:
        repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=0)
        res = repo.atomic(*how.split(), check=0)
    if how == "rollback --dry-run":
        assert "would move back d/big.bin to big.bin" in res.stderr, res.stderr
        assert repo.read("d/big.bin") == data and not repo.exists("big.bin")
        return
    assert "moved back" in res.stderr and "cannot come back" not in res.stderr, res.stderr
    assert repo.read("big.bin") == data and os.lstat(repo.path / "big.bin").st_ino == inode
    assert not repo.exists("d")
    # A kept run's: a move of its own (it wrote no event, "nothing further"), which `undo`
    # takes back as a failed run's: the operation's move made again, the same way.
    res = repo.atomic("undo", check=0)
    assert repo.read("d/big.bin") == data and os.lstat(repo.path / "d/big.bin").st_ino == inode
    assert not repo.exists("big.bin"), res.stderr
    repo.atomic("undo", check=0)
    assert repo.read("big.bin") == data and not repo.exists("d/big.bin")


@pytest.mark.parametrize(
    "script",
    [
        "mkdir s && mv a.bin s/b.bin && mv b.bin s/a.bin",  # each back to its own name
        "rm a.bin && head -c 3000 /dev/urandom > n.bin",  # another file, maybe a's inode
        "cp a.bin n.bin && rm a.bin",  # the same bytes, another file
    ],
)
def test_a_large_file_goes_back_by_its_inode_never_another(repo: GitRepo, script: str) -> None:
    """Which file over the budget was moved is known by the device and inode PRE-OP recorded
    of it and its birth before PRE-OP: files whose names were crossed go back each to its
    own name, not by the names they have now; a file made
    since is never moved to the name of the one the operation deleted (it may be given the
    freed inode), nor is a copy."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    a, b = os.urandom(4096), os.urandom(4096)
    repo.write("a.bin", a)
    repo.write("b.bin", b)
    time.sleep(0.05)
    res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert repo.read("b.bin") == b
    if script.startswith("mkdir"):
        assert not repo.exists("s")
        assert repo.read("a.bin") == a and "cannot come back" not in res.stderr, res.stderr
    else:
        assert not repo.exists("a.bin") and repo.exists("n.bin")
        assert "a.bin was larger than max_new_file_size" in res.stderr, res.stderr


@pytest.mark.parametrize(
    "script",
    [
        "git add -A && git commit -qm c && git rebase -q HEAD~1 --onto HEAD~2",
        "git add -A && git stash -q && git stash pop -q",
        "git add -A && git commit -qm c && git reset -q --hard HEAD~1 && git cherry-pick HEAD@{1}",
    ],
)
@pytest.mark.parametrize("how", ["failed run", "rollback", "rollback --op"])
def test_a_large_file_git_wrote_again_from_the_operations_commit_stays(
    repo: GitRepo, script: str, how: str
) -> None:
    """The user's untracked file over the budget (in no checkpoint), taken into the
    operation's commit (`git add -A`), then removed and written again by git (a rebase's
    checkout, a stash and its pop): a file made since PRE-OP, so the rollback deleted it, and
    its bytes were in the rescue alone. Tracked now with the bytes on disk, of the size PRE-OP
    recorded, it is the one copy of what the operation took in: left where it is, named."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    data = os.urandom(4096)
    repo.write("big.bin", data)
    time.sleep(0.05)  # the user's file predates PRE-OP by more than the clock's grain
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    else:
        repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=0)
        op_id = repo.atomic_json("log")["operations"][0]["op_id"]
        if how == "rollback --op":
            repo.write("mine.txt", b"yours, since\n")  # the target is worked out
        res = repo.atomic(*how.split(), *([op_id] if how == "rollback --op" else []), check=0)
    assert repo.read("big.bin") == data, res.stderr
    assert "git wrote it again" in res.stderr, res.stderr
    assert "big.bin" not in repo.git("ls-files")  # untracked again, as before


def test_a_dry_run_lists_no_deletion_of_a_large_file_the_rollback_leaves(repo: GitRepo) -> None:
    """What the rollback leaves of the files over the budget (written again by git from the
    operation's commit, or cut small in place) is no change its dry run lists: it listed
    `delete  big.bin`, which the real one never did."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.write("big.bin", os.urandom(4096))
    repo.write("cut.bin", os.urandom(4096))
    time.sleep(0.05)
    script = "printf x > cut.bin; git add big.bin && git commit -qm c && "
    script += "git rebase -q HEAD~1 --onto HEAD~2"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=0)
    res = repo.atomic("rollback", "--dry-run", check=0)
    assert "big.bin" not in res.stdout and "cut.bin" not in res.stdout, res.stdout
    assert "drop" in res.stdout, res.stdout


def test_a_large_file_the_operation_replaced_and_committed_goes(repo: GitRepo) -> None:
    """Of another size than PRE-OP's, the file the operation made at that name and committed
    is its own: it goes, as any file the operation made (the user's was never held)."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    repo.write("big.bin", os.urandom(4096))
    time.sleep(0.05)
    script = "rm big.bin && head -c 3000 /dev/urandom > big.bin && git add -A && git commit -qm c"
    repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    assert not repo.exists("big.bin")


def test_a_large_sparse_file_costs_nothing(repo: GitRepo) -> None:
    with open(repo.path / "huge.img", "wb") as fh:
        fh.truncate(2 << 30)  # 2 GiB, no block written
    started = time.monotonic()
    res = repo.atomic_json("run", "--history", "shadow", "--", "true")
    assert time.monotonic() - started < 15  # hashing 2 GiB takes far longer on this machine
    assert "huge.img" not in held(repo, res["checkpoints"]["pre_op"])
    assert os.lstat(repo.path / "huge.img").st_size == 2 << 30


def test_gc_returns_what_only_the_scan_held(repo: GitRepo) -> None:
    configure(repo, "max_new_file_size = 0\n")  # no limit: the file is captured
    repo.git("config", "gc.pruneExpire", "now")
    data = os.urandom(2 << 20)
    repo.write("blob.bin", data)
    repo.atomic_json("run", "--history", "shadow", "--", "true")
    oid = repo.git("hash-object", "blob.bin").strip()
    os.unlink(repo.path / "blob.bin")
    repo.atomic("gc", "--older-than", "0", check=0)
    assert repo.git("cat-file", "-t", oid, check=False) == ""


@pytest.mark.parametrize("how", ["merge", "cherry-pick"])
def test_undo_brings_back_a_conflict_beside_a_large_file_it_committed(
    repo: GitRepo, how: str
) -> None:
    """Found by the differential test: an operation commits everything (`git add -A`), a new
    file over the budget with it, then stops in a conflict. Its rollback leaves the large
    file where it is (no checkpoint holds its bytes from before), and the capture `undo`
    takes holds it (its scan saw it tracked): `undo` took it for a change made since and
    refused to make the conflict again on top of it, exit 3. It is no change since, so `undo`
    brings the conflict back, and a second `undo` clears it; a large file you change after
    the rollback is one, and `undo` still refuses, nothing changed."""
    configure(repo, "max_new_file_size = 10\n")
    repo.write("a", b"one\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    blob = repo.git("hash-object", "-w", "--stdin", input=b"theirs\n").strip()
    tree = repo.git("mktree", input=f"100644 blob {blob}\ta\n".encode()).strip()
    theirs = repo.git("commit-tree", tree, "-p", "HEAD", "-m", "theirs").strip()
    repo.write("big", b"a large untracked file\n")
    before = repo.fingerprint()
    script = f"echo ours > a && git add -A && git commit -qm ours && git {how} {theirs}; exit 0"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    assert "left as it is" in res.stderr
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    assert repo.git("ls-files", "-u", "--", "a") and b"<<<<<<<" in repo.read("a")
    assert repo.read("big") == b"a large untracked file\n"
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)
    repo.write("big", b"yours since the rollback\n")
    edited = repo.fingerprint()
    res = repo.atomic("undo", check=3)
    assert "half-way" in res.stderr
    same(repo.fingerprint(), edited)


# --- protect ------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_protected_ignored_files_come_back(repo: GitRepo, mode: str) -> None:
    repo.write(".gitignore", b".env\n*.local.toml\nbuild/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    configure(repo, 'protect = [".env", "*.local.toml"]\n')
    repo.write(".env", b"SECRET=1\n", mode=0o600)
    repo.write("conf/dev.local.toml", b"x = 1\n")
    repo.write("build/out.o", b"object\n")  # ignored, not protected
    before = repo.fingerprint()
    script = "git clean -fdxq && echo new > .env.new; exit 1"
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script, check=1)
    assert repo.read(".env") == b"SECRET=1\n"
    assert repo.read("conf/dev.local.toml") == b"x = 1\n"
    assert not repo.exists("build/out.o")  # not protected: gone with the clean
    after = repo.fingerprint()
    assert after.files == tuple(f for f in before.files if f[0] != b"build/out.o")
    assert (after.index, after.head, after.branches) == (before.index, before.head, before.branches)
    # Never committed in commits mode; undo is exact for them too.
    assert ".env" not in repo.git("ls-tree", "-r", "--name-only", "HEAD")
    repo.atomic("undo", check=0)
    assert not repo.exists(".env") and not repo.exists("conf/dev.local.toml")
    assert repo.read(".env.new") == b"new\n"
    assert res["status"] == "rolled_back"


@pytest.mark.parametrize("mode", MODES)
def test_protected_files_inside_ignored_folders_come_back(repo: GitRepo, mode: str) -> None:
    """git's listing stops at an ignored folder (`build/`): a protected file in it, anchored
    (`node_modules/.env`) or at any depth (`*.local.toml`), is found all the same."""
    repo.write(".gitignore", b"build/\nnode_modules/\n.env\n*.local.toml\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    configure(repo, 'protect = ["node_modules/.env", "*.local.toml", "/top.secret"]\n')
    repo.write("node_modules/.env", b"TOKEN=1\n", mode=0o600)
    repo.write("node_modules/pkg/.env", b"not protected\n")  # the pattern is anchored
    repo.write("build/deep/er/app.local.toml", b"x = 1\n")
    repo.write("build/out.o", b"object\n")  # ignored, not protected
    repo.write("top.secret", b"s\n")  # an untracked file: captured anyway
    before = repo.fingerprint()
    script = "git clean -fdxq; exit 1"
    res = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script, check=1)
    assert repo.read("node_modules/.env") == b"TOKEN=1\n"
    assert repo.read("build/deep/er/app.local.toml") == b"x = 1\n"
    assert not repo.exists("build/out.o") and not repo.exists("node_modules/pkg/.env")
    assert {"node_modules/.env", "build/deep/er/app.local.toml"} <= held(
        repo, res["checkpoints"]["pre_op"]
    )
    after = repo.fingerprint()
    gone = {b"build/out.o", b"node_modules/pkg/.env"}
    assert after.files == tuple(f for f in before.files if f[0] not in gone)
    # An operation's new protected file in an ignored folder goes with the rollback.
    repo.atomic("run", "--", "sh", "-c", "echo n > build/new.local.toml; exit 1", check=1)
    assert not repo.exists("build/new.local.toml")
    assert repo.read("build/deep/er/app.local.toml") == b"x = 1\n"


@pytest.mark.parametrize(
    ("pattern", "held_paths"),
    [
        ("secrets/", ["secrets/key", "build/secrets/k", "keys/secrets/a.pem"]),
        ("secrets", ["secrets/key", "build/secrets/k", "keys/secrets/a.pem"]),
        ("sec*", ["secrets/key", "build/secrets/k", "keys/secrets/a.pem"]),
        ("*.d", ["x.d/key", "build/y.d/z/k"]),
        ("keys", ["keys/a.pem", "keys/secrets/a.pem"]),
        ("/secrets/", ["secrets/key"]),
        ("build/*.d", ["build/y.d/z/k"]),
    ],
)
def test_a_protected_name_that_is_a_folder_holds_what_is_in_it(
    repo: GitRepo, pattern: str, held_paths: list[str]
) -> None:
    """A `protect` pattern is gitignore-like: one that names a folder (`secrets/`, `*.d`, a
    name with no slash, at any depth or anchored) takes in every ignored file below it, in a
    folder git ignores whole (`secrets/`, one inside `build/`) or one it looks into (`keys/`,
    whose `*.pem` a rule ignores). Only `/secrets/` did: the files inside the others were in
    no checkpoint, and an operation's `rm -rf` of them was not taken back."""
    repo.write(".gitignore", b"secrets/\n*.d\nbuild/\n*.pem\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    configure(repo, f'protect = ["{pattern}"]\n')
    everything = [
        "secrets/key",
        "x.d/key",
        "build/secrets/k",
        "build/y.d/z/k",
        "build/o",
        "keys/a.pem",
        "keys/secrets/a.pem",
    ]
    for path in everything:
        repo.write(path, f"{path}\n".encode())
    res = repo.atomic_json(
        "run", "--", "sh", "-c", "rm -rf secrets x.d build keys; exit 1", check=1
    )
    assert held(repo, res["checkpoints"]["pre_op"]) >= set(held_paths)
    for path in everything:  # back, or (not protected) gone with the rm
        assert repo.exists(path) == (path in held_paths), path
        if path in held_paths:
            assert repo.read(path) == f"{path}\n".encode()
    # An operation's new file in a protected folder goes; a protected file it swapped for a
    # folder comes back (one not protected stays as the operation left it).
    script = "rm -rf secrets/key && mkdir -p secrets/key x.d/new && echo n > x.d/new/f; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert repo.exists("x.d/new/f") == ("x.d/key" not in held_paths)
    swapped = (repo.path / "secrets" / "key").is_dir()
    assert swapped == ("secrets/key" not in held_paths)


@pytest.mark.parametrize("kept", [False, True], ids=["failed", "rollback-op"])
@pytest.mark.parametrize("dest", ["x.env", "build/deep/y.env"])
def test_a_protected_name_the_operation_gave_an_older_file_goes(
    repo: GitRepo, kept: bool, dest: str
) -> None:
    """Found by the differential test: `mv a x.env` (a tracked file renamed to a protected,
    ignored name) keeps `a`'s birth time, older than PRE-OP, so the rollback took `x.env` for
    an ignored file that was there before and left it, beside the `a` it put back; the dry
    run did not name it. PRE-OP holds every protected file that is there (within the budget):
    one it lacks is the operation's, and goes. A protected file that was there stays, and so
    does an ignored one nobody protects (`z.log`: no checkpoint knows it)."""
    repo.write(".gitignore", b"*.env\n*.log\nbuild/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    configure(repo, 'protect = ["*.env"]\n')
    repo.write("a", b"tracked\n")
    repo.write("b", b"tracked too\n")
    repo.git("add", "a", "b")
    repo.git("commit", "-qm", "a")
    repo.write("old.env", b"SECRET=1\n")
    before = repo.fingerprint()
    script = f"mkdir -p {os.path.dirname(dest) or '.'} && mv a {dest} && mv b z.log"
    if kept:
        op = repo.atomic_json("run", "--history", "shadow", "--no-gates", "--", "sh", "-c", script)
        dry = repo.atomic("rollback", "--op", op["op_id"], "--dry-run", check=0)
        assert dest in dry.stdout + dry.stderr
        repo.atomic("rollback", "--op", op["op_id"], check=0)
    else:
        repo.atomic("run", "--no-gates", "--", "sh", "-c", script + "; exit 1", check=1)
    assert not os.path.lexists(repo.path / dest)
    assert repo.read("a") == b"tracked\n" and repo.read("old.env") == b"SECRET=1\n"
    assert repo.read("z.log") == b"tracked too\n"  # ignored, not protected: left
    os.unlink(repo.path / "z.log")
    same(repo.fingerprint(), before)


def test_a_protected_file_the_operation_made_goes(repo: GitRepo) -> None:
    repo.write(".gitignore", b".env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    configure(repo, 'protect = [".env"]\n')
    before = repo.fingerprint()
    repo.atomic("run", "--", "sh", "-c", "echo X=1 > .env; exit 1", check=1)
    same(repo.fingerprint(), before)


@pytest.mark.parametrize(
    "value", ['"lots"', "-1", "true", '"10XB"', '["a", 1]', '"*.env"'], ids=str
)
def test_bad_budget_or_protect_is_exit_2(repo: GitRepo, value: str, tmp_path: Path) -> None:
    key = "protect" if value.startswith(("[", '"*')) else "max_new_file_size"
    repo.write(".git-atomic.toml", f"{key} = {value}\n".encode())
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "true", check=2)
    wanted = "expected an array of patterns" if key == "protect" else "expected a size"
    assert key in res.stderr and wanted in res.stderr and res.stderr.count("\n") == 1
    same(repo.fingerprint(), before)


def test_every_checkpoint_holds_the_rule_files_so_effects_never_touch_them(repo: GitRepo) -> None:
    """An effect is the difference between two checkpoints: if one held an ignored rule file and
    the other not, taking the effect back and forth would delete the user's."""
    repo.write("venv/.gitignore", b"*\n")
    repo.write("venv/lib.py", b"lib\n")
    before = repo.fingerprint()
    op = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", "echo x > x.txt")
    repo.atomic("rollback", "--op", op["op_id"], check=0)
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    assert repo.read("venv/.gitignore") == b"*\n" and repo.read("venv/lib.py") == b"lib\n"
    assert repo.read("x.txt") == b"x\n"
    for kind in ("pre_op", "post_op"):
        assert "venv/.gitignore" in held(repo, op["checkpoints"][kind])


@pytest.mark.parametrize(
    "rules",
    [
        'echo "*.tmp" >> .git/info/exclude && echo "*.log" > .gitignore',
        'echo "*.tmp" >> .git/info/exclude && echo "*.tmp" > sub/.gitignore',
        'echo "*.tmp" > .gitignore',
        'echo "*.tmp" >> .git/info/exclude',
    ],
)
def test_undo_takes_away_again_a_file_the_operation_deleted_and_then_ignored(
    repo: GitRepo, rules: str
) -> None:
    """Your untracked file, deleted by an operation that also made rules ignoring it (in
    `.git/info/exclude`, in a `.gitignore`, or both): the rollback brings it back, and `undo`
    (the operation's state) takes it away again. Before, with both kinds of rule, the target's
    `info/exclude` was written before the restore asked which files the rules on disk hide, so
    the file passed for one you had hidden yourself and stayed (git's t3903 "stash rm and
    ignore")."""
    repo.write("sub/data.tmp", b"yours\n")
    before = repo.fingerprint()
    repo.atomic("run", "--", "sh", "-c", f"{rules} && rm sub/data.tmp; exit 1", check=1)
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    assert not repo.exists("sub/data.tmp")
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)


def test_an_operation_cannot_set_its_own_rollbacks_budget(repo: GitRepo) -> None:
    """`max_new_file_size` written by the operation itself (a 1-byte budget) governed its own
    rollback: its new files were too large to hold, so they stayed ("it had changed nothing").
    A rescue holds at least what the budget its target was captured under held."""
    before = oracle.walk(repo.path)
    script = "echo 'max_new_file_size = \"1B\"' > .git-atomic.toml; echo payload > y.txt; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    assert oracle.walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert repo.read("y.txt") == b"payload\n"


@pytest.mark.parametrize("rule", ["gitignore", "info/exclude"])
def test_undo_twice_takes_back_what_its_own_rule_hides_and_not_yours(
    repo: GitRepo, rule: str
) -> None:
    """An operation adds a rule and a file it hides; abort takes both back, undo brings them
    back, and undo again takes them back again: the file was written by the first undo's own
    restore, after its rescue, and is that undo's to take back. One you made after it stays."""
    repo.write("x.txt", b"a\n")
    repo.git("add", "x.txt")
    repo.git("commit", "-qm", "x")
    before = oracle.walk(repo.path)
    add_rule = (
        "echo '*.txt' >> .gitignore" if rule == "gitignore" else "echo 'y.txt' >> .git/info/exclude"
    )
    repo.atomic("run", "--", "sh", "-c", f"{add_rule}; echo n > y.txt; exit 1", check=1)
    assert oracle.walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert repo.read("y.txt") == b"n\n"
    time.sleep(0.05)
    repo.write("z.txt" if rule == "gitignore" else "y2.txt", b"yours\n")
    repo.atomic("undo", check=0)
    assert not repo.exists("y.txt")
    assert repo.exists("z.txt" if rule == "gitignore" else "y2.txt")


def test_a_later_effect_rollback_keeps_your_file_its_probe_did_not_see(repo: GitRepo) -> None:
    """A kept operation lowered the size budget; a file you made afterwards, over that budget,
    is one the probe of `rollback --op` did not see: it stays (the rescue took it under the
    target's larger budget, and the move deleted it)."""
    script = "echo 'max_new_file_size = \"1KiB\"' > .git-atomic.toml"
    op = repo.atomic_json("run", "--", "sh", "-c", script)
    time.sleep(0.05)
    repo.write("user.bin", b"u" * 5000)
    repo.atomic("rollback", "--op", op["op_id"], check=0)
    assert repo.read("user.bin") == b"u" * 5000
    assert not repo.exists(".git-atomic.toml")


# --- a folder of ignored files where a file or link comes back -----------------------------
@pytest.mark.parametrize("kind", ["file", "link"])
def test_a_folder_of_ignored_output_where_a_file_comes_back_makes_way(
    repo: GitRepo, kind: str
) -> None:
    """The operation put a folder where a tracked file (or link) was, and its build output,
    ignored, in it: the rollback holds that output in its rescue, takes the folder away and
    puts the file back; `undo` brings the folder and its output back."""
    repo.write(".gitignore", b"*.log\n")
    if kind == "link":
        os.symlink("target-of-the-link", repo.path / "conf")
    else:
        repo.write("conf", b"data\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "conf")
    before = repo.fingerprint()
    script = "rm conf; mkdir -p conf/out; echo x > conf/x; echo o > conf/out/b.log; exit 1"
    res = repo.atomic("run", "-n", "swap", "--", "sh", "-c", script, check=1)
    assert "cannot restore" not in res.stderr, res.stderr
    same(repo.fingerprint(), before)
    if kind == "link":
        assert os.readlink(repo.path / "conf") == "target-of-the-link"
    else:
        assert repo.read("conf") == b"data\n"
    repo.atomic("undo", check=0)
    assert repo.read("conf/out/b.log") == b"o\n" and repo.read("conf/x") == b"x\n"


def test_an_effect_rollback_holds_your_ignored_file_in_its_folder(repo: GitRepo) -> None:
    """A kept operation put a folder where a file was; you put an ignored file in it later.
    Taking the operation back puts the file back: yours is held by the rescue (named by
    `undo`'s window, never lost), and the command says what it did."""
    repo.write(".gitignore", b"*.log\n")
    repo.write("conf", b"data\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "conf")
    script = "rm conf; mkdir conf; echo x > conf/x"
    repo.atomic("run", "-n", "swap", "--history", "shadow", "--", "sh", "-c", script, check=0)
    repo.write("conf/local.log", b"yours\n")
    res = repo.atomic_json("rollback", check=0)
    assert repo.read("conf") == b"data\n"
    rescue = res["checkpoints"]["rescue"]
    assert repo.git("cat-file", "-p", f"{rescue}:files/conf/local.log") == "yours\n"
    repo.atomic("undo", check=0)
    assert repo.read("conf/local.log") == b"yours\n" and repo.read("conf/x") == b"x\n"


def test_a_repository_where_a_file_comes_back_stays_and_is_named(repo: GitRepo) -> None:
    repo.write("conf", b"data\n")
    repo.write("other.txt", b"before\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "conf")
    repo.atomic("begin", "vendor", check=0)
    os.unlink(repo.path / "conf")
    subprocess.run(["git", "init", "-q", str(repo.path / "conf")], check=True, env=repo.env)
    repo.write("conf/inner.txt", b"its own\n")
    repo.write("other.txt", b"by the operation\n")
    res = repo.atomic("abort", check=3)
    assert "cannot restore conf: a folder is in the way" in res.stderr, res.stderr
    assert "not entirely at PRE-OP" in res.stderr
    assert repo.read("conf/inner.txt") == b"its own\n"
    assert repo.read("other.txt") == b"before\n"


@pytest.mark.parametrize("mode", MODES)
def test_a_large_file_the_operation_deleted_is_named_as_not_put_back(
    repo: GitRepo, mode: str
) -> None:
    """The user's untracked file over the budget (named "not protected" when the operation
    began), deleted or moved by it: nothing can bring it back, and the rollback said "it had
    changed nothing" (or "exactly its PRE-OP state"). It is named as a path not put back; one
    it moved is moved back (test_a_large_file_the_operation_only_moved_is_moved_back)."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    repo.write("data.db", b"x" * 4096)
    res = repo.atomic("run", "--history", mode, "--", "sh", "-c", "rm data.db; exit 1", check=1)
    said = res.stderr
    assert "data.db was larger than max_new_file_size" in said and "cannot come back" in said
    assert "it had changed nothing" not in said and "except what the warnings above name" in said
    repo.write("data.db", b"y" * 4096)
    time.sleep(0.05)
    moving = "mv data.db moved.db; echo x > x"
    repo.atomic("run", "--history", mode, "--", "sh", "-c", moving, check=0)
    res = repo.atomic("rollback", check=0)
    assert "the operation had moved it to moved.db; moved back" in res.stderr, res.stderr
    assert repo.read("data.db") == b"y" * 4096 and not repo.exists("moved.db")
    repo.atomic("run", "--history", mode, "--", "sh", "-c", "rm data.db; echo x > x", check=0)
    res = repo.atomic("rollback", check=3)  # not all of it is back: exit 3, as for any such path
    assert "data.db was larger than max_new_file_size" in res.stderr, res.stderr
    assert "1 path could not be put back" in res.stderr


@pytest.mark.parametrize("protect", [False, True])
def test_a_rollback_of_an_rm_of_ignored_files_does_not_say_it_changed_nothing(
    repo: GitRepo, protect: bool
) -> None:
    """A failed run whose command removed ignored files alone (`rm -rf .env node_modules`, a
    `git clean -fdX`) was rolled back saying "it had changed nothing": they are in no
    checkpoint, so nothing was taken back, and your `.env` was gone with no word of what is
    not restored. Peers' restores lost such files without a word (cline/cline #14367,
    github/copilot-cli #1675). The line says now that ignored files are not restored (and,
    with `protect`, which are)."""
    if protect:
        configure(repo, 'protect = ["*.key"]\n')
    repo.write(".gitignore", b".env\nnode_modules/\n*.key\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "ignore")
    repo.write(".env", b"TOKEN=1\n")
    repo.write("node_modules/x/index.js", b"x\n")
    res = repo.atomic("run", "--", "sh", "-c", "rm -rf .env node_modules; exit 1", check=1)
    assert not repo.exists(".env") and not repo.exists("node_modules")  # in no checkpoint
    [line] = [line for line in res.stderr.splitlines() if "rolled back" in line]
    assert line.endswith("it had changed nothing (ignored files are not restored)") == (
        not protect
    ), line
    assert (
        line.endswith(
            "it had changed nothing (ignored files are not restored, except those `protect` names)"
        )
        == protect
    ), line


# script -> where each file over the budget is after it (None: gone for good)
SHUFFLES = {
    "mv a.db t; mv b.db a.db; mv t b.db": {"a.db": "b.db", "b.db": "a.db"},
    "mv a.db t; mv c.db a.db; mv b.db c.db; mv t b.db": {
        "a.db": "b.db",
        "b.db": "c.db",
        "c.db": "a.db",
    },
    "mv -f a.db b.db": {"a.db": "b.db", "b.db": None},
}


@pytest.mark.parametrize("how", ["failed run", "rollback", "rollback --dry-run"])
@pytest.mark.parametrize("script", list(SHUFFLES))
def test_large_files_swapped_by_name_are_moved_back(repo: GitRepo, script: str, how: str) -> None:
    """Files over the budget the operation swapped by name (`mv a.db t; mv b.db a.db; mv t
    b.db`), turned round three names, or moved over another's: every name still held a file,
    so none was looked for, and each stayed with the other's bytes (the third case's b.db with
    a.db's, said nothing of). Each file whose device and inode a name held at PRE-OP is moved
    back to that name, through a name aside (never over a file no move takes away); one gone
    for good is named."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    names = sorted(SHUFFLES[script])
    data = {n: os.urandom(4096) for n in names}
    for n in names:
        repo.write(n, data[n])
    inode = {n: os.lstat(repo.path / n).st_ino for n in names}
    time.sleep(0.05)  # the user's files predate PRE-OP by more than the clock's grain
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=None)
    else:
        repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=0)
        res = repo.atomic(*how.split(), check=None)
    where = SHUFFLES[script]
    if how == "rollback --dry-run":
        assert "would move back" in res.stderr, res.stderr
        for n, now in where.items():
            if now is not None:
                assert repo.read(now) == data[n], now
        return
    for n in names:
        if where.get(n, n) is None:
            assert "b.db was larger than max_new_file_size" in res.stderr, res.stderr
            assert "cannot come back" in res.stderr, res.stderr
            assert res.returncode == (1 if how == "failed run" else 3), res.stderr
            continue
        assert repo.read(n) == data[n], (n, res.stderr)
        assert os.lstat(repo.path / n).st_ino == inode[n], n
    assert not repo.exists("t") and "moved back" in res.stderr, res.stderr


@pytest.mark.parametrize("how", ["failed run", "rollback"])
def test_a_private_folder_a_large_file_is_moved_back_into_keeps_its_bits(
    repo: GitRepo, how: str
) -> None:
    """`mv vault/big.db .; rmdir vault` of a 0700 folder holding only a file over the budget:
    the move back made `vault/` again with the umask's bits (0755), the file readable by all
    through it, and the file's own 0600 was in no checkpoint. The capture keeps the bits of
    the files over the budget and of their folders (one lstat each of a few), and the folder
    a move back makes again gets them."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    data = os.urandom(4096)
    repo.write("vault/big.db", data, mode=0o600)
    os.chmod(repo.path / "vault", 0o700)
    time.sleep(0.05)  # the user's file predates PRE-OP by more than the clock's grain
    script = "mv vault/big.db . && rmdir vault"
    if how == "failed run":
        repo.atomic("run", "--", "sh", "-c", script + "; exit 1", check=1)
    else:
        repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=0)
        repo.atomic("rollback", check=0)
    assert repo.read("vault/big.db") == data and not repo.exists("big.db")
    assert stat.S_IMODE(os.lstat(repo.path / "vault").st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(repo.path / "vault/big.db").st_mode) == 0o600


@pytest.mark.parametrize(
    "moving", ["mv data.db moved.db", "mv data.db t && mv other.db data.db && mv t other.db"]
)
def test_a_move_back_of_a_large_file_killed_half_way_is_finished_by_recover(
    repo: GitRepo, moving: str
) -> None:
    """A rollback moving files over the budget back (moved aside first, then linked at their
    names) killed between the two: the files, which no checkpoint holds, were left in our
    folder of files set aside, and `recover` said they were gone and could not come back. It
    puts them back, the same bytes, and says so."""
    configure(repo, 'max_new_file_size = "1KiB"\n')
    data, other = os.urandom(4096), os.urandom(4096)
    repo.write("data.db", data)
    repo.write("other.db", other)
    time.sleep(0.05)
    repo.atomic("run", "--", "sh", "-c", f"{moving} && echo x > x", check=0)
    env = {"GIT_ATOMIC_FAILPOINT": "largegone:aside"}
    killed = repo.atomic("rollback", env=env, check=None)
    assert killed.returncode == -9, killed.stderr
    res = repo.atomic("recover", check=0)
    assert "cannot come back" not in res.stderr, res.stderr
    assert "left it aside; put back" in res.stderr, res.stderr
    assert repo.read("data.db") == data and repo.read("other.db") == other
    assert not repo.exists("moved.db") and not repo.exists("x")
    assert not list((repo.path / ".git" / "atomic" / "tmp").glob("removed-*"))


def test_a_large_file_you_moved_between_a_turns_calls_stays_moved(repo: GitRepo) -> None:
    """Effect, not state: a file over the budget you renamed between the agent's calls
    (neither touched it) was moved back by the turn's take-back at its Stop, as if its calls
    had moved it. Only what its calls moved goes back."""
    import json

    from testing.agents import claude_hook

    configure(repo, 'max_new_file_size = "1KiB"\n[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    data = os.urandom(4096)
    repo.write("data.db", data)
    repo.atomic("run", "--no-gates", "--", "true", check=0)
    for n, command in enumerate(["echo m > made.txt", "echo x > bad"], start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        if n == 1:
            os.rename(repo.path / "data.db", repo.path / "mine.db")  # yours, between them
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("bad") and not repo.exists("made.txt"), answer
    assert repo.exists("mine.db"), (answer, sorted(os.listdir(repo.path)))
    assert repo.read("mine.db") == data and not repo.exists("data.db"), answer


def _moved_twice_setup(repo: GitRepo, gate: str = "") -> tuple[bytes, int]:
    configure(repo, 'max_new_file_size = "1KiB"\n' + gate)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    data = os.urandom(4096)
    repo.write("a.db", data)
    repo.atomic("run", "--no-gates", "--", "true", check=0)
    return data, os.lstat(repo.path / "a.db").st_ino


def _moved_back_whole(repo: GitRepo, data: bytes, inode: int, said: object) -> None:
    listing = sorted(os.listdir(repo.path))
    assert repo.exists("a.db"), (said, listing)
    assert repo.read("a.db") == data and os.lstat(repo.path / "a.db").st_ino == inode
    for name in ("b.db", "c.db", "e.db", "d", "z.db"):
        assert not os.path.lexists(repo.path / name), (said, listing)


@pytest.mark.parametrize(
    "commands",
    [
        ["mv a.db b.db", "mv b.db c.db"],  # moved on by the next call
        ["mv a.db z.db", "mv z.db c.db"],  # by a name that sorts after its first
        ["mkdir d && mv a.db d/a.db", "mv d/a.db e.db && rmdir d"],  # into a folder, then out
        ["mv a.db b.db", "echo x > x.txt", "mv b.db c.db"],  # a call between that leaves it
    ],
)
@pytest.mark.parametrize("yours", [False, True], ids=["", "yours between"])
def test_a_large_file_a_turns_calls_moved_twice_goes_back_to_its_name(
    repo: GitRepo, commands: list[str], yours: bool
) -> None:
    """A file over the budget one call moved (`mv a.db b.db`) and a later call moved again
    (`mv b.db c.db`): a call whose only change was such a move was no step of the turn (no
    tree holds the file), so the take-back at Stop left it where the calls had put it, and
    said nothing of it. Each such move is a step; the file goes back to the name it had when
    the turn began, the same file (its inode), and nothing stays at the names between."""
    import json

    from testing.agents import claude_hook

    data, inode = _moved_twice_setup(repo, '[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    for n, command in enumerate([*commands, "echo x > bad"], start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        if yours and n == 1:  # the calls' states no longer follow one another: worked out
            repo.write("mine.txt", b"yours, between\n")
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("bad") and not repo.exists("x.txt"), answer
    _moved_back_whole(repo, data, inode, answer)
    # Said to the agent and to you, as a rollback says it (the Stop said nothing of it).
    for said in (answer["reason"], answer["systemMessage"]):
        assert "a.db was larger than max_new_file_size" in said and "moved back" in said, said
    if yours:
        assert repo.read("mine.txt") == b"yours, between\n"


def test_a_large_file_moved_twice_by_an_operations_stages_goes_back_to_its_name(
    repo: GitRepo,
) -> None:
    """The same across a kept operation's OP-EXEC stages, taken back later by `rollback --op`
    over a change of yours (a worked-out target): the name it had between the stages is no
    second place for it."""
    data, inode = _moved_twice_setup(repo)
    repo.atomic("begin", "moves", "--history", "shadow", check=0)
    os.rename(repo.path / "a.db", repo.path / "b.db")
    repo.atomic("checkpoint", "-m", "one", check=0)
    os.rename(repo.path / "b.db", repo.path / "c.db")
    repo.atomic("commit", "--no-gates", check=0)
    op_id = repo.atomic_json("log")["operations"][0]["op_id"]
    repo.write("mine.txt", b"yours, since\n")
    res = repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("mine.txt") == b"yours, since\n"
    _moved_back_whole(repo, data, inode, res.stderr)
    assert "moved back" in res.stderr, res.stderr
