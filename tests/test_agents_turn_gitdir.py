"""An agent turn's calls change git's own files beside its checkpoints: a replace ref (`git
replace`), `info/grafts`, `objects/info/alternates`, the ref folders a bisect leaves. Its
take-back at Stop and a later `rollback --op` of it do with each what an operation's rollback
does (tests/test_git_dir_files.py, test_git_state.py), for what changed within its calls only:
what you did between them stays yours. Real hook calls, read from the disk."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo, git_dir_paths


def _turn(
    repo: GitRepo,
    *lines: str,
    between: str = "",
    failing: bool = True,
    stop_env: dict[str, str] | None = None,
) -> tuple[dict[str, str], str]:
    """A turn whose shell calls run `lines`, one each; `between`, a command of yours after its
    first call. `failing`: its last call breaks the gate (it makes `bad`) and Stop takes the
    turn back. Its Stop's answer and its operation's id."""
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    exclude = repo.git("rev-parse", "--path-format=absolute", "--git-path", "info/exclude")
    Path(exclude.strip()).write_bytes(b".git-atomic.toml\n")
    commands = [*lines[:-1], f"{lines[-1]}; echo x > bad" if failing else lines[-1]]
    for n, command in enumerate(commands, start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        if n == 1 and between:
            subprocess.run(["sh", "-c", between], cwd=repo.path, env=repo.env, check=True)
    if stop_env is not None:  # killed in its Stop (GIT_ATOMIC_FAILPOINT)
        assert claude_hook(repo, "s1", "Stop", env=stop_env, check=False).returncode == -9
        return {}, ""
    answer: dict[str, str] = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert (answer.get("decision") == "block") == failing, answer
    op = repo.atomic_json("log")["operations"][0]  # the newest: the turn's
    return answer, str(op["op_id"])


def _replace_refs(repo: GitRepo) -> list[str]:
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/replace/").split(
        "\n"
    )[:-1]


def _two_commits(repo: GitRepo) -> tuple[str, str]:
    """main (a: a) and other (a: b): `git replace main other` makes main read as other."""
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.git("commit", "-qm", "a")
    repo.git("branch", "other")
    repo.git("checkout", "-q", "other")
    repo.write("a", b"b\n")
    repo.git("commit", "-qam", "b")
    repo.git("checkout", "-q", "main")
    return repo.git("rev-parse", "main").strip(), repo.git("rev-parse", "other").strip()


@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("how", ["stop", "rollback-op"])
def test_a_replace_ref_a_turns_call_made_goes_with_its_take_back(
    repo: GitRepo, how: str, packed: bool
) -> None:
    """git's t6050-replace: a turn's `git replace main other`, taken back at Stop (or kept and
    rolled back with `rollback --op`), stayed: `git status` then showed `M a`, a change
    nobody made (main's commit read as other's). It goes, said; so does one packed
    (`git pack-refs --all`), read from `packed-refs`."""
    main, _ = _two_commits(repo)
    line = "git replace main other" + ("; git pack-refs --all" if packed else "")
    answer, op_id = _turn(repo, "echo m > made.txt", line, failing=how == "stop")
    assert _replace_refs(repo) != [] or how == "stop"
    said = answer.get("systemMessage", "")
    if how == "rollback-op":
        dry = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0).stdout
        assert f"the replacement of {main[:12]} the operation made" in dry, dry
        said = repo.atomic("rollback", "--op", op_id, check=0).stderr
    assert _replace_refs(repo) == []
    assert not (repo.path / ".git" / "refs" / "replace" / main).exists()
    assert f"the replacement of {main[:12]} the operation made" in said, said
    assert repo.git("status", "--porcelain", "--", "a") == ""


@pytest.mark.parametrize("how", ["stop", "rollback-op"])
def test_a_replace_ref_you_made_or_moved_between_a_turns_calls_stays(
    repo: GitRepo, how: str
) -> None:
    """Only what changed within the turn's calls is its: your `git replace` between them (and
    one you had before the turn, which it never touched) stays as you left it."""
    main, other = _two_commits(repo)
    repo.git("replace", other, main)  # yours, before the turn
    before = _replace_refs(repo)
    _, op_id = _turn(repo, "echo m > made.txt", "true", between="git replace main other")
    if how == "rollback-op":
        repo.atomic("rollback", "--op", op_id, check=0)
    assert sorted(_replace_refs(repo)) == sorted([*before, f"refs/replace/{main} {other}"])


def test_a_replace_ref_a_turns_call_deleted_comes_back(repo: GitRepo) -> None:
    main, other = _two_commits(repo)
    repo.git("replace", "main", "other")
    before = _replace_refs(repo)
    answer, _ = _turn(repo, "echo m > made.txt", "git replace -d main")
    assert _replace_refs(repo) == before == [f"refs/replace/{main} {other}"]
    assert f"the replacement of {main[:12]} the operation removed" in answer["systemMessage"]


@pytest.mark.parametrize("how", ["stop", "rollback-op"])
def test_grafts_a_turns_call_wrote_go_with_its_take_back(repo: GitRepo, how: str) -> None:
    """git's t6001-rev-list-graft: a turn's call that wrote `.git/info/grafts` (HEAD with no
    parent) left your history cut for every `git log` after its take-back."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    grafts = repo.path / ".git" / "info" / "grafts"
    answer, op_id = _turn(
        repo, "echo m > made.txt", f"echo {repo.head()} > .git/info/grafts", failing=how == "stop"
    )
    said = answer.get("systemMessage", "")
    if how == "rollback-op":
        assert grafts.exists()
        said = repo.atomic("rollback", "--op", op_id, check=0).stderr
    assert not grafts.exists()
    assert "the .git/info/grafts the operation wrote" in said, said
    assert repo.git("rev-list", "--count", "HEAD").strip() == "2"


def test_grafts_you_wrote_between_a_turns_calls_stay(repo: GitRepo) -> None:
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    grafts = repo.path / ".git" / "info" / "grafts"
    answer, _ = _turn(
        repo, "echo m > made.txt", "true", between=f"echo {repo.head()} > .git/info/grafts"
    )
    assert grafts.read_text() == f"{repo.head()}\n"
    assert "grafts" not in answer["systemMessage"], answer


@pytest.mark.parametrize("failing", [True, False])
def test_an_alternates_file_a_turns_call_removed_is_written_back(
    repo: GitRepo, tmp_path: Path, failing: bool
) -> None:
    """A `clone --shared` borrows every object from its origin's store: a turn's call that
    removed `objects/info/alternates` left no checkpoint possible ("the index stages objects
    the repository does not have"), and its Stop changed nothing ("they overlap with later
    changes"), the repository left broken ("fatal: bad object HEAD"). Written back (adding a
    store loses nothing) where the checkpoint cannot be taken without it, and said; the turn
    is then judged as any."""
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.git("clone", "-q", "--shared", str(repo.path), str(clone.path))
    alternates = clone.path / ".git" / "objects" / "info" / "alternates"
    before = alternates.read_bytes()
    answer, _ = _turn(
        clone, "echo m > made.txt", "rm .git/objects/info/alternates", failing=failing
    )
    assert alternates.read_bytes() == before
    assert f"removed {alternates}" in answer["systemMessage"], answer
    assert "it is written back, as before" in answer["systemMessage"], answer
    assert clone.exists("made.txt") != failing
    assert clone.git("status", "--porcelain", "--", "README") == ""


def test_an_alternates_file_removed_is_written_back_though_the_staged_tree_is_here(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The same, where the staged tree itself lies in the clone's own store (a tool wrote it
    there; git's index check, one `cat-file -e` of that tree, then passes): the window's
    checkpoint was taken, so nothing was written back, and the kept turn left a repository whose
    HEAD is a bad object. Written back where HEAD's commit cannot be read without it."""
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.git("clone", "-q", "--shared", str(repo.path), str(clone.path))
    alternates = clone.path / ".git" / "objects" / "info" / "alternates"
    before = alternates.read_bytes()
    raw = subprocess.run(
        ["git", "cat-file", "tree", "HEAD^{tree}"],
        cwd=clone.path,
        env=clone.env,
        check=True,
        capture_output=True,
    ).stdout
    clone.git("hash-object", "-t", "tree", "-w", "--stdin", input=raw)
    answer, _ = _turn(clone, "echo m > made.txt", "rm .git/objects/info/alternates", failing=False)
    assert alternates.read_bytes() == before
    assert "it is written back, as before" in answer["systemMessage"], answer
    assert clone.exists("made.txt")
    assert clone.git("cat-file", "-t", "HEAD").strip() == "commit"


def test_an_alternates_file_a_turns_call_removed_once_its_objects_are_here_stays_removed(
    repo: GitRepo, tmp_path: Path
) -> None:
    """`git repack -a -d` then its removal (git's way to stop borrowing): the checkpoints need
    nothing from the other store, and the turn's change stays as a kept turn's."""
    clone = GitRepo(tmp_path / "clone", repo.env)
    repo.git("clone", "-q", "--shared", str(repo.path), str(clone.path))
    alternates = clone.path / ".git" / "objects" / "info" / "alternates"
    line = "git repack -q -a -d; rm .git/objects/info/alternates; echo m > made.txt"
    answer, _ = _turn(clone, line, failing=False)
    assert not alternates.exists()
    assert "alternates" not in json.dumps(answer), answer
    assert clone.git("status", "--porcelain", "--", "README") == ""


def test_an_alternates_file_a_turns_call_added_is_named(repo: GitRepo, tmp_path: Path) -> None:
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    store = other.path / ".git" / "objects"
    alternates = repo.path / ".git" / "objects" / "info" / "alternates"
    answer, _ = _turn(repo, "echo m > made.txt", f"echo {store} > .git/objects/info/alternates")
    assert alternates.read_text() == f"{store}\n"  # never removed: nothing is lost
    assert f"{alternates}: git reads objects from {store}" in answer["systemMessage"], answer


@pytest.mark.parametrize("where", ["main", "linked"])
def test_the_ref_folders_a_turns_bisect_left_go_with_its_take_back(
    repo: GitRepo, tmp_path: Path, where: str
) -> None:
    """git's t6030-bisect-porcelain: a turn's `git bisect start; git bisect reset` left
    `refs/bisect/` (a linked worktree's `worktrees/<id>/refs/bisect/`, and `refs/`) empty:
    every file and folder of the git dir is as before the turn after its take-back."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    here = repo
    if where == "linked":
        repo.git("worktree", "add", "-q", "--detach", str(tmp_path / "wt"))
        here = GitRepo(tmp_path / "wt", repo.env)
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    here.write(".git-atomic.toml", b"")  # the file _turn writes: there before the turn
    before = _git_dir_paths(repo)
    _turn(here, "echo m > made.txt", "git bisect start HEAD HEAD~1 >/dev/null; git bisect reset")
    assert not here.exists("made.txt")
    assert _git_dir_paths(repo) == before


def _git_dir_paths(repo: GitRepo) -> set[str]:
    """git_dir_paths, less the marks of the open turns (turnstate.OPEN_MARKS, ours)."""
    return {p for p in git_dir_paths(repo.path / ".git") if not p.startswith("atomic-open-turns")}


# --- the folder it ran in ----------------------------------------------------------------------


def _kept(repo: GitRepo, how: str) -> str:
    """A kept operation (`run`) or agent turn that made b.txt; its id."""
    if how == "run":
        return str(repo.atomic_json("run", "--", "sh", "-c", "echo b > b.txt")["op_id"])
    return _turn(repo, "echo b > b.txt", failing=False)[1]


@pytest.mark.parametrize("how", ["run", "turn"])
@pytest.mark.parametrize("args", [["--op"], ["--op", "--whole"], [], ["--to", "--whole"]])
def test_rollback_of_an_operation_is_refused_where_git_takes_another_folder_for_the_worktree(
    repo: GitRepo, tmp_path: Path, how: str, args: list[str]
) -> None:
    """Nothing outside the worktree, ever: with `core.worktree` pointing at another folder
    since a kept operation or agent turn, its `rollback --op` (and a plain `rollback` of the
    newest) took its effect back there: the other folder's b.txt, the same bytes as the one
    it made, was deleted. Refused now (exit 3), as `abort` of an open one is: an agent turn's
    journal entry names the folder it ran in, as an operation's does."""
    op_id = _kept(repo, how)
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "b.txt").write_text("b\n")
    repo.git("config", "core.worktree", str(victim))
    pre_op = repo.atomic_json("show", op_id)["checkpoints"]["pre_op"]
    argv = [{"--op": f"--op={op_id}", "--to": f"--to={pre_op}"}.get(a, a) for a in args]
    res = repo.atomic("rollback", *argv, check=3)
    assert "was begun in the worktree at" in res.stderr, res.stderr
    assert sorted(os.listdir(victim)) == ["b.txt"] and (victim / "b.txt").read_text() == "b\n"
    repo.git("config", "--unset", "core.worktree")
    repo.atomic("rollback", f"--op={op_id}", check=0)
    assert not repo.exists("b.txt")
    # Its `undo` (b.txt made again) likewise: refused while git takes the other folder.
    (victim / "b.txt").unlink()
    repo.git("config", "core.worktree", str(victim))
    res = repo.atomic("undo", check=3)
    assert "was begun in the worktree at" in res.stderr and os.listdir(victim) == [], res.stderr
    repo.git("config", "--unset", "core.worktree")
    repo.atomic("undo", check=0)
    assert repo.read("b.txt") == b"b\n"


@pytest.mark.parametrize("how", ["run", "turn"])
@pytest.mark.parametrize("moved", ["mv", "cp -a"])
def test_a_kept_operation_of_a_worktree_moved_or_copied_whole_is_rolled_back_there(
    repo: GitRepo, tmp_path: Path, how: str, moved: str
) -> None:
    """The same folder moved (its inode), or the repository copied whole (its worktree where it
    was from its git dir), is still the one it ran in."""
    op_id = _kept(repo, how)
    there = GitRepo(tmp_path / "there", repo.env)
    subprocess.run([*moved.split(), str(repo.path), str(there.path)], check=True)
    there.atomic("rollback", f"--op={op_id}", check=0)
    assert not there.exists("b.txt")
    if moved != "mv":
        assert repo.read("b.txt") == b"b\n"  # the original, untouched


@pytest.mark.parametrize("how", ["stop", "rollback-op", "yours-between"])
def test_a_linked_worktree_a_turns_call_moved_is_said_moved(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """`git worktree move` in a turn's call: its take-back said the worktree was removed ("any
    files it had that were not committed are gone") and the moved one added, with the `git
    worktree remove` that would have deleted it; a rollback of a run says it moved, where it
    is, and the `git worktree move` that takes it back. One you moved between the turn's calls
    is not named."""
    wt, wt2 = tmp_path / "wt", tmp_path / "wt2"
    repo.git("worktree", "add", "-q", str(wt), "-b", "wtb")
    line = f"git worktree move {wt} {wt2}"
    if how == "yours-between":
        answer, _ = _turn(repo, "echo m > made.txt", "true", between=line)
        assert "worktree" not in answer["systemMessage"], answer
        return
    answer, op_id = _turn(repo, "echo m > made.txt", line, failing=how == "stop")
    said = answer.get("systemMessage", "")
    if how == "rollback-op":
        said = repo.atomic("rollback", f"--op={op_id}", check=0).stderr
    assert "removed the linked worktree" not in said and "worktree remove" not in said, said
    assert f"git worktree move {wt2} {wt}" in said, said
    assert (wt2 / "README").exists()


def test_rollback_op_of_a_kept_turn_names_the_linked_worktree_its_call_removed(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Its Stop's take-back named it; a later `rollback --op` of the kept turn said nothing
    (its journal entry held none of what an operation's close notes), as if the worktree came
    back with it."""
    wt = tmp_path / "wt"
    repo.git("worktree", "add", "-q", str(wt), "-b", "wtb")
    _, op_id = _turn(repo, "echo m > made.txt", f"git worktree remove --force {wt}", failing=False)
    said = repo.atomic("rollback", f"--op={op_id}", check=0).stderr
    assert f"removed the linked worktree {wt} (branch wtb" in said, said
    assert f"`git worktree add {wt} wtb`" in said, said


@pytest.mark.parametrize("how", ["stop", "recover"])
def test_a_git_hook_a_turns_call_installed_is_named_by_its_take_back(
    repo: GitRepo, how: str
) -> None:
    """A failed run's rollback names a git hook it installed (hooks are configuration, in no
    checkpoint: left, but said); a turn taken back at Stop did not, saying nothing of the hook
    that then ran at every commit of yours, and the `recover` of a take-back killed half way
    named the hook you wrote between its calls too. Each names the hooks changed within its
    calls alone."""
    hooks = repo.path / ".git" / "hooks"
    install = (
        "printf '#!/bin/sh\\nexit 1\\n' > .git/hooks/pre-commit; chmod +x .git/hooks/pre-commit"
    )
    between = "printf '#!/bin/sh\\n' > .git/hooks/pre-push"
    if how == "stop":
        answer, _ = _turn(repo, "echo m > made.txt", install, between=between)
        said = answer["systemMessage"].split("; ")
    else:
        repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
        (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
        for n, command in enumerate(("echo m > made.txt", f"{install}; echo x > bad"), start=1):
            call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
            claude_hook(repo, "s1", "PreToolUse", **call)
            subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
            claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
            if n == 1:
                subprocess.run(["sh", "-c", between], cwd=repo.path, env=repo.env, check=True)
        kill = {"GIT_ATOMIC_FAILPOINT": "rollback:after-rescue"}
        assert claude_hook(repo, "s1", "Stop", env=kill, check=False).returncode == -9
        said = repo.atomic("recover", check=0).stderr.splitlines()
    hooked = [line for line in said if "a git hook made or changed" in line]
    assert len(hooked) == 1 and ".git/hooks/pre-commit" in hooked[0], said
    assert (hooks / "pre-commit").exists() and (hooks / "pre-push").exists()  # left


@pytest.mark.parametrize("how", ["stop", "rollback-op", "recover"])
def test_a_git_setting_a_turns_call_made_is_named_by_its_take_back(repo: GitRepo, how: str) -> None:
    """A turn whose shell call set `core.hooksPath` and `core.fsmonitor` (code git runs at your
    next commit, your next `git status`) and removed your `user.signingkey` was taken back at
    Stop saying nothing of them (anthropics/claude-code #67914: an agent's setup silently
    rewrote the shared repository's `core.hooksPath`; fwdai/fletch #564). Configuration
    stays, but the take-back names the lines its calls added and counts those they removed;
    a setting you made between its calls (`core.editor`) is yours, not named."""
    repo.git("config", "user.signingkey", "ABCDEF")
    calls = "git config core.hooksPath /tmp/else; git config core.fsmonitor 'sh x.sh'"
    calls += "; git config --unset user.signingkey"
    failing = how != "rollback-op"
    kill = {"GIT_ATOMIC_FAILPOINT": "rollback:after-rescue"} if how == "recover" else None
    answer, op_id = _turn(
        repo,
        "echo m > made.txt",
        calls,
        between="git config core.editor vi",
        failing=failing,
        stop_env=kill,
    )
    if how == "stop":
        named = answer["systemMessage"]
    elif how == "recover":  # its take-back killed half way: `recover` finishes it
        named = repo.atomic("recover", check=0).stderr
    else:  # kept, then taken back by `rollback --op`
        named = repo.atomic("rollback", f"--op={op_id}", check=0).stderr
    assert ".git/config: the operation added or changed " in named, named
    assert "[core] hooksPath = /tmp/else" in named and "[core] fsmonitor = sh x.sh" in named
    assert "removed 1 line it held before" in named and "editor" not in named, named
    assert repo.git("config", "core.hooksPath").strip() == "/tmp/else"  # left: configuration


@pytest.mark.parametrize("how", ["stop", "rollback-op"])
def test_the_refs_a_turns_call_packed_are_loose_files_again(repo: GitRepo, how: str) -> None:
    """`git pack-refs --all` in a turn's call, where there was no `packed-refs`: the take-back
    left every ref packed and the file there (an operation's rollback writes them loose again
    and removes it): to git the same refs, on the disk not the files the turn began with."""
    repo.git("tag", "v1")
    repo.git("branch", "side")
    before = _git_dir_paths(repo)
    _, op_id = _turn(repo, "echo m > made.txt", "git pack-refs --all", failing=how == "stop")
    if how == "rollback-op":
        assert (repo.path / ".git" / "packed-refs").exists()
        repo.atomic("rollback", f"--op={op_id}", check=0)
    assert not (repo.path / ".git" / "packed-refs").exists()
    assert {p for p in _git_dir_paths(repo) if p.startswith("refs/")} == {
        p for p in before if p.startswith("refs/")
    }
    assert repo.git("rev-parse", "v1", "side") == repo.git("rev-parse", "HEAD", "HEAD")


@pytest.mark.parametrize("failing", [True, False])
def test_our_refs_a_turns_call_rewrote_hold_their_checkpoints_again(
    repo: GitRepo, failing: bool
) -> None:
    """A turn's call ran `git filter-branch -- --all`: our refs (an earlier operation's, the
    turn's own) pointed at its rewrites, the checkpoints only under refs/original/, which
    filter-branch's usual clean-up deletes before `gc --prune=now`: `rollback --op` of the
    earlier operation then failed (checkpoint gone, exit 3). They are held again at Stop."""
    earlier = repo.atomic_json("run", "--", "sh", "-c", "echo e > earlier")
    rewrite = (
        "FILTER_BRANCH_SQUELCH_WARNING=1 git filter-branch -f --msg-filter 'sed s/^/X/' "
        "-- --all >/dev/null 2>&1"
    )
    _turn(repo, "echo m > made.txt", rewrite, failing=failing)
    for name in repo.git("for-each-ref", "--format=%(refname)", "refs/original").split():
        repo.git("update-ref", "-d", name)
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    db = repo.path / ".git" / "atomic" / "journal.sqlite3"
    rows = sqlite3.connect(db).execute("SELECT ref, sha FROM checkpoints").fetchall()
    for ref, sha in rows:
        assert repo.git("rev-parse", "--verify", "-q", ref).strip() == sha, ref
    repo.atomic("rollback", "--op", earlier["op_id"], check=0)
    assert not repo.exists("earlier")


@pytest.mark.parametrize("how", ["stop", "rollback-op"])
def test_a_sparse_checkout_a_turns_call_disabled_is_sparse_again(repo: GitRepo, how: str) -> None:
    """git's t1091: a turn's `git sparse-checkout disable`, taken back at Stop (or kept and
    rolled back with `rollback --op`): its files went and the skip-worktree entries came
    back, but core.sparseCheckout stayed false (a turn noted no configuration): the worktree
    was not sparse any more. The settings come back with the rest."""
    for path in ("in/i", "out/o"):
        repo.write(path, path.encode() + b"\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "t")
    repo.git("sparse-checkout", "set", "in")
    listed = repo.git("ls-files", "-v")
    _, op_id = _turn(
        repo, "echo m > made.txt", "git sparse-checkout disable", failing=how == "stop"
    )
    if how == "rollback-op":
        assert repo.git("config", "core.sparseCheckout").strip() == "false"
        repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.git("config", "core.sparseCheckout").strip() == "true"
    assert repo.git("config", "core.sparseCheckoutCone").strip() == "true"
    assert repo.git("sparse-checkout", "list").split() == ["in"]
    assert repo.git("ls-files", "-v") == listed
    assert not (repo.path / "out").exists()


@pytest.mark.parametrize("how", ["stop", "rollback-op"])
def test_a_sparse_checkout_a_turns_call_set_leaves_no_setting(repo: GitRepo, how: str) -> None:
    """A turn's `git sparse-checkout set` in a worktree that was not sparse, taken back: it
    turns on extensions.worktreeConfig (to write its settings in config.worktree), which
    stayed, and with it every config.worktree of yours read by git from then on. It goes with
    the rest; the configuration's bytes are as before."""
    for path in ("in/i", "out/o"):
        repo.write(path, path.encode() + b"\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "t")
    config = (repo.path / ".git" / "config").read_bytes()
    _, op_id = _turn(repo, "echo m > made.txt", "git sparse-checkout set in", failing=how == "stop")
    if how == "rollback-op":
        assert repo.git("config", "extensions.worktreeConfig").strip() == "true"
        repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.git("config", "--get", "extensions.worktreeConfig", check=False).strip() == ""
    assert repo.git("config", "--get", "core.sparseCheckout", check=False).strip() == ""
    assert (repo.path / "out" / "o").exists()
    assert (repo.path / ".git" / "config").read_bytes() == config


@pytest.mark.parametrize("how", ["stop", "rollback-op"])
def test_the_lock_of_a_linked_worktree_a_turns_call_moved_goes(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """A call moved a linked worktree and locked it: the take-back said how to move it back,
    and left the lock, so that `git worktree move` refused ("cannot move a locked working
    tree"). The lock goes, said, and the way back named moves it."""
    wt, wt2 = tmp_path / "wt", tmp_path / "wt2"
    repo.git("worktree", "add", "-q", str(wt), "-b", "wtb")
    line = f"git worktree move {wt} {wt2} && git worktree lock --reason mine {wt2}"
    answer, op_id = _turn(repo, "echo m > made.txt", line, failing=how == "stop")
    said = answer.get("systemMessage", "")
    if how == "rollback-op":
        said = repo.atomic("rollback", f"--op={op_id}", check=0).stderr
    assert not (repo.path / ".git" / "worktrees" / "wt" / "locked").exists(), said
    assert "which the operation locked, is unlocked again" in said, said
    assert f"`git worktree move {wt2} {wt}`" in said, said
    repo.git("worktree", "move", str(wt2), str(wt))
    assert (wt / "README").exists()


FILTER = "FILTER_BRANCH_SQUELCH_WARNING=1 git filter-branch {} --msg-filter 'sed s/^/x/' {}"


def _copies(repo: GitRepo) -> dict[str, str]:
    out = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/original/")
    return dict(line.split() for line in out.splitlines())


@pytest.mark.parametrize("how", ["stop", "rollback-op", "yours-deleted"])
def test_the_copy_a_turns_filter_branch_kept_goes_with_its_take_back(
    repo: GitRepo, how: str
) -> None:
    """git's t7003-filter-branch: a turn's call ran `git filter-branch`; its take-back at Stop
    (or `rollback --op` of it, kept) put the branch back and left `refs/original/refs/heads/
    main`, naming the commit main names again: your next filter-branch refused ("A previous
    backup already exists"). It goes, with its folder, as after an operation's rollback; a
    copy of yours its `filter-branch -f` deleted is back."""
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    main = repo.git("rev-parse", "main").strip()
    yours: dict[str, str] = {}
    if how == "yours-deleted":
        repo.git("branch", "other")
        subprocess.run(
            ["sh", "-c", FILTER.format("", "other") + " >/dev/null 2>&1"],
            cwd=repo.path,
            env=repo.env,
            check=True,
        )
        yours = _copies(repo)
        assert list(yours) == ["refs/original/refs/heads/other"]
    force = "-f" if yours else ""
    line = FILTER.format(force, "HEAD") + " >/dev/null 2>&1"
    _, op_id = _turn(repo, "echo m > made.txt", line, failing=how != "rollback-op")
    if how == "rollback-op":
        assert _copies(repo) == {"refs/original/refs/heads/main": main}
        repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.git("rev-parse", "main").strip() == main
    assert _copies(repo) == yours
    assert (repo.path / ".git" / "refs" / "original").exists() == bool(yours)


def _stop_after(repo: GitRepo, *commands: str) -> str:
    """What a turn's Stop says (its systemMessage) after its shell calls ran `commands`."""
    for n, command in enumerate(commands, start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        claude_hook(repo, "s1", "PreToolUse", **call)
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
    return str(json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}").get("systemMessage"))


@pytest.mark.parametrize(
    "how", ["rm -rf .git; git init -q", "rm -rf .git; git init -q; git add -A; git commit -qm x"]
)
def test_a_turn_whose_call_made_the_git_dir_anew_says_its_history_went_with_it(
    repo: GitRepo, how: str
) -> None:
    """A turn's call ran `rm -rf .git; git init`: its Stop said only that the turn's record,
    checkpoints and mark were removed, not that the history and every checkpoint went with the
    git dir (nothing can be taken back, by this turn or any later command), as an operation
    begun there says now (commands/session.py)."""
    repo.atomic("run", "--", "sh", "-c", "echo e > earlier")  # an operation recorded before
    said = _stop_after(repo, "echo m > made.txt", f"echo b > a; {how}")
    assert "not judged" in said, said
    assert "history and checkpoints" in said and "git init" in said, said
    assert repo.exists("made.txt")  # nothing taken back: nothing to take it back from


def test_a_turn_whose_call_removed_our_folder_alone_says_no_history_went(repo: GitRepo) -> None:
    """`rm -rf .git/atomic` alone: the checkpoints of earlier operations are still there (refs):
    not said to have gone with the git dir."""
    repo.atomic("run", "--", "sh", "-c", "echo e > earlier")
    said = _stop_after(repo, "echo m > made.txt", "rm -rf .git/atomic")
    assert "not judged" in said and "history and checkpoints" not in said, said
