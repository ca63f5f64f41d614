"""A flagged index entry (assume-unchanged, skip-worktree, intent-to-add) that an operation
replaced by a folder, a link or a FIFO: its rollback puts back your file and flag exactly, its
rescue holds what the operation made there, and `undo` brings that back. Both ways a capture
reads the disk: a scan, and `git add -A` (a FIFO at another tracked path forces it). Before,
on the `add -A` way, the folder made where an assume-unchanged or skip-worktree file was was
taken for the absent file and dropped from the rescue, its files with it: `g/inner` was in no
checkpoint, the rollback left the folder where your file was and said it held files no
checkpoint holds."""

from __future__ import annotations

import os
import stat
import subprocess

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

FLAGS = ["assume-unchanged", "skip-worktree", "intent-to-add"]
KINDS = {
    "folder": "mkdir g && printf 'inner\\n' > g/inner",
    "link": "ln -s README g",
    "FIFO": "mkfifo g",
}


def _flagged_g(repo: GitRepo, flag: str) -> None:
    """Your `g` with `flag` (intent-to-add: added -N; else committed, then flagged), beside a
    committed `b` (made a FIFO where the `git add -A` capture is drawn)."""
    repo.write("b", b"b\n")
    repo.write("g", b"yours\n")
    if flag == "intent-to-add":
        repo.git("add", "b")
        repo.git("commit", "-qm", "b")
        repo.git("add", "-N", "g")
    else:
        repo.git("add", "b", "g")
        repo.git("commit", "-qm", "b and g")
        repo.git("update-index", f"--{flag}", "g")


@pytest.mark.parametrize("add_all", [False, True], ids=["scan", "add -A"])
@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("flag", FLAGS)
def test_a_flagged_entry_replaced_is_rolled_back_rescued_and_undone(
    repo: GitRepo, flag: str, kind: str, add_all: bool
) -> None:
    _flagged_g(repo, flag)
    before = repo.fingerprint()
    fifo = "rm b && mkfifo b && " if add_all else ""
    out = repo.atomic_json("run", "--", "sh", "-c", f"{fifo}rm g && {KINDS[kind]}; exit 1", check=1)
    assert repo.fingerprint().diff(before) == []
    assert repo.read("g") == b"yours\n"
    rescued = oracle.checkpoint_files(repo.env, repo.path, out["checkpoints"]["rescue"])
    if kind == "folder":
        assert rescued.get(b"g/inner") == ("100644", oracle.blob_id(b"inner\n")), rescued
    elif kind == "link":
        assert rescued.get(b"g") == ("120000", oracle.blob_id(b"README")), rescued
    repo.atomic("undo", check=0)
    g = os.fsencode(repo.path / "g")
    if kind == "folder":
        assert repo.read("g/inner") == b"inner\n"
    elif kind == "link":
        assert os.readlink(g) == b"README"
    else:
        assert stat.S_ISFIFO(os.lstat(g).st_mode)


@pytest.mark.parametrize("add_all", [False, True], ids=["scan", "add -A"])
@pytest.mark.parametrize("kind", ["folder", "link"])
@pytest.mark.parametrize("flag", FLAGS)
def test_what_you_put_where_a_flagged_entry_was_comes_back(
    repo: GitRepo, flag: str, kind: str, add_all: bool
) -> None:
    """The same replacement made by you before the operation: PRE-OP's capture holds it, and
    the rollback of an operation that removed it brings it back. Before, on the `add -A` way,
    PRE-OP lacked your `g/inner`, and a failed `rm -rf g` lost it for good."""
    _flagged_g(repo, flag)
    fifo = "rm b && mkfifo b && " if add_all else ""
    subprocess.run(["sh", "-c", f"{fifo}rm g && {KINDS[kind]}"], cwd=repo.path, check=True)
    before = repo.fingerprint()
    repo.atomic("run", "--", "sh", "-c", "rm -rf g; exit 1", check=1)
    assert repo.fingerprint().diff(before) == []
    if kind == "folder":
        assert repo.read("g/inner") == b"inner\n"
    else:
        assert os.readlink(os.fsencode(repo.path / "g")) == b"README"


@pytest.mark.parametrize("flag", ["assume-unchanged", "skip-worktree"])
def test_commits_hold_the_effect_only_beside_a_flagged_file_you_replaced_by_a_folder(
    repo: GitRepo, flag: str
) -> None:
    """Commits mode, your flagged `g` a folder on disk and untracked files beside it: the
    commit's tree, the index's with what git would stage, was made by leaving `g/inner` out of
    the index's tree, and a tree edit leaving out a path below a file (`g`) took the file away:
    the POST-OP commit deleted `g` from the branch, which the operation never touched (the
    check under test, GIT_ATOMIC_VERIFY_SCAN, is off: the user's way)."""
    repo.write("g", b"yours\n")
    for n in range(6):
        repo.write(f"f{n}", b"tracked\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "g and more")
    repo.git("update-index", f"--{flag}", "g")
    os.remove(repo.path / "g")
    repo.write("g/inner", b"inner\n")
    for n in range(6):
        repo.write(f"u{n}", b"untracked\n")
    head = repo.head()
    repo.atomic(
        "run", "--", "sh", "-c", "echo new > new", check=0, env={"GIT_ATOMIC_VERIFY_SCAN": "0"}
    )
    assert repo.git("diff", "--name-only", head, "HEAD").split() == ["new"]
    assert repo.read("g/inner") == b"inner\n"


@pytest.mark.parametrize("loose", [True, False], ids=["loose", "mktree"])
def test_a_path_left_out_below_a_file_leaves_the_file(
    repo: GitRepo, loose: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tree_edit(tree, {"g/inner": None})` where `g` is a file: nothing is below it to leave
    out, and the tree stays as it is (the file went with it), alone or among several edits,
    whichever way the trees are written; a file set below a file still takes its place."""
    from git_atomic.engine import discovery, gittrees

    repo.write("g", b"g\n")
    repo.write("d/x", b"x\n")
    repo.git("add", "-A")
    tree = repo.git("write-tree").strip()
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    if not loose:
        monkeypatch.setattr(gittrees, "LOOSE_AT_MOST", 0)
    one = g.line("hash-object", "-w", "--stdin", input=b"one\n")
    assert g.tree_edit(tree, {b"g/inner": None, b"d/x/y": None}) == tree
    beside = g.tree_edit(tree, {b"d/x": None})
    assert g.tree_edits(tree, [{b"g/inner": None}, {b"d/x": None, b"g/a/b": None}]) == [
        tree,
        beside,
    ]
    made = g.tree_edit(tree, {b"g/inner": ("100644", one)})
    assert repo.git("ls-tree", "-r", "--name-only", made).split() == ["README", "d/x", "g/inner"]


@pytest.mark.parametrize(
    ("entry", "inside"), [("y.env", "y.env/inner"), ("cfg", "cfg/.env")], ids=["named", "inside"]
)
def test_a_protected_file_in_a_folder_where_an_index_entry_is_is_held(
    repo: GitRepo, entry: str, inside: str
) -> None:
    """An index entry the operation staged (`git add -f`) whose file it then replaced by a
    folder: git's listing of ignored files (`--directory`) neither names nor looks into a
    folder at an index entry's path, so the protected file in the ignored folder `y.env/`
    (`*.env` names it) was in no checkpoint: the rescue lacked it and the rollback left it,
    the operation's, where it was (found by a random draw). A protected `cfg/.env` in a folder
    no rule ignores was found all the same."""
    repo.write(".gitignore", b"*.env\n")
    repo.write(".git-atomic.toml", b'protect = ["*.env"]\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    before = repo.fingerprint()
    script = f"echo x > {entry} && git add -f {entry} && rm {entry} && mkdir {entry}"
    script += f" && echo inner > {inside}; exit 1"
    out = repo.atomic_json("run", "--", "sh", "-c", script, check=1)
    rescued = oracle.checkpoint_files(repo.env, repo.path, out["checkpoints"]["rescue"])
    assert rescued.get(inside.encode()) == ("100644", oracle.blob_id(b"inner\n")), rescued
    assert repo.fingerprint().diff(before) == [] and not repo.exists(entry)
    repo.atomic("undo", check=0)
    assert repo.read(inside) == b"inner\n"
