"""Commits mode commits the operation's effect, never the person's work in progress.

PRE-OP is a checkpoint, not a commit; OP-EXEC and POST-OP commits hold HEAD plus what the
operation changed; what was staged, unstaged and untracked before stays so, in the index and on
disk. Oracles read the raw index (testing.gitrepo.read_index) and the files' bytes on disk.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, State
from testing.signing import fake_signing, signed

TEXT = b"".join(b"line %d\n" % i for i in range(1, 13))


def _with(text: bytes, **lines: bytes) -> bytes:
    """TEXT with some lines replaced: _with(TEXT, l1=b"top\\n")."""
    out = text.splitlines(keepends=True)
    for key, new in lines.items():
        out[int(key[1:]) - 1] = new
    return b"".join(out)


def _base(repo: GitRepo) -> str:
    repo.write("story.txt", TEXT)
    repo.write("clean.txt", b"clean\n")
    repo.write("gone.txt", b"to be deleted\n")
    repo.write("tool.sh", b"#!/bin/sh\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    return repo.head()


def _wip(repo: GitRepo) -> None:
    """Work in progress of every kind: staged and unstaged in one file, intent-to-add,
    untracked, a staged new file, a file deleted but not staged."""
    repo.write("story.txt", _with(TEXT, l1=b"staged top\n"))
    repo.git("add", "story.txt")
    repo.write("story.txt", _with(TEXT, l1=b"staged top\n", l4=b"unstaged middle\n"))
    repo.write("intent.txt", b"intent to add\n")
    repo.git("add", "-N", "intent.txt")
    repo.write("staged_new.txt", b"staged new\n")
    repo.git("add", "staged_new.txt")
    repo.write("notes.txt", b"untracked notes\n")
    repo.write("README", b"edited, not staged\n")


def _mine(state: State, paths: tuple[bytes, ...]) -> tuple[object, ...]:
    """The person's index entries (with their flags) and files, for the given paths."""
    index = tuple(e for e in state.index or () if e[0] in paths)
    files = tuple(f for f in state.files if f[0] in paths)
    return index, files


WIP_PATHS = (b"story.txt", b"intent.txt", b"staged_new.txt", b"notes.txt", b"README")


def _tree(repo: GitRepo, rev: str) -> dict[str, tuple[str, str]]:
    out = {}
    for item in repo.git("ls-tree", "-r", "-z", rev).split("\0"):
        if item:
            head, _, path = item.partition("\t")
            mode, _, oid = head.split()
            out[path] = (mode, oid)
    return out


def _blob(repo: GitRepo, data: bytes) -> str:
    import subprocess

    return (
        subprocess.run(
            ["git", "hash-object", "--stdin"],
            input=data,
            cwd=repo.path,
            env=repo.env,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .strip()
    )


def test_a_passing_run_commits_exactly_its_effect_and_keeps_the_work_in_progress(
    repo: GitRepo,
) -> None:
    base = _base(repo)
    _wip(repo)
    before = repo.fingerprint()
    status_before = repo.git("status", "--porcelain")
    res = repo.atomic_json(
        "run",
        "-n",
        "effect",
        "-g",
        "true",
        "--",
        "sh",
        "-c",
        "echo made > made.txt; echo more >> clean.txt; rm gone.txt; chmod +x tool.sh",
    )
    assert res["status"] == "committed" and "held_back" not in res
    # One commit, the operation's: no PRE-OP commit on the branch.
    assert repo.git("log", "--format=%s", f"{base}..HEAD").splitlines() == [
        "OP-EXEC: effect - sh -c echo made > made.txt; echo more >> clean.txt; r…"
    ]
    # The commit's tree is the base's plus the effect, nothing else (blobs hashed here).
    expected = _tree(repo, base)
    expected["made.txt"] = ("100644", _blob(repo, b"made\n"))
    expected["clean.txt"] = ("100644", _blob(repo, b"clean\nmore\n"))
    expected["tool.sh"] = ("100755", expected["tool.sh"][1])
    del expected["gone.txt"]
    assert _tree(repo, "HEAD") == expected
    # The work in progress: the same index entries and flags, the same bytes, the same split.
    after = repo.fingerprint()
    assert _mine(after, WIP_PATHS) == _mine(before, WIP_PATHS)
    assert repo.git("status", "--porcelain") == status_before
    # What the operation did is committed, so it shows nowhere in the status.
    for path in ("made.txt", "clean.txt", "gone.txt", "tool.sh"):
        assert path not in status_before and path not in repo.git("status", "--porcelain")


def test_a_failing_run_never_shows_its_command_a_commit_of_the_work_in_progress(
    repo: GitRepo, tmp_path: Path
) -> None:
    base = _base(repo)
    _wip(repo)
    before = repo.fingerprint()
    seen = tmp_path / "seen"
    probe = f"git status --porcelain > {seen}; git rev-parse HEAD >> {seen}; echo x >> clean.txt"
    res = repo.atomic_json("run", "-g", "false", "--", "sh", "-c", probe, check=1)
    assert res["status"] == "rolled_back" and res["failed_phase"] == "validate"
    # The command saw the person's tree as it was: HEAD where it was, the split intact.
    seen_lines = seen.read_text().splitlines()
    assert seen_lines[-1] == base
    assert "MM story.txt" in seen_lines and "AM intent.txt" not in seen_lines
    assert " A intent.txt" in seen_lines and "?? notes.txt" in seen_lines
    assert repo.fingerprint().diff(before) == []


def test_the_operation_changing_a_file_you_changed_commits_only_its_hunks(repo: GitRepo) -> None:
    base = _base(repo)
    _wip(repo)  # story.txt: line 1 staged, line 4 unstaged
    repo.atomic("run", "-n", "tail", "--", "sh", "-c", "sed -i 's/^line 12$/op bottom/' story.txt")
    # The commit: HEAD's story.txt plus the operation's hunk only.
    assert repo.git("show", "HEAD:story.txt").encode() == _with(TEXT, l12=b"op bottom\n")
    assert repo.git("diff", "--name-only", base, "HEAD") == "story.txt\n"
    # The index: what was staged, plus the committed hunk; the disk: everything.
    assert repo.git("show", ":story.txt").encode() == _with(
        TEXT, l1=b"staged top\n", l12=b"op bottom\n"
    )
    assert repo.read("story.txt") == _with(
        TEXT, l1=b"staged top\n", l4=b"unstaged middle\n", l12=b"op bottom\n"
    )
    assert repo.git("status", "--porcelain", "story.txt") == "MM story.txt\n"


def test_an_overlapping_change_stays_uncommitted_and_a_rollback_is_exact(repo: GitRepo) -> None:
    base = _base(repo)
    _wip(repo)
    before = repo.fingerprint()
    command = "sed -i 's/^unstaged middle$/op middle/' story.txt; echo new > made.txt"
    res = repo.atomic_json("run", "-n", "clash", "--", "sh", "-c", command)
    assert res["status"] == "committed" and res["held_back"] == ["story.txt"]
    # The commit holds the rest of the effect; story.txt keeps HEAD's bytes there.
    assert repo.git("diff", "--name-only", base, "HEAD") == "made.txt\n"
    assert repo.read("story.txt") == _with(TEXT, l1=b"staged top\n", l4=b"op middle\n")
    assert repo.git("show", ":story.txt").encode() == _with(TEXT, l1=b"staged top\n")
    human = repo.atomic("show", res["op_id"][:8], check=0).stdout
    assert "held back story.txt: changed by it and by you before it, uncommitted" in human
    # A rollback right after restores PRE-OP exactly: your work and its split.
    repo.atomic("rollback", check=0)
    assert repo.fingerprint().diff(before) == []


def test_the_index_merge_holds_back_a_path_whose_staged_change_overlaps(repo: GitRepo) -> None:
    base = _base(repo)
    repo.write("story.txt", _with(TEXT, l6=b"staged six\n"))
    repo.git("add", "story.txt")
    repo.write("story.txt", TEXT)  # unstaged: back to HEAD's bytes on disk
    before = repo.fingerprint()
    res = repo.atomic_json("run", "--", "sh", "-c", "sed -i 's/^line 6$/op six/' story.txt")
    assert res["status"] == "committed" and res["held_back"] == ["story.txt"]
    assert repo.head() == base  # nothing else to commit: no commit at all
    assert _mine(repo.fingerprint(), (b"story.txt",))[0] == _mine(before, (b"story.txt",))[0]


def test_a_session_commits_each_stage_effect_only(repo: GitRepo) -> None:
    base = _base(repo)
    _wip(repo)
    before = repo.fingerprint()
    repo.atomic_json("begin", "steps")
    repo.write("one.txt", b"1\n")
    repo.atomic_json("checkpoint", "-m", "first step")
    repo.write("two.txt", b"2\n")
    repo.atomic_json("commit")
    assert repo.git("log", "--format=%s", f"{base}..HEAD").splitlines() == [
        "POST-OP: steps - validation complete",
        "OP-EXEC: steps - first step",
    ]
    assert repo.git("diff", "--name-only", base, "HEAD").split() == ["one.txt", "two.txt"]
    assert _mine(repo.fingerprint(), WIP_PATHS) == _mine(before, WIP_PATHS)


# Each path: (before the operation, what its first stage does, what its second stage does).
# The family: the operation's second stage touching a path its own first commit holds.
TWO_STAGES = {
    "a.txt": (None, "printf 'a1\\n' > a.txt", "printf 'a2\\n' >> a.txt"),
    "b.txt": (None, "echo b > b.txt", "rm b.txt"),
    "c.sh": (None, "echo c > c.sh", "chmod +x c.sh"),
    "clean.txt": (b"clean\n", "echo op1 >> clean.txt", "echo op2 >> clean.txt"),
    "story2.txt": (
        TEXT,
        "sed -i 's/^line 12$/op 12/' story2.txt",
        "sed -i 's/^op 12$/op 12 again/' story2.txt",
    ),
    "tool.sh": (b"#!/bin/sh\n", "echo op >> tool.sh", "printf '#!/bin/sh\\n' > tool.sh"),
    "gone.txt": (b"to be deleted\n", "rm gone.txt", "echo back > gone.txt"),
    "story.txt": (
        TEXT,
        "sed -i 's/^line 12$/op 12/' story.txt",
        "sed -i 's/^line 10$/op 10/' story.txt",
    ),
}


def _two_stages(repo: GitRepo) -> tuple[str, str]:
    """A session with your work in progress (story.txt among it) whose two stages touch the
    same paths; the branch and the status before it."""
    _base(repo)
    repo.write("story2.txt", TEXT)
    repo.git("add", "story2.txt")
    repo.git("commit", "-qm", "story2")
    base = repo.head()
    _wip(repo)
    status = repo.git("status", "--porcelain")
    repo.atomic_json("begin", "steps")
    _sh(repo, "; ".join(first for _, first, _ in TWO_STAGES.values()))
    repo.atomic_json("checkpoint", "-m", "first step")
    return base, status


def _sh(repo: GitRepo, script: str) -> None:
    import subprocess

    subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=True)


def test_a_session_commits_the_change_since_its_last_commit_on_paths_it_committed(
    repo: GitRepo,
) -> None:
    """A stage that changes again what the operation's own earlier commit holds (a file it
    made and then edits, the same line twice, a change undone, a deletion undone) commits that
    change, held back nowhere: measured from PRE-OP, the earlier commit and the stage would
    be two changes of one file, and a file the operation created would clash with itself."""
    base, status = _two_stages(repo)
    _sh(repo, "; ".join(second for _, _, second in TWO_STAGES.values()))
    res = repo.atomic_json("commit")
    assert res["status"] == "committed" and "held_back" not in res, res
    assert repo.git("log", "--format=%s", f"{base}..HEAD").splitlines() == [
        "POST-OP: steps - validation complete",
        "OP-EXEC: steps - first step",
    ]
    expected = _tree(repo, base)
    expected["a.txt"] = ("100644", _blob(repo, b"a1\na2\n"))
    expected["c.sh"] = ("100755", _blob(repo, b"c\n"))
    expected["clean.txt"] = ("100644", _blob(repo, b"clean\nop1\nop2\n"))
    expected["story2.txt"] = ("100644", _blob(repo, _with(TEXT, l12=b"op 12 again\n")))
    expected["gone.txt"] = ("100644", _blob(repo, b"back\n"))
    story = _with(TEXT, l10=b"op 10\n", l12=b"op 12\n")
    expected["story.txt"] = ("100644", _blob(repo, story))
    assert _tree(repo, "HEAD") == expected  # b.txt made and removed; tool.sh as it was
    # Your work in progress is where it was, split as it was: the only thing in the status.
    assert repo.git("status", "--porcelain") == status
    assert repo.git("show", ":story.txt").encode() == _with(
        TEXT, l1=b"staged top\n", l10=b"op 10\n", l12=b"op 12\n"
    )


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        ("echo y >> new/f", b"x\ny\n"),  # changed again
        ("rm new/f", None),  # removed again
        ("echo x > new/f", b"x\n"),  # written again as it was
    ],
    ids=["edited", "removed", "unchanged"],
)
def test_a_file_the_command_made_and_committed_itself_then_changed_is_committed_as_it_ends(
    repo: GitRepo, after: str, expected: bytes | None
) -> None:
    """The command made a file, committed it with git, then changed it: measured from PRE-OP
    (where the file was not), git's commit and the change since clashed as two additions, and
    the change stayed uncommitted ("changed by the operation and by you before it")."""
    _wip(repo)
    status = repo.git("status", "--porcelain")
    script = (
        f"mkdir -p new && echo x > new/f && git add new/f && git commit -qm made new/f; {after}"
    )
    res = repo.atomic_json("run", "--", "sh", "-c", script)
    assert res["status"] == "committed" and "held_back" not in res, res
    committed = repo.git("ls-tree", "HEAD", "new/f").strip()
    if expected is None:
        assert committed == "" and not repo.exists("new/f")
    else:
        assert repo.git("show", "HEAD:new/f").encode() == expected == repo.read("new/f")
    assert repo.git("status", "--porcelain") == status  # your work in progress, as it was


def test_a_path_held_back_by_the_first_commit_is_held_back_by_the_next_one_too(
    repo: GitRepo,
) -> None:
    """Held back once (the operation changed a line you had changed), a path stays HEAD's in
    every later commit of the operation, never committed in part without its first change."""
    base = _base(repo)
    _wip(repo)  # story.txt: line 1 staged, line 4 unstaged
    repo.atomic_json("begin", "steps")
    _sh(repo, "sed -i 's/^unstaged middle$/op middle/' story.txt; echo one > one.txt")
    repo.atomic_json("checkpoint", "-m", "first step")
    _sh(repo, "sed -i 's/^line 8$/op eight/' story.txt; echo two > two.txt")
    res = repo.atomic_json("commit")
    assert res["status"] == "committed" and res["held_back"] == ["story.txt"]
    assert repo.git("diff", "--name-only", base, "HEAD").split() == ["one.txt", "two.txt"]
    assert repo.git("show", ":story.txt").encode() == _with(TEXT, l1=b"staged top\n")
    assert repo.read("story.txt") == _with(
        TEXT, l1=b"staged top\n", l4=b"op middle\n", l8=b"op eight\n"
    )


def test_after_a_rollback_inside_the_session_the_commit_the_branch_holds_is_measured_from(
    repo: GitRepo,
) -> None:
    """A rollback inside the session takes the branch back over the operation's newest commit
    (to the checkpoint's HEAD, its commit before): the next commit is measured from the one
    the branch holds, so a change the operation then undoes (a file it made, a line it
    changed) is committed, not lost as HEAD's."""
    base = _base(repo)
    _wip(repo)
    status = repo.git("status", "--porcelain")
    repo.atomic_json("begin", "steps")
    _sh(repo, "echo a > a.txt; sed -i 's/^line 12$/op 12/' story.txt")
    repo.atomic_json("checkpoint", "-m", "first step")
    _sh(repo, "echo b > b.txt")
    repo.atomic_json("checkpoint", "-m", "second step")
    _sh(repo, "echo x > x.txt")
    repo.atomic("rollback")  # back to the second step's checkpoint: HEAD is the first commit
    _sh(repo, "rm a.txt; sed -i 's/^op 12$/line 12/' story.txt")
    res = repo.atomic_json("commit")
    assert res["status"] == "committed" and "held_back" not in res, res
    tree = _tree(repo, "HEAD")
    assert "a.txt" not in tree and "x.txt" not in tree
    assert tree["b.txt"] == ("100644", _blob(repo, b"b\n"))
    assert tree["story.txt"] == _tree(repo, base)["story.txt"]
    assert repo.git("status", "--porcelain") == status


def test_a_branch_moved_back_over_the_operation_s_commit_is_committed_from_pre_op(
    repo: GitRepo,
) -> None:
    """If the branch no longer holds the operation's earlier commit (reset over it), the next
    commit is measured from PRE-OP again: the whole effect, none of it lost."""
    base, _ = _two_stages(repo)
    repo.git("reset", "-q", "--mixed", base)  # the OP-EXEC commit dropped, the files kept
    _sh(repo, "; ".join(second for _, _, second in TWO_STAGES.values()))
    res = repo.atomic_json("commit")
    assert res["status"] == "committed"
    assert repo.git("log", "--format=%s", f"{base}..HEAD").splitlines() == [
        "POST-OP: steps - validation complete"
    ]
    assert repo.git("show", "HEAD:a.txt") == "a1\na2\n"
    assert repo.git("show", "HEAD:clean.txt") == "clean\nop1\nop2\n"
    assert repo.git("show", "HEAD:gone.txt") == "back\n"


@pytest.mark.parametrize(
    "op_on_it",
    ["rm ita.txt", "chmod +x ita.txt", "echo more >> ita.txt", "rm ita.txt; ln -s x ita.txt", ":"],
)
@pytest.mark.parametrize("how", ["run", "session"])
def test_a_rollback_after_the_commit_is_exact_whatever_the_operation_did_to_an_intent_to_add_file(
    repo: GitRepo, op_on_it: str, how: str
) -> None:
    """The state a commit leaves is worked out exactly (effect.end_state), also where the
    operation removed the file of your intent-to-add entry or changed its kind or mode: the
    index the commit put in place makes that entry again as it was, whatever its file is now.
    So a rollback right after finds nothing changed since, and restores PRE-OP exactly, the
    entry included."""
    _base(repo)
    repo.write("ita.txt", b"ita\n")
    repo.git("add", "-N", "ita.txt")
    before = repo.fingerprint()
    if how == "run":
        repo.atomic_json("run", "-n", "op", "--", "sh", "-c", f"{op_on_it}; echo op >> clean.txt")
    else:
        repo.atomic_json("begin", "op")
        _sh(repo, f"{op_on_it}; echo op >> clean.txt")
        repo.atomic_json("commit")
    res = repo.atomic("rollback")
    assert "exactly its PRE-OP state" in res.stderr, res.stderr
    assert repo.fingerprint().diff(before) == []


def test_subjects_are_short_and_the_body_holds_the_whole_command(repo: GitRepo) -> None:
    _base(repo)
    code = "open('calc.py', 'w').write('def add(a, b):\\n    return a + b\\n')"
    argv = [sys.executable, "-c", code]
    repo.atomic("run", "-n", "add-sub", "--", *argv, check=0)
    subject = repo.git("log", "-1", "--format=%s").rstrip("\n")
    assert subject.startswith("OP-EXEC: add-sub - python3 -c open('calc.py', 'w')")
    assert len(subject) <= 72
    assert "'\"'\"'" not in subject and "\n" not in subject
    assert repo.git("log", "-1", "--format=%b").strip() == f"Command: {shlex.join(argv)}"
    # A short, plain command reads as the shell takes it.
    repo.atomic("run", "--", "sh", "-c", "echo 1 > one.txt", check=0)
    assert repo.git("log", "-1", "--format=%s") == "OP-EXEC: sh - sh -c 'echo 1 > one.txt'\n"


def test_log_and_show_name_what_a_commits_mode_operation_committed(repo: GitRepo) -> None:
    _base(repo)
    _wip(repo)
    res = repo.atomic_json("run", "-n", "mk", "--", "sh", "-c", "echo a > a.txt; echo b > b.txt")
    log = repo.atomic("log", "-n", "1", check=0).stdout
    assert " mk " in log and "2 files +2 -0" in log
    show = repo.atomic("show", res["op_id"][:8], check=0).stdout
    assert "commits: OP-EXEC/POST-OP commits of its effect on the branch" in show
    assert "change    2 files +2 -0 (PRE-OP -> " in show
    assert f"commit {repo.head()[:12]}" in show


@pytest.mark.parametrize("phase", ["red", "green", "refactor"])
def test_a_tdd_phase_with_a_command_commits_its_change_only(repo: GitRepo, phase: str) -> None:
    base = _base(repo)
    repo.write("check.sh", b"grep -qx ok state.txt\n")
    repo.write("state.txt", b"ok\n")
    repo.write(".git-atomic.toml", b'[tdd]\ntest = "sh check.sh"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "suite")
    base = repo.head()
    _wip(repo)  # with an untracked draft (notes.txt) among it
    before = repo.fingerprint()
    new = "bad" if phase == "red" else "ok again"
    check = "ok" if phase == "red" else "ok again"
    repo.write("check.sh", f"grep -qx '{check}' state.txt\n".encode())
    repo.git("add", "check.sh")  # the person's test, staged: theirs, not the command's
    mine = repo.fingerprint()
    res = repo.atomic_json("tdd", phase, "-m", "step", "--", "sh", "-c", f"echo {new} > state.txt")
    assert res["status"] == "committed"
    assert repo.git("log", "--format=%s", f"{base}..HEAD").splitlines() == [
        f"{phase.upper()}: step"
    ]
    assert repo.git("diff", "--name-only", base, "HEAD") == "state.txt\n"
    paths = (*WIP_PATHS, b"check.sh")
    assert _mine(repo.fingerprint(), paths) == _mine(mine, paths)
    assert _mine(mine, WIP_PATHS) == _mine(before, WIP_PATHS)


def test_log_shows_what_a_phase_without_a_command_committed(repo: GitRepo) -> None:
    _base(repo)
    repo.write(".git-atomic.toml", b'[tdd]\ntest = "sh t_new.sh"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "suite")
    repo.write("t_new.sh", b"grep -q feature story.txt\n")
    repo.git("add", "t_new.sh")
    res = repo.atomic_json("tdd", "red", "-m", "a test")
    log = repo.atomic("log", "-n", "1", check=0).stdout
    assert "1 file +1 -0" in log and "no change" not in log
    show = repo.atomic("show", res["op_id"][:8], "--stat", check=0).stdout
    assert "change    1 file +1 -0 (its commit)" in show
    assert f"commit {repo.head()[:12]}\n t_new.sh | 1 +" in show


# --- a model of the rule, on random work in progress and random operations ---------------------
FILES = [f"f{i}.txt" for i in range(5)]
USER_LINES = (0, 5)  # the person edits these lines...
OP_CLEAN_LINES = (9, 11)  # ...the operation these (three lines away at least: always clean)


def _examples() -> int:
    import os

    return int(os.environ.get("GIT_ATOMIC_COMMITS_EXAMPLES") or 4)


def _lines(name: str) -> list[bytes]:
    return [f"{name} line {i}\n".encode() for i in range(12)]


@pytest.mark.parametrize("seed", range(_examples()))
def test_random_work_in_progress_and_operations_follow_the_model(tmp_path: Path, seed: int) -> None:
    """Oracle: line lists in Python. The commit holds the base plus the operation's lines; the
    index the base plus the staged lines plus the committed ones; the disk is never written;
    a file where the operation edited a line the person had edited is held back."""
    import random

    rnd = random.Random(seed)
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    for name in FILES:
        repo.write(name, b"".join(_lines(name)))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    base = repo.head()
    staged: dict[str, dict[int, bytes]] = {}
    unstaged: dict[str, dict[int, bytes]] = {}
    for name in rnd.sample(FILES, 3):
        line = rnd.choice(USER_LINES)
        (staged if rnd.random() < 0.5 else unstaged).setdefault(name, {})[line] = b"mine\n"
        if rnd.random() < 0.5:  # a second edit of the other kind, on the other line
            other = USER_LINES[1 - USER_LINES.index(line)]
            (unstaged if name in staged else staged).setdefault(name, {})[other] = b"mine 2\n"
    for name in FILES:
        index_lines = _lines(name)
        for i, text in staged.get(name, {}).items():
            index_lines[i] = text
        if name in staged:
            repo.write(name, b"".join(index_lines))
            repo.git("add", name)
        disk = list(index_lines)
        for i, text in unstaged.get(name, {}).items():
            disk[i] = text
        repo.write(name, b"".join(disk))
    repo.write("draft.txt", b"untracked\n")
    before = repo.fingerprint()
    # The operation: line edits (clean ones, or on a line the person edited), a new file, and
    # maybe an edit of the untracked draft.
    op_edits: dict[str, dict[int, bytes]] = {}
    for name in rnd.sample(FILES, 3):
        mine = {**staged.get(name, {}), **unstaged.get(name, {})}
        if mine and rnd.random() < 0.4:
            line = rnd.choice(sorted(mine))
        else:
            line = rnd.choice(OP_CLEAN_LINES)
        op_edits.setdefault(name, {})[line] = b"op\n"
    script = [f"sed -i '{i + 1}s/.*/op/' {name}" for name, e in op_edits.items() for i in e]
    script.append("echo new > new.txt")
    touch_draft = rnd.random() < 0.5
    if touch_draft:
        script.append("echo more >> draft.txt")
    res = repo.atomic_json("run", "-n", "op", "--", "sh", "-c", "; ".join(script))
    assert res["status"] == "committed"
    held = set(res.get("held_back", []))
    expected_held = {
        name
        for name, edits in op_edits.items()
        if set(edits) & ({*staged.get(name, {}), *unstaged.get(name, {})})
    }
    assert held == expected_held, (seed, op_edits, staged, unstaged)
    assert repo.git("rev-parse", "HEAD~1").strip() == base
    for name in FILES:
        committed = _lines(name)
        index_lines = _lines(name)
        for i, text in staged.get(name, {}).items():
            index_lines[i] = text
        if name not in held:
            for i, text in op_edits.get(name, {}).items():
                committed[i] = text
                index_lines[i] = text
        assert repo.git("show", f"HEAD:{name}").encode() == b"".join(committed), (seed, name)
        assert repo.git("show", f":{name}").encode() == b"".join(index_lines), (seed, name)
        disk = {**staged.get(name, {}), **unstaged.get(name, {}), **op_edits.get(name, {})}
        expected_disk = [disk.get(i, line) for i, line in enumerate(_lines(name))]
        assert repo.read(name) == b"".join(expected_disk), (seed, name)
    assert repo.git("show", "HEAD:new.txt") == "new\n"
    assert "draft.txt" not in repo.git("ls-tree", "-r", "--name-only", "HEAD")
    assert repo.git("status", "--porcelain", "draft.txt") == "?? draft.txt\n"
    assert repo.read("draft.txt") == (b"untracked\nmore\n" if touch_draft else b"untracked\n")
    # Taking it back right away restores PRE-OP exactly: the work and its split.
    repo.atomic("rollback", check=0)
    assert repo.fingerprint().diff(before) == []


def _text_lines(repo: GitRepo, name: str) -> list[str] | None:
    return repo.read(name).decode().splitlines() if repo.exists(name) else None


def _committed_lines(repo: GitRepo, name: str) -> list[str] | None:
    shown = subprocess.run(
        ["git", "cat-file", "-p", f"HEAD:{name}"], cwd=repo.path, env=repo.env, capture_output=True
    )
    return shown.stdout.decode().splitlines() if shown.returncode == 0 else None


@pytest.mark.parametrize("seed", range(_examples()))
def test_random_sessions_of_stages_commit_every_stage_effect_and_none_of_your_work(
    tmp_path: Path, seed: int
) -> None:
    """Random work in progress (staged, unstaged, both, a mode, intent-to-add, a staged new
    file, an untracked one), then a session whose stages edit, append to, make and remove
    files, and between them maybe a detached HEAD, a rollback inside the session, or a branch
    reset over its first commit. The model: every line of the operation's on disk is in HEAD
    and no other, unless the file is held back; no line of yours is in HEAD; what you staged
    stays staged, an untracked file untracked; rollback and undo are exact."""
    import random

    rnd = random.Random(seed)
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    names = [f"f{i}.txt" for i in range(6)]
    for name in names:
        repo.write(name, b"".join(b"line %d\n" % i for i in range(12)))
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    base = repo.head()
    wip: dict[str, str] = {}
    for name in names:
        kind = rnd.choice(["none", "none", "staged", "unstaged", "both", "chmod"])
        wip[name] = kind
        if kind in ("staged", "both"):
            lines = _text_lines(repo, name) or []
            lines[rnd.randrange(12)] = f"STG {name}"
            repo.write(name, "".join(x + "\n" for x in lines).encode())
            repo.git("add", name)
        if kind in ("unstaged", "both"):
            lines = _text_lines(repo, name) or []
            lines[rnd.randrange(12)] = f"WIP {name}"
            repo.write(name, "".join(x + "\n" for x in lines).encode())
        if kind == "chmod":
            (repo.path / name).chmod(0o755)
    for name in ("n0.txt", "n1.txt"):
        kind = rnd.choice(["none", "untracked", "ita", "stagednew"])
        wip[name] = kind
        if kind != "none":
            repo.write(name, f"WIP {name}\n".encode())
        if kind == "ita":
            repo.git("add", "-N", name)
        if kind == "stagednew":
            repo.git("add", name)
    before = repo.fingerprint()
    repo.atomic_json("begin", "steps")
    every = [*names, "n0.txt", "n1.txt", "new1.txt", "new2.txt"]

    def stage(number: int) -> None:
        for name in every:
            action = rnd.choice(["none", "none", "line", "append", "remove", "make"])
            lines = _text_lines(repo, name)
            if action == "line" and lines:
                lines[rnd.randrange(len(lines))] = f"OP{number} {name}"
            elif action == "append" and lines is not None:
                lines.append(f"OP{number} {name} end")
            elif action == "remove" and lines is not None and rnd.random() < 0.3:
                (repo.path / name).unlink()
                continue
            elif action == "make" and lines is None:
                lines = [f"OP{number} {name} new"]
            else:
                continue
            repo.write(name, "".join(x + "\n" for x in lines).encode())

    stage(1)
    repo.atomic_json("checkpoint", "-m", "first step")
    between = rnd.choice(["none", "none", "detach", "rollback", "reset"])
    if between == "detach":
        repo.git("checkout", "-q", "--detach")
    elif between == "reset":
        repo.git("reset", "-q", "--mixed", base)
    stage(2)
    if between == "rollback":
        repo.atomic_json("checkpoint", "-m", "second step")
        stage(3)
        repo.atomic("rollback", check=0)
    res = repo.atomic_json("commit")
    assert res["status"] == "committed", (seed, res)
    held = set(res.get("held_back", []))
    for name in every:
        committed, disk = _committed_lines(repo, name) or [], _text_lines(repo, name) or []
        assert not [x for x in committed if x.startswith(("WIP", "STG"))], (seed, name)
        if name in held or wip.get(name) == "untracked":
            continue
        ours = [x for x in disk if x.startswith("OP")]
        assert [x for x in committed if x.startswith("OP")] == ours, (seed, between, name, held)
    status = repo.git("status", "--porcelain", "-uall")
    for name, kind in wip.items():
        if kind == "untracked" and repo.exists(name):
            assert f"?? {name}" in status, (seed, name, status)
        staged_line = f"STG {name}"
        on_disk = staged_line in (_text_lines(repo, name) or [])
        if kind in ("staged", "both") and on_disk and between != "reset":
            assert staged_line in repo.git("show", f":{name}"), (seed, name)
    after = repo.fingerprint()
    repo.atomic("rollback", check=0)
    assert repo.fingerprint().diff(before) == [], (seed, between)
    repo.atomic("undo", check=0)
    assert repo.fingerprint().diff(after) == [], (seed, between)


# What your git would commit: the same setup and operation in two copies of a repository, one
# run by commits mode, the other committed by plain git (`git add -A`, `git commit`).
_SPARSE = (
    "mkdir folder1 deep; echo a > folder1/a; echo a > deep/a; echo b > deep/b;"
    " git add -A; git commit -qm dirs; git sparse-checkout set deep"
)
_ROT13 = "tr a-zA-Z n-za-mN-ZA-M"
# Files whose bytes on disk are not their blob though git sees no change (git status clean):
# the operation's edit of them is committed, never held back as yours.
_READ_OTHERWISE = {
    "skip-worktree-absent": (
        "echo s > sw; git add sw; git commit -qm sw; git update-index --skip-worktree sw; rm sw",
        "git update-index --no-skip-worktree sw; echo op > sw; git add sw",
    ),
    "symlinks-false": (
        "echo t > target; ln -s target lnk; git add -A; git commit -qm l;"
        " git config core.symlinks false; rm lnk; git checkout -- lnk",
        "echo other > lnk",
    ),
    "clean-filter": (
        f"git config filter.rot13.clean '{_ROT13}'; git config filter.rot13.smudge '{_ROT13}';"
        " echo 'test.t filter=rot13' > .gitattributes; echo hello > test.t;"
        " git add -A; git commit -qm f",
        "echo op edit > test.t",
    ),
    "autocrlf": (
        "printf 'a\\nb\\n' > f.txt; git add f.txt; git commit -qm f;"
        " git config core.autocrlf true; rm f.txt; git checkout -- f.txt",
        "printf 'a\\r\\nB\\r\\n' > f.txt",
    ),
    "ident": (
        "echo '*.c ident' > .gitattributes; echo '$Id$' > i.c; git add -A; git commit -qm i;"
        " rm i.c; git checkout -- i.c",
        "echo '$Id$ op' > i.c",
    ),
    "sparse-cone-widened": (_SPARSE, "git sparse-checkout add folder1; echo x > folder1/a"),
}
# What the operation itself makes, read by git otherwise than the bytes and modes on disk.
_MADE_OTHERWISE = {
    "new-crlf-autocrlf-true": (
        "git config core.autocrlf true",
        "printf 'x\\r\\ny\\r\\n' > new.txt",
    ),
    "new-crlf-autocrlf-input": (
        "git config core.autocrlf input",
        "printf 'x\\r\\ny\\r\\n' > new.txt",
    ),
    "new-executable-filemode-false": (
        "git config core.fileMode false",
        "echo '#!/bin/sh' > s.sh; chmod +x s.sh; chmod +x README",
    ),
    # git leaves a file's CRs alone only where the index's copy is text with a CRLF in it:
    # not a binary copy with a CR, nor one with a lone CR (which git takes for binary).
    "crlf-over-cr-in-index-autocrlf-true": (
        "git config core.autocrlf true; printf 'bin\\0x\\r\\n' > bin.dat;"
        " printf 'lone\\rcr\\n' > lone.txt; git add -A; git commit -qm cr",
        "printf 'now text\\r\\n' > bin.dat; printf 'now\\r\\ncrlf\\r\\n' > lone.txt",
    ),
}
# Entries git does not look at on disk: taken as the index says, never as deletions.
_NOT_LOOKED_AT = {
    "sparse-cone-narrowed": (_SPARSE, "git sparse-checkout set folder1"),
    "skip-worktree-removed": ("", "git update-index --skip-worktree README; rm README"),
    "assume-unchanged-edited": ("", "git update-index --assume-unchanged README; echo x > README"),
}


def _as_plain_git_would(tmp_path: Path, setup: str, op: str) -> tuple[GitRepo, str, str]:
    """The repository commits mode ran `op` in, its HEAD before, and the tree plain git commits
    of `op` in a copy made the same way."""
    trees = []
    made = []
    for name in ("tool", "plain"):
        repo = GitRepo.create(tmp_path / name, tmp_path / "home")
        if setup:
            _sh(repo, setup)
        made.append((repo, repo.head()))
        if name == "tool":
            repo.atomic("run", "-n", "op", "--history", "commits", "--", "sh", "-c", op)
        else:
            _sh(repo, f"{op}; git add -A; git commit -q --allow-empty -m op")
        trees.append(repo.git("ls-tree", "-r", "HEAD"))
    (tool, before), _ = made
    assert trees[0] == trees[1]
    return tool, before, trees[0]


@pytest.mark.parametrize("case", sorted({**_READ_OTHERWISE, **_MADE_OTHERWISE}))
def test_a_commit_holds_what_your_git_would_commit(tmp_path: Path, case: str) -> None:
    """Both sides of a commit are git's view of the files (commitview.py): a file git reads
    through a filter, with other line endings or another mode than the disk's is no change of
    yours (its edit by the operation is committed, not held back), and what the operation
    makes is committed as git would make it."""
    setup, op = {**_READ_OTHERWISE, **_MADE_OTHERWISE}[case]
    tool, before, _ = _as_plain_git_would(tmp_path, setup, op)
    assert tool.git("rev-list", "--count", f"{before}..HEAD") == "1\n"
    assert tool.git("status", "--porcelain") == ""


@pytest.mark.parametrize("case", sorted(_NOT_LOOKED_AT))
def test_entries_git_does_not_look_at_are_never_committed_as_deleted(
    tmp_path: Path, case: str
) -> None:
    """A skip-worktree entry whose file is absent (outside the sparse-checkout patterns) or an
    assume-unchanged one is taken as the index says: no commit deletes or changes it, and the
    index keeps it and its flag."""
    setup, op = _NOT_LOOKED_AT[case]
    tool, before, _ = _as_plain_git_would(tmp_path, setup, op)
    assert tool.head() == before  # nothing git would commit: no commit at all
    flagged = tool.git("ls-files", "-v")
    assert sorted(tool.git("ls-files").split()) == sorted(
        tool.git("ls-tree", "-r", "--name-only", "HEAD").split()
    ), flagged


@pytest.mark.parametrize("expect_outside", [False, True])
def test_a_file_written_outside_the_sparse_patterns_is_committed_with_the_rest(
    tmp_path: Path, expect_outside: bool
) -> None:
    """A codegen writing outside a sparse checkout's patterns (babel's packages/ in a cone on
    two of them): git clears the skip-worktree flag of a file on disk as it reads the index,
    but the capture kept the flags listed when the index file last changed (it was absent
    then), so the OP-EXEC commit held the new files and left the edit of the tracked one to
    a POST-OP commit of its own ("validation complete", with no gate in between). One commit
    holds all it did, as `git add -A --sparse` stages it; with
    `sparse.expectFilesOutsideOfPatterns` git keeps the flag and the edit is not seen."""
    setup = "echo r > README; git add README; git commit -qm r; " + _SPARSE
    if expect_outside:
        setup += "; git config sparse.expectFilesOutsideOfPatterns true"
    op = "mkdir -p folder1; echo op > folder1/a; echo n > folder1/new; echo c > deep/c"
    trees, repos = [], []
    for name in ("tool", "plain"):
        repo = GitRepo.create(tmp_path / name, tmp_path / "home")
        repos.append(repo)
        _sh(repo, setup)
        before = repo.head()
        if name == "tool":
            repo.atomic("run", "-n", "op", "--history", "commits", "--", "sh", "-c", op)
            assert repo.git("rev-list", "--count", f"{before}..HEAD") == "1\n"
            assert repo.git("log", "-1", "--format=%s").startswith("OP-EXEC: op")
        else:
            _sh(repo, f"{op}; git add -A --sparse; git commit -qm op")
        trees.append(repo.git("ls-tree", "-r", "HEAD"))
        assert repo.git("status", "--porcelain") == ""
    assert trees[0] == trees[1]
    committed = repos[0].git("show", "HEAD:folder1/a")
    assert committed == ("a\n" if expect_outside else "op\n"), committed


def test_files_ignored_before_the_operation_are_not_committed_when_it_unignores_them(
    repo: GitRepo,
) -> None:
    """An operation that empties `.gitignore`: `.env` and `target/` were there before it,
    ignored, so PRE-OP did not hold them, and its commit took them for its own new files:
    your secrets and build output were committed on your branch. They stay out now,
    untracked, as they are on disk; a file the operation made is committed as before."""
    repo.write(".gitignore", b"target/\n.env\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "ignore")
    repo.write(".env", b"SECRET=1\n")
    repo.write("target/app.o", b"\x7fELF\n")
    repo.atomic("run", "--", "sh", "-c", ": > .gitignore; echo made > made.txt", check=0)
    committed = repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    assert committed == [".gitignore", "README", "made.txt"], committed
    assert repo.git("status", "--porcelain").splitlines() == ["?? .env", "?? target/"]
    assert repo.read(".env") == b"SECRET=1\n" and repo.read("target/app.o") == b"\x7fELF\n"


# Files an operation moves with a plain rename: the rename keeps each file's birth (statx) and
# ctime, older than PRE-OP, though nothing was at the new path before the operation.
_MOVED_IN = {
    "folder": "mv d d2",
    "file": "mv d/a d/a2",
    "into a new folder": "mkdir n && mv d/e/b n/b",
    "moved, then appended to": "mv d/a d/a2 && echo more >> d/a2",
    "a link moved": "mv d/l d/l2",
    "swapped names": "mv d/a t && mv d/e/b d/a && mv t d/e/b",
    "ignored rule kept, file moved": "mv d/a d/a2 && touch .gitignore",
    # The folder's own `.gitignore` moves with it: a rule changed, and the whole move was left
    # out (the commit held only the deletions), as a file a rule had hidden would be.
    "a folder with its .gitignore": "mv d/e d/e2",
    "a folder with its .gitignore, into a new folder": "mkdir n && mv d n/d",
}


@pytest.mark.parametrize("case", sorted(_MOVED_IN))
def test_files_the_operation_moved_are_committed_where_it_moved_them(
    tmp_path: Path, case: str
) -> None:
    """`mv d d2` in a run: the OP-EXEC commit deleted `d/` and left `d2/` untracked (a moved file
    keeps its birth, so it was taken for one there before the operation, ignored then). The
    commit holds what `git add -A` would: the files at their new paths."""
    setup = (
        "mkdir -p d/e && echo a > d/a && echo b > d/e/b && ln -s a d/l && echo '*.o' > .gitignore"
        " && echo '*.tmp' > d/e/.gitignore"
    )
    setup += " && git add -A && git commit -qm files && echo built > d/e/x.tmp"
    tool, before, tree = _as_plain_git_would(tmp_path, setup, _MOVED_IN[case])
    assert tool.git("rev-list", "--count", f"{before}..HEAD") == "1\n"
    assert tool.git("status", "--porcelain") == "", tree
    assert ".tmp" not in tree  # what the moved rule ignores stays ignored


_PACKAGE = "".join(f"from pkg import name_{i}\n" for i in range(12))


@pytest.mark.parametrize("then", ["imports edited", "imports edited, rule file dropped"])
def test_a_folder_moved_with_its_gitignore_then_edited_is_committed_where_it_moved_it(
    repo: GitRepo, then: str
) -> None:
    """The codemod that renames a package: `mv pkg lib`, then a file edited in place. The folder's
    `.gitignore` moved with it (a rule changed), and its edited files, no copy of a file that
    went, stayed out, untracked: the commit deleted `pkg/mod.py` and held no `lib/mod.py`.
    A file git pairs as a rename with one that went, where PRE-OP's rules ignored none there,
    is the operation's; the ignored build output it moved along stays out, even shown."""
    repo.write("pkg/.gitignore", b"*.tmp\n")
    repo.write("pkg/mod.py", _PACKAGE.encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "pkg")
    repo.write("pkg/cache.tmp", b"built\n")
    op = "mv pkg lib && echo 'from lib import more' >> lib/mod.py"  # in place: same birth
    if then.endswith("dropped"):
        op += " && rm lib/.gitignore"
    repo.atomic("run", "--", "sh", "-c", op, check=0)
    committed = repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    rules = [] if then.endswith("dropped") else ["lib/.gitignore"]
    assert committed == ["README", *rules, "lib/mod.py"], committed
    assert repo.git("show", "HEAD:lib/mod.py") == _PACKAGE + "from lib import more\n"
    shown = ["?? lib/cache.tmp"] if then.endswith("dropped") else []
    assert repo.git("status", "--porcelain").splitlines() == shown


def test_a_file_a_deleted_rule_hid_stays_out_when_the_operation_also_moves_files(
    repo: GitRepo,
) -> None:
    """A move committed where a rule changed (a file whose bytes are those of one the operation
    took away) is no way in for a file the rule hid: `.env` stays out, untracked, where the
    operation empties `.gitignore` and moves a folder in the same run."""
    repo.write(".gitignore", b".env\n")
    repo.write("pkg/a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "pkg")
    repo.write(".env", b"SECRET=1\n")
    repo.atomic("run", "--", "sh", "-c", ": > .gitignore; mv pkg lib", check=0)
    committed = repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    assert committed == [".gitignore", "README", "lib/a.txt"], committed
    assert repo.git("status", "--porcelain").splitlines() == ["?? .env"]


def test_a_file_the_operation_took_out_of_the_index_stays_out_of_its_commit(repo: GitRepo) -> None:
    """`git rm --cached` in a run: the commit records the file's removal, and the file stays on
    disk, untracked, as git leaves it (it was there before the operation, tracked)."""
    repo.write("keep.txt", b"mine\n")
    repo.git("add", "keep.txt")
    repo.git("commit", "-qm", "keep")
    repo.atomic("run", "--", "git", "rm", "-q", "--cached", "keep.txt", check=0)
    assert "keep.txt" not in repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    assert repo.git("status", "--porcelain") == "?? keep.txt\n"
    assert repo.read("keep.txt") == b"mine\n"


def test_commits_on_the_branch_are_signed_where_commit_gpgsign_is_set(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`git commit-tree` never reads commit.gpgSign: the OP-EXEC and POST-OP commits were
    unsigned, where every `git commit` of the repository is signed (a branch protected by a
    signing rule refuses the push). Checkpoints under refs/atomic/ stay unsigned."""
    fake_signing(repo, tmp_path)
    base = repo.head()
    res = repo.atomic_json("run", "-n", "mk", "--", "sh", "-c", "echo a > a.txt")
    assert res["status"] == "committed" and repo.head() != base
    assert signed(repo, "HEAD")
    assert not signed(repo, res["checkpoints"]["pre_op"])
    repo.atomic("begin", "session", check=0)
    repo.write("b.txt", b"b\n")
    repo.atomic("checkpoint", "-m", "one", check=0)
    repo.write("c.txt", b"c\n")
    repo.atomic("commit", "--no-gates", check=0)
    commits = repo.git("rev-list", "HEAD", "--not", base).split()
    assert len(commits) == 3 and all(signed(repo, c) for c in commits)


def test_a_commit_git_cannot_sign_is_never_made_unsigned(repo: GitRepo, tmp_path: Path) -> None:
    gpg = fake_signing(repo, tmp_path)
    Path(f"{gpg}.fail").touch()
    before = repo.fingerprint()
    res = repo.atomic("run", "-n", "mk", "--", "sh", "-c", "echo a > a.txt", check=1)
    assert "commit.gpgSign is set and signing the commit failed" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert repo.fingerprint().diff(before) == []  # rolled back, nothing committed
    # A session stays open: signing mended, its commit is made, signed.
    repo.atomic("begin", "session", check=0)
    repo.write("b.txt", b"b\n")
    res = repo.atomic("commit", "--no-gates", check=3)
    assert "signing the commit failed" in res.stderr and "Traceback" not in res.stderr
    assert repo.head() == before.head_commit and repo.read("b.txt") == b"b\n"
    Path(f"{gpg}.fail").unlink()
    repo.atomic("commit", "--no-gates", check=0)
    assert repo.head() != before.head_commit and signed(repo, "HEAD")
    assert repo.git("show", "HEAD:b.txt") == "b\n"


def test_an_isolated_run_s_commits_are_signed(repo: GitRepo, tmp_path: Path) -> None:
    fake_signing(repo, tmp_path)
    base = repo.head()
    command = "echo a > a.txt && git add a.txt && git commit -qm mine && echo b > b.txt"
    repo.atomic_json("run", "--isolate", "-n", "iso", "--", "sh", "-c", command)
    commits = repo.git("rev-list", "HEAD", "--not", base).split()
    assert len(commits) == 2 and all(signed(repo, c) for c in commits)


def test_signing_by_a_program_that_is_not_there_is_refused_before_the_command_runs(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Else the command ran, and its result was rolled back when its commit could not be made."""
    fake_signing(repo, tmp_path)
    repo.git("config", "gpg.program", str(tmp_path / "no-such-gpg"))
    before = repo.fingerprint()
    res = repo.atomic("run", "--", "sh", "-c", "echo ran > ran.txt", check=2)
    assert "the program that signs" in res.stderr and "no-such-gpg" in res.stderr
    assert repo.fingerprint().diff(before) == [] and not repo.atomic_json("log")["operations"]
    repo.atomic("begin", "s", check=2)
    # Shadow mode commits nothing: nothing to sign.
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo ran > ran.txt", check=0)
    repo.git("config", "gpg.format", "ssh")  # signed by ssh-keygen, not gpg.program
    repo.git("config", "gpg.ssh.program", str(tmp_path / "no-such-ssh-keygen"))
    res = repo.atomic("run", "--", "sh", "-c", "echo again > again.txt", check=2)
    assert "no-such-ssh-keygen" in res.stderr and not (repo.path / "again.txt").exists()
