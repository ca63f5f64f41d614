"""`recover` and `gc` end to end: what they say, what they refuse, what they keep."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo

KILL_AFTER_OP_EXEC = {"GIT_ATOMIC_FAILPOINT": "checkpoint:op_exec:after-journal"}


def interrupted_run(repo: GitRepo, *extra: str) -> None:
    res = repo.atomic(
        "run",
        "-n",
        "edit",
        *extra,
        "--",
        "sh",
        "-c",
        "echo changed > README && echo new > new.txt",
        env=KILL_AFTER_OP_EXEC,
    )
    assert res.returncode == -9, res.stderr


def journal_rows(repo: GitRepo, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


# --- recover -----------------------------------------------------------------------------------
def test_nothing_to_recover(repo: GitRepo) -> None:
    res = repo.atomic("recover", check=0)
    assert "nothing to recover" in res.stderr
    obj = repo.atomic_json("recover")
    assert obj["status"] is None and obj["recovery"]["action"] is None
    # An agent reading the JSON alone (the MCP tool) gets the sentence too.
    assert obj["recovery"]["notes"] == ["nothing to recover in this worktree"]


def test_interrupted_op_is_reported_refused_then_recovered_to_pre_op(repo: GitRepo) -> None:
    repo.write("untracked.txt", b"mine\n")
    before = repo.fingerprint()
    interrupted_run(repo)
    status = repo.atomic_json("status")
    assert status["interrupted"]["name"] == "edit" and status["lock"]["alive"] is False
    for args in (("run", "--", "true"), ("begin", "x"), ("checkpoint",), ("commit",)):
        refused = repo.atomic(*args, check=3)
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert "git atomic recover" in refused.stderr and "Traceback" not in refused.stderr
    obj = repo.atomic_json("recover")
    assert obj["status"] == "recovered" and obj["failed_phase"] == "interrupt"
    assert obj["recovery"]["action"] == "pre_op" and obj["recovery"]["lock_broken"]["pid"] > 0
    assert obj["checkpoints"]["rescue"] == obj["recovery"]["rescue"] is not None
    assert repo.fingerprint() == before
    again = repo.atomic("recover", check=0)
    assert "nothing to recover" in again.stderr
    assert repo.atomic_json("status")["interrupted"] is None
    repo.atomic("run", "--", "true", check=0)


def test_undo_after_recover_brings_back_the_interrupted_state(repo: GitRepo) -> None:
    interrupted_run(repo, "--history", "shadow")
    at_kill = repo.fingerprint()
    repo.atomic("recover", check=0)
    assert repo.read("README") == b"hello\n"
    undone = repo.atomic_json("undo")
    assert undone["status"] == "undone"
    assert repo.fingerprint() == at_kill


def test_accept_keeps_the_tree_and_commits_it_in_commits_mode(repo: GitRepo) -> None:
    interrupted_run(repo)
    obj = repo.atomic_json("recover", "--accept")
    assert obj["status"] == "recovered" and obj["recovery"]["action"] == "accept"
    assert obj["checkpoints"]["op_exec"]
    assert repo.read("README") == b"changed\n" and repo.read("new.txt") == b"new\n"
    assert repo.git("log", "-1", "--format=%s").startswith("OP-EXEC: edit - ")
    assert repo.git("status", "--porcelain") == ""


def test_accept_in_shadow_mode_touches_nothing(repo: GitRepo) -> None:
    interrupted_run(repo, "--history", "shadow")
    at_kill = repo.fingerprint()
    repo.atomic("recover", "--accept", check=0)
    assert repo.fingerprint() == at_kill


def test_kill_inside_begin_before_pre_op_closes_the_op_and_changes_nothing(repo: GitRepo) -> None:
    repo.write("README", b"dirty\n")
    before = repo.fingerprint()
    res = repo.atomic("begin", "b", env={"GIT_ATOMIC_FAILPOINT": "begin:after-journal"})
    assert res.returncode == -9
    obj = repo.atomic_json("recover")
    assert obj["recovery"]["action"] == "nothing_changed" and obj["recovery"]["rescue"] is None
    assert repo.fingerprint() == before


def test_stale_lock_alone_is_reported_and_cleared_by_recover(repo: GitRepo) -> None:
    lock = repo.path / ".git" / "atomic.lock"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(
        json.dumps(
            {"pid": dead.pid, "since": "2026-01-01T00:00:00+00:00", "command": "run", "start": "1"}
        )
    )
    refused = repo.atomic("run", "--", "true", check=3)
    assert f"pid {dead.pid}" in refused.stderr and "git atomic recover" in refused.stderr
    obj = repo.atomic_json("recover")
    assert obj["status"] == "recovered" and obj["recovery"]["lock_broken"]["pid"] == dead.pid
    assert not lock.exists()
    repo.atomic("run", "--", "true", check=0)


def test_an_unreadable_lock_counts_as_stale_not_as_alive(repo: GitRepo) -> None:
    from git_atomic.core.lock import WorktreeLock, process_alive

    assert process_alive(0, None) is False
    lock = repo.path / ".git" / "atomic.lock"
    lock.write_text("{half")
    holder = WorktreeLock(lock).read()
    assert holder is not None and not holder.alive
    repo.atomic("run", "--", "true", check=3)
    repo.atomic("recover", check=0)
    repo.atomic("run", "--", "true", check=0)


def test_recover_refuses_while_a_live_process_holds_the_worktree(repo: GitRepo) -> None:
    slow = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", "run", "--", "sleep", "30"],
        cwd=repo.path,
        env=repo.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        lock = repo.path / ".git" / "atomic.lock"
        deadline = time.monotonic() + 20
        while not lock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        res = repo.atomic("recover", check=3)
        assert "another git-atomic is working" in res.stderr
    finally:
        slow.terminate()
        assert slow.wait(timeout=30) == 143


def test_an_open_session_is_not_interrupted(repo: GitRepo) -> None:
    repo.atomic("begin", "s", check=0)
    repo.write("README", b"work\n")
    before = repo.fingerprint()
    res = repo.atomic("recover", check=0)
    assert "is open and not interrupted" in res.stderr
    assert repo.fingerprint() == before
    repo.atomic("abort", check=0)


def test_interrupted_undo_outside_an_op_refuses_then_is_finished(repo: GitRepo) -> None:
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo x > a.txt; exit 1", check=1)
    res = repo.atomic("undo", env={"GIT_ATOMIC_FAILPOINT": "restore:after-files"})
    assert res.returncode == -9
    pending = repo.path / ".git" / "atomic-pending.json"
    assert pending.exists()
    # Even with the lock gone, the half-done undo is noticed.
    (repo.path / ".git" / "atomic.lock").unlink()
    refused = repo.atomic("run", "--", "true", check=3)
    assert "interrupted half way" in refused.stderr
    obj = repo.atomic_json("recover")
    assert obj["recovery"]["restore_finished"]["event"] == "undo"
    assert repo.read("a.txt") == b"x\n" and not pending.exists()


def test_unreadable_pending_file_is_moved_aside(repo: GitRepo) -> None:
    pending = repo.path / ".git" / "atomic-pending.json"
    pending.write_text("{not json")
    obj = repo.atomic_json("recover")
    assert not pending.exists() and obj["recovery"]["problems"]
    assert (repo.path / ".git" / "atomic-pending.json.unreadable").exists()


def test_recover_outside_a_repository_is_one_line_exit_3(tmp_path: Path, repo: GitRepo) -> None:
    elsewhere = tmp_path / "nothing"
    elsewhere.mkdir()
    res = repo.atomic("recover", check=3, cwd=elsewhere)
    assert len(res.stderr.strip().splitlines()) == 1 and "not a git repository" in res.stderr


# --- gc ------------------------------------------------------------------------------------------
def _age_everything(repo: GitRepo, days: float) -> None:
    """Make every closed operation and event look `days` older."""
    db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
    shift = days * 86400
    with db:
        db.execute(
            "UPDATE operations SET started_at=started_at-?, ended_at=ended_at-? "
            "WHERE status!='open'",
            (shift, shift),
        )
        db.execute("UPDATE events SET at=at-?", (shift,))
    db.close()


def atomic_refs(repo: GitRepo) -> dict[str, str]:
    out = repo.checkpoint_refs("%(refname) %(objectname)")
    return {name: oid for name, oid in (line.split(" ", 1) for line in out.splitlines())}


def test_gc_retires_old_closed_ops_keeps_newest_rescue_and_open_op(repo: GitRepo) -> None:
    repo.git("config", "gc.pruneExpire", "now")
    repo.atomic(
        "run",
        "--history",
        "shadow",
        "--",
        "sh",
        "-c",
        "head -c 20000 /dev/urandom > failed.bin; exit 1",
        check=1,
    )
    failed_op = journal_rows(repo, "SELECT id FROM operations")[0][0]
    newest_rescue = journal_rows(repo, "SELECT rescue FROM events ORDER BY id DESC")[0][0]
    for n in range(3):
        repo.atomic(
            "run",
            "--history",
            "shadow",
            "-g",
            "true",
            "--",
            "sh",
            "-c",
            f"head -c 20000 /dev/urandom > blob{n}.bin",
            check=0,
        )
    for n in range(3):
        (repo.path / f"blob{n}.bin").unlink()
    _age_everything(repo, 40)
    repo.atomic("begin", "still-open", "--history", "shadow", check=0)
    open_op = repo.atomic_json("status")["open"]["op_id"]
    logs = repo.path / ".git" / "atomic" / "logs"
    assert any(logs.iterdir())

    obj = repo.atomic_json("gc", "--older-than", "30")
    assert obj["operations_retired"] == 3  # the failed one holds the newest rescue
    assert obj["refs_retired"] >= 6 and obj["bytes_freed"] > 50000
    refs = atomic_refs(repo)
    assert newest_rescue in refs.values()
    assert any(f"/ops/{open_op}/" in name for name in refs)
    assert any(f"/ops/{failed_op}/" in name for name in refs)
    ops = {r[0] for r in journal_rows(repo, "SELECT id FROM operations")}
    assert ops == {failed_op, open_op}
    assert not [p for p in logs.iterdir() if p.name not in ops]
    _journal_names_only_live_checkpoints(repo)
    # A newer rescue takes over: the old failed operation goes at the next gc.
    repo.atomic("abort", check=0)
    again = repo.atomic_json("gc", "--older-than", "30")
    assert again["operations_retired"] == 1
    assert {r[0] for r in journal_rows(repo, "SELECT id FROM operations")} == {open_op}
    repo.atomic("undo", check=0)
    _journal_names_only_live_checkpoints(repo)


def test_gc_keeps_everything_younger_than_days(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo x > x", check=0)
    before = atomic_refs(repo)
    obj = repo.atomic_json("gc", "--older-than", "30")
    assert obj["operations_retired"] == 0 and obj["refs_retired"] == 0
    assert atomic_refs(repo) == before


@pytest.mark.parametrize("command", ["gc", "recover"])
def test_gc_and_recover_remove_dead_temporaries(repo: GitRepo, command: str) -> None:
    """Temporary files of a killed process (its pid gone) go; a live process's stay."""
    tmp = repo.path / ".git" / "atomic" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = [f"index-{dead.pid}-3", f"scan-{dead.pid}-early", f"scan-{dead.pid}-seed"]
    killed += [f"scan-follow-{dead.pid}", f"scan-follow-{dead.pid}.lock"]
    live = [f"index-{os.getppid()}-1", f"scan-{os.getppid()}-early"]
    for name in killed + live:
        (tmp / name).write_bytes(b"junk")
    repo.atomic(*([command] if command == "recover" else [command, "--older-than", "30"]))
    assert not [name for name in killed if (tmp / name).exists()]
    assert all((tmp / name).exists() for name in live)


@pytest.mark.parametrize("command", ["gc", "recover"])
@pytest.mark.parametrize("linked", ["atomic/tmp", "atomic"])
def test_dead_temporaries_are_never_removed_through_a_link(
    repo: GitRepo, tmp_path: Path, command: str, linked: str
) -> None:
    """Our temporary folder (or our folder) made a link to a folder outside: the files there
    that look like a dead process's are not ours, and stay."""
    repo.atomic("checkpoint", check=2)  # our folder exists (`status` only reads: makes none)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    outside = tmp_path / "outside"
    (outside / "tmp").mkdir(parents=True)
    names = [f"index-{dead.pid}-3", f"tmp/index-{dead.pid}-3"]
    for name in names:
        (outside / name).write_bytes(b"not ours\n")
    where = repo.path / ".git" / linked
    if where.exists():
        shutil.rmtree(where)
    where.symlink_to(outside if linked == "atomic" else outside / "tmp")
    repo.atomic(*([command] if command == "recover" else [command, "--older-than", "30"]))
    assert all((outside / name).read_bytes() == b"not ours\n" for name in names)


def test_gc_retires_orphan_refs_and_dead_temporaries(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo x > x", check=0)
    head = repo.head()
    repo.git("update-ref", "refs/atomic/ops/deadbeef0000/001-pre-op", head)
    tmp = repo.path / ".git" / "atomic" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    killed = [f"index-{dead.pid}-3", f"scan-{dead.pid}-early", f"scan-{dead.pid}-seed"]
    killed += [
        f"scan-follow-{dead.pid}",
        f"scan-follow-{dead.pid}.lock",
        f"index-{dead.pid}-3.lock",
    ]
    for name in killed:
        (tmp / name).write_bytes(b"junk")
    obj = repo.atomic_json("gc", "--older-than", "30")
    assert obj["refs_retired"] == 1
    assert "refs/atomic/ops/deadbeef0000/001-pre-op" not in atomic_refs(repo)
    assert not [name for name in killed if (tmp / name).exists()]


def test_gc_killed_between_journal_and_refs_is_finished_by_the_next_gc(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo x > x", check=0)
    repo.atomic("run", "--", "sh", "-c", "echo y > y", check=0)
    _age_everything(repo, 10)
    res = repo.atomic("gc", "--older-than", "1", env={"GIT_ATOMIC_FAILPOINT": "gc:after-journal"})
    assert res.returncode == -9
    _journal_names_only_live_checkpoints(repo)
    repo.atomic("recover", check=0)
    obj = repo.atomic_json("gc", "--older-than", "1")
    assert obj["refs_retired"] > 0
    assert not [n for n in atomic_refs(repo) if "/ops/" in n]


def test_gc_never_prunes_what_the_user_may_still_want(repo: GitRepo) -> None:
    """Default gc.pruneExpire (2 weeks): an unreachable object of the user's survives."""
    loose = repo.git("hash-object", "-w", "--stdin", input=b"the user's lost work\n").strip()
    repo.atomic("run", "--", "sh", "-c", "echo x > x", check=0)
    _age_everything(repo, 40)
    obj = repo.atomic_json("gc", "--older-than", "30")
    assert obj["prune_expire"] == "2.weeks.ago"
    repo.git("cat-file", "-e", loose)


def test_gc_bad_days_is_a_usage_error(repo: GitRepo) -> None:
    res = repo.atomic("gc", "--older-than", "-1", check=2)
    assert len(res.stderr.strip().splitlines()) == 1


def test_git_gc_prune_now_loses_no_checkpoint(repo: GitRepo) -> None:
    repo.atomic("run", "--", "sh", "-c", "echo x > x; exit 1", check=1)
    repo.git("gc", "-q", "--prune=now")
    _journal_names_only_live_checkpoints(repo)
    repo.atomic("undo", check=0)
    assert repo.read("x") == b"x\n"


@pytest.mark.parametrize("ends", ["exit 0", "exit 1"])
def test_git_gc_prune_now_loses_no_checkpoint_whose_ref_the_command_deleted(
    repo: GitRepo, ends: str
) -> None:
    """The command deleted its operation's refs (`git update-ref -d refs/atomic/...`): its
    checkpoints were then held by nothing, and your next `git gc --prune=now` took them
    (`rollback --op`, `undo`, `show --diff` failed). They are held again when it closes."""
    deletes = 'git for-each-ref --format="delete %(refname)" refs/atomic | git update-ref --stdin'
    script = f"{deletes}; echo x > x; {ends}"
    res = repo.atomic_json("run", "--", "sh", "-c", script, check=int(ends[-1]))
    repo.git("-c", "gc.reflogExpire=now", "-c", "gc.reflogExpireUnreachable=now", "gc", "-q")
    repo.git("prune", "--expire=now")
    _journal_names_only_live_checkpoints(repo)
    assert "+x" in repo.atomic("show", res["op_id"], "--diff", check=0).stdout
    if ends == "exit 0":
        repo.atomic("rollback", "--op", res["op_id"], check=0)
        assert not repo.exists("x")
    else:
        repo.atomic("undo", check=0)
        assert repo.read("x") == b"x\n"


_REWRITES = {
    # every ref rewritten, ours with them, their old values left under refs/original/
    "filter-branch": "FILTER_BRANCH_SQUELCH_WARNING=1 git filter-branch -f --msg-filter "
    "'sed s/^/X/' -- --all >/dev/null 2>&1",
    "update-ref loop": 'git for-each-ref --format="update %(refname) $(git rev-parse HEAD)" '
    "refs/atomic | git update-ref --stdin",
    # a mirror's refspec: ours, which the other repository lacks, are pruned
    "fetch --prune": "git fetch -q --prune --update-head-ok ../mirror.git '+refs/*:refs/*'",
    # ours made symbolic refs to your branch: held again, the branch never moved through them
    "symbolic-ref": 'for r in $(git for-each-ref --format="%(refname)" refs/atomic/ops); do '
    "git symbolic-ref $r refs/heads/main; done",
}


@pytest.mark.parametrize("ends", ["exit 0", "exit 1"])
@pytest.mark.parametrize("rewrite", sorted(_REWRITES))
def test_checkpoint_refs_a_command_rewrote_hold_them_again(
    repo: GitRepo, rewrite: str, ends: str
) -> None:
    """The command pointed our refs elsewhere or pruned them, the operation's and an earlier
    one's and an emergency's rescue (`git filter-branch -- --all`, which leaves its copies under
    refs/original/): after
    filter-branch's usual clean-up and `git gc --prune=now`, the checkpoints were gone (the
    operation's ref was only looked for, not read) and `undo`, `rollback --op` and `show
    --diff` refused, exit 3. Every checkpoint's ref holds it again when the operation closes,
    and filter-branch's copies of them are gone."""
    repo.git("clone", "-q", "--bare", ".", "../mirror.git")
    earlier = repo.atomic_json("run", "--", "sh", "-c", "echo e > earlier")
    main = repo.git("rev-parse", "main").strip()
    repo.write("mine", b"m\n")  # held by the rescue of an emergency, of no operation
    repo.atomic("emergency", check=0)
    script = f"{_REWRITES[rewrite]}; echo x > x; {ends}"
    res = repo.atomic_json("run", "--", "sh", "-c", script, check=int(ends[-1]))
    for name in repo.git("for-each-ref", "--format=%(refname)", "refs/original").split():
        repo.git("update-ref", "-d", name)
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    _journal_names_only_live_checkpoints(repo)
    for ref, sha in journal_rows(repo, "SELECT ref, sha FROM checkpoints"):
        assert repo.git("rev-parse", "--verify", "-q", str(ref)).strip() == sha
        assert not repo.git("symbolic-ref", "-q", str(ref), check=False).strip()
    if ends == "exit 1" and rewrite != "filter-branch":  # (a kept run's commits move it)
        assert repo.git("rev-parse", "main").strip() == main
    assert "+x" in repo.atomic("show", res["op_id"], "--diff", check=0).stdout
    if ends == "exit 0":
        repo.atomic("rollback", "--op", res["op_id"], check=0)
        assert not repo.exists("x")
    else:
        repo.atomic("undo", check=0)
        assert repo.read("x") == b"x\n"
    repo.atomic("rollback", "--op", earlier["op_id"], check=0)
    assert not repo.exists("earlier")


def test_filter_branch_copies_of_our_refs_go_and_others_stay(repo: GitRepo) -> None:
    """What filter-branch left under refs/original/ of your own refs stays; its copies of
    ours (refs/original/refs/atomic/...) go, ours holding the checkpoints again."""
    script = (
        "FILTER_BRANCH_SQUELCH_WARNING=1 git filter-branch -f --msg-filter 'sed s/^/X/' "
        "-- --all >/dev/null 2>&1"
    )
    head = repo.git("rev-parse", "HEAD").strip()
    repo.atomic_json("run", "--", "sh", "-c", script)
    left = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/original")
    assert left.split() == ["refs/original/refs/heads/main", head]
    assert not os.path.lexists(repo.path / ".git" / "refs" / "original" / "refs" / "atomic")


def _journal_names_only_live_checkpoints(repo: GitRepo) -> None:
    shas = {
        str(r[0])
        for r in journal_rows(
            repo,
            "SELECT sha FROM checkpoints UNION SELECT rescue FROM events "
            "UNION SELECT target FROM events",
        )
        if r[0]
    }
    check = subprocess.run(
        ["git", "cat-file", "--batch-check"],
        cwd=repo.path,
        env=repo.env,
        input="".join(s + "\n" for s in shas),
        capture_output=True,
        text=True,
    )
    assert "missing" not in check.stdout
    fsck = subprocess.run(
        ["git", "fsck", "--no-dangling", "--no-progress"],
        cwd=repo.path,
        env=repo.env,
        capture_output=True,
        text=True,
    )
    assert fsck.returncode == 0 and not fsck.stdout.strip(), fsck.stdout + fsck.stderr


@pytest.mark.parametrize("days", ["abc"])
def test_gc_days_not_a_number(repo: GitRepo, days: str) -> None:
    res = repo.atomic("gc", "--older-than", days, check=2)
    assert "Traceback" not in res.stderr
    assert os.path.exists(repo.path / ".git")


def test_recover_refuses_an_op_whose_owner_lives_and_changes_nothing(repo: GitRepo) -> None:
    from git_atomic.core.lock import process_start

    repo.atomic("begin", "s", check=0)
    repo.write("README", b"work\n")
    owner = subprocess.Popen(["sleep", "30"])
    try:
        db = sqlite3.connect(repo.path / ".git" / "atomic" / "journal.sqlite3")
        with db:
            db.execute(
                "UPDATE operations SET owner_pid=?, owner_start=?",
                (owner.pid, process_start(owner.pid)),
            )
        db.close()
        before = repo.fingerprint()
        res = repo.atomic("recover", check=3)
        assert f"being worked on by pid {owner.pid}" in res.stderr
        assert repo.fingerprint() == before
    finally:
        owner.kill()
        owner.wait()
    repo.atomic("recover", check=0)
    assert repo.read("README") == b"hello\n"


def test_a_stale_index_lock_is_saved_in_the_rescue_and_recover_clears_it(repo: GitRepo) -> None:
    """A kill between taking index.lock and renaming it leaves git's own lock behind. A live
    git lets go of its lock within recover's grace period; one still there after it is stale:
    saved in the rescue, then removed, and recover finishes."""
    repo.write("README", b"staged change\n")
    repo.git("add", "README")
    before = repo.fingerprint()
    res = repo.atomic(
        "run",
        "--history",
        "shadow",
        "--",
        "sh",
        "-c",
        "git rm -q --cached README && echo x > x",
        env=KILL_AFTER_OP_EXEC,
    )
    assert res.returncode == -9
    index_lock = repo.path / ".git" / "index.lock"
    index_lock.write_bytes(b"half written")
    done = repo.atomic_json("recover")
    assert repo.fingerprint() == before and not index_lock.exists()
    rescue = done["checkpoints"]["rescue"]
    assert repo.git("show", f"{rescue}:gitstate/git/index.lock") == "half written"


def test_gc_removes_scan_indexes_their_ref_does_not_name(repo: GitRepo) -> None:
    """A crash between the two steps that keep a scan index leaves a file its ref does not name
    (scan.py); `gc` removes it and keeps the one the ref names, which the next capture uses."""
    repo.atomic_json("run", "--history", "shadow", "--", "true")
    state = repo.path / ".git" / "atomic"
    (kept,) = state.glob("scan-main-*")
    named = repo.git("rev-parse", "refs/atomic/scan/main").strip()
    assert kept.name == f"scan-main-{named}"
    stray = [state / f"scan-main-{'1' * 40}", state / f"scan-main-{named}.12345"]
    for path in stray:
        path.write_bytes(b"left by a crash")
    repo.atomic_json("gc", "--older-than", "0")
    assert sorted(state.glob("scan-main-*")) == [kept]
    repo.write("after", b"a\n")
    res = repo.atomic_json("run", "--history", "shadow", "--", "true")
    assert res["status"] == "committed"
    assert repo.git("ls-tree", "--name-only", "refs/atomic/scan/main").split().count("after") == 1


def test_gc_expires_unused_shared_indexes_as_git_would(repo: GitRepo) -> None:
    """Our writes of a split scan index turn git's expiry of shared indexes off (scan.py), so
    `gc` applies git's rule itself: a `sharedindex.*` that no index uses and nothing touched for
    two weeks goes; the scan index's own, and yours even when old, stay."""
    env = {"GIT_ATOMIC_SPLIT_SCAN_AT": "1"}
    repo.git("update-index", "--split-index")
    repo.atomic_json("run", "--history", "shadow", "--", "true", env=env)
    git_dir = repo.path / ".git"
    repo.write("untracked.txt", b"u\n")  # so that the scan index is not the same as yours
    repo.atomic_json("run", "--history", "shadow", "--", "true", env=env)
    in_use = set(git_dir.glob("sharedindex.*"))
    assert len(in_use) == 2  # yours and the scan index's
    old = time.time() - 15 * 86400
    orphan_old = git_dir / f"sharedindex.{'1' * 40}"
    orphan_new = git_dir / f"sharedindex.{'2' * 40}"
    for path in (orphan_old, orphan_new):
        path.write_bytes(b"left by a crash")
    for path in (*in_use, orphan_old):
        os.utime(path, (old, old))
    repo.atomic_json("gc", "--older-than", "0", env=env)
    left = set(git_dir.glob("sharedindex.*"))
    assert orphan_new in left and orphan_old not in left, left  # too new to expire; expired
    # Every other one left is used by an index: yours, or the scan index's (whose shared index
    # git may have made anew while gc's scan read again what was written in its second).
    indexes = [git_dir / "index", *(p for p in git_dir.rglob("*") if _is_index(p))]
    for shared in left - {orphan_new}:
        oid = bytes.fromhex(shared.name.removeprefix("sharedindex."))
        assert any(oid in p.read_bytes()[:-20] for p in indexes), shared
    yours = [s for s in in_use if bytes.fromhex(s.name[12:]) in (git_dir / "index").read_bytes()]
    assert yours and yours[0] in left  # yours stays, however old
    assert repo.git("status", "--porcelain") == "?? untracked.txt\n"  # your index reads


def _is_index(path: Path) -> bool:
    if not path.is_file() or path.name.startswith("sharedindex."):
        return False
    with path.open("rb") as fh:
        return fh.read(4) == b"DIRC"


@pytest.mark.parametrize("rule", ["none", "kept", "removed"])
def test_gc_returns_the_space_of_what_only_the_scan_held(repo: GitRepo, rule: str) -> None:
    """The scan ref (and, under a line-ending rule, the raw record's ref) keep the blobs of the
    files the last capture saw. Once those files are gone and their checkpoints retired, `gc`
    scans anew and those blobs go with the prune; the raw record's ref goes too once no rule
    asks for it, and stays while one does."""
    repo.git("config", "gc.pruneExpire", "now")
    if rule != "none":
        repo.write(".gitattributes", b"*.txt text eol=lf\n")
        repo.git("add", ".gitattributes")
        repo.git("commit", "-qm", "rule")
    repo.write("big.txt", os.urandom(200_000).hex().encode())
    blob = repo.git("hash-object", "--no-filters", "big.txt").strip()
    repo.atomic_json("run", "--history", "shadow", "--", "true")
    assert repo.git("cat-file", "-t", blob).strip() == "blob"
    if rule != "none":
        raw = repo.git("rev-parse", "refs/atomic/raw/main").strip()
        assert repo.git("ls-tree", raw, "big.txt").split()[2] == blob
    (repo.path / "big.txt").unlink()
    if rule == "removed":
        repo.git("rm", "-q", ".gitattributes")
        repo.git("commit", "-qm", "no rule")
    objects = repo.path / ".git" / "objects"
    before = sum(f.stat().st_size for f in objects.rglob("*") if f.is_file())
    res = repo.atomic_json("gc", "--older-than", "0")
    assert repo.git("cat-file", "-t", blob, check=False) == ""  # gone: nothing holds it
    assert res["bytes_freed"] > 200_000  # its compressed bytes at least (random hex: ~half)
    after = sum(f.stat().st_size for f in objects.rglob("*") if f.is_file())
    assert before - after > 200_000  # (gc's own capture adds a few small objects)
    raw_ref = repo.git("for-each-ref", "refs/atomic/raw/")
    raw_file = repo.path / ".git" / "atomic" / "raw-main"
    if rule == "kept":
        assert raw_ref and raw_file.exists()
        repo.write("b.txt", b"crlf\r\n")  # the record still works: exact bytes captured
        out = repo.atomic_json("run", "--history", "shadow", "--", "true")
        assert out["status"] == "committed"
        files = repo.git("ls-tree", "-r", "refs/atomic/scan/main")
        assert "b.txt" in files
    else:
        assert raw_ref == "" and not raw_file.exists()


@pytest.mark.parametrize(
    "rewrite",
    ["filter-branch", "update-ref loop", "delete", "only it", "only it, packed", "a turn, packed"],
)
def test_the_commit_an_emergency_went_to_is_held_again(repo: GitRepo, rewrite: str) -> None:
    """`emergency --to COMMIT` keeps the checkpoint it makes of that commit, its event's
    target, by a ref under refs/atomic/commits/, which no journal row names: a later command
    that rewrote or deleted our refs left it to your next `gc --prune=now` (filter-branch's
    copy, deleted by its usual clean-up, the one thing holding it), and `undo` of the emergency
    failed, exit 3. It is held again when the operation closes, filter-branch's copy gone.
    Packed (`git pack-refs --all`, as `git gc` does), its deletion only rewrote `packed-refs`
    and was not noticed, by an operation or an agent's turn."""
    repo.write("second", b"2\n")
    repo.git("add", "second")
    repo.git("commit", "-qm", "second")
    repo.write("mine", b"m\n")
    repo.atomic("emergency", "--to", "HEAD~1", check=0)
    assert not repo.exists("second") and not repo.exists("mine")
    if rewrite.endswith(", packed"):
        repo.git("pack-refs", "--all")
        assert not (repo.path / ".git/refs/atomic/commits").exists()
    deletes = 'git for-each-ref --format="delete %(refname)" refs/atomic | git update-ref --stdin'
    only = (  # that ref alone, none of the operation's own (which were all that was looked at)
        'git for-each-ref --format="delete %(refname)" refs/atomic/commits refs/atomic/rescue'
        " | git update-ref --stdin"
    )
    scripts = {**_REWRITES, "delete": deletes, "only it": only, "a turn": only}
    script = scripts[rewrite.split(",")[0]]
    if rewrite.startswith("a turn"):
        command = f"{script}; echo x > x"
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "t1"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={})
        claude_hook(repo, "s1", "Stop", stop_hook_active=False)
    else:
        repo.atomic_json("run", "--", "sh", "-c", f"{script}; echo x > x")
    assert not repo.git("for-each-ref", "refs/original/refs/atomic")
    for name in repo.git("for-each-ref", "--format=%(refname)", "refs/original").split():
        repo.git("update-ref", "-d", name)
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    res = repo.atomic("undo", check=None)
    assert res.returncode == 0, res.stderr
    assert repo.read("second") == b"2\n" and repo.read("mine") == b"m\n"


def test_undo_of_an_emergency_whose_commit_you_pruned_says_so(repo: GitRepo) -> None:
    """You deleted our refs yourself (refs/atomic/commits/) and pruned: `undo` of the
    `emergency --to` failed with git's own line ("git ls-tree -z failed: fatal: not a tree
    object"). It names the state gone, exit 3, and the way back to what it replaced, which
    works."""
    repo.write("second", b"2\n")
    repo.git("add", "second")
    repo.git("commit", "-qm", "second")
    repo.write("mine", b"m\n")
    repo.atomic("emergency", "--to", "HEAD~1", check=0)
    for name in repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/commits").split():
        repo.git("update-ref", "-d", name)
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    for args in (["undo"], ["undo", "--dry-run"]):
        res = repo.atomic(*args, check=3)
        assert "the state the emergency of" in res.stderr, res.stderr
        assert "cannot be restored: git no longer has it" in res.stderr, res.stderr
        assert "ls-tree" not in res.stderr and len(res.stderr.strip().splitlines()) == 1
    way = res.stderr.split("`")[-2]
    assert way.startswith("git atomic rollback --to "), res.stderr
    repo.atomic(*way.split()[2:], check=0)
    assert repo.read("second") == b"2\n" and repo.read("mine") == b"m\n"
