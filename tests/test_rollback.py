"""`git atomic rollback` at every level, in both history modes, with undo and dry runs."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import GitRepo, State, stop_helpers

MODES = ("commits", "shadow")


def atomic_refs(repo: GitRepo) -> str:
    return repo.checkpoint_refs()


def same(a: State, b: State) -> None:
    assert a == b, "\n".join(a.diff(b))


def one_line_error(res: Any, code: int) -> None:
    assert res.returncode == code, res.stderr
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr


def staged_session(repo: GitRepo, mode: str) -> tuple[str, list[State]]:
    """begin, two OP-EXEC stages, more edits. States: before begin, before each checkpoint."""
    repo.write("keep.txt", b"keep\n")
    repo.git("add", "keep.txt")
    repo.git("commit", "-q", "-m", "keep")
    states = [repo.fingerprint()]
    op_id = repo.atomic_json("begin", "work", "--history", mode)["op_id"]
    repo.write("a.txt", b"one\n")
    repo.write("README", b"changed\n")
    states.append(repo.fingerprint())
    repo.atomic("checkpoint", "-m", "s1", check=0)
    repo.write("a.txt", b"two\n")
    repo.write("b.txt", b"b\n", mode=0o755)
    os.unlink(repo.path / "keep.txt")
    repo.git("add", "b.txt")
    states.append(repo.fingerprint())
    repo.atomic("checkpoint", "-m", "s2", check=0)
    repo.write("a.txt", b"three\n")
    repo.write("c.txt", b"c\n")
    return op_id, states


@pytest.mark.parametrize("mode", MODES)
def test_immediate_steps_back_through_an_open_operation(repo: GitRepo, mode: str) -> None:
    op_id, (before, at_s1, at_s2) = staged_session(repo, mode)
    edited = repo.fingerprint()
    res = repo.atomic_json("rollback")
    assert res["status"] == "open" and res["op_id"] == op_id
    assert res["target"]["label"].startswith("OP-EXEC stage 2")
    assert "undo" in repo.atomic("status").stderr or True
    same(repo.fingerprint(), at_s2)
    repo.atomic("rollback", check=0)
    same(repo.fingerprint(), at_s1)
    repo.atomic("rollback", check=0)
    same(repo.fingerprint(), before)
    # At PRE-OP there is nothing further: exit 0, nothing changes, the operation stays open.
    refs = atomic_refs(repo)
    res2 = repo.atomic("rollback", check=0)
    assert "nothing further" in res2.stderr
    same(repo.fingerprint(), before)
    assert atomic_refs(repo) == refs
    status = repo.atomic_json("status")
    assert status["open"]["op_id"] == op_id
    # Each undo re-does one step back up, exactly.
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), at_s1)
    repo.atomic("undo", check=0)  # undoes the undo: back at PRE-OP
    same(repo.fingerprint(), before)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), at_s1)
    repo.atomic("abort", check=0)
    same(repo.fingerprint(), before)
    assert edited != before


@pytest.mark.parametrize("mode", MODES)
def test_immediate_returns_to_the_step_it_reached_after_new_edits(repo: GitRepo, mode: str) -> None:
    _op_id, (_before, at_s1, _at_s2) = staged_session(repo, mode)
    repo.atomic("rollback", check=0)
    repo.atomic("rollback", check=0)
    same(repo.fingerprint(), at_s1)
    repo.write("a.txt", b"edited after going back\n")
    res = repo.atomic_json("rollback")
    assert res["target"]["label"].startswith("OP-EXEC stage 1")
    same(repo.fingerprint(), at_s1)


@pytest.mark.parametrize("mode", MODES)
def test_immediate_after_run_undoes_the_run_and_undo_brings_it_back(
    repo: GitRepo, mode: str
) -> None:
    repo.write("dirty.txt", b"untracked before\n")
    before = repo.fingerprint()
    done = repo.atomic_json(
        "run",
        "--history",
        mode,
        "--",
        "sh",
        "-c",
        "echo new > new.txt; echo more >> README; rm dirty.txt",
    )
    assert done["status"] == "committed"
    after = repo.fingerprint()
    res = repo.atomic_json("rollback")
    assert res["status"] == "rolled_back"
    assert res["target"]["label"].startswith("PRE-OP")
    assert res["checkpoints"]["rescue"]
    assert {c["path"]: c["action"] for c in res["changes"]} == {
        "new.txt": "delete",
        "README": "modify",
        "dirty.txt": "create",
    }
    same(repo.fingerprint(), before)
    log = repo.atomic_json("log")["operations"]
    assert log[0]["status"] == "rolled_back"
    # Nothing further: the operation is rolled back; undo is the way forward.
    res2 = repo.atomic("rollback", check=0)
    assert "nothing further" in res2.stderr and "undo" in res2.stderr
    undone = repo.atomic_json("undo")
    assert undone["status"] == "undone"
    same(repo.fingerprint(), after)
    assert repo.atomic_json("log")["operations"][0]["status"] == "committed"
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)
    assert repo.atomic_json("log")["operations"][0]["status"] == "rolled_back"


@pytest.mark.parametrize("mode", MODES)
def test_immediate_on_a_committed_op_refuses_when_later_edits_overlap(
    repo: GitRepo, mode: str
) -> None:
    """Was: immediate rollback went to POST-OP first, dropping the later edits. Now it takes the
    operation's effect back; the file it created was edited since: an overlap, nothing changes,
    and the whole earlier state is there only when asked for by name."""
    before = repo.fingerprint()
    op_id = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", "echo x > x.txt")["op_id"]
    repo.write("x.txt", b"edited later\n")
    repo.write("later.txt", b"later\n")
    edited, refs = repo.fingerprint(), atomic_refs(repo)
    dry = repo.atomic("rollback", "--dry-run", check=3)
    assert "overlap x.txt: modify/delete, in the files" in dry.stdout
    res = repo.atomic_json("rollback", check=3)
    assert res["status"] == "refused" and res["conflicts"][0]["path"] == "x.txt"
    assert f"rollback --op {op_id} --whole" in res["hint"]
    same(repo.fingerprint(), edited)
    assert atomic_refs(repo) == refs
    repo.atomic("rollback", "--op", op_id, "--whole", check=0)
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("mode", MODES)
def test_rollback_op_whole_restores_pre_op_exactly_even_after_commits(
    repo: GitRepo, mode: str
) -> None:
    repo.git("branch", "side")
    repo.write("sub/f.txt", b"f\n")
    repo.write("README", b"staged\n")
    repo.git("add", "README")
    before = repo.fingerprint()
    script = (
        "echo 1 > a; git add a; git commit -qm c1; git checkout -qb made; "
        "echo 2 > b; git add b; git commit -qm c2; git branch -D side; "
        "rm -r sub; mkdir -p sub/f.txt; echo in > sub/f.txt/x; chmod +x a"
    )
    first = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", script)
    second = repo.atomic_json("run", "--history", mode, "--", "sh", "-c", "echo 3 > c")
    after = repo.fingerprint()
    res = repo.atomic_json("rollback", "--op", first["op_id"][:6], "--whole")
    assert res["status"] == "rolled_back" and res["op_id"] == first["op_id"]
    same(repo.fingerprint(), before)
    statuses = {o["op_id"]: o["status"] for o in repo.atomic_json("log")["operations"]}
    assert statuses == {first["op_id"]: "rolled_back", second["op_id"]: "committed"}
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), after)
    statuses = {o["op_id"]: o["status"] for o in repo.atomic_json("log")["operations"]}
    assert statuses[first["op_id"]] == "committed"


@pytest.mark.parametrize("mode", MODES)
def test_rollback_op_of_the_open_operation_closes_it(repo: GitRepo, mode: str) -> None:
    before = repo.fingerprint()
    op_id = repo.atomic_json("begin", "s", "--history", mode)["op_id"]
    repo.write("x", b"x\n")
    repo.atomic("checkpoint", check=0)
    repo.write("y", b"y\n")
    during = repo.fingerprint()
    res = repo.atomic_json("rollback", "--op", op_id)
    assert res["status"] == "rolled_back"
    same(repo.fingerprint(), before)
    assert repo.atomic_json("status")["open"] is None
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), during)


def test_rollback_op_errors_change_nothing(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo 1 > one", check=0)
    before, refs = repo.fingerprint(), atomic_refs(repo)
    one_line_error(repo.atomic("rollback", "--op", "abcdef123456"), 2)
    one_line_error(repo.atomic("rollback", "--op", "zz"), 2)
    one_line_error(repo.atomic("rollback", "--op", "abcd", "--to", "abcd"), 2)
    one_line_error(repo.atomic("rollback", "x.txt"), 2)
    res = repo.atomic("rollback", "--op", "abcdef123456", "--json")
    assert res.returncode == 2 and json.loads(res.stdout)["exit_code"] == 2
    op_id = repo.atomic_json("begin", "open-one")["op_id"]
    first = next(o for o in repo.atomic_json("log")["operations"] if o["op_id"] != op_id)
    one_line_error(repo.atomic("rollback", "--op", first["op_id"]), 3)
    repo.atomic("abort", check=0)
    same(repo.fingerprint(), before)
    assert atomic_refs(repo) != refs  # begin/abort made refs; the refusals made none


def test_rollback_with_no_operation_is_a_usage_error(repo: GitRepo) -> None:
    before = repo.fingerprint()
    one_line_error(repo.atomic("rollback"), 2)
    one_line_error(repo.atomic("undo"), 2)
    same(repo.fingerprint(), before)


@pytest.mark.parametrize("mode", MODES)
def test_rollback_to_a_checkpoint_by_sha_prefix_and_by_ref(repo: GitRepo, mode: str) -> None:
    op_id, (_before, at_s1, at_s2) = staged_session(repo, mode)
    repo.atomic("commit", "--no-gates", check=0)
    after = repo.fingerprint()
    show = repo.atomic_json("show", op_id)
    cps = {c["kind"] + str(i): c for i, c in enumerate(show["checkpoint_list"])}
    s1 = cps["op_exec1"]
    # A whole earlier state only when asked for by name.
    one_line_error(repo.atomic("rollback", "--to", s1["sha"][:8]), 2)
    same(repo.fingerprint(), after)
    res = repo.atomic_json("rollback", "--to", s1["sha"][:8], "--whole")
    assert res["target"]["sha"] == s1["sha"] and res["status"] == "rolled_back"
    same(repo.fingerprint(), at_s1)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), after)
    repo.atomic("rollback", "--to", cps["op_exec2"]["ref"], "--whole", check=0)
    same(repo.fingerprint(), at_s2)
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), after)
    one_line_error(repo.atomic("rollback", "--to", "refs/atomic/nope"), 2)
    one_line_error(repo.atomic("rollback", "--to", "0000000"), 2)
    one_line_error(repo.atomic("rollback", "--to", "HEAD~1"), 2)
    same(repo.fingerprint(), after)


@pytest.mark.parametrize("mode", MODES)
def test_selective_restores_only_the_paths_files_and_index(repo: GitRepo, mode: str) -> None:
    repo.write("d/one.txt", b"one\n")
    repo.write("d/two.txt", b"two\n")
    repo.git("add", ".")
    repo.git("commit", "-qm", "d")
    done = repo.atomic_json(
        "run",
        "--history",
        mode,
        "--",
        "sh",
        "-c",
        "echo ONE > d/one.txt; echo TWO > d/two.txt; echo R >> README; git add d/one.txt",
    )
    pre = done["checkpoints"]["pre_op"]
    repo.write("d/new.txt", b"new\n")
    head, branches = repo.head(), repo.git("for-each-ref", "refs/heads/")
    cached_before = repo.git("ls-files", "-s")
    after = repo.fingerprint()
    # From the subfolder, like git: the path is relative to the current folder.
    res = repo.atomic_json(
        "rollback", "--to", pre[:10], "--", "one.txt", "new.txt", cwd=repo.path / "d"
    )
    assert {c["path"]: c["action"] for c in res["changes"]} == {
        "d/one.txt": "modify",
        "d/new.txt": "delete",
    }
    assert res["paths"] == ["d/one.txt", "d/new.txt"]
    assert repo.read("d/one.txt") == b"one\n"
    assert not repo.exists("d/new.txt")
    assert repo.read("d/two.txt") == b"TWO\n"
    assert repo.read("README").endswith(b"R\n")
    assert repo.head() == head and repo.git("for-each-ref", "refs/heads/") == branches
    staged = dict(line.split("\t")[::-1] for line in repo.git("ls-files", "-s").splitlines())
    old = dict(line.split("\t")[::-1] for line in cached_before.splitlines())
    blob_one = repo.git("rev-parse", f"{pre}:staged/d/one.txt").strip()
    assert staged["d/one.txt"].split()[1] == blob_one
    assert {k: v for k, v in staged.items() if k != "d/one.txt"} == {
        k: v for k, v in old.items() if k != "d/one.txt"
    }
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), after)


def test_selective_takes_absolute_paths_inside_the_worktree(repo: GitRepo) -> None:
    done = repo.atomic_json("run", "--", "sh", "-c", "echo changed > README; echo y > other")
    (repo.path / "d").mkdir()
    res = repo.atomic_json(
        "rollback",
        "--to",
        done["checkpoints"]["pre_op"],
        "--",
        str(repo.path / "README"),
        cwd=repo.path / "d",
    )
    assert res["paths"] == ["README"]
    assert repo.read("README") == b"hello\n" and repo.read("other") == b"y\n"


REFUSED = [
    "../x",
    "/etc/passwd",
    "outside/x",
    "outlink",
    ".git/config",
    ".GIT/HEAD",
    "d/.Git/x",
    "d/../../x",
    ":(top)README",
    "inlink/x",
    "no-such-file",
    "ABS/outlink",
    "ABS/inlink/x",
    "ABS/../x",
]


@pytest.mark.parametrize("path", REFUSED)
def test_selective_refuses_unsafe_paths_with_exit_2_and_no_change(
    repo: GitRepo, tmp_path: Path, path: str
) -> None:
    outside = tmp_path / "outside-dir"
    outside.mkdir()
    (outside / "x").write_text("precious\n")
    done = repo.atomic_json("run", "--", "sh", "-c", "echo changed > README")
    os.symlink(outside, repo.path / "outside")
    os.symlink(outside / "x", repo.path / "outlink")
    (repo.path / "d").mkdir()
    os.symlink("d", repo.path / "inlink")
    if path.startswith("ABS/"):  # absolute, the same checks as relative ones
        path = str(repo.path) + path[3:]
    before, refs = repo.fingerprint(), atomic_refs(repo)
    res = repo.atomic("rollback", "--to", done["checkpoints"]["pre_op"], "--", path)
    one_line_error(res, 2)
    same(repo.fingerprint(), before)
    assert atomic_refs(repo) == refs
    assert (outside / "x").read_text() == "precious\n"


@pytest.mark.parametrize("mode", MODES)
def test_dry_run_lists_exactly_and_changes_nothing(repo: GitRepo, mode: str) -> None:
    repo.write("gone.txt", b"gone\n")
    repo.write("mode.sh", b"#!/bin/sh\n")
    repo.write("link", b"target")
    repo.git("add", ".")
    repo.git("commit", "-qm", "files")
    script = (
        "rm gone.txt; echo new > new.txt; chmod +x mode.sh; echo m >> README; "
        "rm link; ln -s elsewhere link; git checkout -qb other"
    )
    repo.atomic("run", "--history", mode, "--", "sh", "-c", script, check=0)
    before, refs = repo.fingerprint(), atomic_refs(repo)
    res = repo.atomic_json("rollback", "--dry-run")
    assert res["dry_run"] is True and res["checkpoints"]["rescue"] is None
    assert {c["path"]: c["action"] for c in res["changes"]} == {
        "gone.txt": "create",
        "new.txt": "delete",
        "mode.sh": "mode",
        "README": "modify",
        "link": "type",
    }
    assert res["head"] == {"from": "other", "to": "main"}
    assert [(b["name"], b["to"]) for b in res["branches"]] == [("other", None)]
    text = repo.atomic("rollback", "--dry-run")
    assert text.returncode == 0
    assert sorted(text.stdout.splitlines()[:5]) == sorted(
        ["create  gone.txt", "delete  new.txt", "mode    mode.sh", "modify  README", "type    link"]
    )
    for args in (
        ["rollback", "--op", res["op_id"], "--dry-run"],
        ["rollback", "--to", res["checkpoints"]["pre_op"], "--dry-run", "--", "README"],
        ["emergency", "--dry-run"],
        ["undo", "--dry-run"],
    ):
        repo.atomic(*args, check=0 if args[0] != "undo" else 2)
    same(repo.fingerprint(), before)
    assert atomic_refs(repo) == refs
    repo.atomic("rollback", check=0)
    assert {c for c in os.listdir(repo.path) if c != ".git"} == {
        "README",
        "gone.txt",
        "mode.sh",
        "link",
    }


def test_rollback_op_of_another_worktree_is_refused(repo: GitRepo, tmp_path: Path) -> None:
    other = tmp_path / "other-wt"
    repo.git("worktree", "add", "-q", "-b", "wt", str(other))
    there = GitRepo(other, repo.env)
    done = there.atomic_json("run", "--history", "shadow", "--", "sh", "-c", "echo x > x")
    before = repo.fingerprint()
    one_line_error(repo.atomic("rollback", "--op", done["op_id"]), 2)
    same(repo.fingerprint(), before)
    assert there.read("x") == b"x\n"
    # In its own worktree it rolls back; this one is left alone.
    there.atomic("rollback", "--op", done["op_id"], check=0)
    assert not there.exists("x")
    same(repo.fingerprint(), before)


# Names a pathspec would take for a pattern or magic: a selective rollback takes each as the name
# of one file, in every git call it makes (an `ls-files` that globbed while an `ls-tree` did not
# once took `c.*`'s files out of the index).
ODD_NAMES = ["c.*", "[ab].txt", ":x", "?q", "*"]


@pytest.mark.parametrize("name", ODD_NAMES)
def test_selective_paths_are_names_never_patterns(repo: GitRepo, name: str) -> None:
    for path in ["c.txt", "a.txt", "b.txt", "xq", name]:
        repo.write(path, f"{path}\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "odd names")
    appends = "; ".join(f"echo op >> '{p}'" for p in ["c.txt", "a.txt", "xq", name])
    done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", appends)
    pre = done["checkpoints"]["pre_op"]
    before = repo.fingerprint()
    res = repo.atomic_json("rollback", "--to", pre[:10], "--", name)
    assert [c["path"] for c in res["changes"]] == [name]
    assert repo.read(name) == f"{name}\n".encode()
    for other in ["c.txt", "a.txt", "xq"]:
        assert repo.read(other).endswith(b"op\n")
    # Every file is still tracked, its entry as it was (nothing staged by the op).
    assert repo.git("status", "--porcelain", "--", ":(literal)" + name) == ""
    assert sorted(repo.git("ls-files").splitlines()) == sorted(
        ["README", "c.txt", "a.txt", "b.txt", "xq", name]
    )
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)


# Names git's `check-ignore` reads as pathspecs with magic: `:a.log` asks for `a.log`, and `:!b`
# fails the whole call. A failed operation's file so named was kept by its rollback for `a.log`'s
# rule ("files as before"), or the call's failure took every ignored file for a tracked one.
@pytest.mark.parametrize("name", [":a.log", ":(top)a.log", ":!b"])
def test_names_with_pathspec_magic_are_judged_by_their_own_ignore_rules(
    repo: GitRepo, name: str
) -> None:
    repo.write(".gitignore", b"a.log\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    repo.write("old.txt", b"mine\n")
    repo.write("old2.txt", b"mine too\n")
    before = repo.fingerprint()
    # Both renames keep their files' birth: the ignored `a.log` stays (ignored files are not
    # restored), the one named with magic goes, as any file the operation made.
    res = repo.atomic("run", "--", "sh", "-c", f"mv old.txt '{name}'; mv old2.txt a.log; exit 1")
    assert res.returncode == 1, res.stderr
    assert not os.path.lexists(os.path.join(repo.path, name))
    assert repo.read("old.txt") == b"mine\n"
    assert repo.read("old2.txt") == b"mine too\n"
    assert repo.read("a.log") == b"mine too\n"
    after = repo.fingerprint()
    assert [f for f in after.files if f[0] != b"a.log"] == list(before.files)
    assert (after.index, after.branches, after.head) == (before.index, before.branches, before.head)


def test_a_pattern_names_no_file_and_is_refused_with_nothing_changed(repo: GitRepo) -> None:
    repo.write("c.txt", b"c\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "c")
    done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", "echo op >> c.txt")
    before = repo.fingerprint()
    res = repo.atomic("rollback", "--to", done["checkpoints"]["pre_op"][:10], "--", "c.*")
    one_line_error(res, 2)
    assert "not patterns" in res.stderr
    same(repo.fingerprint(), before)


def _flags(repo: GitRepo) -> dict[str, str]:
    """Each index entry's `ls-files -v` tag (H, S, h: assume-unchanged) and whether it is an
    intent-to-add entry (`ls-files --debug` flags, +ita)."""
    tags = dict(line.split(" ", 1)[::-1] for line in repo.git("ls-files", "-v").splitlines())
    ita = set(repo.git("diff", "--name-only", "--diff-filter=A").split())  # ita: A unstaged
    return {p: t + ("+ita" if p in ita else "") for p, t in tags.items()}


def test_selective_rollback_puts_back_the_paths_flags_and_leaves_the_others(
    repo: GitRepo,
) -> None:
    """Intent-to-add, skip-worktree and assume-unchanged under the paths come back as the
    checkpoint had them; every other entry keeps its flags as they are now; undo is exact."""
    for path in ["src/plain.txt", "src/skip.txt", "src/assume.txt", "top/skip.txt", "top/x.txt"]:
        repo.write(path, b"base\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "flags")
    repo.write("src/ita.txt", b"intent\n")
    repo.write("top/ita.txt", b"intent\n")
    repo.git("add", "-N", "src/ita.txt", "top/ita.txt")
    repo.git("update-index", "--skip-worktree", "src/skip.txt", "top/skip.txt")
    repo.git("update-index", "--assume-unchanged", "src/assume.txt")
    at_pre = _flags(repo)
    done = repo.atomic_json(
        "run",
        "--history",
        "shadow",
        "--",
        "sh",
        "-c",
        "echo op > src/new.txt; echo op >> src/plain.txt",
    )
    # Since: you clear two of the flags and set another, in and out of src/.
    repo.git("update-index", "--no-skip-worktree", "src/skip.txt")
    repo.git("update-index", "--no-assume-unchanged", "src/assume.txt")
    repo.git("update-index", "--assume-unchanged", "top/x.txt")
    now = _flags(repo)
    before = repo.fingerprint()

    repo.atomic_json("rollback", "--to", done["checkpoints"]["pre_op"][:10], "--", "src")
    after = _flags(repo)
    assert {p: t for p, t in after.items() if p.startswith("src/")} == {
        p: t for p, t in at_pre.items() if p.startswith("src/")
    }
    assert {p: t for p, t in after.items() if not p.startswith("src/")} == {
        p: t for p, t in now.items() if not p.startswith("src/")
    }
    assert not repo.exists("src/new.txt") and repo.read("src/plain.txt") == b"base\n"
    assert repo.read("src/ita.txt") == b"intent\n"
    repo.atomic("undo", check=0)
    same(repo.fingerprint(), before)
    assert _flags(repo) == now


def _branches(repo: GitRepo) -> dict[str, str]:
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
    return dict(line.split() for line in out.splitlines())


@pytest.mark.parametrize("how", ["abort", "failed run"])
def test_a_rollback_leaves_branches_another_worktree_may_have_changed(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """Effect, not state: with another worktree in use, a branch other than this worktree's
    own that changed while the operation ran is left as it is and named; the operation's files
    and this worktree's branch are taken back (adversarial review: `topic` moved back and
    `w2-backup` deleted, the other worktree's work)."""
    repo.git("branch", "topic")
    other = tmp_path / "w2"
    repo.git("worktree", "add", "-q", str(other), "-b", "feature")
    meanwhile = (
        f"cd '{other}' && echo w2 > w2.txt && git add w2.txt && git commit -qm w2"
        " && git branch w2-backup && git branch -f topic HEAD"
    )
    branch = repo.git("branch", "--show-current").strip()
    mine = _branches(repo)[f"refs/heads/{branch}"]
    if how == "abort":
        repo.atomic("begin", "op", check=0)
        subprocess.run(["sh", "-c", meanwhile], env=repo.env, check=True)
        repo.write("README", b"the op's\n")
        res = repo.atomic("abort")
    else:  # the other worktree's work happens while the command runs
        line = f"echo op > README; ( {meanwhile} ); exit 1"
        res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line)
    after = _branches(repo)
    assert res.returncode in (0, 1), res.stderr
    assert "branch topic changed meanwhile" in res.stderr
    assert "branch w2-backup changed meanwhile" in res.stderr
    assert repo.read("README") == b"hello\n"  # the operation's change: taken back
    assert after["refs/heads/topic"] == after["refs/heads/feature"]
    assert after["refs/heads/w2-backup"] == after["refs/heads/feature"]
    assert after[f"refs/heads/{branch}"] == mine


@pytest.mark.parametrize("whole", [False, True], ids=["effect", "whole"])
def test_a_dry_run_names_the_branch_another_worktree_has_checked_out(
    repo: GitRepo, tmp_path: Path, whole: bool
) -> None:
    """Peers (jj#7229: a workspace's files changed under it): an operation moved `feature`,
    which another worktree has checked out; its rollback leaves it there and says so. Its
    --dry-run said nothing of it (the JSON had it, the listing did not), nor did a whole
    rollback that found nothing else to do ("already at PRE-OP")."""
    other = tmp_path / "w2"
    repo.git("worktree", "add", "-q", str(other), "-b", "feature")
    line = "echo op > made.txt && git add made.txt && git commit -qm op"
    line += " && git update-ref refs/heads/feature HEAD"
    op = repo.atomic_json("run", "--history", "commits", "--no-gates", "--", "sh", "-c", line)
    kept = _branches(repo)["refs/heads/feature"]
    extra = ["--whole"] if whole else []
    plan = repo.atomic("rollback", "--op", op["op_id"], *extra, "--dry-run", check=0)
    assert "keep    feature (checked out in another worktree: stays)" in plan.stdout
    said = repo.atomic("rollback", "--op", op["op_id"], *extra, check=0).stderr
    assert "branch feature is checked out in another worktree; left as it is" in said
    assert _branches(repo)["refs/heads/feature"] == kept and not repo.exists("made.txt")
    if whole:  # nothing else to do now: the branch is still named
        said = repo.atomic("rollback", "--op", op["op_id"], "--whole", check=0).stderr
        assert "already at PRE-OP" in said, said
        assert "branch feature is checked out in another worktree; left as it is" in said


@pytest.mark.parametrize("how", ["failed run", "abort", "recover"])
@pytest.mark.parametrize("moved_after", [False, True], ids=["still-there", "moved-elsewhere"])
def test_a_branch_this_worktrees_head_was_on_and_left_is_the_operations(
    repo: GitRepo, tmp_path: Path, how: str, moved_after: bool
) -> None:
    """With another worktree in use, an operation that checked out a new branch and then
    another (`git checkout -B op/nested; git checkout -B side`) left `op/nested` behind after
    its rollback ("changed meanwhile, and another worktree may have changed it"): HEAD's own
    reflog here says this worktree was on it and where it left it. Still there: it goes with
    the rest. Moved since by someone else (here, from the other worktree): left and named."""
    other = tmp_path / "w2"
    repo.git("worktree", "add", "-q", str(other), "-b", "feature")
    before = _branches(repo)
    head = repo.git("symbolic-ref", "HEAD")
    line = "echo op > README && git checkout -q -B op/nested && git commit -qam nested"
    line += " && git checkout -q -B side"
    if moved_after:
        line += f" && git -C '{other}' branch -f op/nested feature"
    if how == "failed run":
        res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1")
    elif how == "abort":
        repo.atomic("begin", "op", check=0)
        subprocess.run(["sh", "-c", line], cwd=repo.path, env=repo.env, check=True)
        res = repo.atomic("abort")
    else:  # killed half way: `recover` finishes the rollback from the journal
        killed = line + "; kill -9 $PPID"
        repo.atomic("run", "--no-gates", "--", "sh", "-c", killed, check=None)
        res = repo.atomic("recover")
    after = _branches(repo)
    assert res.returncode in (0, 1), res.stderr
    assert repo.read("README") == b"hello\n"
    assert repo.git("symbolic-ref", "HEAD") == head
    assert "refs/heads/side" not in after
    if moved_after:
        assert after["refs/heads/op/nested"] == before["refs/heads/feature"]
        assert "branch op/nested changed meanwhile" in res.stderr, res.stderr
        del after["refs/heads/op/nested"]
    assert after == before, res.stderr


def test_without_another_worktree_a_branch_the_operation_made_goes(repo: GitRepo) -> None:
    before = _branches(repo)
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", "git branch made-by-op; exit 1")
    assert res.returncode == 1 and _branches(repo) == before


@pytest.mark.parametrize("how", ["abort", "failed run", "rollback --op"])
def test_a_folder_there_before_and_after_is_kept_not_made_again(repo: GitRepo, how: str) -> None:
    """The operation deleted sub/b.txt and made sub/new.txt: the rollback empties sub/ on its
    way but writes b.txt back into it, so sub/ stays the same folder (adversarial review: it
    was removed and made again, a shell in it left in a deleted folder, its mode the umask's)."""
    repo.write("sub/b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "sub")
    folder = repo.path / "sub"
    held = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # as a shell sitting in it
    try:
        change = "rm sub/b.txt; echo n > sub/new.txt"
        if how == "abort":
            repo.atomic("begin", "x", check=0)
            subprocess.run(["sh", "-c", change], cwd=repo.path, check=True)
            repo.atomic("abort", check=0)
        elif how == "failed run":
            res = repo.atomic("run", "--no-gates", "--", "sh", "-c", change + "; exit 1")
            assert res.returncode == 1
        else:
            done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", change)
            repo.atomic("rollback", "--op", done["op_id"], check=0)
        assert os.fstat(held).st_nlink > 0 and os.fstat(held).st_ino == folder.stat().st_ino
        assert sorted(os.listdir(folder)) == ["b.txt"]
    finally:
        os.close(held)


@pytest.mark.parametrize("checked_out", [False, True])
@pytest.mark.parametrize("way", ["outer-to-inner", "inner-to-outer"])
def test_a_branch_replaced_by_one_under_its_name_comes_back(
    repo: GitRepo, way: str, checked_out: bool
) -> None:
    """`outer` and `outer/inner` cannot both be branches: an operation that deletes one and
    makes the other left a rollback that made the old one before deleting the new one, which
    git refused, so the old branch (with a commit of its own) was lost and HEAD left on
    nothing, "moved by someone else" (git's t2011 d/f ref cases). Deletions go first now; the
    rollback, `undo` and a kept operation's rollback are exact."""
    old, new = ("outer", "outer/inner") if way == "outer-to-inner" else ("outer/inner", "outer")
    repo.git("checkout", "-q", "-b", old)
    repo.write("own.txt", b"a commit of its own\n")
    repo.git("add", "own.txt")
    repo.git("commit", "-qm", "own")
    if not checked_out:
        repo.git("checkout", "-q", "-")
    before = repo.fingerprint()
    refs = repo.git("for-each-ref", "refs/heads/")
    detach = "git checkout -q --detach && " if checked_out else ""
    script = f"{detach}git branch -D -q {old} && git branch {new}"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script + "; exit 1", check=1)
    assert repo.git("for-each-ref", "refs/heads/") == refs
    assert repo.fingerprint() == before
    repo.atomic("undo", check=0)
    assert f"refs/heads/{new}" in repo.git("for-each-ref", "refs/heads/")
    repo.atomic("undo", check=0)
    assert repo.git("for-each-ref", "refs/heads/") == refs and repo.fingerprint() == before
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", script, check=0)
    repo.write("later.txt", b"yours\n")
    repo.atomic("rollback", check=0)
    assert repo.git("for-each-ref", "refs/heads/") == refs
    assert repo.read("later.txt") == b"yours\n"


@pytest.mark.parametrize("selective", [False, True])
def test_the_index_never_takes_a_file_back_in_another_line_ending_for_changed(
    repo: GitRepo, selective: bool
) -> None:
    """Under `eol=crlf` the file is CRLF on disk; the operation writes it as LF and stages it
    (the same blob: git records LF's size). Once the rollback writes CRLF back, git's status
    data says another size: without taking it anew git reads the file as changed without
    reading it (`status` says M, `diff` nothing, `checkout` refuses)."""
    repo.write(".gitattributes", b"*.txt text eol=crlf\n")
    repo.write("f.txt", b"l1\nl2\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "crlf")
    os.unlink(repo.path / "f.txt")
    repo.git("checkout", "--", "f.txt")  # CRLF on disk now
    assert repo.read("f.txt") == b"l1\r\nl2\r\n"
    repo.git("checkout", "-qb", "other")
    repo.write("f.txt", b"z\n")
    repo.git("commit", "-qam", "other")
    repo.git("checkout", "-q", "-")
    script = "printf 'l1\\nl2\\n' > f.txt; git add f.txt"
    res = repo.atomic_json("run", "-n", "lf", "--history", "shadow", "--", "sh", "-c", script)
    if selective:
        repo.atomic("rollback", "--to", res["checkpoints"]["pre_op"], "--", "f.txt", check=0)
    else:
        repo.atomic("rollback", check=0)
    assert repo.read("f.txt") == b"l1\r\nl2\r\n"
    assert repo.git("status", "--porcelain").strip() == ""
    repo.git("checkout", "-q", "other")  # refused when git takes the file for changed


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
@pytest.mark.parametrize("checked_out", [True, False], ids=["checked-out-there", "not"])
def test_a_branch_deleted_with_another_worktree_comes_back(
    repo: GitRepo, tmp_path: Path, how: str, checked_out: bool
) -> None:
    """With a linked worktree, an operation deleted a branch (`update-ref -d`, which git allows
    for one checked out there). Its rollback left it deleted ("checked out in another
    worktree" or "changed meanwhile ...; left as it is", no commit named): the other worktree
    was on an unborn branch, its commit named by no branch. A branch not there now is made
    again: that loses nothing, whoever deleted it."""
    other = tmp_path / "w2"
    repo.git("worktree", "add", "-q", str(other), "-b", "w2")
    subprocess.run(
        ["sh", "-c", "echo w2 > w2.txt && git add w2.txt && git commit -qm w2"],
        cwd=other,
        env=repo.env,
        check=True,
    )
    name = "w2" if checked_out else "side"
    if not checked_out:
        repo.git("branch", "side", "w2")
    before = _branches(repo)
    line = f"git update-ref -d refs/heads/{name}"
    if how == "failed run":
        res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        assert f"refs/heads/{name}" not in _branches(repo)
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert _branches(repo) == before
    assert (repo.path / ".git" / "refs" / "heads" / name).read_text().strip() == before[
        f"refs/heads/{name}"
    ]
    assert "left as it is" not in res.stderr and "changed nothing" not in res.stderr
    assert (repo.path / ".git" / "worktrees" / "w2" / "HEAD").read_text() == "ref: refs/heads/w2\n"


def test_a_branch_left_in_another_worktree_is_named_with_its_commits(
    repo: GitRepo, tmp_path: Path
) -> None:
    """An operation moved the branch another worktree has checked out; the rollback leaves it
    (it would move that checkout's commit under its files) and now says where it stays and
    where it would have gone, so `git branch -f` can take it back by hand."""
    other = tmp_path / "w2"
    repo.git("worktree", "add", "-q", str(other), "-b", "w2")
    was = _branches(repo)["refs/heads/w2"]
    line = "git commit -q --allow-empty -m op && git update-ref refs/heads/w2 HEAD"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    now = _branches(repo)["refs/heads/w2"]
    assert now != was
    assert (
        f"branch w2 is checked out in another worktree; left as it is, at {now[:12]} "
        f"(it would have gone to {was[:12]})"
    ) in res.stderr, res.stderr


def _said_worktree_removed(stderr: str, other: Path, tip: str) -> None:
    """The linked worktree `other` (branch w2, at `tip`) is gone, and the rollback named it
    with the command that makes it again."""
    assert not os.path.lexists(other)
    assert (
        f"warning: the operation removed the linked worktree {other} (branch w2, at {tip[:12]})"
        in stderr
    ), stderr
    assert f"`git worktree add {other} w2`" in stderr


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_a_linked_worktree_the_operation_removed_is_named(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """An operation ran `git worktree remove --force` on a linked worktree holding your
    uncommitted file. No checkpoint holds another worktree's files, so it cannot come back;
    the rollback said "it had changed nothing" (a failed run) or "the effect ... is not in
    the tree", as if nothing had happened. Now it names the folder, its branch and commit,
    and how to make it again."""
    other = tmp_path / "w2"
    repo.git("worktree", "add", "-q", str(other), "-b", "w2")
    (other / "yours.txt").write_bytes(b"uncommitted\n")
    tip = _branches(repo)["refs/heads/w2"]
    line = f"git worktree remove --force '{other}'"
    if how == "failed run":
        res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
        assert "changed nothing" not in res.stderr
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    _said_worktree_removed(res.stderr, other, tip)


def test_a_linked_worktree_the_operation_added_stays_and_is_named(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A failed operation ran `git worktree add ../wt -b nb`: the folder is outside this
    worktree, where git-atomic never writes, so it stays (its branch too, checked out there).
    The rollback said the tree was as before and named only the branch; now it names the
    worktree and the `git worktree remove` that takes it away."""
    other = tmp_path / "wt"
    line = f"git worktree add -q '{other}' -b nb"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    assert other.is_dir() and (other / ".git").is_file()  # never written outside
    assert (
        f"warning: the operation added the linked worktree {other} (branch nb); it stays"
        in res.stderr
    ), res.stderr
    assert f"`git worktree remove {other}`" in res.stderr


def test_the_command_named_for_a_locked_worktree_the_operation_added_works(
    repo: GitRepo, tmp_path: Path
) -> None:
    """git's t2402 (worktree list: locked worktrees): the operation added a worktree and
    locked it (`git worktree lock`); the rollback named `git worktree remove`, which git
    refuses for a locked worktree ("cannot remove a locked working tree"). It names the
    unlock first, and the commands it names take the worktree away."""
    other = tmp_path / "wt"
    line = f"git worktree add -q '{other}' -b nb && git worktree lock --reason r '{other}'"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    said = f"`git worktree unlock {other} && git worktree remove {other}`"
    assert said in res.stderr, res.stderr
    repo.git("worktree", "unlock", str(other))
    repo.git("worktree", "remove", str(other))
    assert not other.exists()


@pytest.mark.parametrize("where", ["inside", "outside"])
@pytest.mark.parametrize("what", ["added", "moved"])
def test_the_line_for_a_linked_worktree_says_why_it_stays_truly(
    repo: GitRepo, tmp_path: Path, where: str, what: str
) -> None:
    """A linked worktree the operation added or moved, inside this worktree (`git worktree
    add inner -b nb`) or outside it: the line said "git-atomic never writes outside this
    worktree" for one inside it too. Inside, it says the worktree's files are its own."""
    folder = (repo.path / "inner") if where == "inside" else (tmp_path / "outer")
    if what == "added":
        line = f"git worktree add -q '{folder}' -b nb"
    else:
        repo.git("worktree", "add", "-q", str(tmp_path / "w0"), "-b", "w0")
        line = f"git worktree move '{tmp_path / 'w0'}' '{folder}'"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    assert (folder / ".git").is_file()
    said = [x for x in res.stderr.splitlines() if "linked worktree" in x]
    assert len(said) == 1, res.stderr
    outside = "git-atomic never writes outside this worktree"
    inside = "a worktree of its own inside this one, whose files git-atomic leaves to it"
    assert (outside in said[0]) == (where == "outside"), said[0]
    assert (inside in said[0]) == (where == "inside"), said[0]


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_a_linked_worktree_the_operation_moved_is_named_moved_not_removed(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """t2403-worktree-move: an operation ran `git worktree move ../wt ../wt2`. Its rollback
    said the worktree was removed, "any [files] it had that were not committed are gone", and
    that the operation added another: neither is so, its files are all at its new folder. Now
    it says where the worktree was moved, and the `git worktree move` that takes it back."""
    other, moved = tmp_path / "w2", tmp_path / "w2-moved"
    repo.git("worktree", "add", "-q", str(other), "-b", "w2")
    (other / "yours.txt").write_bytes(b"uncommitted\n")
    line = f"git worktree move '{other}' '{moved}'"
    if how == "failed run":
        res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        repo.write("README", b"yours\n")
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
        assert repo.read("README") == b"yours\n"
    assert not os.path.lexists(other)  # never written outside this worktree
    assert (moved / "yours.txt").read_bytes() == b"uncommitted\n"
    gitdir = repo.path / ".git" / "worktrees" / "w2" / "gitdir"
    assert gitdir.read_text().strip() == str(moved / ".git")
    assert "removed the linked worktree" not in res.stderr, res.stderr
    assert "added the linked worktree" not in res.stderr, res.stderr
    assert (
        f"warning: the operation moved the linked worktree {other} to {moved} (branch w2); "
        "it stays there"
    ) in res.stderr, res.stderr
    assert f"`git worktree move {moved} {other}` moves it back" in res.stderr


def test_a_linked_worktree_kept_inside_that_the_operation_moved_out_can_be_moved_back(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A linked worktree kept inside this one (`inner`, not ignored) that the operation moved
    out: the rollback makes its folder again, empty (a nested repository it cannot fill),
    and `git worktree move` into an empty folder moves the worktree *into* it (inner/wt).
    The line says to remove the empty folder first; doing as it says puts it back."""
    repo.git("worktree", "add", "-q", "-b", "w2", "inner")
    out = tmp_path / "out"
    line = f"git worktree move inner '{out}'"
    res = repo.atomic("run", "--no-gates", "--", "sh", "-c", line + "; exit 1", check=1)
    inner = repo.path / "inner"
    assert (out / ".git").is_file() and os.listdir(inner) == []
    advice = f"`rmdir {inner} && git worktree move {out} {inner}` moves it back"
    assert advice in res.stderr, res.stderr
    subprocess.run(["sh", "-c", advice.strip("`").removesuffix("` moves it back")],
                   cwd=repo.path, env=repo.env, check=True)  # fmt: skip
    assert (inner / ".git").is_file() and not os.path.lexists(out)
    listed = repo.git("worktree", "list", "--porcelain")
    assert f"worktree {inner}\n" in listed, listed


def test_recover_after_a_kill_names_the_worktree_it_removed_and_mends_reflogs(
    repo: GitRepo, tmp_path: Path
) -> None:
    """git-atomic was killed (kill -9) while its operation's command had run `git worktree
    remove --force` and `git reflog expire --expire=now --all`. `recover` went back to PRE-OP
    and said only "back at its exact PRE-OP state": the worktree gone unnamed (its uncommitted
    file with it), every reflog left empty. Now it names the worktree and how to make it again,
    and writes the reflogs back, as the operation's own rollback does."""
    other = tmp_path / "w2"
    repo.git("worktree", "add", "-q", str(other), "-b", "w2")
    (other / "yours.txt").write_bytes(b"uncommitted\n")
    tip = _branches(repo)["refs/heads/w2"]
    log = repo.path / ".git" / "logs" / "refs" / "heads" / "main"
    before = log.read_bytes()
    line = f"git worktree remove --force '{other}'; git reflog expire --expire=now --all"
    repo.atomic("run", "--", "sh", "-c", line + "; kill -9 $PPID", check=-9)
    assert log.read_bytes() == b""

    res = repo.atomic("recover", check=0)

    _said_worktree_removed(res.stderr, other, tip)
    assert log.read_bytes().startswith(before)
    assert "the reflogs it rewrote (main, w2, HEAD) are as before too" in res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_file_written_over_keeps_its_owner(repo: GitRepo) -> None:
    """git-atomic run as root (an agent's container, sudo) over a worktree a user owns: each
    file a rollback, an undo or an effect taken back wrote over became root's, so the user's
    editor could no longer save it (EACCES), as OpenHands' files written as root
    (https://github.com/OpenHands/OpenHands/issues/9543,
    https://github.com/OpenHands/OpenHands/issues/11752). A file written over keeps its owner
    and group, as it keeps its permissions."""
    user = (4321, 4322)
    repo.write("key", b"KEY=1\n", mode=0o600)
    repo.write("notes.txt", b"".join(b"line %d\n" % i for i in range(20)))
    repo.git("add", "key", "notes.txt")
    repo.git("commit", "-qm", "files")
    for name in ("key", "notes.txt", "README"):
        os.chown(repo.path / name, *user)

    def owners() -> dict[str, tuple[int, int, int]]:
        out = {}
        for name in ("key", "notes.txt", "README"):
            st = os.lstat(repo.path / name)
            out[name] = (st.st_uid, st.st_gid, st.st_mode & 0o777)
        return out

    before = owners()
    assert {v[:2] for v in before.values()} == {user}
    edit = "printf 'KEY=2\\n' > key; echo op >> README; sed -i 's/line 1$/OP 1/' notes.txt"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", edit + "; exit 1", check=1)
    assert repo.read("key") == b"KEY=1\n" and owners() == before  # the failed run's rollback

    repo.atomic("undo", check=0)  # its effect back: the files written over again
    assert repo.read("key") == b"KEY=2\n" and owners() == before

    again = "printf 'KEY=3\\n' > key; sed -i 's/line 3$/SECOND 3/' notes.txt"
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", again, check=0)
    op_id = repo.atomic_json("log")["operations"][0]["op_id"]
    with open(repo.path / "notes.txt", "rb") as fh:
        data = fh.read().replace(b"line 15\n", b"USER 15\n")
    with open(repo.path / "notes.txt", "r+b") as fh:  # the user's edit, in place
        fh.write(data)
    repo.atomic("rollback", "--op", op_id, check=0)  # the effect taken back on top of it
    assert b"USER 15\n" in repo.read("notes.txt") and b"SECOND" not in repo.read("notes.txt")
    assert repo.read("key") == b"KEY=2\n" and owners() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_what_a_rollback_makes_again_in_a_users_folder_is_theirs(repo: GitRepo) -> None:
    """The same as root over a user's worktree, for what an operation deleted: a rollback
    made `src/` (its `rm -rf`) and its files again as root's, so the user could no longer add
    a file to their own folder. What a rollback or undo makes in a folder of someone else's
    is given to them (the folder's owner and group), where we may; a checkpoint holds no
    owner, and the folder's is the one a user who ran it would have got."""
    user = (4321, 4322)
    repo.write("src/pkg/mod.py", b"X = 1\n")
    repo.write("src/run.sh", b"#!/bin/sh\n", mode=0o755)
    os.symlink("pkg/mod.py", repo.path / "src" / "link.py")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "src")
    repo.write("notes/todo.txt", b"untracked, the user's\n")
    repo.git("config", "--global", "--add", "safe.directory", "*")  # as root in a container
    for top, folders, files in os.walk(repo.path):
        folders[:] = [f for f in folders if f != ".git"]
        for name in [top, *(os.path.join(top, f) for f in files)]:
            os.chown(name, *user, follow_symlinks=False)

    def owners() -> dict[str, tuple[int, int]]:
        out = {}
        for top, folders, files in os.walk(repo.path):
            folders[:] = [f for f in folders if f != ".git"]
            for name in [top, *(os.path.join(top, f) for f in files + folders)]:
                st = os.lstat(name)
                out[os.path.relpath(name, repo.path)] = (st.st_uid, st.st_gid)
        return out

    before = owners()
    assert set(before.values()) == {user} and "src/pkg/mod.py" in before
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "rm -rf src notes; exit 1", check=1)
    assert repo.read("src/pkg/mod.py") == b"X = 1\n" and os.path.islink(repo.path / "src/link.py")
    assert owners() == before
    repo.atomic("undo", check=0)
    assert not repo.exists("src")
    repo.atomic("rollback", check=0)  # the rollback undo made, taken back: made again
    assert owners() == before


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_after_a_run_as_root_the_owner_of_the_repository_can_still_use_it() -> None:
    """git-atomic as root (an agent's container) over a repository its user owns left the
    object folders, refs, reflogs and journal it wrote there root's: the user's next `git add`
    failed ("insufficient permission for adding an object to repository database"), and so
    did their next git-atomic (its journal read-only to them), as OpenHands' files made as
    root (https://github.com/OpenHands/OpenHands/issues/9543). What a command made in a git
    dir someone else owns is theirs when it ends."""
    user = (4321, 4322)
    base = Path(tempfile.mkdtemp(prefix="git-atomic-owner-"))  # one the user can reach
    try:
        os.chmod(base, 0o755)
        repo = GitRepo.create(base / "repo", base / "home")
        repo.git("config", "--global", "--add", "safe.directory", "*")
        for top, _folders, files in os.walk(base):
            for name in [top, *(os.path.join(top, f) for f in files)]:
                os.chown(name, *user, follow_symlinks=False)
        repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo x >> README", check=0)
        repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo y > new.txt; exit 1", check=1)
        repo.atomic("undo", check=0)
        first = repo.atomic_json("log")["operations"][-1]["op_id"]
        repo.atomic("rollback", "--op", first, check=0)
        stop_helpers(base)
        roots = [
            os.path.relpath(name, repo.path)
            for top, _folders, files in os.walk(repo.path / ".git")
            for name in [top, *(os.path.join(top, f) for f in files)]
            if os.lstat(name).st_uid == 0
        ]
        assert roots == []  # the journal too: their next git-atomic can write it

        def as_user() -> None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])

        for argv in (
            ("git", "add", "-A"),
            ("git", "commit", "-qm", "the user's"),
            ("git", "gc", "-q", "--prune=now"),
        ):
            res = subprocess.run(
                argv, cwd=repo.path, env=repo.env, preexec_fn=as_user, capture_output=True,
                text=True, check=False,
            )  # fmt: skip
            assert res.returncode == 0, (argv, res.stderr)
            assert "ermission denied" not in res.stderr, (argv, res.stderr)
    finally:
        stop_helpers(base)
        shutil.rmtree(base, ignore_errors=True)


def _with_upstream(repo: GitRepo, tmp_path: Path) -> None:
    subprocess.run(
        ["git", "init", "-q", "--bare", str(tmp_path / "up.git")], check=True, env=repo.env
    )
    repo.git("remote", "add", "origin", str(tmp_path / "up.git"))
    repo.git("push", "-q", "-u", "origin", "main")


def test_a_rollback_that_takes_a_pushed_commit_off_the_branch_says_the_remote_keeps_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The branch goes back (effect, not state: the operation's commit is its effect), but the
    commit is on origin already: said, with what follows (a pull brings it back). Nothing is
    pushed or fetched."""
    _with_upstream(repo, tmp_path)
    base = repo.head()
    repo.atomic("run", "-n", "mk", "--", "sh", "-c", "echo a > a.txt", check=0)
    made = repo.head()
    # Not pushed: nothing said.
    res = repo.atomic("rollback", "--dry-run", check=0)
    assert "origin" not in res.stderr, res.stderr
    repo.git("push", "-q", "origin", "main")
    res = repo.atomic("rollback", "--dry-run", check=0)  # foreseen, and nothing moves
    assert f"note: commit {made[:12]} (to be taken off main) is on origin/main" in res.stderr
    assert repo.head() == made
    res = repo.atomic("rollback", check=0)
    assert repo.head() == base and not (repo.path / "a.txt").exists()
    assert f"note: commit {made[:12]} (taken off main) is on origin/main already" in res.stderr
    assert repo.git("rev-parse", "origin/main").strip() == made  # the remote ref left alone
    # A run whose command pushed its commit and then failed: rolled back, and said.
    repo.git("reset", "-q", "--hard", "origin/main")
    command = (
        "echo b > b.txt && git add b.txt && git commit -qm b && git push -q origin main; exit 1"
    )
    res = repo.atomic("run", "-n", "push", "--", "sh", "-c", command, check=1)
    assert repo.head() == made and not (repo.path / "b.txt").exists()
    pushed = repo.git("rev-parse", "origin/main").strip()
    assert f"note: commit {pushed[:12]} (taken off main) is on origin/main already" in res.stderr
    # A branch the operation made and pushed is removed; of its commits, those pushed named.
    repo.git("reset", "-q", "--hard", "origin/main")
    command = (
        "git checkout -qb feat && for i in 1 2 3; do echo $i > f$i; git add f$i; "
        "git commit -qm f$i; done; git push -q origin feat~1:refs/heads/feat; git checkout -q main"
    )
    repo.atomic("run", "-n", "feat", "--", "sh", "-c", command, check=0)
    res = repo.atomic("rollback", check=0)
    assert "feat" not in repo.git("branch", "--list", "feat")
    assert "note: 2 commits (removed with feat) are on origin/feat already" in res.stderr
    # A rollback of an operation whose commit was never pushed says nothing of a remote.
    repo.atomic("run", "-n", "local", "--", "sh", "-c", "echo c > c.txt", check=0)
    res = repo.atomic("rollback", check=0)
    assert "origin" not in res.stderr and "note:" not in res.stderr, res.stderr


def test_the_note_of_a_pushed_commit_taken_off_is_in_the_json_results_too(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The note reached stderr only: a program (an agent's MCP client, a script) reading
    `--json` was never told that the remote keeps the commit its rollback took off. It is in
    `notes`, for a move (its dry run too) and for an operation its own failure rolled back."""
    _with_upstream(repo, tmp_path)
    repo.atomic("run", "-n", "mk", "--", "sh", "-c", "echo a > a.txt", check=0)
    made = repo.head()
    repo.git("push", "-q", "origin", "main")
    said = f"commit {made[:12]} (to be taken off main) is on origin/main"
    dry = repo.atomic_json("rollback", "--dry-run")
    assert [n for n in dry["notes"] if said in n], dry["notes"]
    done = repo.atomic_json("rollback")
    assert [n for n in done["notes"] if f"commit {made[:12]} (taken off main)" in n], done
    again = repo.atomic_json("undo")
    assert again["notes"] == []  # nothing taken off a branch: nothing said
    command = (
        "echo b > b.txt && git add b.txt && git commit -qm b && git push -q origin main; exit 1"
    )
    run = repo.atomic_json("run", "-n", "push", "--", "sh", "-c", command, check=1)
    pushed = repo.git("rev-parse", "origin/main").strip()
    assert [n for n in run["notes"] if f"commit {pushed[:12]} (taken off main)" in n], run
    shown = repo.atomic_json("show", run["op_id"])
    assert shown.get("notes") == run["notes"]


def test_recover_finishing_a_rollback_over_a_pushed_commit_says_the_remote_keeps_it(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A `rollback --op` killed after its rescue: `recover` finishes it, and its `--json`
    says what the rollback would have said, that the remote keeps the commit."""
    _with_upstream(repo, tmp_path)
    repo.atomic("run", "-n", "mk", "--", "sh", "-c", "echo a > a.txt", check=0)
    made = repo.head()
    repo.git("push", "-q", "origin", "main")
    [op] = repo.atomic_json("log")["operations"]
    killed = {"GIT_ATOMIC_FAILPOINT": "rollback:after-rescue"}
    assert repo.atomic("rollback", "--op", op["op_id"], env=killed).returncode == -9
    done = repo.atomic_json("recover")
    notes = done["recovery"]["notes"]
    assert [n for n in notes if f"commit {made[:12]} (taken off main)" in n], done
    assert not repo.exists("a.txt")


def _acl_granting_read(uid: int) -> bytes:
    """A POSIX access ACL as the kernel stores it: owner rw, user `uid` r, group r, mask r."""
    entry = lambda tag, perm, who=0xFFFFFFFF: struct.pack("<HHI", tag, perm, who)  # noqa: E731
    return (
        struct.pack("<I", 2)
        + entry(1, 6)
        + entry(2, 4, uid)
        + entry(4, 4)
        + entry(16, 4)
        + entry(32, 0)
    )


def _attributes(repo: GitRepo, *names: str) -> dict[str, dict[str, bytes]]:
    return {
        n: {a: os.getxattr(repo.path / n, a) for a in sorted(os.listxattr(repo.path / n))}
        for n in names
    }


def test_a_file_written_over_keeps_its_extended_attributes_and_acl(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A rollback writes a file anew (beside it, then renamed over it): its ACL (someone else
    may read the key) and its extended attributes (a tool's `user.` label) were lost, though
    the operation had only written its bytes, in place. In no checkpoint (as in no git
    commit), they stay with the file written over, as its permissions and owner do."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        os.setxattr(probe, "system.posix_acl_access", _acl_granting_read(12345))
    except OSError:
        pytest.skip("this file system keeps no extended attributes or ACLs")
    repo.write("key", b"KEY=1\n", mode=0o600)
    repo.git("add", "key")
    repo.git("commit", "-qm", "key")
    repo.write("notes.txt", b"mine\n")  # untracked
    os.setxattr(repo.path / "key", "system.posix_acl_access", _acl_granting_read(12345))
    for name in ("key", "notes.txt"):
        os.setxattr(repo.path / name, "user.origin", b"team-vault")
    before = _attributes(repo, "key", "notes.txt")
    mode = os.lstat(repo.path / "key").st_mode
    edit = "printf 'KEY=2\\n' > key; echo op >> notes.txt"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", edit + "; exit 1", check=1)
    assert repo.read("key") == b"KEY=1\n" and repo.read("notes.txt") == b"mine\n"
    assert _attributes(repo, "key", "notes.txt") == before
    assert os.lstat(repo.path / "key").st_mode == mode
    repo.atomic("undo", check=0)  # written over again
    assert repo.read("key") == b"KEY=2\n" and _attributes(repo, "key", "notes.txt") == before


@pytest.mark.parametrize("how", ["rollback", "rollback --op", "undo"])
def test_the_folder_a_take_back_runs_in_is_kept_empty_and_said(repo: GitRepo, how: str) -> None:
    """A take-back run from inside a folder it would remove (`cd new/deep; git atomic
    rollback` of the operation that made it; `undo` of a rollback that made one again) leaves
    that folder, empty, and says so, as git keeps the folder it runs in (t2501): removed,
    every later command from that shell fails."""
    if how == "undo":
        repo.write("old/deep/f", b"f\n")
        repo.git("add", "old")
        repo.git("commit", "-qm", "old")
        repo.atomic("run", "--no-gates", "--history", "shadow", "--", "rm", "-rf", "old", check=0)
        repo.atomic("rollback", check=0)  # old/deep/f back: undo removes it again
        inside, argv = repo.path / "old" / "deep", ["undo"]
    else:
        res = repo.atomic_json(
            "run",
            "--no-gates",
            "--history",
            "shadow",
            "--",
            "sh",
            "-c",
            "mkdir -p new/deep && echo f > new/deep/f",
        )
        inside, argv = repo.path / "new" / "deep", how.split()
        argv += [res["op_id"]] if "--op" in argv else []
    out = repo.atomic(*argv, check=0, cwd=inside)
    assert inside.is_dir() and not os.listdir(inside)
    shown = inside.relative_to(repo.path).as_posix()
    assert f"kept {shown}/, empty: this command runs in it" in out.stderr
    assert "except what the warnings above name" in out.stderr
    if how != "undo":  # (an undo's own result holds the folder, as every state holds them)
        # From anywhere else, the same take-back removes it: nothing of it is kept for ever.
        repo.atomic("undo", check=0)
        repo.atomic("rollback", check=0)
        assert not inside.exists()


def test_heads_reflog_is_read_here_never_through_a_link(repo: GitRepo, tmp_path: Path) -> None:
    """Which branches this worktree's HEAD left (engine/headleft.py) is read from its own
    reflog; a `logs` folder made a link to one elsewhere is not read through (nothing left)."""
    from git_atomic.engine import headleft

    repo.git("checkout", "-q", "-b", "topic")
    repo.git("checkout", "-q", "-")
    git_dir = repo.path / ".git"
    left = headleft.left_here(git_dir)
    assert left.get("refs/heads/topic") == repo.git("rev-parse", "topic").strip()
    outside = tmp_path / "logs-elsewhere"
    (git_dir / "logs").rename(outside)
    (git_dir / "logs").symlink_to(outside)
    assert headleft.left_here(git_dir) == {}
