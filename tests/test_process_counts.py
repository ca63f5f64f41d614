"""Fixed costs of a command: the git processes a rollback starts, counted (GIT_TRACE), with
what they produce checked against git's own way of producing it."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from git_atomic.engine import discovery
from testing.gitrepo import GitRepo


def _traced(repo: GitRepo, *args: str, check: int = 0) -> list[str]:
    """The git commands a git-atomic command ran, in order (GIT_TRACE), as it runs outside the
    tests (no check of an edited tree against git's)."""
    trace = repo.path.parent / "trace.txt"
    trace.unlink(missing_ok=True)
    env = {"GIT_TRACE": str(trace), "GIT_ATOMIC_HELPER": "0", "GIT_ATOMIC_VERIFY_SCAN": "0"}
    repo.atomic(*args, check=check, env=env)
    return [
        line.split("trace: built-in: ", 1)[1]
        for line in trace.read_text().splitlines()
        if "trace: built-in: git" in line
    ]


def _packed(repo: GitRepo) -> None:
    """Every object of the repository in a pack: no tree can be read as a loose object."""
    repo.git("repack", "-adq")
    repo.git("prune-packed")


def _tree_by_index(repo: GitRepo, tree: str, edits: dict[bytes, tuple[str, str] | None]) -> str:
    """`tree` with `edits` made by git itself: a throwaway index, `update-index`, `write-tree`."""
    env = {**repo.env, "GIT_INDEX_FILE": str(repo.path.parent / "oracle-index")}

    def run(*args: str, data: bytes | None = None) -> bytes:
        return subprocess.run(
            ["git", *args], cwd=repo.path, env=env, input=data, capture_output=True, check=True
        ).stdout

    run("read-tree", tree)
    # What goes leaves first: a file where a folder was (or the other way round) needs its room.
    lines = b"".join(b"0 " + b"0" * 40 + b"\t" + p + b"\0" for p, new in edits.items() if not new)
    for path, new in edits.items():
        if new is not None:
            lines += f"{new[0]} {new[1]}\t".encode() + path + b"\0"
    run("update-index", "-z", "--index-info", data=lines)
    return run("write-tree").decode().strip()


@pytest.mark.parametrize(
    "kind",
    [
        "new nested folder",
        "edit deep and at the top",
        "delete the last file of a folder",
        "file where a folder was",
        "folder where a file was",
        "top only",
    ],
)
def test_a_tree_edit_of_a_packed_tree_lists_it_with_one_ls_tree(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Editing a tree whose folders are packed (a commit's, a rescue's after gc) read the top
    and the folders on the way with two `ls-tree` processes; one now (`./` and each folder),
    and the tree is git's own for the same edit."""
    for rel in ("src/a/b/one.py", "src/a/two.py", "lib/x/three.c", "top.txt", "solo/only.md"):
        repo.write(rel, f"{rel}\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    _packed(repo)
    blob = repo.git("hash-object", "-w", "--stdin", input=b"new\n").strip()
    edits: dict[bytes, tuple[str, str] | None] = {
        "new nested folder": {
            b"newpkg/gen/g0/n.py": ("100644", blob),
            b"src/a/b/more": ("100755", blob),
        },
        "edit deep and at the top": {
            b"src/a/b/one.py": ("100644", blob),
            b"top.txt": ("100644", blob),
        },
        "delete the last file of a folder": {b"solo/only.md": None, b"lib/x/three.c": None},
        "file where a folder was": {b"src/a/b/one.py": None, b"src/a/b": ("100644", blob)},
        "folder where a file was": {b"top.txt": None, b"top.txt/inside": ("100644", blob)},
        "top only": {b"top.txt": ("100644", blob), b"added": ("100644", blob)},
    }[kind]
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    edited = g.tree_edit(tree, edits)
    monkeypatch.delenv("GIT_TRACE")
    assert trace.read_text().count("built-in: git ls-tree") == 1
    assert edited == _tree_by_index(repo, tree, edits)


@pytest.mark.parametrize("packed", [False, True], ids=["loose", "packed"])
def test_a_few_tree_edits_at_once_are_written_without_a_process(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, packed: bool
) -> None:
    """A turn's end writes each of its pending steps as two edits of one tree (turnsteps.settle,
    `tree_edits`): a few trees, written loose by Python as `tree_edit` writes them, not by a
    `mktree --batch` process; each tree is git's own for the same edit, and readable by git."""
    for rel in ("src/a/b/one.py", "src/a/two.py", "lib/x/three.c", "top.txt", "solo/only.md"):
        repo.write(rel, f"{rel}\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    if packed:
        _packed(repo)
    blob = repo.git("hash-object", "-w", "--stdin", input=b"new\n").strip()
    edits: list[dict[bytes, tuple[str, str] | None]] = [
        {b"agent/n0.py": ("100644", blob)},
        {b"agent/n0.py": ("100644", blob), b"agent/deep/n1.py": ("100755", blob)},
        {b"src/a/b/one.py": ("100644", blob), b"top.txt": ("100644", blob)},
        {b"solo/only.md": None, b"lib/x/three.c": None},
        {b"src/a/b/one.py": None, b"src/a/b": ("100644", blob)},
        {b"top.txt": None, b"top.txt/inside": ("100644", blob)},
        {},
    ]
    tree = repo.git("rev-parse", "HEAD^{tree}").strip()
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    trace = tmp_path / "trace"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    edited = g.tree_edits(tree, edits)
    monkeypatch.delenv("GIT_TRACE")
    assert "built-in: git mktree" not in trace.read_text(), trace.read_text()
    assert edited == [_tree_by_index(repo, tree, edit) for edit in edits]
    for root in edited:  # every tree on the way is there, as git reads it
        assert repo.git("ls-tree", "-r", "--full-tree", root)
    repo.git("fsck", "--no-dangling")


def test_a_rollback_lists_the_refs_once(repo: GitRepo) -> None:
    """`abort` looked for branches made symbolic refs to our refs (one `for-each-ref` of
    refs/heads/), then its rescue listed refs/heads/ again: one listing now serves both."""
    repo.atomic("begin", "x")
    repo.write("new/deep/file", b"n\n")
    repo.write("README", b"changed\n")
    calls = _traced(repo, "abort")
    heads = [c for c in calls if c.startswith("git for-each-ref") and "refs/heads/" in c]
    assert len(heads) == 1, calls
    assert repo.read("README") == b"hello\n" and not repo.exists("new")


def test_a_branch_made_a_symbolic_ref_to_ours_is_still_made_a_branch_again(
    repo: GitRepo,
) -> None:
    """The one listing still finds such a branch: `abort` makes it a branch of its own again
    (as PRE-OP had it), and the rescue holds the state after that."""
    repo.git("branch", "side")
    side = repo.git("rev-parse", "side").strip()
    repo.atomic("begin", "x")
    ours = repo.git("for-each-ref", "--format=%(refname)", "refs/atomic/ops").split()[0]
    repo.git("symbolic-ref", "refs/heads/side", ours)
    repo.write("README", b"changed\n")
    repo.atomic("abort")
    assert repo.git("symbolic-ref", "-q", "refs/heads/side", check=False).strip() == ""
    assert repo.git("rev-parse", "side").strip() == side
    assert (
        os.path.isfile(repo.path / ".git" / "refs" / "heads" / "side")
        or b"refs/heads/side" in (repo.path / ".git" / "packed-refs").read_bytes()
    )


@pytest.mark.parametrize(
    "change",
    [
        "edit",  # a file written in place
        "new folders",  # files added in new nested folders
        "delete",  # a tracked file and an untracked one gone
        "mode",  # a file made executable
        "link",  # a file made a symbolic link (a type change)
    ],
)
def test_a_small_rollback_knows_how_its_rescue_and_target_differ(
    repo: GitRepo, change: str
) -> None:
    """The rescue's tree is the scan's tree edited: how it differs from the tree it was edited
    from (PRE-OP's, in an `abort`) is known from the edit, and the restore runs no `diff-tree`
    for it; nor does the reconciliation of your index's tree with the scan's, which the last
    one's (PRE-OP's) and the edit make up (under test each such difference is checked against
    git's: scantree.py, reconcile.py)."""
    repo.write("src/a.py", b"a\n")
    repo.write("src/b.py", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.write("notes.txt", b"untracked\n")
    repo.atomic("run", "--", "true")  # a scan index of this state
    repo.atomic("begin", "x")
    if change == "edit":
        repo.write("src/a.py", b"changed\n")
    elif change == "new folders":
        repo.write("new/deep/er/file.py", b"n\n")
        repo.write("new/top.py", b"t\n")
    elif change == "delete":
        os.unlink(repo.path / "src" / "b.py")
        os.unlink(repo.path / "notes.txt")
    elif change == "mode":
        os.chmod(repo.path / "src" / "a.py", 0o755)
    else:
        os.unlink(repo.path / "src" / "a.py")
        os.symlink("b.py", repo.path / "src" / "a.py")
    before = repo.fingerprint()
    calls = _traced(repo, "abort")
    diffs = [c for c in calls if c.startswith("git diff-tree")]
    assert diffs == [], calls
    assert repo.read("src/a.py") == b"a\n" and repo.read("notes.txt") == b"untracked\n"
    assert not repo.exists("new")
    repo.atomic("undo")
    assert repo.fingerprint() == before


@pytest.mark.parametrize("change", ["edit", "delete", "new folders"])
def test_a_begin_and_an_abort_that_take_turns_ask_git_nothing_of_the_ignore_rules(
    repo: GitRepo, change: str
) -> None:
    """A `begin` and an `abort` of the same change take turns with two scan trees (the state,
    the state with the change): each one's reconciliation is remembered, not only the last, so
    neither asks git again whether a rule ignores the untracked files (`check-ignore`; the
    benchmark's messy state has seven). Nor is git asked again about the folders the change
    makes, which the abort removed: the walk keeps its verdicts on folders gone (folderwalk.py).
    A rule that changed since is seen all the same."""
    written = time.monotonic()
    repo.write("src/a.py", b"a\n")
    repo.write("src/b.py", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.write("notes.txt", b"untracked\n")
    repo.write("more/notes.md", b"untracked too\n")
    state = repo.fingerprint()

    def operation() -> None:
        if change == "edit":
            repo.write("src/a.py", b"changed\n")
        elif change == "new folders":
            repo.write("new/deep/file.py", b"n\n")
        else:
            os.unlink(repo.path / "src" / "b.py")
            os.unlink(repo.path / "notes.txt")

    time.sleep(max(0.0, 3.2 - (time.monotonic() - written)))  # the rules out of the walk's window
    for _ in range(2):
        repo.atomic("begin", "x")
        operation()
        repo.atomic("abort")
        assert repo.fingerprint() == state
    calls = _traced(repo, "begin", "x")
    operation()
    calls += _traced(repo, "abort")
    assert not [c for c in calls if c.startswith("git check-ignore")], calls
    assert repo.fingerprint() == state
    # A rule of info/exclude that ignores an untracked file now: not in the checkpoint.
    repo.write(".git/info/exclude", b"notes.txt\n")
    pre_op = repo.atomic_json("begin", "y")["checkpoints"]["pre_op"]
    names = repo.git("ls-tree", "-r", "--name-only", f"{pre_op}:files").split()
    assert "notes.txt" not in names and "more/notes.md" in names, names
    repo.atomic("abort")
    # A rule file that ignores the new folder now: git is asked, and the abort leaves the
    # ignored file the operation made where it is (a verdict kept would have it removed).
    repo.write(".gitignore", b"new/\n")
    repo.atomic("begin", "z")
    repo.write("new/deep/file.py", b"n\n")
    repo.atomic("abort")
    assert repo.read("new/deep/file.py") == b"n\n"


@pytest.mark.parametrize("stored", ["loose", "packed"])
def test_what_the_git_dir_names_is_told_commit_or_tree_without_a_process(
    repo: GitRepo, stored: str
) -> None:
    """A `git stash apply` or a conflicted merge leaves AUTO_MERGE (a tree's id), a merge
    MERGE_HEAD (a commit's): every capture asked git which of the ids the in-progress files name
    are commits and trees (`cat-file --batch-check`), a process each checkpoint. Those stored
    loose are read here now (each checked against its id), and the checkpoint keeps the same:
    the tree reachable under `gitstate/objects` (and the stash, stashstate.py's, a parent).
    Packed, git is still asked."""
    repo.write("src/a.py", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    tree = repo.git("write-tree").strip()
    repo.write("src/a.py", b"stashed\n")
    repo.git("stash", "-q")
    stash = repo.git("rev-parse", "refs/stash").strip()
    (repo.path / ".git" / "AUTO_MERGE").write_text(f"{tree}\n")
    repo.write("notes.txt", b"untracked\n")
    state = repo.fingerprint()
    repo.atomic("begin", "x")  # the stash's reflog asked once (stashstate.py remembers it)
    repo.atomic("abort")
    if stored == "packed":
        _packed(repo)
    calls = _traced(repo, "begin", "x")
    asked = [c for c in calls if c.startswith("git cat-file '--batch-check")]
    assert len(asked) == (stored == "packed"), calls
    ref = next(c for c in calls if "PRE-OP" in c)  # this begin's: its id in the message
    op = ref.split("[", 1)[1].split("]", 1)[0]
    commit = repo.git("for-each-ref", "--format=%(objectname)", f"refs/atomic/ops/{op}/").split()[0]
    kept = repo.git("ls-tree", f"{commit}:gitstate/objects").split()
    assert kept == ["040000", "tree", tree, tree]
    assert stash in repo.git("rev-list", "--parents", "-n1", commit).split()
    repo.atomic("abort")
    assert repo.fingerprint() == state
