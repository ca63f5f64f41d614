"""Repository setups from git's own tests not played before (stop 57's adversary): where the
repository is and what git makes of it. Each compares the disk (tests/test_git_cases.py's
state: lstat, readlink, bytes, the raw index, HEAD, branches) and checks that a refusal is one
line with SPEC's exit code.

- t1302-repo-version: an unknown extension in a version-1 repository (git refuses it: one
  line, exit 3, its name said; before, the name was said as a command git says to run); one
  an operation sets, mended by hand, then `recover` (exact) and `undo`; `extensions.
  worktreeConfig` with a per-worktree `core.fileMode=false`; an operation that turns it on and
  makes the worktree bare in `config.worktree`.
- t1407-worktree-ref-store: a branch checked out in two worktrees (`worktree add -f`), a
  commit on it with per-worktree refs (`refs/worktree/`, `refs/bisect/`): the rollback leaves
  the branch to the other worktree and says so; its summary must not say "exactly its PRE-OP
  state" bare (it did).
- t2401-worktree-prune: an operation prunes a stale worktree entry (its folder was gone before
  it): no "uncommitted files are gone" over it (said before); one run from a worktree whose git
  dir was pruned is refused in one line.
- t2404-worktree-config: a linked worktree's own `config.worktree`; its failed run is exact and
  the main worktree is untouched.
- t0035-safe-bare-repository: `safe.bareRepository=explicit`; a bare repository kept inside
  the worktree (its files are untracked files: taken back); git-atomic inside it, or inside
  `.git`, is refused in one line.
- t7010-setup: `GIT_DIR`/`GIT_WORK_TREE` and `core.worktree` elsewhere.
- t7505-prepare-commit-msg-hook: every commit git-atomic makes (commits mode, its rollback and
  undo, `--isolate`, emergency, tdd) runs none of the user's hooks.
- t0040-parse-options: `gc --older-than nan` is a usage line (it retired nothing, exit 0).
- t2501-cwd-empty, a variant: a take-back started in a folder the state it puts back has a
  file at: the file comes back, and the line says the folder is gone (it said "kept, empty").
- t1020-subdirectory, an agent's turn whose calls and hooks run in a subfolder.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import test_git_cases as base

from testing import agents, oracle
from testing.gitrepo import GitRepo


def _repo(tmp_path: Path, name: str = "repo") -> GitRepo:
    repo = GitRepo.create(tmp_path / name, tmp_path / "home")
    base.sh(repo, "printf 'a\\n' > a; git add a; git commit -qm a; printf 'w\\n' > wip")
    return repo


def _state(repo: GitRepo, root: Path | None = None) -> dict[str, object]:
    """test_git_cases' state; for a linked worktree (`.git` a file) or a work tree elsewhere
    (`GIT_DIR`): its files, raw index entries, HEAD and the branches, read the same ways."""
    root = root or repo.path
    if (root / ".git").is_dir():
        return base.disk_state(root, repo.env)
    files, empty = base._walk(root)
    quiet = {**repo.env, "GIT_OPTIONAL_LOCKS": "0"}

    def git(*args: str) -> str:
        res = subprocess.run(["git", *args], cwd=root, env=quiet, capture_output=True, text=True)
        return res.stdout

    return {
        "head": git("symbolic-ref", "-q", "HEAD").strip(),
        "head_commit": git("rev-parse", "-q", "--verify", "HEAD").strip(),
        "branches": tuple(
            git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/").split("\n")
        ),
        "index": tuple(oracle.index_entries(quiet, root)),
        "files": tuple(files),
        "empty_folders": tuple(empty),
    }


def _one_line(res: subprocess.CompletedProcess[str], code: int) -> str:
    assert res.returncode == code, f"exit {res.returncode}\n{res.stdout}{res.stderr}"
    ours = [x for x in res.stderr.splitlines() if x.startswith("git-atomic:")]
    assert len(ours) == 1 and "Traceback" not in res.stderr, res.stderr
    return ours[0]


def _set_format(repo: GitRepo, extension: str | None) -> None:
    """Written into the file: git's own `config` refuses such a repository."""
    config = repo.path / ".git" / "config"
    text = config.read_text().replace("repositoryformatversion = 0", "repositoryformatversion = 1")
    text = text.split("[extensions]")[0]
    config.write_text(text + (f"[extensions]\n\t{extension}\n" if extension else ""))


# --- t1302-repo-version --------------------------------------------------------------------
@pytest.mark.parametrize("command", [["run", "--", "sh", "-c", "echo y > a"], ["status"]])
def test_t1302_unknown_extension_is_one_line_naming_it(tmp_path: Path, command: list[str]) -> None:
    repo = _repo(tmp_path)
    _set_format(repo, "foo = bar")
    before = (repo.read("a"), repo.read(".git/index"))
    line = _one_line(repo.atomic(*command), 3)
    assert "does not know extensions.foo" in line, line
    assert "git says to run" not in line, line
    assert (repo.read("a"), repo.read(".git/index")) == before


def test_t1302_extension_an_operation_sets_mended_then_recover(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    _set_format(repo, None)
    before = _state(repo)
    op = "git config extensions.foo x; printf 'q\\n' > a; printf 'n\\n' > n; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", op)
    assert res.returncode == 3 and "Traceback" not in res.stderr, res.stderr
    assert "extension found: foo" in res.stderr and "recover" in res.stderr, res.stderr
    _set_format(repo, None)  # mended by hand, as the line says
    repo.atomic("recover", check=0)
    base.same(before, _state(repo), "after recover")
    repo.atomic("undo", check=0)
    assert (repo.read("a"), repo.read("n")) == (b"q\n", b"n\n")


def test_t1302_worktree_config_file_mode_false(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base.sh(repo, "git config core.repositoryformatversion 1")
    base.sh(repo, "git config extensions.worktreeConfig true")
    base.sh(repo, "git config --worktree core.fileMode false")
    before = _state(repo)
    op = "printf 'z\\n' > a; chmod +x a; printf 'n\\n' > n; git add -A; exit 1"
    repo.atomic("run", "--", "sh", "-c", op, check=1)
    base.same(before, _state(repo), "after the failed run")
    assert not os.lstat(repo.path / "a").st_mode & 0o111


def test_t1302_operation_turns_worktree_config_on_and_goes_bare(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    before = _state(repo)
    op = (
        "git config extensions.worktreeConfig true; git config --worktree core.bare true\n"
        "printf 'q\\n' > a; exit 1"
    )
    res = repo.atomic("run", "--", "sh", "-c", op, check=1)
    assert "core.bare" in res.stderr and "Traceback" not in res.stderr, res.stderr
    base.same(before, _state(repo), "after the failed run")
    assert repo.git("rev-parse", "--is-bare-repository").strip() == "false"


# --- t1407-worktree-ref-store --------------------------------------------------------------
def _shared_branch(tmp_path: Path) -> tuple[GitRepo, GitRepo]:
    repo = _repo(tmp_path)
    repo.git("worktree", "add", "-q", "-f", str(tmp_path / "wt"), "main")
    wt = GitRepo(tmp_path / "wt", repo.env)
    base.sh(wt, "printf 'o\\n' > own")
    return repo, wt


SHARED_OP = (
    "printf 'b\\n' > a; git commit -qam b; git update-ref refs/worktree/x HEAD\n"
    "git update-ref refs/bisect/bad HEAD; printf 'c\\n' > a"
)


def test_t1407_kept_commit_on_a_branch_two_worktrees_have(tmp_path: Path) -> None:
    repo, wt = _shared_branch(tmp_path)
    main_files = base._walk(repo.path)
    start = repo.head()
    wt.atomic("run", "--history", "commits", "--", "sh", "-c", SHARED_OP, check=0)
    moved = repo.head()
    res = wt.atomic("rollback", check=0)
    assert "branch main is checked out in another worktree" in res.stderr, res.stderr
    summary = res.stderr.strip().splitlines()[-1]
    assert "except what the warnings above name" in summary, summary
    # the branch stays (the other worktree's), the files are this worktree's PRE-OP ones
    assert repo.head() == moved != start
    assert (wt.read("a"), wt.read("own")) == (b"a\n", b"o\n")
    assert base._walk(repo.path) == main_files
    assert wt.git("rev-parse", "-q", "--verify", "refs/worktree/x", check=False).strip() == moved


def test_t1407_failed_run_on_a_branch_two_worktrees_have(tmp_path: Path) -> None:
    repo, wt = _shared_branch(tmp_path)
    main_files = base._walk(repo.path)
    before = _state(wt)
    res = wt.atomic("run", "--", "sh", "-c", SHARED_OP + "; exit 1")
    assert res.returncode in (1, 3) and "Traceback" not in res.stderr, res.stderr
    summary = res.stderr.strip().splitlines()[-1]
    if "checked out in another worktree" in res.stderr:
        assert "warnings above" in res.stderr, res.stderr
    else:
        base.same(before, _state(wt), "after the failed run")
    assert base._walk(repo.path) == main_files, summary
    assert (wt.read("a"), wt.read("own")) == (b"a\n", b"o\n")


# --- t2401-worktree-prune ------------------------------------------------------------------
def test_t2401_prune_of_a_stale_entry_loses_nothing_said(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.git("worktree", "add", "-q", str(tmp_path / "stale"))
    subprocess.run(["rm", "-rf", str(tmp_path / "stale")], check=True)
    before = _state(repo)
    op = "git worktree prune; printf 'z\\n' > a; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", op, check=1)
    assert "uncommitted" not in res.stderr and "removed the linked" not in res.stderr, res.stderr
    base.same(before, _state(repo), "after the failed run")


def test_t2401_a_worktree_removed_by_rm_is_named(tmp_path: Path) -> None:
    """The other side of it: an `rm -rf` of a live linked worktree (no prune) loses its files;
    the rollback names it (before, only a pruned one was named)."""
    repo = _repo(tmp_path)
    repo.git("worktree", "add", "-q", str(tmp_path / "live"))
    op = f"rm -rf {tmp_path / 'live'}; printf 'z\\n' > a; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", op, check=1)
    assert "removed the linked worktree" in res.stderr, res.stderr


def test_t2401_run_in_a_worktree_whose_git_dir_was_pruned(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"))
    subprocess.run(["rm", "-rf", str(repo.path / ".git" / "worktrees" / "wt")], check=True)
    files = base._walk(tmp_path / "wt")
    for command in (["run", "--", "sh", "-c", "echo y > a"], ["status"], ["abort"]):
        line = _one_line(repo.atomic(*command, cwd=tmp_path / "wt"), 3)
        assert "not a git repository" in line, line
    assert base._walk(tmp_path / "wt") == files


# --- t2404-worktree-config -----------------------------------------------------------------
def test_t2404_linked_worktree_with_its_own_config(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    base.sh(repo, "git config extensions.worktreeConfig true")
    repo.git("worktree", "add", "-q", str(tmp_path / "wt"))
    wt = GitRepo(tmp_path / "wt", repo.env)
    base.sh(wt, "git config --worktree core.fileMode false; git config --worktree x.y z")
    base.sh(wt, "printf 'u\\n' > user")
    main_before, wt_before = _state(repo), _state(wt)
    op = "printf 'e\\n' > a; chmod +x a; git add -A; git commit -qm e; printf 'f\\n' > f; exit 1"
    wt.atomic("run", "--", "sh", "-c", op, check=1)
    base.same(wt_before, _state(wt), "the worktree after its failed run")
    base.same(main_before, _state(repo), "the main worktree")
    assert wt.git("config", "--worktree", "x.y").strip() == "z"
    assert repo.git("config", "x.y", check=False).strip() == ""


# --- t0035-safe-bare-repository ------------------------------------------------------------
def test_t0035_explicit_bare_and_a_bare_repository_in_the_tree(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    repo.git("config", "--global", "safe.bareRepository", "explicit")
    repo.git("init", "-q", "--bare", "embedded.git")
    before = _state(repo)
    op = (
        "printf 'y\\n' > a; printf 'x\\n' > embedded.git/description; rm embedded.git/HEAD\n"
        "mkdir embedded.git/refs/heads/new; exit 1"
    )
    repo.atomic("run", "--", "sh", "-c", op, check=1)
    base.same(before, _state(repo), "after the failed run")
    for where in ("embedded.git", "embedded.git/refs", ".git"):
        line = _one_line(repo.atomic("status", cwd=repo.path / where), 3)
        assert "bare repository" in line, line
    base.same(before, _state(repo), "after the refusals")


# --- t7010-setup ---------------------------------------------------------------------------
def test_t7010_git_dir_and_work_tree_in_the_environment(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "a").write_bytes(b"worked\n")
    env = {"GIT_DIR": str(repo.path / ".git"), "GIT_WORK_TREE": str(work)}
    inside = GitRepo(work, {**repo.env, **env})
    before = _state(inside)
    mine = base._walk(repo.path)
    op = "printf 'y\\n' > a; printf 'n\\n' > n; git add -A; exit 1"
    inside.atomic("run", "--", "sh", "-c", op, check=1, cwd=work)
    base.same(before, _state(inside), "the work tree after the failed run")
    assert base._walk(repo.path) == mine  # the folder holding .git is no worktree here


def test_t7010_core_worktree_elsewhere(tmp_path: Path) -> None:
    repo = _repo(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "a").write_bytes(b"worked\n")
    repo.git("config", "core.worktree", str(work))
    mine = base._walk(repo.path)
    index = repo.read(".git/index")
    op = 'cd "$(git rev-parse --show-toplevel)"; printf y > a; printf n > n; git add -A; exit 1'
    repo.atomic("run", "--", "sh", "-c", op, check=1)
    assert sorted(os.listdir(work)) == ["a"] and (work / "a").read_bytes() == b"worked\n"
    assert repo.read(".git/index") == index and base._walk(repo.path) == mine


# --- t7505-prepare-commit-msg-hook ---------------------------------------------------------
HOOKS = (
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "post-checkout",
    "post-merge",
    "post-rewrite",
    "reference-transaction",
    "post-index-change",
    "pre-auto-gc",
)


@pytest.mark.parametrize("where", ["hooks", "hooksPath"])
def test_t7505_no_hook_of_yours_runs(tmp_path: Path, where: str) -> None:
    repo = _repo(tmp_path)
    marks = tmp_path / "marks"
    folder = repo.path / ".git" / "hooks" if where == "hooks" else tmp_path / "myhooks"
    base.sh(repo, "printf '[tdd]\\ntest = \"test -e green\"\\n' > .git-atomic.toml")
    base.sh(repo, "git add .git-atomic.toml && git commit -qm cfg")
    folder.mkdir(exist_ok=True)
    for name in HOOKS:
        hook = folder / name
        hook.write_text(f"#!/bin/sh\necho {name} >> {marks}\nexit 1\n")
        hook.chmod(0o755)
    if where == "hooksPath":
        repo.git("config", "core.hooksPath", str(folder))
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "printf x > x", check=0)
    repo.atomic("rollback", check=0)
    repo.atomic("undo", check=0)
    repo.atomic("run", "--history", "commits", "-g", "false", "--", "sh", "-c", "printf y > y")
    repo.atomic(
        "run", "--isolate", "--history", "commits", "--", "sh", "-c", "printf i > i", check=0
    )
    repo.atomic("emergency", check=0)
    repo.atomic("tdd", "red", "-m", "r", "--", "sh", "-c", "printf t > t", check=0)
    repo.atomic("tdd", "green", "-m", "g", "--", "sh", "-c", "printf g > green", check=0)
    assert not marks.exists(), marks.read_text()
    subjects = repo.git("log", "--format=%s").splitlines()
    assert any(s.startswith("GREEN: g") for s in subjects), subjects


# --- t0040-parse-options: a number that is none --------------------------------------------
@pytest.mark.parametrize("days", ["nan", "-nan", "-1", "x"])
def test_t0040_gc_days_that_are_no_number_are_a_usage_line(tmp_path: Path, days: str) -> None:
    repo = _repo(tmp_path)
    repo.atomic("run", "--", "sh", "-c", "printf x > x", check=0)
    refs = repo.checkpoint_refs()
    line = _one_line(repo.atomic("gc", "--older-than", days), 2)
    assert "older-than" in line, line
    assert repo.checkpoint_refs() == refs


# --- t2501-cwd-empty, a variant: the folder the command runs in made a file again -----------
@pytest.mark.parametrize("how", ["abort", "rollback", "failed-run"])
def test_t2501_the_folder_you_are_in_was_a_file(tmp_path: Path, how: str) -> None:
    """A file the operation made a folder, the take-back started inside that folder: the file
    comes back (the state is exact) and the line says the folder is gone (before: "kept new/,
    empty" over the file put back, and "except what the warnings above name")."""
    repo = _repo(tmp_path)
    base.sh(repo, "printf 'f\\n' > new; git add new; git commit -qm new")
    before = _state(repo)
    op = "rm new; mkdir new; printf 'g\\n' > new/g"
    inside = repo.path / "new"
    if how == "abort":
        repo.atomic("begin", "x", check=0)
        base.sh(repo, op)
        res = repo.atomic("abort", cwd=inside)
    elif how == "rollback":
        repo.atomic("run", "--history", "shadow", "--", "sh", "-c", op, check=0)
        res = repo.atomic("rollback", cwd=inside)
    else:  # the run itself starts in a folder its command makes a file of: the file stays
        base.sh(repo, "git rm -q new; mkdir new; printf 'h\\n' > new/h")
        before = _state(repo)
        back = "cd ..; rm -r new; printf 'f\\n' > new; exit 1"
        res = repo.atomic("run", "--", "sh", "-c", back, cwd=inside)
        assert res.returncode == 1, res.stderr
        base.same(before, _state(repo), "after the failed run")
        return
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert "kept new/" not in res.stderr and "warnings above" not in res.stderr, res.stderr
    assert "new/, the folder this command runs in, is gone" in res.stderr, res.stderr
    base.same(before, _state(repo), f"after {how}")
    assert repo.read("new") == b"f\n"


# --- t1020-subdirectory, an agent's turn: its calls and hooks from a subfolder --------------
def test_t1020_a_turn_whose_calls_run_in_a_subfolder(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    base.sh(repo, "mkdir -p dir/deep; printf 'o\\n' > one; printf 'd\\n' > dir/two; git add -A")
    base.sh(repo, "git commit -qm s; printf 'u\\n' > dir/u")
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    before = _state(repo)
    sub = str(repo.path / "dir" / "deep")
    command = (
        "cd dir/deep && printf 'x\\n' >> ../../one && git add ../../one && git rm -q ../two && "
        "printf n > new && git add new && touch ../../bad"
    )
    call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": "t1"}
    assert agents.claude_hook(repo, "s1", "PreToolUse", cwd=sub, **call).stdout == ""
    subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
    done = {"success": True}
    agents.claude_hook(repo, "s1", "PostToolUse", cwd=sub, **call, tool_response=done)
    answer = agents.claude_hook(repo, "s1", "Stop", cwd=sub).stdout
    assert '"decision": "block"' in answer, answer
    base.same(before, _state(repo), "after the turn")
