"""Settings that tell git to look less closely, each turned on and off, and every repository
layout git supports: the capture holds the files as on disk and a rollback puts them back
(the comparisons are the differential test's, testing/differential.py: the oracle reads the
disk, never git's opinion of it). Each case here was a defect before the capture stopped
trusting the setting (docs/design.md, "Settings the capture does not trust")."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from git_atomic.engine import discovery, statuslist
from testing import oracle
from testing.agents import claude_hook
from testing.differential import CONTENTS, scenario
from testing.gitrepo import GitRepo, hermetic_env, split_index

LARGE = CONTENTS[-1]  # larger than LFS content is kept for

# setting -> (value, tree, operation): the operation changes what the setting hides.
SETTING_CASES: dict[str, tuple[str, dict[str, tuple[str, str, str]], list[tuple[str, ...]]]] = {
    # a rollback lost the executable bit of tracked and untracked scripts
    "core.fileMode": (
        "false",
        {"b.sh": ("exec", "#!/bin/sh\n", "commit"), "e.txt": ("exec", "x\n", "untracked")},
        [("chmod", "b.sh"), ("chmod", "e.txt")],
    ),
    # the hook ran 8 times per run, and its "nothing changed" left the edits in place
    "core.fsmonitor": ("HOOK", {"a": ("file", "one\n", "commit")}, [("write", "a", "two\n", "-")]),
    # exit 3 for every command: git-lfs not installed
    "filter": (
        "missing",
        {"dir/f.bin": ("file", "version https://lfs\n", "commit")},
        [("write", "dir/f.bin", "two\n", "-"), ("write", "a", "one\n", "-")],
    ),
    "core.trustctime": ("false", {"a": ("file", "one\n", "commit")}, [("same-size", "a")]),
    "core.checkStat": ("minimal", {"a": ("file", "one\n", "commit")}, [("same-size", "a")]),
    "core.ignoreStat": ("true", {"a": ("file", "one\n", "stage")}, [("write", "a", "two\n", "-")]),
    "core.symlinks": ("false", {"g": ("link", "x", "commit")}, [("write", "g", "two\n", "-")]),
    "core.hooksPath": (
        "HOOKS",
        {"a": ("file", "one\n", "commit")},
        [("write", "a", "two\n", "-"), ("commit",)],
    ),
    "core.autocrlf": (
        "true",
        {"a": ("file", "two\r\nlines\r\n", "untracked"), "e.txt": ("file", "one\n", "commit")},
        [("write", "a", "one\n", "-"), ("write", "e.txt", "two\r\nlines\r\n", "-")],
    ),
    "core.untrackedCache": (
        "true",
        {"a": ("file", "one\n", "untracked")},
        [("write", "dir/c", "two\n", "-"), ("delete", "a")],
    ),
    "core.ignoreCase": ("true", {"a": ("file", "one\n", "commit")}, [("write", "a", "two\n", "-")]),
    "status.showUntrackedFiles": (
        "no",
        {"a": ("file", "one\n", "untracked")},
        [("write", "e.txt", "two\n", "-")],
    ),
    "core.splitIndex": ("true", {"a": ("file", "one\n", "stage")}, [("write", "a", "two\n", "x")]),
    "index.version": ("4", {"dir/c": ("file", "one\n", "stage")}, [("delete", "dir/c")]),
    "feature.manyFiles": ("true", {"a": ("file", "one\n", "untracked")}, [("chmod", "a")]),
    "diff.ignoreSubmodules": ("all", {"a": ("file", "one\n", "commit")}, [("delete", "a")]),
    # a rollback wrote the replacement's bytes (`git replace`) over the file it put back
    "replace": (
        "objects",
        {
            "a": ("file", "one\n", "commit"),
            "g": ("link", "x", "commit"),
            "s": ("file", "", "stage"),
        },
        [
            ("write", "a", "two\n", "-"),
            ("delete", "g"),
            ("write", "s", "three\n", "x"),
            ("commit",),
        ],
    ),
}


@pytest.mark.parametrize("turned_on", [True, False], ids=["set", "unset"])
@pytest.mark.parametrize("name", sorted(SETTING_CASES))
def test_setting_both_ways(name: str, turned_on: bool) -> None:
    value, tree, ops = SETTING_CASES[name]
    history = "commits" if ("commit",) in ops else "shadow"
    scenario("plain", history, tree, {name: value} if turned_on else {}, ops)


@pytest.mark.parametrize(
    "layout",
    [
        "worktree",
        "gitfile",
        "submodule",
        "dotfiles",
        "sparse",
        "sha256",
        "relworktree",
        "nocone",
        "oddpath",
        "oddworktree",
    ],
)
@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_layout_rolls_back_exactly(layout: str, history: str) -> None:
    """A `.git` file (submodule, --separate-git-dir) made the branch look checked out
    elsewhere and HEAD stayed on the operation's commit; GIT_DIR/GIT_WORK_TREE from inside
    another repository protected that other repository. (Sparse patterns of the older kind,
    and a worktree, plain or linked, in a folder whose name is not UTF-8: drawn since stop 60.)"""
    tree = {"a": ("file", "one\n", "commit"), "b.sh": ("exec", "x\n", "untracked")}
    scenario(layout, history, tree, {}, [("write", "a", "two\n", "-"), ("commit",)])


def test_settings_together_in_a_layout() -> None:
    scenario(
        "dotfiles",
        "commits",
        {"b.sh": ("exec", "#!/bin/sh\n", "commit"), "a": ("file", "one\n", "commit")},
        {"core.fileMode": "false", "core.fsmonitor": "HOOK", "core.hooksPath": "HOOKS"},
        [("chmod", "b.sh"), ("write", "a", "two\n", "-"), ("commit",)],
    )


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_sha256_repository_rolls_back_and_undoes_exactly(tmp_path: Path, history: str) -> None:
    """In a repository of SHA-256 ids, where the id of nothing is 64 zeros: branches made and
    deleted, entries staged and unstaged, files edited, deleted and made (more than a scan
    edits one by one), a commit: rolled back exactly, and brought back exactly by `undo`.
    Before, a branch the operation deleted stayed deleted and one it made stayed."""
    home = tmp_path / "home"
    repo = GitRepo.create(tmp_path / "r", home, initial_commit=False, object_format="sha256")
    for name in ("a", "b", "keep/c", "gone/d"):
        repo.write(name, f"{name}\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.git("branch", "old")
    repo.write("staged-new", b"staged\n")
    repo.git("add", "staged-new")
    repo.write("a", b"a, unstaged edit\n")
    repo.atomic("run", "--history", "shadow", "--", "true", check=0)  # the scan state
    before = repo.fingerprint()
    script = (
        "git branch -q newb && git branch -q -D old && echo edited > b && rm -r gone && "
        "git rm -q --cached keep/c && git add a && mkdir many && "
        "for i in $(seq 1 320); do echo $i > many/f$i; done && git add many/f1 && "
        "git commit -qm op && echo later > b; exit 1"
    )
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=1)
    same = repo.fingerprint()
    assert same == before, "\n".join(before.diff(same))
    repo.atomic("undo", check=0)
    assert repo.read("b") == b"later\n" and repo.exists("many/f320")
    assert {name for name, _ in repo.fingerprint().branches} >= {"refs/heads/newb"}
    assert "refs/heads/old" not in {name for name, _ in repo.fingerprint().branches}
    repo.atomic("undo", check=0)  # and back again
    again = repo.fingerprint()
    assert again == before, "\n".join(before.diff(again))


def test_a_sha256_repository_from_its_first_commit(tmp_path: Path) -> None:
    """An unborn branch in a SHA-256 repository: the empty tree is that format's (it was
    SHA-1's, which git refused), so the first operation commits; an operation that leaves only
    an empty `.git/sequencer` is saved with the empty tree, written (`git fsck` clean)."""
    home = tmp_path / "home"
    repo = GitRepo.create(tmp_path / "r", home, initial_commit=False, object_format="sha256")
    repo.atomic("run", "--history", "commits", "--no-gates", "--", "sh", "-c", "echo x > f")
    assert repo.git("ls-tree", "--name-only", "HEAD").split() == ["f"]
    res = repo.atomic_json("run", "--", "sh", "-c", "mkdir .git/sequencer; exit 1", check=1)
    gitstate = repo.git("rev-parse", res["checkpoints"]["rescue"] + ":gitstate").strip()
    assert gitstate == repo.git("hash-object", "-t", "tree", "/dev/null").strip()
    fsck = subprocess.run(
        ["git", "fsck", "--full"], cwd=repo.path, env=repo.env, capture_output=True, text=True
    )
    assert fsck.returncode == 0 and "missing" not in fsck.stdout + fsck.stderr, fsck


def test_sha256_ids_on_the_command_line_and_a_split_scan_index(tmp_path: Path) -> None:
    """A full SHA-256 checkpoint id (as `show` prints it) is taken by `rollback --to`, and a
    split scan index names its shared index by a 32-byte id: each capture's old one goes (they
    piled up, one the size of the index per capture)."""
    home = tmp_path / "home"
    repo = GitRepo.create(tmp_path / "r", home, initial_commit=False, object_format="sha256")
    repo.write("a.txt", b"a\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a")
    split = {"GIT_ATOMIC_SPLIT_SCAN_AT": "1"}
    for i in range(6):
        repo.write("a.txt", b"a\n" + b"more\n" * i)
        res = repo.atomic_json("run", "--history", "shadow", "--", "true", env=split)
    repo.atomic_json("gc", env=split)
    assert len(list((repo.path / ".git").glob("sharedindex.*"))) == 1
    pre = res["checkpoints"]["pre_op"]
    assert len(pre) == 64
    repo.write("a.txt", b"changed after\n")
    repo.atomic("rollback", "--to", pre, "--whole", check=0)
    assert repo.read("a.txt") == b"a\n" + b"more\n" * 5


def test_bare_repository_needs_a_working_tree(tmp_path: Path) -> None:
    env = hermetic_env(tmp_path / "home")
    subprocess.run(["git", "init", "-q", "--bare", str(tmp_path / "b.git")], env=env, check=True)
    before = sorted(p.name for p in (tmp_path / "b.git").iterdir())
    repo = GitRepo(tmp_path / "b.git", env)
    res = repo.atomic("run", "--", "true", check=3)
    assert "bare repository" in res.stderr and "needs a working tree" in res.stderr
    assert "Traceback" not in res.stderr
    assert sorted(p.name for p in (tmp_path / "b.git").iterdir()) == before


def test_discovery_answers_for_the_folder_it_is_asked_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = GitRepo.create(tmp_path / "one", tmp_path / "home")
    two = GitRepo.create(tmp_path / "two", tmp_path / "home")
    monkeypatch.chdir(one.path)
    assert discovery.discover().root == one.path
    monkeypatch.chdir(two.path)
    assert discovery.discover().root == two.path
    monkeypatch.setenv("GIT_DIR", str(one.path / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(one.path))
    assert discovery.discover().root == one.path


def test_commits_mode_commits_what_your_git_would(tmp_path: Path) -> None:
    """With core.fileMode=false a commit keeps the index's mode (the capture holds the disk's);
    a file a filter applies to is committed as the filter makes it."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    repo.write("s.sh", b"#!/bin/sh\n", mode=0o755)
    repo.write(".gitattributes", b"*.up filter=up\n")
    repo.git("add", ".")
    repo.git("commit", "-qm", "base")
    repo.git("config", "core.fileMode", "false")
    repo.git("config", "filter.up.clean", "tr a-z A-Z")
    script = "chmod -x s.sh; echo changed >> s.sh; echo abc > x.up"
    result = repo.atomic_json("run", "--history", "commits", "--", "sh", "-c", script)
    assert result["status"] == "committed"
    assert repo.git("ls-tree", "HEAD", "s.sh").split()[0] == "100755"
    assert repo.git("show", "HEAD:x.up") == "ABC\n"
    files = result["checkpoints"]["post_op"] or result["checkpoints"]["op_exec"][-1]
    assert repo.git("ls-tree", f"{files}:files", "s.sh").split()[0] == "100644"
    assert repo.git("show", f"{files}:files/x.up") == "abc\n"
    assert os.stat(repo.path / "s.sh").st_mode & 0o111 == 0


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_head_git_wrote_as_a_link_is_read_as_git_reads_it(tmp_path: Path, history: str) -> None:
    """`core.preferSymlinkRefs`: git writes HEAD as a link to `refs/heads/<branch>`. Read
    through the link it looked detached, so a rollback of an operation that committed said
    HEAD was moved by someone else and exited 3 (though it had put everything back)."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    repo.git("config", "core.preferSymlinkRefs", "true")
    repo.git("checkout", "-q", "-b", "feat")
    assert os.readlink(repo.path / ".git" / "HEAD") == "refs/heads/feat"
    head = repo.head()
    script = "echo more >> README && git commit -qam more"
    res = repo.atomic("run", "--history", history, "--", "sh", "-c", script + "; exit 1", check=1)
    assert "someone else" not in res.stderr, res.stderr
    assert repo.head() == head
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=0)
    res = repo.atomic("rollback", check=0)
    assert "someone else" not in res.stderr, res.stderr
    assert repo.head() == head and repo.read("README") == b"hello\n"
    assert os.readlink(repo.path / ".git" / "HEAD") == "refs/heads/feat"
    assert repo.git("symbolic-ref", "HEAD").strip() == "refs/heads/feat"


def test_a_repository_shared_by_a_group_keeps_its_objects_writable_by_the_group(
    tmp_path: Path,
) -> None:
    """`git init --shared=group`: git makes every object folder writable by the group and every
    object readable by it, so that each member can write there. The objects a checkpoint and
    an agent's noted file write are made the same way (by git: not as our umask says)."""
    path = tmp_path / "r"
    path.mkdir()
    repo = GitRepo(path, hermetic_env(tmp_path / "home"))
    repo.git("init", "-q", "-b", "main", "--shared=group")
    repo.write("README", b"hello\n")
    repo.git("add", "README")
    repo.git("commit", "-q", "-m", "initial")
    old = os.umask(0o022)
    try:
        repo.write("notes.txt", b"a change\n")
        repo.atomic("begin", "shared", "--history", "shadow", check=0)
        repo.write("more.txt", b"more\n")
        repo.atomic("abort", check=0)
    finally:
        os.umask(old)
    objects = path / ".git" / "objects"
    folders = [p for p in objects.iterdir() if len(p.name) == 2]
    assert folders
    for folder in folders:
        assert folder.stat().st_mode & 0o070 == 0o070, (folder, oct(folder.stat().st_mode))
        for obj in folder.iterdir():
            assert obj.stat().st_mode & 0o040, (obj, oct(obj.stat().st_mode))


@pytest.mark.parametrize("layout", ["plain", "worktree", "submodule", "sha256"])
@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_lfs_content_the_store_holds_rolls_back_exactly(layout: str, history: str) -> None:
    """A working LFS filter (testing.differential.lfs_filter): content the LFS store holds is
    held as a marker, kept by a hard link (engine/lfskeep.py). The operation writes over a
    kept file, deletes one, copies kept content to a file no LFS rule covers and commits: all
    rolled back to the bytes on disk."""
    tree = {
        "dir/f.bin": ("file", LARGE, "commit"),
        "dir/sub/d.bin": ("file", LARGE, "stage"),
        "a": ("file", "one\n", "commit"),
    }
    ops = [
        ("write", "dir/f.bin", "two\n", "-"),
        ("delete", "dir/sub/d.bin"),
        ("write", "dir/c", LARGE, "-"),
        ("write", "a", LARGE, "x"),
        ("commit",),
    ]
    scenario(layout, history, tree, {"filter": "lfs"}, ops)


@pytest.mark.parametrize(
    ("history", "git_dir"), [("commits", "here"), ("shadow", "here"), ("shadow", "/dev/shm")]
)
def test_ignorecase_on_a_filesystem_that_does_not_fold_case(
    tmp_path: Path, history: str, git_dir: str
) -> None:
    """`core.ignoreCase=true` where the filesystem tells `README` from `readme` (a repository
    copied from macOS): git then takes your untracked `README` for the tracked `readme`, and a
    capture that believed it held no `README`: an operation that deleted it lost it for good
    ("it had changed nothing"), and a `makefile` it made beside `Makefile` stayed. The capture
    goes by the filesystem; the setting itself is left as it is. With the git dir on another
    filesystem (`--separate-git-dir` on /dev/shm) the check asks the worktree itself, by a
    name already there looked up in the other case (before: it could not tell, and believed
    the setting)."""
    elsewhere = None
    if git_dir != "here":
        if not Path(git_dir).is_dir() or os.stat(git_dir).st_dev == os.stat(tmp_path).st_dev:
            pytest.skip(f"no second filesystem at {git_dir}")
        elsewhere = Path(tempfile.mkdtemp(dir=git_dir))
    try:
        _readme_beside_readme(tmp_path, history, elsewhere)
    finally:
        if elsewhere is not None:
            shutil.rmtree(elsewhere, ignore_errors=True)


def _readme_beside_readme(tmp_path: Path, history: str, elsewhere: Path | None) -> None:
    git_dir = elsewhere / "gd" if elsewhere is not None else None
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home", git_dir=git_dir, initial_commit=False)
    repo.write("readme", b"tracked, lower case\n")
    repo.write("Makefile", b"all:\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.git("config", "core.ignoreCase", "true")
    repo.write("README", b"yours, untracked\n")
    before = oracle.walk(repo.path)
    script = "rm README && echo op > makefile && echo op >> readme; exit 1"
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=1)
    assert oracle.walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert not (repo.path / "README").exists()
    assert repo.read("makefile") == b"op\n" and repo.read("readme").endswith(b"op\n")
    repo.atomic("undo", check=0)
    assert oracle.walk(repo.path) == before
    assert repo.git("config", "core.ignoreCase").strip() == "true"


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_sparse_checkout_patterns_come_back_with_the_rollback(tmp_path: Path, history: str) -> None:
    """An operation that runs `git sparse-checkout set b`: its rollback brought back the files
    and skip-worktree flags but not `.git/info/sparse-checkout`, so the next `git checkout`
    switched your sparse view to the operation's. The patterns are part of the state: rolled
    back, made again by `undo`, and taken back with a kept operation's effect (git's own
    t2018/t3903 sparse cases)."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    for name in ("a/f", "a/g", "b/f", "top"):
        repo.write(name, name.encode() + b"\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.git("sparse-checkout", "set", "a")
    patterns = repo.path / ".git" / "info" / "sparse-checkout"
    before = (patterns.read_bytes(), oracle.walk(repo.path), repo.git("ls-files", "-t"))

    def now() -> tuple[bytes, object, str]:
        return patterns.read_bytes(), oracle.walk(repo.path), repo.git("ls-files", "-t")

    script = "git sparse-checkout set b; exit 1"
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=1)
    assert now() == before
    repo.atomic("undo", check=0)
    assert patterns.read_bytes() != before[0] and b"b" in patterns.read_bytes()
    repo.atomic("undo", check=0)
    assert now() == before
    repo.git("checkout", "-q", "-b", "next")  # git goes by the patterns: the view stays
    assert now()[1] == before[1]
    repo.atomic("run", "--history", history, "--", "git", "sparse-checkout", "set", "b", check=0)
    repo.write("top", b"yours, after\n")
    repo.atomic("rollback", check=0)
    assert patterns.read_bytes() == before[0] and repo.read("top") == b"yours, after\n"


@pytest.mark.parametrize("later", [False, True], ids=["nothing-since", "an-edit-since"])
@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_sparse_checkout_patterns_come_back_with_a_committed_operations_effect(
    tmp_path: Path, history: str, later: bool
) -> None:
    """`begin`, `git sparse-checkout set b`, `commit`, then `rollback --op` of it. In commits
    mode the state the commit left (worked out, effect.end_state) knew no patterns and kept the
    skip-worktree flag of an entry the commit removed: the rollback was not exact and left the
    operation's patterns, so the next `git sparse-checkout reapply` brought its view back."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    for name in ("a/f", "b/f", "top"):
        repo.write(name, name.encode() + b"\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.git("sparse-checkout", "set", "a")
    patterns = repo.path / ".git" / "info" / "sparse-checkout"

    def now() -> tuple[bytes, object, str]:
        entries = repo.git("ls-files", "-s", "-t", "-v", "--sparse")
        return patterns.read_bytes(), oracle.walk(repo.path), entries

    before = now()
    repo.atomic("begin", "op", "--history", history, check=0)
    repo.git("sparse-checkout", "set", "b")
    op_id = repo.atomic_json("commit", "--no-gates")["op_id"]
    if later:
        repo.write("top", b"yours, after\n")
    res = repo.atomic("rollback", "--op", op_id, check=0)
    if later:
        assert "later changes kept" in res.stderr
        assert repo.read("top") == b"yours, after\n"
        repo.write("top", b"top\n")
    else:
        assert "exactly its PRE-OP state" in res.stderr
    assert now() == before
    repo.git("sparse-checkout", "reapply")  # git goes by the patterns: your view stays
    assert now() == before


@pytest.mark.parametrize("how", ["failed-run", "abort", "rollback-op"])
@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_sparse_index_comes_back_sparse(tmp_path: Path, history: str, how: str) -> None:
    """`git sparse-checkout init --cone --sparse-index`: a folder outside the patterns is one
    index entry (040000). The rebuilt index put `b/f` back inside it as a file entry, and git
    never collapses an index read with sparse entries again: it stayed expanded until `git
    sparse-checkout reapply`. The index comes back in its format, sparse included."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    for name in ("a/f", "b/f", "c/f", "top"):
        repo.write(name, name.encode() + b"\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.git("sparse-checkout", "init", "--cone", "--sparse-index")
    repo.git("sparse-checkout", "set", "a")
    patterns = repo.path / ".git" / "info" / "sparse-checkout"

    def now() -> tuple[bytes, object, str, list[str]]:
        entries = repo.git("ls-files", "-s", "-t", "--sparse")
        debug = repo.git("ls-files", "--debug", "--sparse").splitlines()
        # each entry's flags (a rewritten file's stat data is gone: README, "Exact rollback")
        named = [ln if ln[:1] != " " else ln.partition("flags:")[2] for ln in debug]
        named = [ln for ln in named if ln]
        return patterns.read_bytes(), oracle.walk(repo.path), entries, named

    before = now()
    assert "S 040000" in before[2] and "\tb/\n" in before[2]
    if how == "failed-run":
        script = "git sparse-checkout set b; exit 1"
        repo.atomic("run", "--history", history, "--no-gates", "--", "sh", "-c", script, check=1)
    else:
        repo.atomic("begin", "op", "--history", history, check=0)
        repo.git("sparse-checkout", "set", "b")
        assert "\tb/f\n" in repo.git("ls-files", "-s", "--sparse")
        if how == "abort":
            repo.atomic("abort", check=0)
        else:
            op_id = repo.atomic_json("commit", "--no-gates")["op_id"]
            repo.atomic("rollback", "--op", op_id, check=0)
    assert now() == before
    repo.git("status", "--porcelain")  # git keeps it as it is
    assert now() == before


def _index_and_disk(repo: GitRepo) -> tuple[object, str, str, str]:
    """The index's entries with their flags (as the file holds them and as git reads them:
    `ls-files -t -v`, the intent-to-add entries `diff --cached` shows) and the files on disk."""
    state = repo.fingerprint()
    tags = repo.git("ls-files", "-s", "-t", "-v")
    intents = repo.git("diff", "--cached", "--name-only", "--ita-visible-in-index", "-z")
    return (state.index, state.files), tags, intents, repo.git("status", "--porcelain")


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_an_intent_to_add_entry_the_operations_sparse_patterns_leave_out_comes_back(
    tmp_path: Path, history: str
) -> None:
    """Your `git add -N` file, which the operation's `git sparse-checkout set` leaves out: the
    rollback's `git add -N` refused it (outside the patterns), `abort` exited 3 and left the
    operation interrupted, its error git's advice line."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    for name in ("a", "f"):
        repo.write(name, name.encode() + b"\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    repo.write("ita", b"new\n")
    repo.git("add", "-N", "ita")
    before = _index_and_disk(repo)
    assert "intent-to-add" in repr(before[0]) and before[2] == "ita\0"
    repo.atomic("begin", "op", "--history", history, check=0)
    repo.git("sparse-checkout", "set", "--no-cone", "/f")
    assert repo.git("ls-files", "-t", "a").startswith("S ")
    res = repo.atomic("abort", check=0)
    assert "hint:" not in res.stderr
    assert _index_and_disk(repo) == before
    assert "no operation is open" in repo.atomic("status", check=0).stdout


@pytest.mark.parametrize("skip_worktree", [False, True], ids=["ita", "ita-skip-worktree"])
@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_an_intent_to_add_entry_outside_your_sparse_patterns_comes_back(
    tmp_path: Path, history: str, skip_worktree: bool
) -> None:
    """Your sparse checkout holds an intent-to-add entry outside its patterns (`git add --sparse
    -N`), skip-worktree too: a failing command that resets the index exited 3 (not 1) and
    left the operation interrupted, and `recover` failed the same way every time."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    for name in ("a", "f"):
        repo.write(name, name.encode() + b"\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    if skip_worktree:  # else git takes the flag off an entry whose file is on disk
        repo.git("config", "sparse.expectFilesOutsideOfPatterns", "true")
    repo.git("sparse-checkout", "set", "--no-cone", "/f")
    repo.write("ita", b"new\n")
    repo.git("add", "--sparse", "-N", "ita")
    if skip_worktree:
        repo.git("update-index", "--skip-worktree", "ita")
    before = _index_and_disk(repo)
    assert "intent-to-add" in repr(before[0]) and before[2] == "ita\0"
    assert ("S 100644" if skip_worktree else "H 100644") in before[1].splitlines()[-1]
    script = "git reset -q; exit 1"
    res = repo.atomic("run", "--history", history, "--no-gates", "--", "sh", "-c", script, check=1)
    assert "rolled back" in res.stderr
    assert _index_and_disk(repo) == before
    assert "no operation is open" in repo.atomic("status", check=0).stdout
    repo.atomic("undo", check=0)  # the operation's reset, made again, then rolled back again
    assert "ita" not in repo.git("ls-files")
    repo.atomic("undo", check=0)
    assert _index_and_disk(repo) == before


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_an_intent_to_add_entry_in_a_split_index_is_taken_back(
    tmp_path: Path, history: str
) -> None:
    """Found by the property test once it drew settings: with `core.splitIndex`, the index file
    is of version 2 while its shared index (version 3) holds the operation's `git add -N`
    entry; the capture took version 2 for "no intent-to-add entry", so the rollback deleted the
    new file and left its entry in the index (`git status`: " D a"). `undo` brings it back."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    repo.git("config", "core.splitIndex", "true")
    before = oracle.index_entries(repo.env, repo.path)
    script = ": > a; git add -N a; exit 1"
    repo.atomic("run", "--history", history, "--no-gates", "--", "sh", "-c", script, check=1)
    assert not os.path.lexists(repo.path / "a")
    assert oracle.index_entries(repo.env, repo.path) == before
    assert repo.git("status", "--porcelain") == ""
    repo.atomic("undo", check=0)
    assert os.lstat(repo.path / "a").st_size == 0
    assert repo.git("status", "--porcelain") == " A a\n"


@pytest.mark.parametrize("history", ["shadow", "commits"])
def test_an_index_held_raw_comes_back_split_where_it_was(tmp_path: Path, history: str) -> None:
    """`core.splitIndex`, and an intent-to-add entry whose file is gone (`git add -N a; rm a`):
    the index is held as its bytes, which the capture took after its own whole rewrite of
    them. A failed run's rollback put the index back whole (no `link` extension: git's
    `rev-parse --shared-index-path` said none), where it had been split. Now it comes back
    split, with the same entries, objects and flags (read from the file, and by git)."""
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    repo.git("config", "core.splitIndex", "true")
    repo.write("a", b"a\n")
    repo.git("add", "-N", "a")
    os.unlink(repo.path / "a")
    assert repo.git("rev-parse", "--shared-index-path").strip()
    before = oracle.index_entries(repo.env, repo.path)
    status = repo.git("status", "--porcelain")
    script = "echo op > README; git add README; echo b > b; git add b; exit 1"
    repo.atomic("run", "--history", history, "--", "sh", "-c", script, check=1)
    assert split_index((repo.path / ".git" / "index").read_bytes()), "it came back whole"
    assert oracle.index_entries(repo.env, repo.path) == before
    assert repo.git("status", "--porcelain") == status
    assert not os.path.lexists(repo.path / "a") and not os.path.lexists(repo.path / "b")


# --- the git dir inside the worktree under another name, or gone --------------------------
@pytest.mark.parametrize("layout", ["separate-git-dir", "link", "dotfiles"])
def test_a_git_dir_inside_the_worktree_is_refused_until_git_ignores_it(
    tmp_path: Path, layout: str
) -> None:
    """git lists such a git dir's files as untracked: a rollback took the objects and refs an
    operation made for files it created, and broke the repository. Refused (exit 3, nothing
    changed) with the way out; once git ignores the folder, the layout works."""
    root = tmp_path / "home" if layout == "dotfiles" else tmp_path / "r"
    root.mkdir(parents=True)
    env = hermetic_env(tmp_path / "h")
    inside = {"separate-git-dir": "gd", "link": ".git-real", "dotfiles": ".dotfiles"}[layout]

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True
        ).stdout

    if layout == "separate-git-dir":
        git("init", "-q", f"--separate-git-dir={root / inside}")
    elif layout == "link":
        git("init", "-q")
        os.rename(root / ".git", root / inside)
        os.symlink(inside, root / ".git")
    else:  # a bare repository in the home folder it tracks, as dotfiles set-ups make
        git("init", "-q", "--bare", str(root / inside))
        env = {**env, "GIT_DIR": str(root / inside), "GIT_WORK_TREE": str(root)}
        git("config", "status.showUntrackedFiles", "no")
    (root / "a.txt").write_text("a\n")
    git("add", "a.txt")
    git("commit", "-qm", "init")
    repo = GitRepo(root, env)

    def files() -> dict[bytes, object]:
        return {p: v for p, v in oracle.walk(root).items() if not p.startswith(inside.encode())}

    before = files()
    head = git("rev-parse", "HEAD")
    command = "echo op > n.txt; git add n.txt; git commit -qm op; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", command, check=3)
    assert f"{inside}/" in res.stderr and "exclude" in res.stderr, res.stderr
    assert files() == before
    assert git("rev-parse", "HEAD") == head
    exclude = Path(git("rev-parse", "--git-path", "info/exclude").strip())
    if not exclude.is_absolute():
        exclude = root / exclude
    exclude.parent.mkdir(exist_ok=True)
    with exclude.open("a") as fh:
        fh.write(f"/{inside}/\n")
    repo.atomic("run", "--", "sh", "-c", command, check=1)  # rolled back, the repository whole
    assert git("rev-parse", "HEAD") == head
    assert git("fsck", "--no-dangling") == ""
    assert files() == before


@pytest.mark.parametrize("move", ["mv .git gd", "mv .git .git-real && ln -s .git-real .git"])
def test_an_operation_that_moves_the_git_dir_is_refused_its_rollback_until_it_is_back(
    repo: GitRepo, move: str
) -> None:
    repo.write("a.txt", b"mine\n")
    before = oracle.walk(repo.path)
    res = repo.atomic("run", "--", "sh", "-c", f"echo op >> a.txt; {move}; exit 1", check=3)
    assert "git dir" in res.stderr and "Traceback" not in res.stderr, res.stderr
    moved = repo.path / ("gd" if "gd" in move else ".git-real")
    assert (moved / "config").is_file() and (moved / "HEAD").is_file()  # nothing of git's lost
    if (repo.path / ".git").is_symlink():
        (repo.path / ".git").unlink()
    moved.rename(repo.path / ".git")
    repo.atomic("recover", check=0)
    assert oracle.walk(repo.path) == before


def test_a_worktree_whose_path_holds_a_newline(tmp_path: Path) -> None:
    repo = GitRepo.create(tmp_path / "new\nline", tmp_path / "home")
    repo.write("a.txt", b"mine\n")
    before = oracle.walk(repo.path)
    repo.atomic("run", "--", "sh", "-c", "echo op >> a.txt; exit 1", check=1)
    assert oracle.walk(repo.path) == before


# --- names git refuses to track ---------------------------------------------------------
@pytest.mark.parametrize("name", ["GIT~1", "git~1", ".git.", ".git::$DATA", "sub/.git. "])
def test_names_only_windows_takes_for_dot_git_are_files_like_any_other(
    repo: GitRepo, name: str
) -> None:
    """git's default (core.protectNTFS) refuses to track them on every system; on this one
    they are your files, and an operation that deletes one has it back."""
    repo.write(name, b"precious notes\n")
    before = oracle.walk(repo.path)
    repo.atomic("run", "--", "sh", "-c", f"rm -- '{name}'; exit 1", check=1)
    assert oracle.walk(repo.path) == before


@pytest.mark.parametrize("name", [".g\u200cit", "sub/.gi\ufefft", "\u200e.git/notes.txt"])
def test_names_only_macos_hfs_takes_for_dot_git_are_files_like_any_other(
    repo: GitRepo, name: str
) -> None:
    """t0050/t1450: `core.protectHFS` (git's default on macOS) refuses to track a name HFS+
    reads as `.git` once its ignorable characters are dropped (U+200C, U+FEFF, U+200E...).
    The capture left such an untracked file out without a word, and an operation that deleted
    it had it gone after its "files as before" rollback. On this system they are your files."""
    repo.git("config", "core.protectHFS", "true")
    repo.write(name, b"precious notes\n")
    before = oracle.walk(repo.path)
    repo.atomic("run", "--", "sh", "-c", f"rm -- '{name}'; echo x > a; exit 1", check=1)
    assert oracle.walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert not os.path.lexists(os.path.join(repo.path, name))


@pytest.mark.parametrize("name", [".GIT", ".Git/notes.txt", "sub/.gIt"])
def test_dot_git_in_another_case_is_refused_not_lost(repo: GitRepo, name: str) -> None:
    """git refuses to track `.git` in any letter case, whatever the settings: no checkpoint
    can hold such a file, so an operation is refused before it could lose it (exit 3); one
    an operation makes is left where it is (no checkpoint names it), the rest rolled back."""
    repo.write(name, b"precious notes\n")
    res = _refused_as_it_was(repo, f"rm -rf -- '{name}'; exit 1")
    assert name in res.stderr and "letter case" in res.stderr, res.stderr
    os.unlink(repo.path / name)
    made = f"mkdir -p \"$(dirname '{name}')\"; echo op > '{name}'; echo op >> a; exit 1"
    _one_made_stays(repo, made, statuslist.dot_git_variant)
    assert (repo.path / name).read_bytes() == b"op\n"


def _refused_as_it_was(repo: GitRepo, script: str) -> subprocess.CompletedProcess[str]:
    """`run` of `script` refused (exit 3), the tree as it was."""
    before = oracle.walk(repo.path)
    res = repo.atomic("run", "--", "sh", "-c", script, check=3)
    assert oracle.walk(repo.path) == before
    return res


def _one_made_stays(repo: GitRepo, script: str, unholdable: Callable[[bytes], bool]) -> None:
    """A failed `run` of `script` that makes a name no checkpoint can hold: rolled back but
    for that name, which stays where it is."""
    before = oracle.walk(repo.path)
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    after = oracle.walk(repo.path)
    assert {p: v for p, v in after.items() if not unholdable(p)} == before


@pytest.mark.parametrize("name", [".gitmodules", "sub/.gitmodules", ".GitModules"])
def test_a_gitmodules_link_is_refused_not_lost(repo: GitRepo, name: str) -> None:
    """git refuses to track a `.gitmodules` (any letter case, any folder) that is a symbolic
    link, whatever its settings: the capture left such an untracked link out without a word,
    and an operation that deleted it had it gone after a rollback that said the files were
    as before. It is refused as `.git` in another letter case is; a regular `.gitmodules` of
    yours is held like any file, and one link the operation makes stays after its rollback."""
    os.makedirs(os.path.dirname(repo.path / name), exist_ok=True)
    os.symlink("where-my-modules-are", repo.path / name)
    res = _refused_as_it_was(repo, f"rm -- '{name}'; echo x > a; exit 1")
    assert name in res.stderr and ".gitmodules that is a symbolic link" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    os.unlink(repo.path / name)
    repo.write(name, b"[submodule]\n")  # a file: held, and put back
    before = oracle.walk(repo.path)
    repo.atomic("run", "--", "sh", "-c", f"rm -- '{name}'; echo x > a; exit 1", check=1)
    assert oracle.walk(repo.path) == before
    os.unlink(repo.path / name)
    made = f"ln -s elsewhere '{name}'; echo op >> a; exit 1"
    _one_made_stays(repo, made, lambda p: p == os.fsencode(name))
    assert os.readlink(repo.path / name) == "elsewhere"


STRAY_DOT_GIT = {
    "folder": {"sub/s": b"s\n", "sub/.git/notes": b"precious\n"},
    "file": {"sub/s": b"s\n", "sub/.git": b"precious, no gitdir line\n"},
    "alone": {"sub/.git/notes": b"precious\n"},  # nothing else in sub: git sees it empty
    "gitfile-to-nowhere": {"sub/.git": b"gitdir: ../nowhere\n"},
    # t7300-clean "things that almost look like git": objects/ and refs/, and a HEAD git
    # cannot read (validate_headref): `git clean -d` removes it as any folder of files.
    "almost-git": {
        "sub/s": b"s\n",
        "sub/.git/HEAD": b"garbage\n",
        "sub/.git/objects/o": b"o\n",
        "sub/.git/refs/r": b"r\n",
    },
    # A `.git` file naming such a git dir: git reads it as no repository (read_gitfile).
    "gitfile-to-a-bad-head": {
        "sub/s": b"s\n",
        "sub/.git": b"gitdir: ../gd\n",
        "gd/HEAD": b"garbage\n",
        "gd/objects/o": b"o\n",
        "gd/refs/r": b"r\n",
    },
    # A `commondir` naming no git dir (a linked worktree's whose repository is gone).
    "commondir-to-nowhere": {
        "sub/s": b"s\n",
        "sub/.git/HEAD": b"ref: refs/heads/main\n",
        "sub/.git/commondir": b"../nowhere\n",
    },
    "head-not-under-refs": {
        "sub/.git/HEAD": b"ref: heads/main\n",
        "sub/.git/objects/o": b"o\n",
        "sub/.git/refs/r": b"r\n",
    },
}


@pytest.mark.parametrize("kind", STRAY_DOT_GIT)
def test_a_dot_git_that_is_no_repository_is_refused_not_lost(repo: GitRepo, kind: str) -> None:
    """`sub/.git` that is no repository (notes kept in a `.git` folder; a `.git` file with no
    `gitdir:` line, or one naming nothing): git never lists a `.git`, and looks into `sub/` as
    into any folder, so a checkpoint held `sub/s` but never `sub/.git`, and an operation that
    deleted `sub` had it gone after a rollback that said the files were as before. Refused now,
    naming it; a repository of its own, and a linked worktree, beside it are no reason to
    refuse."""
    for name, data in STRAY_DOT_GIT[kind].items():
        repo.write(name, data)
    subprocess.run(["git", "init", "-q", str(repo.path / "own")], env=repo.env, check=True)
    repo.git("worktree", "add", "-q", str(repo.path / "wt"), "-b", "wt")
    res = _refused_as_it_was(repo, "rm -rf sub; echo x > a; exit 1")
    assert "sub/.git: git refuses to track a .git that is no repository" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    shutil.rmtree(repo.path / "sub")
    before = oracle.walk(repo.path)
    repo.atomic("run", "--", "sh", "-c", "echo x > a; exit 1", check=1)
    assert oracle.walk(repo.path) == before


@pytest.mark.parametrize(("history", "empty"), [("shadow", "folder"), ("commits", "file")])
def test_an_empty_dot_git_folder_is_nothing_to_git_and_no_reason_to_refuse(
    repo: GitRepo, history: str, empty: str
) -> None:
    """`mkdir sub/.git` (empty, or holding only empty folders; or an empty `.git` file) beside
    `sub/s`: git lists `sub/s` as any file (`git status`, `git add -A`) and `git clean -d`
    removes the folder whole, `.git` and all. Every operation in the worktree was refused
    (exit 3, 'a .git that is no repository'). Now it runs: a failed run, `rollback` of a kept
    one and `undo` take back and bring back `sub/s` and `sub/new` like any folder's files
    (never 'a repository of its own'), and the empty `.git` stays where it is."""
    repo.write("sub/s", b"s\n")
    repo.git("add", "sub/s")
    repo.git("commit", "-qm", "sub")
    if empty == "folder":
        (repo.path / "sub" / ".git" / "deep").mkdir(parents=True)
    else:  # an empty `.git` file: no `gitdir:` line, and nothing else either
        (repo.path / "sub" / ".git").write_bytes(b"")
    repo.write("sub/u", b"untracked\n")
    assert "sub/u" in repo.git("status", "--porcelain", "-uall")  # git looks in as in any
    before = oracle.walk(repo.path)
    change = "echo op > sub/s; echo n > sub/new; rm sub/u"
    res = repo.atomic("run", "--history", history, "--", "sh", "-c", change + "; exit 1", check=1)
    assert "repository of its own" not in res.stderr, res.stderr
    assert oracle.walk(repo.path) == before
    repo.atomic("run", "--history", history, "--", "sh", "-c", change, check=0)
    after = oracle.walk(repo.path)
    repo.write("README", b"yours\n")  # another writer's edit since
    repo.atomic("rollback", check=0)
    assert oracle.walk(repo.path) == {
        **before,
        b"README": ("100644", oracle.blob_id(b"yours\n")),
    }
    repo.atomic("undo", check=0)
    assert oracle.walk(repo.path) == {**after, b"README": ("100644", oracle.blob_id(b"yours\n"))}
    assert os.path.isdir(repo.path / "sub" / ".git" / "deep") == (empty == "folder")
    assert os.lstat(repo.path / "sub" / ".git").st_size == 0 or empty == "folder"


@pytest.mark.parametrize(
    "target", ["nowhere", "notes-folder", "notes-file", "gitfile-to-a-repository", "repository"]
)
def test_a_dot_git_link_to_no_repository_is_refused_not_lost(
    repo: GitRepo, tmp_path: Path, target: str
) -> None:
    """`sub/.git` a symbolic link to nothing, to a folder or a file of notes outside: git
    follows it, finds no repository and lists `sub/`'s files as any folder's, never the link.
    It was taken for a repository all the same: an operation that deleted `sub` was rolled
    back 'as before' with the link gone. Refused now, naming it, the link and what it points
    to untouched; a link to a repository (or to a `.git` file naming one) is a repository of
    its own, as git takes it: no reason to refuse."""
    outside = tmp_path / "outside"
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    (outside / "notes").mkdir(parents=True)
    (outside / "notes" / "n.txt").write_bytes(b"notes\n")
    (outside / "notes.txt").write_bytes(b"gitdir is not here\n")
    (outside / "gitfile").write_bytes(f"gitdir: {other.path / '.git'}\n".encode())
    marker = oracle.walk_exact(outside)
    repo.write("sub/s", b"s\n")
    repo.git("add", "sub/s")
    repo.git("commit", "-qm", "sub")
    pointed = {
        "nowhere": str(tmp_path / "nowhere"),
        "notes-folder": "../../outside/notes",
        "notes-file": str(outside / "notes.txt"),
        "gitfile-to-a-repository": str(outside / "gitfile"),
        "repository": str(other.path / ".git"),
    }[target]
    os.symlink(pointed, repo.path / "sub" / ".git")
    if target in ("gitfile-to-a-repository", "repository"):
        repo.atomic("run", "--", "sh", "-c", "echo x > README; exit 1", check=1)
        assert os.readlink(repo.path / "sub" / ".git") == pointed
    else:
        res = _refused_as_it_was(repo, "rm -rf sub; echo x > README; exit 1")
        assert "sub/.git: git refuses to track a .git that is no repository" in res.stderr
        assert os.readlink(repo.path / "sub" / ".git") == pointed
    assert oracle.walk_exact(outside) == marker


@pytest.mark.parametrize("made", ["echo x > .GIT", "ln -s x sub/.gitmodules"])
def test_a_name_no_checkpoint_can_hold_made_by_a_run_that_succeeded(
    repo: GitRepo, made: str
) -> None:
    """The run's command succeeded and left `.GIT` (or a `.gitmodules` link): its OP-EXEC
    capture was refused with "...; nothing was changed" and exit 3, while the command's other
    changes had in fact been rolled back (`undo` brought them back). Now it says what the
    command left, that it stays, and that the run was rolled back (exit 1)."""
    before = oracle.walk(repo.path)
    res = repo.atomic("run", "--", "sh", "-c", f"mkdir -p sub; {made}; echo op >> README", check=1)
    assert "the command left" in res.stderr and "rolled back" in res.stderr, res.stderr
    assert "nothing was changed" not in res.stderr, res.stderr
    name = made.rsplit(" ", 1)[-1]
    after = oracle.walk(repo.path)
    assert {p: v for p, v in after.items() if p != name.encode()} == before
    assert os.path.lexists(repo.path / name)


# --- a file git cannot convert to what it stores -----------------------------------------
@pytest.mark.parametrize("who", ["the operation's file", "the operation's attribute"])
def test_a_file_working_tree_encoding_cannot_convert_is_held_as_on_disk(
    repo: GitRepo, who: str
) -> None:
    """`working-tree-encoding=UTF-16` and a file without its byte order mark: `git add` dies
    on it, and every capture with it (the operation stayed interrupted, `recover` too). Such a
    file is held as its bytes on disk: the rollback and `undo` are exact."""
    if who == "the operation's file":
        repo.write(".gitattributes", b"*.txt working-tree-encoding=UTF-16\n")
        repo.write("t.txt", "hi\n".encode("utf-16"))
        repo.git("add", "-A")
        repo.git("commit", "-qm", "utf-16")
        command = "printf 'plain utf8\\n' > t.txt; exit 1"
    else:
        repo.write("x", b"a\n")
        repo.git("add", "x")
        repo.git("commit", "-qm", "x")
        command = "echo '* working-tree-encoding=UTF-16' > .gitattributes; echo b > x; exit 1"
    before = oracle.walk(repo.path)
    repo.atomic("run", "--", "sh", "-c", command, check=1)
    assert oracle.walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert oracle.walk(repo.path) != before
    repo.atomic("undo", check=0)
    assert oracle.walk(repo.path) == before


# --- nested repositories whose .git an operation removes ---------------------------------
@pytest.mark.parametrize("kind", ["nested repository", "submodule", "linked worktree"])
def test_a_nested_repositorys_files_stay_when_the_operation_removed_its_git(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    """Its files were never captured (a nested repository's contents are its own): with its
    `.git` gone they look like files the operation made, and the rollback deleted them all,
    uncommitted edits included. They stay now, and the rollback says why."""
    env = repo.env
    if kind == "nested repository":
        folder = repo.path / "vendor" / "lib"
        subprocess.run(["git", "init", "-q", str(folder)], env=env, check=True)
        (folder / "lib.c").write_text("code\n")
        subprocess.run(["git", "add", "-A"], cwd=folder, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", "v"], cwd=folder, env=env, check=True)
    elif kind == "submodule":
        upstream = tmp_path / "upstream"
        subprocess.run(["git", "init", "-q", str(upstream)], env=env, check=True)
        (upstream / "lib.c").write_text("code\n")
        subprocess.run(["git", "add", "-A"], cwd=upstream, env=env, check=True)
        subprocess.run(["git", "commit", "-qm", "v"], cwd=upstream, env=env, check=True)
        repo.git("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream), "lib")
        repo.git("commit", "-qm", "submodule")
        folder = repo.path / "lib"
    else:
        repo.git("worktree", "add", "-q", "wt", "-b", "feature")
        folder = repo.path / "wt"
    with (folder / "lib.c").open("a") as fh:
        fh.write("my uncommitted edit\n")
    (folder / "NOTES").write_text("notes\n")
    kept = {p: v for p, v in oracle.walk(folder).items()}
    rel = folder.relative_to(repo.path)
    command = f"rm -rf {rel}/.git; exit 1"
    if kind == "submodule":  # vendored: its files committed in the superproject
        command = f"git rm -q --cached {rel} && rm {rel}/.git && git add {rel} && " + (
            "git commit -qm vendored; exit 1"
        )
    res = repo.atomic("run", "--", "sh", "-c", command, check=1)
    assert "nested repository" in res.stderr, res.stderr
    assert oracle.walk(folder) == kept


def test_a_repository_the_failed_operation_made_stays_and_the_rollback_says_so(
    repo: GitRepo,
) -> None:
    """An operation that made a repository of its own (`git init sub` and a commit, a clone)
    and failed: the repository stays (its contents are never captured), and the rollback said
    the files were 'as before', counting it among the paths changed. It names it now."""
    command = "git init -q sub && cd sub && echo b > b && git add b && git commit -qm in; exit 1"
    res = repo.atomic_json("run", "--", "sh", "-c", command, check=1)
    assert (repo.path / "sub/b").read_bytes() == b"b\n"
    assert stat.S_ISDIR(os.lstat(repo.path / "sub/.git").st_mode)
    assert any(p.startswith("sub: a repository of its own is there") for p in res["problems"])


@pytest.mark.parametrize("was", ["untracked", "tracked"])
def test_git_init_in_a_folder_of_files_is_no_stray_dot_git(repo: GitRepo, was: str) -> None:
    """`git init sub` run by an operation where `sub/` holds files: git lists them as the
    folder's (the index holds paths under it), and the check for a `.git` that is no
    repository took the new repository for one: the command succeeded, and the operation was
    rolled back (exit 1), naming `sub/.git` as 'a .git that is no repository'. It is kept."""
    _folder_of_files(repo, was, b"a\n")
    res = repo.atomic("run", "--", "git", "init", "-q", "sub", check=0)
    assert "no repository" not in res.stderr, res.stderr
    assert stat.S_ISREG(os.lstat(repo.path / "sub/.git/HEAD").st_mode)
    assert (repo.path / "sub/a.txt").read_bytes() == b"a\n"


def _folder_of_files(repo: GitRepo, was: str, data: bytes) -> None:
    """`sub/a.txt`, untracked or committed (`was`)."""
    repo.write("sub/a.txt", data)
    if was == "tracked":
        repo.git("add", "sub")
        repo.git("commit", "-qm", "sub")


@pytest.mark.parametrize("was", ["untracked", "tracked"])
def test_a_repository_made_in_a_folder_of_files_is_not_committed_as_files(
    repo: GitRepo, was: str
) -> None:
    """`git init sub` and a commit in it, where `sub/` held files: git reads the new
    repository as a folder (the index has paths under it), and commits mode committed its
    files on your branch as the operation's new files. They stay out; its own file goes in."""
    _folder_of_files(repo, was, b"a\n")
    command = (
        "git init -q sub && cd sub && echo b > b && git add b && git commit -qm in && "
        "cd .. && echo m > made.txt"
    )
    repo.atomic("run", "--", "sh", "-c", command, check=0)
    committed = repo.git("ls-tree", "-r", "--name-only", "HEAD").split()
    assert "sub/b" not in committed and "made.txt" in committed, committed
    assert (repo.path / "sub/b").read_bytes() == b"b\n"


@pytest.mark.parametrize("was", ["untracked", "tracked"])
def test_a_folder_the_operation_made_a_repository_is_not_written_into(
    repo: GitRepo, was: str
) -> None:
    """A folder the operation replaced by a repository of its own (`rm -rf sub; git init sub`,
    a clone): git still lists its files as the folder's, since the index holds paths under it,
    and the rollback deleted the new repository's files, committed ones included, and wrote
    the old folder's files into it, saying all was as before. Its files stay now, nothing is
    written into it, and the rollback says so; undo changes nothing there."""
    _folder_of_files(repo, was, b"old folder\n")
    command = (
        "rm -rf sub && git init -q sub && cd sub && echo b > b && git add b && "
        "git commit -qm inner && echo c > c && exit 1"
    )
    res = repo.atomic("run", "--", "sh", "-c", command, check=1)
    assert "sub: a repository of its own is there now" in res.stderr, res.stderr
    assert "except what the warnings above name" in res.stderr, res.stderr
    sub = repo.path / "sub"
    assert stat.S_ISDIR(os.lstat(sub / ".git").st_mode)
    assert sorted(os.listdir(sub)) == [".git", "b", "c"]
    assert (sub / "b").read_bytes() == b"b\n" and (sub / "c").read_bytes() == b"c\n"
    inner = subprocess.run(
        ["git", "status", "--porcelain"], cwd=sub, env=repo.env, capture_output=True, text=True
    )
    assert inner.stdout == "?? c\n"
    repo.atomic("undo", check=0)
    assert sorted(os.listdir(sub)) == [".git", "b", "c"]
    # Nor does a selective rollback write into it, nor count it as changed.
    pre_op = repo.atomic_json("log")["operations"][0]["checkpoints"]["pre_op"]
    res = repo.atomic("rollback", "--to", pre_op, "--", "sub/a.txt", check=0)
    assert "sub: a repository of its own is there now" in res.stderr, res.stderr
    assert "0 paths changed" in res.stderr, res.stderr
    assert sorted(os.listdir(sub)) == [".git", "b", "c"]


@pytest.mark.parametrize("history", ["commits", "shadow", "failed"])
def test_show_and_log_leave_out_the_files_of_a_repository_made_in_a_folder(
    repo: GitRepo, history: str
) -> None:
    """`git init sub` where `sub/` held tracked files, and a file made in it: git reads the
    new repository as a folder, so the checkpoints hold its files (the rescue of a failed
    run's rollback too), and `show --diff` and `log` listed and counted `sub/new.txt` as the
    operation's, though no rollback touches it. They are left out now, and `show` names the
    repository."""
    _folder_of_files(repo, "tracked", b"a\n")
    command = "git init -q sub && echo made > sub/new.txt && echo m > made.txt"
    failed = history == "failed"
    run = ("run", "--", "sh", "-c", command + "; exit 1") if failed else ()
    run = run or ("run", "--history", history, "--", "sh", "-c", command)
    op = repo.atomic_json(*run, check=1 if failed else 0)["op_id"]
    shown = repo.atomic("show", op, "--diff").stdout
    assert "b/made.txt" in shown and "b/sub/new.txt" not in shown, shown
    assert "nested    sub/: a repository of its own" in shown, shown
    assert "change    1 file +1 -0" in shown, shown
    assert "sub/" not in repo.atomic_json("show", op, "--diff")["diff"]
    assert "1 file +1 -0" in repo.atomic("log").stdout
    if not failed:
        repo.atomic("rollback", "--op", op, check=0)
    assert (repo.path / "sub/new.txt").read_bytes() == b"made\n"
    assert not (repo.path / "made.txt").exists()


NESTED_SCENARIOS = {
    "replaced": "rm -rf sub && git init -q sub && cd sub && echo b > b && git add b && "
    "git commit -qm inner && echo c > c",
    "init only": "git init -q sub && echo made > sub/new.txt",
    "new clone": "git init -q new && cd new && echo b > b && git add b && git commit -qm in",
    "git removed": "rm -rf nest/.git && echo more > nest/more.txt",
    "removed whole": "rm -rf nest",
}


@pytest.mark.parametrize("was", ["untracked", "tracked"])
@pytest.mark.parametrize("scenario_", sorted(NESTED_SCENARIOS))
def test_a_dry_run_says_what_the_rollback_does_around_nested_repositories(
    repo: GitRepo, was: str, scenario_: str
) -> None:
    """`rollback --dry-run` (and `undo --dry-run`) listed the paths inside a folder that became
    a repository of its own (`git init sub` where files were) as deleted or created, though the
    real rollback leaves them and says so. Each dry run now lists and warns exactly what the
    real move does."""
    _folder_of_files(repo, was, b"old folder\n")
    nest = repo.path / "nest"
    subprocess.run(["git", "init", "-q", str(nest)], env=repo.env, check=True)
    (nest / "n.txt").write_text("n\n")
    subprocess.run(["git", "add", "-A"], cwd=nest, env=repo.env, check=True)
    subprocess.run(["git", "commit", "-qm", "n"], cwd=nest, env=repo.env, check=True)
    repo.atomic("run", "--", "sh", "-c", NESTED_SCENARIOS[scenario_], check=0)
    for verb in ("rollback", "undo", "rollback"):
        before = oracle.walk(repo.path)
        dry = repo.atomic_json(verb, "--dry-run", check=None)
        assert oracle.walk(repo.path) == before
        real = repo.atomic_json(verb, check=None)
        said = ("changes", "problems", "error")  # an error: nothing to undo, both times
        assert [dry.get(k) for k in said] == [real.get(k) for k in said], verb
        after = oracle.walk(repo.path)
        differ = {
            os.fsdecode(p)
            for p in set(before) | set(after)
            if before.get(p) != after.get(p) and b"/.git/" not in p
        }
        changes = real.get("changes", [])
        assert differ == {c["path"] for c in changes if not c["path"].endswith("/")}, (verb, real)
        for c in changes:  # a folder (walk lists files): gone or made
            if c["path"].endswith("/"):
                there = os.path.isdir(repo.path / c["path"])
                assert there == (c["action"] == "create"), (verb, c)
        said = "a nested repository (a submodule?) was here"
        if any(said in p for p in real.get("problems", [])):  # and so it is, empty
            assert os.listdir(nest) == [], verb


@pytest.mark.parametrize("change", ["repoint", "remove"])
def test_a_dot_git_link_the_operation_changed_comes_back(tmp_path: Path, change: str) -> None:
    """`.git` a link to the git dir (a repository moved and linked back): an operation that
    points it at another repository or removes it left the folder another repository's, or
    none; the rollback makes the link again, as it does a `.git` file."""
    other = GitRepo.create(tmp_path / "other", tmp_path / "home")
    repo = GitRepo.create(tmp_path / "r", tmp_path / "home")
    repo.write("a.txt", b"wip\n")
    os.rename(repo.path / ".git", tmp_path / "realgit")
    os.symlink("../realgit", repo.path / ".git")
    before = oracle.walk(repo.path)
    command = {"repoint": f"rm .git && ln -s {other.path}/.git .git", "remove": "rm .git"}[change]
    repo.atomic("run", "--", "sh", "-c", command + "; exit 1", check=1)
    assert os.readlink(repo.path / ".git") == "../realgit"
    assert oracle.walk(repo.path) == before


def test_a_linked_worktree_pointed_at_the_main_git_dir_keeps_its_open_operation(
    repo: GitRepo,
) -> None:
    """An operation in a linked worktree points its `.git` file at the main git dir: git then
    takes the folder for the main worktree, whose journal row has no open operation. `abort`
    said none was open and `begin` opened a second; both refuse now (exit 3), and once the
    file is back the abort is exact."""
    repo.git("worktree", "add", "-q", "../w2", "-b", "feature")
    w2 = GitRepo(repo.path.parent / "w2", repo.env)
    w2.write("a.txt", b"wip\n")
    before = oracle.walk(w2.path)
    dot_git = (w2.path / ".git").read_bytes()
    w2.atomic("begin", "op", check=0)
    (w2.path / ".git").write_text(f"gitdir: {repo.path / '.git'}\n")
    w2.write("a.txt", b"op\n")
    for args in (["abort"], ["begin", "another"]):
        res = w2.atomic(*args, check=3)
        assert "was begun in this folder as worktree" in res.stderr, res.stderr
    (w2.path / ".git").write_bytes(dot_git)
    w2.atomic("abort", check=0)
    assert oracle.walk(w2.path) == before


def test_a_git_dir_named_dot_git_below_the_top_of_its_worktree(tmp_path: Path) -> None:
    """A worktree whose git dir is `proj/.git` (`GIT_DIR=proj/.git GIT_WORK_TREE=.`): git lists
    nothing in a folder named `.git`, wherever it is, so nothing is refused."""
    top = tmp_path / "top"
    proj = top / "proj"
    proj.mkdir(parents=True)
    env = hermetic_env(tmp_path / "h")
    subprocess.run(["git", "init", "-q", str(proj)], env=env, check=True)
    env = {**env, "GIT_DIR": str(proj / ".git"), "GIT_WORK_TREE": str(top)}
    (top / "a.txt").write_text("a\n")
    subprocess.run(["git", "add", "a.txt"], cwd=top, env=env, check=True)
    subprocess.run(["git", "commit", "-qm", "i"], cwd=top, env=env, check=True)
    repo = GitRepo(top, env)

    def files() -> dict[bytes, object]:
        return {p: v for p, v in oracle.walk(top).items() if not p.startswith(b"proj/.git/")}

    before = files()
    repo.atomic("run", "--", "sh", "-c", "echo op >> a.txt; exit 1", check=1)
    assert files() == before


def _with_submodule(repo: GitRepo, tmp_path: Path) -> None:
    """`sub`: a submodule of one commit (`s.txt`), checked out and committed."""
    upstream = tmp_path / "upstream"
    subprocess.run(["git", "init", "-q", str(upstream)], env=repo.env, check=True)
    (upstream / "s.txt").write_text("s\n")
    subprocess.run(["git", "add", "-A"], cwd=upstream, env=repo.env, check=True)
    subprocess.run(["git", "commit", "-qm", "s"], cwd=upstream, env=repo.env, check=True)
    repo.git("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream), "sub")
    repo.git("commit", "-qm", "submodule")


@pytest.mark.parametrize("how", ["failed run", "rollback of a kept run"])
def test_a_submodule_whose_git_file_alone_was_removed_gets_it_back(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """Git shows no change when a submodule's `.git` file goes (it does not look into a
    gitlink's folder), and a nested repository's `.git` is never captured: a failed run said
    it could not come back, and the rollback of a kept one said "nothing further to roll
    back", the folder left no checkout of the submodule. The operation noted the file when it
    began: it is written back, named; the files in the folder stay as they are."""
    _with_submodule(repo, tmp_path)
    dot_git = (repo.path / "sub" / ".git").read_bytes()
    line = "rm sub/.git; echo x > sub/extra"
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
    else:
        repo.atomic("run", "--", "sh", "-c", line, check=0)
        assert not os.path.lexists(repo.path / "sub" / ".git")
        res = repo.atomic("rollback", check=0)
    assert "sub: the operation removed this submodule's .git file; it is written back" in (
        res.stderr
    ), res.stderr
    assert "with no .git in its folder" not in res.stderr and "changed nothing" not in res.stderr
    assert (repo.path / "sub" / ".git").read_bytes() == dot_git
    assert (repo.path / "sub" / "s.txt").read_text() == "s\n"
    assert (repo.path / "sub" / "extra").read_text() == "x\n"  # the submodule's own: left
    status = subprocess.run(
        ["git", "status", "--porcelain"],
        cwd=repo.path / "sub",
        env=repo.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert status == "?? extra\n", status
    res = repo.atomic("run", "--", "sh", "-c", "echo x > other.txt; exit 1", check=1)
    assert "submodule" not in res.stderr, res.stderr  # an intact one is not named


def _git_out(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_a_submodule_the_operation_moved_is_moved_back_and_undo_moves_it_again(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """t7001-mv: an operation ran `git mv sub a/b/sub2` on a checked-out submodule (its folder
    renamed, its `.git` file and its git dir's core.worktree rewritten). The rollback put the
    gitlink and .gitmodules back but left the submodule at a/b/sub2, `sub` an empty folder,
    the git dir naming a/b/sub2 as its worktree; the `git submodule update --init` it advised
    checked out a second copy. Now the folder is moved back, with the files in it (your
    uncommitted change too), its `.git` file and core.worktree as git writes them; `undo`
    moves it to a/b/sub2 again."""
    _with_submodule(repo, tmp_path)
    (repo.path / "sub" / "s.txt").write_text("yours, in the submodule\n")
    modules = repo.path / ".git" / "modules" / "sub"
    dot_git = (repo.path / "sub" / ".git").read_bytes()
    line = "mkdir -p a/b && git mv sub a/b/sub2"
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        repo.write("README", b"yours\n")
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
        assert repo.read("README") == b"yours\n"
    assert "sub: the submodule is at a/b/sub2 (moved by `git mv`); it is moved back" in (
        res.stderr
    ), res.stderr
    assert "only its folder is made again" not in res.stderr
    assert not os.path.lexists(repo.path / "a")  # the folders the operation made: gone
    assert (repo.path / "sub" / ".git").read_bytes() == dot_git
    assert (repo.path / "sub" / "s.txt").read_text() == "yours, in the submodule\n"
    assert _git_out(repo.path, repo.env, "config", "-f", str(modules / "config"),
                    "core.worktree").strip() == "../../../sub"  # fmt: skip
    assert _git_out(repo.path / "sub", repo.env, "status", "--porcelain") == " M s.txt\n"
    repo.atomic("undo", check=0)
    moved = repo.path / "a" / "b" / "sub2"
    assert not os.path.lexists(repo.path / "sub")
    assert (moved / ".git").read_bytes() == b"gitdir: ../../../.git/modules/sub\n"
    assert (moved / "s.txt").read_text() == "yours, in the submodule\n"
    assert _git_out(repo.path, repo.env, "config", "-f", str(modules / "config"),
                    "core.worktree").strip() == "../../../a/b/sub2"  # fmt: skip
    assert _git_out(moved, repo.env, "status", "--porcelain") == " M s.txt\n"


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_a_submodule_the_operation_checked_out_stays_and_is_named(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """t7406-submodule-update: an operation ran `git submodule update --init` on a submodule
    whose folder was empty (git sees no change: the gitlink is the same). Its rollback said
    "it had changed nothing" (a failed run) with a clone of the submodule left in the folder.
    The checkout stays (a submodule's contents are never captured, nor removed), and is named,
    with the `git submodule deinit` that empties it again."""
    _with_submodule(repo, tmp_path)
    repo.git("submodule", "-q", "deinit", "-f", "sub")
    assert os.listdir(repo.path / "sub") == []
    line = "git -c protocol.file.allow=always submodule -q update --init"
    if how == "failed run":
        res = repo.atomic("run", "--", "sh", "-c", line + "; exit 1", check=1)
        assert "changed nothing" not in res.stderr, res.stderr
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert (
        "sub: this submodule is checked out now, and was not when the operation began"
    ) in res.stderr, res.stderr
    assert "`git submodule deinit -f -- sub` empties its folder again" in res.stderr
    assert (repo.path / "sub" / "s.txt").read_text() == "s\n"  # never removed
    assert (repo.path / "sub" / ".git").is_file()
    res = repo.atomic("run", "--", "sh", "-c", "echo x > other.txt; exit 1", check=1)
    assert "submodule" not in res.stderr, res.stderr  # one checked out before is not named


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_a_submodule_checkout_the_operation_recorded_is_named_where_it_stays(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """t7406/t2013: an operation checked another commit out in a submodule and recorded it
    (`git -C sub checkout main; git add sub; git commit`). The rollback puts the gitlink back,
    but a submodule's checkout is not part of a checkpoint: it stays at the operation's
    commit, and `git status` shows the submodule changed, while the rollback said "files,
    index and branches are as before" and nothing more. Now it names the commit the checkout
    stays at, the one the state restored records, and the `git submodule update` that checks
    it out, in one line (the restore's "a submodule checked out at" said it a second time)."""
    upstream = tmp_path / "upstream"
    subprocess.run(["git", "init", "-q", "-b", "main", str(upstream)], env=repo.env, check=True)
    for text in ("s\n", "s2\n"):
        (upstream / "s.txt").write_text(text)
        subprocess.run(["git", "add", "-A"], cwd=upstream, env=repo.env, check=True)
        subprocess.run(["git", "commit", "-qm", text], cwd=upstream, env=repo.env, check=True)
    repo.git("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(upstream), "sub")
    subprocess.run(["git", "checkout", "-q", "HEAD~1"], cwd=repo.path / "sub", env=repo.env)
    repo.git("add", "sub")
    repo.git("commit", "-qm", "submodule")
    was = repo.git("rev-parse", ":sub").strip()
    line = "git -C sub checkout -q main && git add sub"
    if how == "failed run":
        res = repo.atomic(
            "run", "--", "sh", "-c", line + " && git commit -qm bump; exit 1", check=1
        )
    else:
        done = repo.atomic_json("run", "--history", "shadow", "--", "sh", "-c", line)
        res = repo.atomic("rollback", "--op", done["op_id"], check=0)
    assert repo.git("rev-parse", ":sub").strip() == was  # the gitlink: back
    left = _git_out(repo.path / "sub", repo.env, "rev-parse", "HEAD").strip()
    assert left != was  # the checkout: not a checkpoint's, stays
    assert (
        f"sub: this submodule's checkout stays at {left[:12]}, the commit the operation "
        f"recorded; the state restored records {was[:12]}"
    ) in res.stderr, res.stderr
    assert "`git submodule update -- sub` checks that out" in res.stderr
    # One line for the submodule: the restore's own "checked out at" said it again.
    assert res.stderr.count("sub: ") == 1, res.stderr
    res = repo.atomic("run", "--", "sh", "-c", "echo x > other.txt; exit 1", check=1)
    assert "submodule" not in res.stderr, res.stderr  # one the operation left alone: not named


@pytest.mark.parametrize("kind", ["submodule", "nested repository"])
def test_undo_of_an_abort_that_made_a_removed_repositorys_folder_again_removes_it(
    repo: GitRepo, tmp_path: Path, kind: str
) -> None:
    """The operation removes a submodule (`git rm`) or a nested repository (`rm -rf`); the
    abort makes its folder again, empty (its files were never captured); `undo` brings back
    the operation's state, which has no folder there: it goes (it is empty)."""
    inner = tmp_path / "upstream" if kind == "submodule" else repo.path / "nest"
    subprocess.run(["git", "init", "-q", str(inner)], env=repo.env, check=True)
    (inner / "s.txt").write_text("s\n")
    subprocess.run(["git", "add", "-A"], cwd=inner, env=repo.env, check=True)
    subprocess.run(["git", "commit", "-qm", "s"], cwd=inner, env=repo.env, check=True)
    name = "sub" if kind == "submodule" else "nest"
    if kind == "submodule":
        repo.git("-c", "protocol.file.allow=always", "submodule", "-q", "add", str(inner), name)
        repo.git("commit", "-qm", "submodule")
    repo.atomic("begin", "op", check=0)
    if kind == "submodule":
        repo.git("rm", "-q", name)
    else:
        shutil.rmtree(repo.path / name)
    repo.atomic("abort", check=0)
    assert (repo.path / name).is_dir() and not any((repo.path / name).iterdir())
    repo.atomic("undo", check=0)
    assert not os.path.lexists(repo.path / name)


@pytest.mark.parametrize("gate", [False, True], ids=["command", "gate"])
def test_a_filter_the_operation_configures_never_runs_in_our_calls(
    repo: GitRepo, tmp_path: Path, gate: bool
) -> None:
    """A command (or a gate) that runs `git config filter.x.clean PROGRAM` and sets `* filter=x`:
    the rollback's capture ran PROGRAM (the configuration was the one read before the
    command), holding what it printed as the files. Now every capture reads the configuration
    anew where its files changed, and turns that filter off as every other."""
    repo.write("a.txt", b"base\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.atomic("run", "--", "true", check=0)  # a scan index: the usual scan
    before = oracle.walk(repo.path)
    ran = tmp_path / "filter-ran"
    configure = (
        f"git config filter.x.clean 'sh -c \"touch {ran}; tr a-z A-Z\"'"
        " && echo '* filter=x' > .gitattributes"
    )
    script = tmp_path / "configure.sh"
    script.write_text(f"{configure}\nexit 1\n")
    if gate:
        repo.atomic("run", "-g", f"sh {script}", "--", "sh", "-c", "echo op > a.txt", check=1)
    else:
        repo.atomic("run", "--", "sh", "-c", f"echo op > a.txt; sh {script}", check=1)
    assert not ran.exists(), "the operation's filter ran inside git-atomic's own calls"
    assert oracle.walk(repo.path) == before


@pytest.mark.parametrize(
    "how",
    [
        "onbranch",
        "included-file",
        "included-file-nested",
        "included-file-nested-relative",
        "system-file",
    ],
)
@pytest.mark.parametrize("filter_kind", ["program", "missing"])
def test_a_filter_configured_by_an_include_never_runs_in_our_calls(
    repo: GitRepo, tmp_path: Path, how: str, filter_kind: str
) -> None:
    """Configuration can change while none of the repository's config files does: a filter
    in a file `includeIf "onbranch:side"` includes, once the operation checks `side` out, or
    in a file `include.path` names (at one include's depth, or two), or in the system's
    config (`GIT_CONFIG_SYSTEM`, /etc/gitconfig), which the operation's `git config --file`
    writes. The rollback's capture went by the configuration read before
    the command: it ran the user's program, or, for a required filter that cannot run (git-lfs
    not installed), failed ("clean filter 'lfs' failed", exit 3), the operation left
    interrupted with its files in place. Now what the config includes, and the branch an
    `onbranch` condition names, count among its files."""
    ran = tmp_path / "filter-ran"
    if filter_kind == "program":
        name, fields = "x", {"clean": f"sh -c 'touch {ran}; tr a-z A-Z'", "smudge": "cat"}
    else:
        name = "lfs"
        fields = {f: f"git-lfs-not-installed {f}" for f in ("clean", "smudge", "process")}
        fields["required"] = "true"
    repo.write(".gitattributes", b"*.bin filter=%s -text\n" % name.encode())
    repo.write("a.bin", b"base\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.git("branch", "side")
    included = tmp_path / "included.config"
    included.write_text("")
    env: dict[str, str] = {}
    if how == "onbranch":
        for field, value in fields.items():
            repo.git("config", "--file", str(included), f"filter.{name}.{field}", value)
        repo.git("config", "includeIf.onbranch:side.path", str(included))
        step = "git checkout -q side"
    else:
        if how == "included-file-nested":  # the config includes a file that includes this one
            outer = tmp_path / "outer.config"
            outer.write_text(f"[include]\n\tpath = {included}\n")
            repo.git("config", "include.path", str(outer))
        elif how == "included-file-nested-relative":  # named relative to the file naming it
            (tmp_path / "nest").mkdir()
            included = tmp_path / "nest" / "included.config"
            included.write_text("")
            outer = tmp_path / "nest" / "outer.config"
            outer.write_text("[include]\n\tpath = included.config\n")
            repo.git("config", "include.path", str(outer))
        elif how == "system-file":  # the system's config (`git config --system` writes there)
            env = {"GIT_CONFIG_NOSYSTEM": "0", "GIT_CONFIG_SYSTEM": str(included)}
        else:
            repo.git("config", "include.path", str(included))
        step = " && ".join(
            f"git config --file {included} filter.{name}.{field} '{value}'"
            if "'" not in value
            else f'git config --file {included} filter.{name}.{field} "{value}"'
            for field, value in fields.items()
        )
    before = oracle.walk(repo.path)
    # The same size: git reads the file through the filter to tell whether it changed.
    op = f"{step} && echo edit > a.bin && echo new > n.bin; exit 1"
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", op, check=None, env=env)
    assert res.returncode == 1, res.stderr
    assert not ran.exists(), "the user's filter ran inside git-atomic's own calls"
    assert oracle.walk(repo.path) == before
    assert repo.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_ignorecase_an_operations_branch_includes_is_not_believed_either(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The same family as the filter's above: `core.ignoreCase=true` in a file
    `includeIf "onbranch:side"` includes, on this filesystem, which tells names apart by case.
    The operation checks `side` out and writes `NOTES` beside the tracked `notes`. The
    rollback's capture went by the configuration read before (no config file had changed), so
    it did not turn the setting off, and git took `NOTES` for `notes`: the rollback left the
    operation's new file in place while it said the files were as before."""
    repo.write("notes", b"r\n")
    repo.git("add", "notes")
    repo.git("commit", "-qm", "notes")
    repo.git("branch", "side")
    included = tmp_path / "included.config"
    included.write_text("[core]\n\tignorecase = true\n")
    repo.git("config", "includeIf.onbranch:side.path", str(included))
    before = oracle.walk(repo.path)
    op = "git checkout -q side && echo NEW > NOTES && echo x > notes; exit 1"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", op, check=1)
    assert oracle.walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert (repo.path / "NOTES").read_bytes() == b"NEW\n"


@pytest.mark.parametrize("name", ["a=b", "caf\udce9"], ids=["equals-sign", "not-utf8"])
def test_a_filter_named_with_an_equals_sign_or_not_utf8_never_runs_in_our_calls(
    repo: GitRepo, tmp_path: Path, name: str
) -> None:
    """t0021-conversion: a driver's name is any bytes, `[filter "a=b"]` with `* filter=a=b`
    too. git splits `-c KEY=VALUE` at its first "=", so the `-c filter.a=b.clean=` that was to
    turn it off set nothing; a name not UTF-8 was read with U+FFFD for its byte, and turned off
    another filter than the user's. Either way the user's program ran in the captures and
    restores of a shadow run (commits mode runs it, as `git add` would, for what it commits:
    commitview.py)."""
    ran = tmp_path / "filter-ran"
    repo.git("config", f"filter.{name}.clean", f"sh -c 'echo x >> {ran}; tr a-z A-Z'")
    repo.git("config", f"filter.{name}.smudge", "cat")
    repo.write(".gitattributes", b"* filter=%s\n.gitattributes -filter\n" % os.fsencode(name))
    repo.write("a.txt", b"base\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.write("a.txt", b"yours\n")
    ran.unlink()
    before = oracle.walk(repo.path)
    op = "echo op > a.txt; echo n > new.txt; exit 1"
    repo.atomic("run", "--history", "shadow", "--", "sh", "-c", op, check=1)
    assert not ran.exists(), "the user's filter ran inside git-atomic's own calls"
    assert oracle.walk(repo.path) == before
    repo.atomic("undo", check=0)
    assert not ran.exists(), "the user's filter ran inside git-atomic's own calls"
    assert repo.read("a.txt") == b"op\n" and repo.read("new.txt") == b"n\n"


@pytest.mark.parametrize("configured", [True, False], ids=["its-filter", "another-filter"])
def test_a_filter_attribute_not_utf8_in_commits_mode(
    repo: GitRepo, tmp_path: Path, configured: bool
) -> None:
    """`* filter=caf\\351` (t0021: a driver's name is any bytes), with filters configured:
    commits mode reads the changed files as `git add` would, and stopped on an internal error
    (UnicodeDecodeError, exit 3) before the operation ran. Now the name is compared as bytes:
    the user's filter `caf\\351` is applied as git applies it, another filter's is not."""
    name = "caf\udce9" if configured else "other"
    repo.git("config", f"filter.{name}.clean", "tr a-z A-Z")
    repo.git("config", f"filter.{name}.smudge", "cat")
    repo.write(".gitattributes", b"* filter=caf\xe9\n.gitattributes -filter\n")
    repo.write("a.txt", b"base\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.write("a.txt", b"yours\n")
    before = repo.fingerprint()
    op = "echo op > a.txt; echo n > new.txt; exit 1"
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", op, check=1)
    assert repo.fingerprint() == before
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", "echo op > new.txt", check=0)
    assert repo.read("new.txt") == b"op\n"
    committed = repo.git("cat-file", "-p", "HEAD:new.txt")
    assert committed == ("OP\n" if configured else "op\n"), "not as git add would commit it"


def test_a_split_index_link_is_found_across_every_chunk_boundary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """splitindex.py reads an index a chunk at a time: a shared index's name that straddles
    two chunks is found, one in the file's own checksum (its last bytes) is not."""
    from git_atomic.engine import splitindex

    monkeypatch.setattr(splitindex, "_CHUNK", 7)
    oid = bytes(range(1, 21))
    for at in range(0, 40):
        data = bytearray(b"\xff" * 80)
        data[at : at + 20] = oid
        path = tmp_path / f"index-{at}"
        path.write_bytes(bytes(data))
        assert splitindex._found(path, {"s": oid}, 20) == "s", at
    path.write_bytes(b"\xff" * 60 + oid)  # only as the checksum
    assert splitindex._found(path, {"s": oid}, 20) is None


_YOUR_LINKS = {
    "a folder of branches": ("refs/heads/team", "team"),
    "a branch": ("refs/heads/solo", "solo"),
    "a folder of reflogs": ("logs/refs/heads/team", "logs-team"),
}


@pytest.mark.parametrize("start", ["run", "begin", "agent turn"])
@pytest.mark.parametrize("which", sorted(_YOUR_LINKS))
def test_a_link_of_yours_in_the_refs_is_refused_where_an_operation_starts(
    tmp_path: Path, which: str, start: str
) -> None:
    """`.git/refs/heads/team -> /elsewhere/team` (refs kept outside, a layout of yours): the
    first capture set it aside as if an operation had made it, made a real folder with the
    branches its reflog named, and a branch whose reflog is off (`core.logAllRefUpdates
    false`) was gone from the repository. Kept, git would write every ref update outside, where
    no rollback takes it back. Refused now where an operation or a turn starts, by name, exit 3
    (a turn: the hook answers, nothing checkpointed); the link and what it points to stay."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.git("config", "core.logAllRefUpdates", "false")
    repo.git("branch", "team/x")
    repo.git("branch", "solo")
    repo.git("branch", "team/y")
    repo.git("reflog", "expire", "--expire=now", "--all")
    outside = tmp_path / "outside"
    outside.mkdir()
    rel, name = _YOUR_LINKS[which]
    if rel.startswith("logs/"):
        repo.git("update-ref", "-m", "log", "refs/heads/team/x", "HEAD")  # a reflog to link
        (repo.path / ".git" / "logs" / "refs" / "heads" / "team").mkdir(parents=True, exist_ok=True)
    (repo.path / ".git" / rel).rename(outside / name)
    (repo.path / ".git" / rel).symlink_to(outside / name)
    branches = repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads")
    before, out_before = oracle.walk(repo.path), oracle.walk_exact(outside)
    said = f".git/{rel} is a symbolic link"
    if start == "agent turn":
        res = claude_hook(
            repo, "s1", "PreToolUse", tool_name="Bash", tool_input={"command": "true"}, check=False
        )
        assert said in res.stdout + res.stderr and "Traceback" not in res.stderr, res
    else:
        args = ("run", "--", "sh", "-c", "echo x > made") if start == "run" else ("begin", "op")
        res = repo.atomic(*args, check=3)
        assert said in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert repo.atomic("status").stdout.startswith("no operation is open")
    assert os.readlink(repo.path / ".git" / rel) == str(outside / name)
    assert repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads") == branches
    assert oracle.walk(repo.path) == before and oracle.walk_exact(outside) == out_before
