"""Settings that tell git to look less closely, drawn together (2 to 4 at a time) with a tree
and an operation that edits through their blind spots: a same-size rewrite that keeps the
file's times, a mode-only change, a file replaced by a link, a case-only rename, a CRLF
rewrite. After a failed `run`, after `abort`, and after `rollback --op` with the user's edit
made meanwhile, the disk (lstat, readlink, bytes, empty folders) and the raw index (path, mode,
object, stage, flags per entry) must be exactly what they must be; git's opinion of the files
is never asked. Each example costs about a second: ~25 by default, more with --slow.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from testing import oracle
from testing.gitrepo import GitRepo, State

# Each drawn setting: (git config pairs, or a word the set-up acts on).
SETTINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "checkStat": (("core.checkStat", "minimal"),),
    "trustctime": (("core.trustctime", "false"),),
    "fileMode": (("core.fileMode", "false"),),
    "symlinks": (("core.symlinks", "false"),),
    "ignoreCase": (("core.ignoreCase", "true"),),
    "untrackedCache": (("core.untrackedCache", "true"),),
    "splitIndex": (("core.splitIndex", "true"),),
    "GIT_TEST_SPLIT_INDEX": (),
    "sharedIndexExpire": (("core.splitIndex", "true"), ("splitIndex.sharedIndexExpire", "now")),
    "index4": (("index.version", "4"),),
    "manyFiles": (("feature.manyFiles", "true"),),
    "preloadIndex": (("core.preloadIndex", "false"),),
    "autocrlf-true": (("core.autocrlf", "true"),),
    "autocrlf-input": (("core.autocrlf", "input"),),
    "safecrlf": (("core.safecrlf", "true"),),
    "quotePath": (("core.quotePath", "false"),),
    "precompose": (("core.precomposeUnicode", "true"),),
    "assume-unchanged": (),
    "skip-worktree": (),
    "intent-to-add": (),
    "sparse-cone": (),
    "sparse-patterns": (),
}
# Set once the tree and the work in progress are made: they refuse to add a CRLF file, or one
# of a pair of names that differ only in case (as a repository cloned here, then given them,
# holds both).
LATER = ("core.safecrlf", "core.ignoreCase")
TREE = ("link", "exec", "empty", "case", "crlf", "nonascii")
OPS = (
    "same-stat-rewrite",  # same size, times put back: only the bytes tell
    "mode-only",
    "file-to-link",
    "link-to-file",
    "case-rename",
    "crlf-rewrite",
    "into-empty",
    "delete",
    "into-sparse",  # files where a sparse checkout (if any) left none
    "stage-all",  # `git add -A`, `update-index --chmod`, `commit -a` under the settings
    "chmod-index",
    "commit",
)
# The user's edits while the operation is over, through the same blind spots, on `mine.sh`
# (tracked, which no operation touches) and new files.
USER = ("same-stat-rewrite", "mode-only", "file-to-link", "new-file", "stage")

settings_drawn = st.lists(st.sampled_from(sorted(SETTINGS)), min_size=2, max_size=4, unique=True)
tree_drawn = st.sets(st.sampled_from(TREE))
ops_drawn = st.lists(st.sampled_from(OPS), min_size=1, max_size=3, unique=True)
user_drawn = st.lists(st.sampled_from(USER), min_size=1, max_size=2, unique=True)

# The operation, run by `run` (and by hand inside `begin`/`abort`): a Python script, so that
# `os.utime` with nanoseconds puts a rewritten file's times back.
OP_SCRIPT = r"""
import os, sys
os.chdir(sys.argv[1])
ops = sys.argv[3].split(",")
def keep_times(path, data):
    st = os.lstat(path)
    with open(path, "r+b") as fh:
        fh.write(data)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
for op in ops:
    if op == "same-stat-rewrite":
        keep_times("f.txt", b"HELLO\n")
    elif op == "mode-only":
        os.chmod("f.txt", 0o755)
        if os.path.lexists("run.sh") and not os.path.islink("run.sh"):
            os.chmod("run.sh", 0o644)
    elif op == "file-to-link":
        os.unlink("dir/sub/x")
        os.symlink("../../f.txt", "dir/sub/x")
    elif op == "link-to-file" and os.path.islink("link"):
        os.unlink("link")
        with open("link", "wb") as fh:
            fh.write(b"f.txt")
    elif op == "case-rename" and os.path.lexists("Case.txt"):
        os.rename("Case.txt", "CASE.txt")
    elif op == "crlf-rewrite":
        with open("crlf.txt", "wb") as fh:
            fh.write(b"one\r\ntwo\r\nthree\r\n")
    elif op == "into-empty":
        os.makedirs("empty/new", exist_ok=True)
        with open("empty/new/n.txt", "wb") as fh:
            fh.write(b"new\n")
    elif op == "delete":
        os.unlink("top.txt")
    elif op == "into-sparse":
        os.makedirs("sub2", exist_ok=True)
        with open("sub2/y", "wb") as fh:
            fh.write(b"Y\n")
        with open("sub2/z", "wb") as fh:
            fh.write(b"z\n")
    elif op in ("stage-all", "chmod-index", "commit"):
        import subprocess
        cmd = {
            "stage-all": ["add", "-A"],
            "chmod-index": ["update-index", "--chmod=+x", "top.txt"],
            "commit": ["commit", "-q", "--no-verify", "-am", "op"],
        }[op]
        subprocess.run(["git", *cmd], check=False, capture_output=True)
sys.exit(int(sys.argv[2]))
"""


def _build(base: Path, chosen: list[str], tree: set[str]) -> GitRepo:
    repo = GitRepo.create(base / "r", base / "home")
    if "GIT_TEST_SPLIT_INDEX" in chosen:
        repo.env["GIT_TEST_SPLIT_INDEX"] = "true"
    for name in chosen:
        for key, value in SETTINGS[name]:
            if key not in LATER:
                repo.git("config", key, value)
    if any(name.startswith("autocrlf") or name == "safecrlf" for name in chosen):
        # Out of the operation's reach, as a user's own attributes are.
        (repo.path / ".git" / "info" / "attributes").write_bytes(b"* text=auto\n")
    repo.write("f.txt", b"hello\n")
    repo.write("top.txt", b"top\n")
    repo.write("mine.sh", b"mine\n")
    repo.write("dir/sub/x", b"x\n")
    repo.write("sub2/y", b"y\n")
    if "exec" in tree:
        repo.write("run.sh", b"#!/bin/sh\n", mode=0o755)
    if "link" in tree:
        os.symlink("f.txt", repo.path / "link")
    if "case" in tree:
        repo.write("Case.txt", b"upper\n")
        repo.write("case.txt", b"lower\n")
    if "crlf" in tree:
        repo.write("crlf.txt", b"a\r\nb\r\n")
    if "nonascii" in tree:
        repo.write("ü/ñ.txt", "ü\n".encode())
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "tree")
    if "empty" in tree:
        (repo.path / "empty").mkdir()
    # Work in progress: a staged edit, an unstaged one, an untracked file.
    repo.write("top.txt", b"top staged\n")
    repo.git("add", "top.txt")
    repo.write("top.txt", b"top unstaged\n")
    repo.write("untracked.txt", b"u\n")
    if "assume-unchanged" in chosen:
        repo.git("update-index", "--assume-unchanged", "f.txt")
    if "skip-worktree" in chosen:
        repo.git("update-index", "--skip-worktree", "dir/sub/x")
    if "intent-to-add" in chosen:
        repo.write("ita.txt", b"intent\n")
        repo.git("add", "-N", "ita.txt")
    for name in chosen:
        for key, value in SETTINGS[name]:
            if key in LATER:
                repo.git("config", key, value)
    if "sparse-cone" in chosen:
        repo.git("sparse-checkout", "set", "--cone", "dir")
    elif "sparse-patterns" in chosen:
        repo.git("sparse-checkout", "set", "--no-cone", "/*", "!/sub2/")
    repo.git("status", "--porcelain")  # a warm untracked cache, a stat cache written
    return repo


def _seen(repo: GitRepo) -> tuple[State, frozenset[bytes]]:
    return repo.fingerprint(), frozenset(oracle.empty_folders(repo.path))


def _same(
    got: tuple[State, frozenset[bytes]], want: tuple[State, frozenset[bytes]], when: str
) -> None:
    assert got[0] == want[0], f"{when}: " + "\n".join(got[0].diff(want[0]))
    assert got[1] == want[1], f"{when}: empty folders {sorted(got[1])} != {sorted(want[1])}"


def _op(script: Path, repo: GitRepo, ops: list[str], code: int) -> list[str]:
    return [sys.executable, str(script), str(repo.path), str(code), ",".join(ops)]


def _user(repo: GitRepo, user: list[str]) -> None:
    repo.write("mine-u.txt", b"user edit\n")
    mine = repo.path / "mine.sh"
    for edit in user:
        if edit == "same-stat-rewrite" and not mine.is_symlink():
            st = os.lstat(mine)
            mine.write_bytes(b"MINE\n")
            os.utime(mine, ns=(st.st_atime_ns, st.st_mtime_ns))
        elif edit == "mode-only" and not mine.is_symlink():
            os.chmod(mine, 0o755)
        elif edit == "file-to-link":
            mine.unlink()
            os.symlink("top.txt", mine)
        elif edit == "new-file":
            repo.write("mine-new.txt", b"new\n")
            os.symlink("mine-new.txt", repo.path / "mine-link")
        elif edit == "stage":
            repo.git("add", "--", "mine.sh", "mine-u.txt", check=False)


def _scenario(
    chosen: list[str], tree: set[str], ops: list[str], history: str, user: list[str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        script = base / "op.py"
        script.write_text(OP_SCRIPT)
        repo = _build(base, chosen, tree)
        context = f"settings {chosen}, tree {sorted(tree)}, ops {ops}, {history}, user {user}"
        before = _seen(repo)

        res = repo.atomic(
            "run", "--no-gates", "--history", history, "--", *_op(script, repo, ops, 1)
        )
        assert res.returncode == 1, f"{context}: {res.stderr}"
        _same(_seen(repo), before, f"{context}: after a failed run")

        repo.atomic("begin", "by-hand", "--history", history, check=0)
        code = os.spawnv(os.P_WAIT, sys.executable, _op(script, repo, ops, 0))
        assert code == 0
        res = repo.atomic("abort")
        assert res.returncode in (0, 1), f"{context}: {res.stderr}"
        _same(_seen(repo), before, f"{context}: after abort")

        out = repo.atomic_json(
            "run", "--no-gates", "--history", history, "--", *_op(script, repo, ops, 0)
        )
        assert out["status"] == "committed", f"{context}: {out}"
        index_before = repo.fingerprint().index
        _user(repo, user)
        mine = {b"mine-u.txt", b"mine.sh", b"mine-new.txt", b"mine-link"}
        wanted = _seen(repo)
        index_staged = repo.fingerprint().index
        repo.atomic("rollback", "--op", out["op_id"], check=0)
        files = {p: (k, h) for p, k, h in before[0].files if p not in mine}
        files.update((p, (k, h)) for p, k, h in wanted[0].files if p in mine)
        index = before[0].index
        if index_staged != index_before:  # what the user staged stays staged
            assert index is not None and index_staged is not None
            theirs = {e[0]: e for e in index_staged if e[0] in mine}
            index = tuple(sorted([e for e in index if e[0] not in mine] + list(theirs.values())))
        want = State(
            before[0].head,
            before[0].head_commit,
            before[0].branches,
            index,
            tuple(sorted((p, k, h) for p, (k, h) in files.items())),
        )
        _same(_seen(repo), (want, before[1]), f"{context}: after rollback --op with user edits")


def _examples(config: pytest.Config) -> int:
    return int(
        os.environ.get("GIT_ATOMIC_SETTINGS_EXAMPLES")
        or (300 if config.getoption("--slow") else 25)
    )


def test_settings_drawn_together(request: pytest.FixtureRequest) -> None:
    @settings(
        max_examples=_examples(request.config),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        # A long sweep may leave out shrinking (seconds an example): GIT_ATOMIC_NO_SHRINK=1
        phases=[
            p for p in Phase if p != Phase.shrink or not os.environ.get("GIT_ATOMIC_NO_SHRINK")
        ],
    )
    @given(
        settings_drawn,
        tree_drawn,
        ops_drawn,
        st.sampled_from(["commits", "shadow"]),
        user_drawn,
    )
    def drawn(
        chosen: list[str], tree: set[str], ops: list[str], history: str, user: list[str]
    ) -> None:
        _scenario(chosen, tree, ops, history, user)

    drawn()
