"""The differential test's set-up and its one scenario (tests/test_differential.py draws them at
random, tests/test_settings_layouts.py names them): a repository in one of the layouts git
supports, a tree, the settings that tell git to look less closely, a failing operation run by
the real CLI, and every comparison with the oracle (testing/oracle.py), which never asks git
about the files."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from testing import oracle
from testing.gitrepo import GitRepo, hermetic_env

LAYOUTS = (
    "plain",
    "worktree",
    "gitfile",
    "submodule",
    "dotfiles",
    "sparse",
    "alternates",
    "sha256",
    "subdir",
    "coreworktree",
    "relworktree",
    "linkpath",
    "nocone",
    "oddpath",
    "oddworktree",
)
# Where the odd layouts put the worktree: a space, and bytes that are not UTF-8 (as Python's
# file system encoding carries them).
ODD_FOLDER = "sp ace \udcff\udcfe"
# What an operation may touch. With `protect` drawn, `*.env` and `build/` are ignored and
# `*.env` protected: x.env in a folder git looks into, build/y.env inside an ignored one.
PATHS = ["a", "b.sh", "e.txt", "g", "dir/c", "dir/f.bin", "dir/sub/d.bin", "x.env", "build/y.env"]
# Names git quotes or a shell splits: a leading dash, a newline, a tab and a backslash, bytes
# that are not UTF-8 (as Python's file system encoding carries them), one of 250 bytes.
ODD_PATHS = [
    "-dash",
    "new\nline",
    "dir/tab\tback\\slash",
    "\udcff\udcfe",
    "L" * 250,
    "sp ace/\u00fc \u00e9.txt",  # a space, and letters not ASCII (NFC, as typed)
]
PATHS += ODD_PATHS
# `a` in another letter case: one file to a git that believes a drawn `core.ignoreCase`.
PATHS.append("A")
# The tree may also hold an ignored file nobody protects: never captured, never touched.
TREE_PATHS = [*PATHS, "build/o"]
# Where an operation puts a link to the marker folder outside the repository (a folder, a
# folder in a folder, a file); the tree may hold one there from the start too ("outlink").
OUTLINK_AT = ["dir", "dir/sub", "g"]
IGNORE_RULES = b"*.env\nbuild/\n"
PROTECT = 'protect = ["*.env"]\n'
# With `budget` drawn, new untracked files over BUDGET bytes are not captured (issue 14 point
# 7): CONTENTS holds sizes on both sides of it (0, 4 | 12, 18, 20).
BUDGET = 10
# The marker folder outside: the names a write through a link to it would land on.
MARKER = ("c", "f.bin", "sub/d.bin", "d.bin", "a", "dir/c")
# The last one is larger than a file the LFS store's content is kept for (engine/lfskeep.py).
CONTENTS = [
    "",
    "one\n",
    "two\r\nlines\r\n",
    "two\nlines\n",  # the same with LF: a change of line ends only (10 bytes: the budget)
    "#!/bin/sh\necho hi\n",
    "version https://lfs\n",
    "$Id$\n",  # expanded by the `ident` attribute
    "caf\u00e9\n",  # not ASCII: `working-tree-encoding` changes its bytes in git
    "".join(f"large line {i:05d}\n" for i in range(1200)),
]

# `.gitattributes` lines for every file (committed before the tree is built, so the tree's
# blobs went through them): line ends, `$Id$` expansion, another encoding on disk than in git,
# and a filter that is a real program and does not give back what it was given (clean makes
# upper case, smudge lower case).
ATTRIBUTES = {
    "eol": b"* text eol=crlf\n",
    "text-auto": b"* text=auto\n",
    "ident": b"* ident\n",
    "encoding": b"* working-tree-encoding=ISO-8859-1\n",
    "upper": b"* filter=upper\n",
    # The same program under a name no `-c` can turn off ("=") that is not UTF-8 (t0021: a
    # driver's name is any bytes).
    "odd-name": b"* filter=up=per\xe9\n",
}
_FILTER_NAMES = {"upper": "upper", "odd-name": "up=per\udce9"}
# Each setting with the values a user may give it. "fsmonitor" is a hook that answers
# "nothing changed", or `true`: git's own daemon, which a git built without it (this one, on
# Linux) takes for none; "filter" a clean filter that is required and cannot run (git-lfs on a
# machine without it), or ("lfs") one that works as git-lfs's does: the content in the LFS
# store, the pointer in git, from the first commit on; "hooks" a hooks folder whose every
# hook logs and fails; "replace" replace refs (`git replace`) that give every blob of HEAD and
# the index other bytes, and HEAD's commit another tree.
SETTINGS: dict[str, list[str]] = {
    "core.fileMode": ["false"],
    "core.symlinks": ["false"],
    "core.trustctime": ["false"],
    "core.checkStat": ["minimal"],
    "core.ignoreStat": ["true"],
    "core.fsmonitor": ["HOOK", "true"],
    "core.untrackedCache": ["true", "false"],
    "core.ignoreCase": ["true"],
    # Names taken as macOS decomposes them (git elsewhere ignores it: drawn for what it says to
    # a reader of the config, as a repository copied from a Mac has it).
    "core.precomposeUnicode": ["true"],
    # Sparse checkout turned off, its skip-worktree entries left (the sparse layouts): git
    # still skips their files, and a sparse index is made full.
    "core.sparseCheckout": ["false"],
    "core.autocrlf": ["true", "input"],
    "core.eol": ["crlf"],
    "core.safecrlf": ["true"],
    "core.splitIndex": ["true"],
    "core.preloadIndex": ["false"],
    "index.version": ["4"],
    "feature.manyFiles": ["true"],
    "status.showUntrackedFiles": ["no"],
    "diff.ignoreSubmodules": ["all"],
    "core.hooksPath": ["HOOKS"],
    "filter": ["missing", "lfs"],
    "replace": ["objects"],
    "attributes": list(ATTRIBUTES),
    # git 2.40's: an index written with no checksum (a setting earlier gits do not know).
    "index.skipHash": ["true"],
    # Your own ignore file, outside the repository: it ignores `build/o` (EXCLUDED).
    "core.excludesFile": ["FILE"],
    # Tracked entries flagged so that git does not look at their files (ENTRY_FLAGS' paths).
    "entries": ["assume-unchanged", "skip-worktree"],
    # Your own attributes file outside the repository (`core.attributesFile`, as a global
    # `~/.config/git/attributes` is), set after the tree was committed: one of ATTRIBUTES' lines.
    "core.attributesFile": list(ATTRIBUTES),
    # Where the drawn settings are written: your global config (~/.gitconfig, where the
    # repository's own `core.filemode`, which `git init` wrote, wins, as it does for you), the
    # worktree's own (`extensions.worktreeConfig`, config.worktree), or a file the repository's
    # config includes for its git dir (`includeIf "gitdir:..."`), or one it includes while the
    # branch checked out is the one at the start (`includeIf "onbranch:..."`: an operation's
    # `branch` step turns them off) or ("opbranch") one of the operation's `branch` steps
    # (which turns them on). Not drawn: the repository's own.
    "config.in": ["global", "worktree", "include", "onbranch", "opbranch"],
    # What git reads of an index and may write into it (extensions EOIE and IEOT, read by
    # threads), and where a file is big enough for git to stream it and take it as binary.
    "index.recordOffsetTable": ["true"],
    "core.bigFileThreshold": ["1"],
    # A shared index whose old files go at once (with core.splitIndex drawn: every write).
    "splitIndex.sharedIndexExpire": ["now"],
    # The operation's own `git commit` runs `gc --auto` at once, in the foreground, and prunes
    # every object nothing reaches (t5304-prune): GC_SETTINGS.
    "gc": ["now"],
}
GC_SETTINGS = {
    "gc.auto": "1",
    "gc.autoPackLimit": "1",
    "gc.autoDetach": "false",
    "gc.pruneExpire": "now",
    "gc.reflogExpire": "now",
    "gc.reflogExpireUnreachable": "now",
}
EXCLUDED = b"build/o"
# The tracked paths the drawn `entries` flag (those the tree tracks).
ENTRY_FLAGS = ("a", "dir/c", "e.txt", "g")
HOOK_NAMES = (
    "pre-commit",
    "post-commit",
    "post-checkout",
    "post-index-change",
    "reference-transaction",
    "pre-auto-gc",
    "post-rewrite",
)


@dataclass
class Where:
    repo: GitRepo  # its path is the worktree; its env finds the repository (GIT_DIR: dotfiles)
    cwd: Path  # where the user runs `git atomic`


def make_layout(layout: str, base: Path, *, sparse_index: bool = True) -> Where:
    """`sparse_index`: the sparse layout's index is a sparse one (else a full index, as git
    needs for a split index: it refuses `core.splitIndex` with a sparse index)."""
    home = base / "home"
    if layout == "plain":
        repo = GitRepo.create(base / "r", home)
        return Where(repo, repo.path)
    if layout == "linkpath":  # the worktree reached through a link to a folder above it
        real = base / "real"
        GitRepo.create(real / "r", home)
        (base / "via").symlink_to(real)
        repo = GitRepo(base / "via" / "r", hermetic_env(home))
        return Where(repo, repo.path)
    if layout == "subdir":  # the user is in a folder of the worktree the operation may remove
        repo = GitRepo.create(base / "r", home)
        repo.write("dir/sub/here", b"the user's folder\n")
        repo.git("add", "dir/sub/here")
        repo.git("commit", "-qm", "here")
        return Where(repo, repo.path / "dir" / "sub")
    if layout == "relworktree":  # t1501: GIT_DIR, and a core.worktree relative to it
        env = hermetic_env(home)
        git_dir, work = base / "repo.git", base / "work"
        work.mkdir()
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", "main", str(git_dir)], env=env, check=True
        )
        for key, value in (("core.bare", "false"), ("core.worktree", "../work")):
            subprocess.run(
                ["git", "--git-dir", str(git_dir), "config", key, value], env=env, check=True
            )
        repo = GitRepo(work, {**env, "GIT_DIR": str(git_dir)})
        _first_commit(repo)
        return Where(repo, work)
    if layout == "coreworktree":  # GIT_DIR names a git dir whose core.worktree is elsewhere
        env = hermetic_env(home)
        git_dir, work = base / "cw.git", base / "w"
        work.mkdir()
        subprocess.run(
            ["git", "init", "-q", "--bare", "-b", "main", str(git_dir)], env=env, check=True
        )
        for key, value in (("core.bare", "false"), ("core.worktree", str(work))):
            subprocess.run(
                ["git", "--git-dir", str(git_dir), "config", key, value], env=env, check=True
            )
        repo = GitRepo(work, {**env, "GIT_DIR": str(git_dir)})
        _first_commit(repo)
        return Where(repo, work)
    if layout == "sha256":  # object ids of SHA-256: the id of nothing, the empty tree differ
        repo = GitRepo.create(base / "r", home, object_format="sha256")
        return Where(repo, repo.path)
    if layout == "sparse":  # a cone that leaves `out/` out, with a sparse index
        repo = GitRepo.create(base / "r", home)
        repo.write("out/deep/b", b"outside the cone\n")
        repo.git("add", "out")
        repo.git("commit", "-qm", "out")
        repo.git("config", "index.sparse", "true" if sparse_index else "false")
        repo.git("sparse-checkout", "set", "--cone", "dir")
        return Where(repo, repo.path)
    if layout == "nocone":  # sparse patterns of the older kind (core.sparseCheckoutCone=false)
        repo = GitRepo.create(base / "r", home)
        repo.write("out/deep/b", b"outside the patterns\n")
        repo.git("add", "out")
        repo.git("commit", "-qm", "out")
        # Every file but `out/` and any `*.bin` (a pattern by name, which cone mode cannot say);
        # git needs a full index for them.
        repo.git("sparse-checkout", "set", "--no-cone", "/*", "!/out/", "!*.bin")
        return Where(repo, repo.path)
    if layout == "oddpath":  # the worktree in a folder whose name has a space and is not UTF-8
        repo = GitRepo.create(base / ODD_FOLDER / "r", home)
        return Where(repo, repo.path)
    if layout in ("worktree", "oddworktree"):  # a linked worktree (at an odd name too)
        main = GitRepo.create(base / "main", home)
        wt = base / ("wt" if layout == "worktree" else ODD_FOLDER)
        main.git("worktree", "add", "-q", "-b", "wt", str(wt))
        repo = GitRepo(wt, main.env)
        return Where(repo, repo.path)
    if layout == "gitfile":
        env = hermetic_env(home)
        subprocess.run(
            ["git", "init", "-q", "-b", "main", "--separate-git-dir", str(base / "gd"), "r"],
            cwd=base,
            env=env,
            check=True,
        )
        repo = GitRepo(base / "r", env)
        _first_commit(repo)
        return Where(repo, repo.path)
    if layout == "submodule":
        inner = GitRepo.create(base / "inner", home)
        outer = GitRepo.create(base / "outer", home)
        outer.git(
            "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "m"
        )
        outer.git("commit", "-qm", "submodule")
        repo = GitRepo(outer.path / "m", outer.env)
        repo.git("checkout", "-q", "-B", "main")
        return Where(repo, repo.path)
    if layout == "alternates":  # commits only in a store named by the variable
        origin = GitRepo.create(base / "origin", home)
        env = hermetic_env(home)
        subprocess.run(
            ["git", "clone", "-q", "--shared", str(origin.path), str(base / "r")],
            env=env,
            check=True,
        )
        (base / "r" / ".git" / "objects" / "info" / "alternates").unlink()
        objects = str(origin.path / ".git" / "objects")
        repo = GitRepo(base / "r", {**env, "GIT_ALTERNATE_OBJECT_DIRECTORIES": objects})
        return Where(repo, repo.path)
    assert layout == "dotfiles"
    other = GitRepo.create(base / "other", home)  # the folder the user happens to be in
    git_dir, work = base / "dotfiles.git", base / "dots"
    work.mkdir()
    env = hermetic_env(home)
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(git_dir)], env=env, check=True)
    repo = GitRepo(work, {**env, "GIT_DIR": str(git_dir), "GIT_WORK_TREE": str(work)})
    _first_commit(repo)
    return Where(repo, other.path)


def _first_commit(repo: GitRepo) -> None:
    repo.write("README", b"hello\n")
    repo.git("add", "README")
    repo.git("commit", "-q", "-m", "initial")


def build(
    repo: GitRepo,
    tree: dict[str, tuple[str, str, str]],
    *,
    outside: Path,
    protect: bool,
    budget: bool = False,
) -> None:
    if protect:
        repo.write(".gitignore", IGNORE_RULES)
        repo.git("add", ".gitignore")
    if protect or budget:
        config = (PROTECT if protect else "") + (
            f"max_new_file_size = {BUDGET}\n" if budget else ""
        )
        repo.write(".git-atomic.toml", config.encode())
        repo.git("add", ".git-atomic.toml")
    for stage in ("commit", "stage", "untracked"):
        added: list[str] = []
        for path, (kind, data, how) in sorted(tree.items()):
            if how != stage:
                continue
            if kind in ("link", "outlink"):
                full = repo.path / path
                if kind == "outlink" and full.is_dir():
                    continue  # a folder the tree holds files in: its files win
                os.makedirs(os.path.dirname(full), exist_ok=True)
                target = str(outside) if kind == "outlink" else "a" if data else "nowhere"
                if not os.path.lexists(full):
                    os.symlink(target, full)
            elif kind == "hardlink":  # a file that is also a file outside (hard links)
                full = repo.path / path
                if oracle.through_link(repo.path, path) or os.path.lexists(full):
                    continue
                there = hardlinks_outside(outside) / path.replace("/", "_")
                there.parent.mkdir(exist_ok=True)
                there.write_bytes(data.encode())
                os.makedirs(os.path.dirname(full), exist_ok=True)
                os.link(there, full)
            elif not oracle.through_link(repo.path, path):
                repo.write(path, data.encode(), mode=0o755 if kind == "exec" else 0o644)
            if how != "untracked" and os.path.lexists(repo.path / path):
                added.append(path)
        if added:  # -f: a tracked file may be ignored; one call for them all
            repo.git("add", "-f", "--sparse", "--", *added)
        if stage == "commit":
            repo.git("commit", "-q", "--allow-empty", "-m", "tree")


_LFS_CLEAN = """\
import hashlib, os, sys
data = sys.stdin.buffer.read()
oid = hashlib.sha256(data).hexdigest()
folder = os.path.join(sys.argv[1], oid[:2], oid[2:4])
os.makedirs(folder, exist_ok=True)
if not os.path.exists(os.path.join(folder, oid)):
    with open(os.path.join(folder, oid), "wb") as fh:
        fh.write(data)
sys.stdout.write("version https://git-lfs.github.com/spec/v1\\n")
sys.stdout.write(f"oid sha256:{oid}\\nsize {len(data)}\\n")
"""
_LFS_SMUDGE = """\
import os, sys
pointer = sys.stdin.buffer.read()
if not pointer.startswith(b"version https://git-lfs"):
    sys.stdout.buffer.write(pointer)
    sys.exit(0)
oid = pointer.decode().split("oid sha256:")[1].split()[0]
with open(os.path.join(sys.argv[1], oid[:2], oid[2:4], oid), "rb") as fh:
    sys.stdout.buffer.write(fh.read())
"""


_UPPER = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read().{}())"


def attributes(
    repo: GitRepo,
    which: str,
    *,
    info: bool = False,
    log: Path | None = None,
    file: Path | None = None,
    config: tuple[str, ...] = (),
) -> None:
    """The drawn attributes line for every file (`.gitattributes` itself left as it is), added
    to `.gitattributes` and committed, or (`info`) to the repository's `info/attributes`, where
    no operation reaches it, or to `file` (your `core.attributesFile`, outside); `upper` and
    `odd-name` are filters that run a program, which writes to `log` each time anyone but the
    operation (DIFF_OP) runs it. `config`: where `git config` writes (`--global`...)."""
    if which in _FILTER_NAMES:
        for name, method in (("clean", "upper"), ("smudge", "lower")):
            script = f'{sys.executable} -c "{_UPPER.format(method)}"'
            if log is not None:
                wrapper = log.parent / f"filter-{which}-{name}.sh"
                wrapper.write_text(
                    f'#!/bin/sh\n[ -n "$DIFF_OP" ] || echo "$0" >> {log}\nexec {script}\n'
                )
                wrapper.chmod(0o755)
                script = str(wrapper)
            repo.git("config", *config, f"filter.{_FILTER_NAMES[which]}.{name}", script)
    line = ATTRIBUTES[which] + b".gitattributes -text -filter -ident -working-tree-encoding\n"
    if file is not None:
        file.write_bytes(line)
        repo.git("config", *config, "core.attributesFile", str(file))
        return
    if info:
        path = repo.git("rev-parse", "--path-format=absolute", "--git-path", "info/attributes")
        Path(path.strip()).parent.mkdir(parents=True, exist_ok=True)
        Path(path.strip()).write_bytes(line)
        return
    old = (repo.path / ".gitattributes").read_bytes() if repo.exists(".gitattributes") else b""
    repo.write(".gitattributes", old + line)
    repo.git("add", ".gitattributes")
    repo.git("commit", "-qm", "attributes")


# The settings a repository can be given by its config alone (no hook, program or commit of
# the harness's): drawn by tests/test_property_exact.py too.
PLAIN_SETTINGS = (
    "core.fileMode",
    "core.symlinks",
    "core.trustctime",
    "core.checkStat",
    "core.untrackedCache",
    "core.ignoreCase",
    "core.autocrlf",
    "core.eol",
    "core.splitIndex",
    "index.version",
    "feature.manyFiles",
    "index.recordOffsetTable",
    "core.bigFileThreshold",
    "splitIndex.sharedIndexExpire",
)


def lfs_filter(repo: GitRepo, base: Path) -> None:
    """A clean and smudge filter that work as git-lfs's do (git-lfs itself need not be
    installed): `*.bin` content goes to the LFS store (`<common dir>/lfs/objects`), git holds
    the pointer."""
    common = repo.git("rev-parse", "--path-format=absolute", "--git-common-dir").strip()
    store = os.path.join(common, "lfs", "objects")
    for name, text in (("clean", _LFS_CLEAN), ("smudge", _LFS_SMUDGE)):
        script = base / f"lfs-{name}.py"
        script.write_text(text)
        repo.git("config", f"filter.lfs.{name}", f"{sys.executable} {script} {store}")
    repo.git("config", "filter.lfs.required", "true")
    repo.write(".gitattributes", b"*.bin filter=lfs diff=lfs merge=lfs -text\n")
    repo.git("add", ".gitattributes")
    repo.git("commit", "-qm", "attributes")


def hardlinks_outside(outside: Path) -> Path:
    """Where the other names of the tree's hard-linked files are: outside the repository."""
    return outside.parent / "hardout"


def make_marker(base: Path) -> Path:
    outside = base / "outside"
    for rel in MARKER:
        (outside / rel).parent.mkdir(parents=True, exist_ok=True)
        (outside / rel).write_bytes(b"OUTSIDE-MARKER " + rel.encode() + b"\n")
    return outside


def visible(
    files: oracle.Files, tracked: set[bytes], *, protect: bool, excluded: bool = False
) -> oracle.Files:
    """What a checkpoint holds of `files`: all but the ignored files nobody protects (unless
    tracked); with `protect`, `*.env` is protected, in an ignored folder too, and so is every
    file in a folder it names (`build/y.env/inner`: a pattern is gitignore-like, tests/
    test_ignore_and_budget.py); `excluded`: your core.excludesFile ignores EXCLUDED."""
    if excluded:
        files = {p: v for p, v in files.items() if p != EXCLUDED or p in tracked}
    if not protect:
        return files
    return {
        p: v
        for p, v in files.items()
        if p in tracked
        or any(part.endswith(b".env") for part in p.split(b"/"))
        or not p.startswith(b"build/")
    }


def visible_folders(folders: set[bytes], *, protect: bool) -> set[bytes]:
    """The empty folders a checkpoint holds of `folders`: all but those a rule ignores (with
    `protect`, `build/` and what is in it)."""
    if not protect:
        return folders
    return {f for f in folders if f != b"build" and not f.startswith(b"build/")}


def replace_objects(repo: GitRepo) -> None:
    """Replace refs over every blob HEAD and the index hold (other bytes) and over HEAD's
    commit (one with no files): what git then reads for those ids is not what they are."""
    blobs = set()
    for line in repo.git("ls-tree", "-r", "HEAD", check=False).splitlines():
        mode, kind, oid = line.split("\t", 1)[0].split()
        if kind == "blob":
            blobs.add(oid)
    for line in repo.git("ls-files", "-s").splitlines():
        mode, oid, _ = line.split("\t", 1)[0].split()
        if mode != "160000":
            blobs.add(oid)
    # As the user (DIFF_OP): hooks drawn before it refuse anyone else's ref updates.
    user = {"DIFF_OP": "user"}
    for blob in sorted(blobs):
        other = repo.git("hash-object", "-w", "--stdin", input=f"replaced {blob}\n".encode())
        repo.git("replace", "-f", blob, other.strip(), env=user)
    head = repo.git("rev-parse", "--verify", "-q", "HEAD", check=False).strip()
    if head:
        empty = repo.git("mktree", input=b"").strip()
        other = repo.git("commit-tree", empty, "-m", "replaced HEAD").strip()
        repo.git("replace", "-f", head, other, env=user)


def configure(repo: GitRepo, chosen: dict[str, str], base: Path) -> Path:
    """Turn the settings on; the log file every hook of the user writes to."""
    log = base / "hooks.log"
    log.write_text("")
    script = f'#!/bin/sh\n[ -n "$DIFF_OP" ] || echo "$0" >> {log}\n'
    where = _config_in(repo, chosen.get("config.in"), base)
    # The filter's attributes are committed first, by a git not yet set up otherwise (a split
    # index drawn with a sparse index makes the user's own `git add` fail).
    for key, value in sorted(chosen.items(), key=lambda kv: kv[0] != "filter"):
        if key == "core.fsmonitor" and value == "HOOK":
            hook = base / "fsmonitor"
            hook.write_text(script + "printf 'tok\\0'\n")
            hook.chmod(0o755)
            value = str(hook)
        elif key == "core.hooksPath":
            hooks = base / "hooks"
            hooks.mkdir()
            for name in HOOK_NAMES:
                (hooks / name).write_text(script + '[ -n "$DIFF_OP" ]\n')
                (hooks / name).chmod(0o755)
            value = str(hooks)
        elif key == "replace":
            replace_objects(repo)
            continue
        elif key == "core.excludesFile":
            excludes = base / "excludes"
            excludes.write_bytes(EXCLUDED + b"\n")
            value = str(excludes)
        elif key == "entries":
            tracked = repo.git("ls-files", "-z", "--", *ENTRY_FLAGS).split("\0")
            flagged = [p for p in tracked if p]
            if flagged:  # as the user (DIFF_OP): hooks drawn with it refuse anyone else's
                option = f"--{value}"  # (past a drawn filter that cannot run, as a user would:
                # a racily clean `*.bin` makes git start it, and a process not there ends it)
                user = {"DIFF_OP": "user"}
                repo.git(*_lax(repo), "update-index", option, "--", *flagged, env=user)
            continue
        elif (key == "filter" and value == "lfs") or key in ("attributes", "config.in"):
            continue  # set up before the tree was built (lfs_filter, attributes)
        elif key == "gc":
            for name, setting in GC_SETTINGS.items():
                repo.git("config", *where, name, setting)
            # Two packs: more than gc.autoPackLimit, so that the next `gc --auto` runs.
            user = {"DIFF_OP": "user"}
            repo.git("repack", "-q", env=user)
            blob = repo.git("hash-object", "-w", "--stdin", input=b"a second pack\n").strip()
            pack = repo.git("rev-parse", "--path-format=absolute", "--git-path", "objects/pack")
            repo.git("pack-objects", "-q", f"{pack.strip()}/pack", input=blob.encode() + b"\n")
            continue
        elif key == "core.attributesFile":
            log_at, file = base / "filters.log", base / "attributes"
            attributes(repo, value, log=log_at, file=file, config=where)
            continue
        elif key == "filter":
            # Committed while the filter still worked, as in a clone made with git-lfs.
            old = repo.read(".gitattributes") if repo.exists(".gitattributes") else b""
            repo.write(".gitattributes", old + b"*.bin filter=lfs diff=lfs merge=lfs -text\n")
            repo.git("add", ".gitattributes")
            # As the user (DIFF_OP): the hooks drawn with it refuse git calls of anyone else.
            repo.git("commit", "-qm", "attributes", env={"DIFF_OP": "user"})
            for field, command in (
                ("clean", "git-lfs-not-installed clean -- %f"),
                ("smudge", "git-lfs-not-installed smudge -- %f"),
                ("process", "git-lfs-not-installed filter-process"),
                ("required", "true"),
            ):
                repo.git("config", *where, f"filter.lfs.{field}", command)
            continue
        repo.git("config", *where, key, value)
    # The user's own git has looked at the tree with these settings (an fsmonitor token, an
    # untracked cache, a split index are in place). It may fail (the missing filter).
    repo.git("status", "--porcelain", check=False)
    log.write_text("")
    return log


def _config_in(repo: GitRepo, where: str | None, base: Path) -> tuple[str, ...]:
    """The options of `git config` that write where the settings are drawn to be."""
    if where == "global":
        return ("--global",)
    if where == "worktree":
        repo.git("config", "extensions.worktreeConfig", "true")
        return ("--worktree",)
    if where in ("include", "onbranch", "opbranch"):
        included = base / "included.config"
        included.write_text("")
        if where == "onbranch":
            branch = repo.git("symbolic-ref", "--short", "HEAD").strip()
            repo.git("config", f"includeIf.onbranch:{branch}.path", str(included))
        elif where == "opbranch":  # the `branch` step's names (tests/test_differential.py)
            for branch in ("side", "op/**"):
                repo.git("config", "--add", f"includeIf.onbranch:{branch}.path", str(included))
        else:
            git_dir = repo.git("rev-parse", "--path-format=absolute", "--git-dir").strip()
            repo.git("config", f"includeIf.gitdir:{git_dir}.path", str(included))
        return ("--file", str(included))
    return ()


def scenario(
    layout: str,
    history: str,
    tree: dict[str, tuple[str, str, str]],
    chosen: dict[str, str],
    ops: list[tuple[str, ...]],
    *,
    watch: bool = False,
    protect: bool = False,
    budget: bool = False,
) -> None:
    """`watch`: Watchman watches the worktree from the start, and a first capture (a `run` of
    `true`) keeps its clock, so that every capture of the scenario is answered by it
    (watcher.py); checked from GIT_TRACE: no capture of the operation runs `git status`.
    `protect`: `*.env` and `build/` ignored, `*.env` protected. `budget`: new untracked files
    over BUDGET bytes are not captured; the oracle finds them by their size on disk.
    The sparse layout drawn with `core.splitIndex` has a full index: git refuses a split index
    with a sparse one (before, the setting was dropped from such examples without a word)."""
    outlinks = any(v[0] == "outlink" for v in tree.values()) or any(
        op[0] == "outlink" for op in ops
    )
    # Not yet drawn together: with protect or a link to a folder outside, a capture may still
    # run `git status` under Watchman, which the watch check below would refuse.
    watch = watch and not protect and not outlinks and not any(op[0] == "configlink" for op in ops)
    with tempfile.TemporaryDirectory() as tmp, _watching(tmp, watch) as watch_root:
        base = Path(tmp)
        where = make_layout(layout, base, sparse_index="core.splitIndex" not in chosen)
        repo = where.repo
        # Watchman takes no root whose name is not UTF-8 (the odd layouts): not watched.
        watch = watch and _watchable(str(repo.path))
        if watch:
            watch_root.append(repo.path)
            subprocess.run(["watchman", "watch", str(repo.path)], capture_output=True, check=True)
            repo.atomic(
                "run", "--history", "shadow", "--no-gates", "--", "true", cwd=where.cwd, check=0
            )
        outside, marker, log, filters = _set_up(
            repo, base, tree, chosen, protect=protect, budget=budget
        )
        env = repo.env
        before_index = oracle.index_entries(env, repo.path)
        tracked = {e[0] for e in before_index}
        excluded = "core.excludesFile" in chosen
        before_files = visible(oracle.walk(repo.path), tracked, protect=protect, excluded=excluded)
        before_empty = visible_folders(oracle.empty_folders(repo.path), protect=protect)
        sizes_before = oracle.sizes(repo.path)
        big_before = _over_budget(sizes_before, tracked, budget=budget)
        inodes_before = oracle.inodes(repo.path)
        head = repo.git("symbolic-ref", "-q", "HEAD", check=False) + repo.git("rev-parse", "HEAD")
        branches = repo.git("for-each-ref", "refs/heads/")
        exclude = (oracle.read_exclude(repo.path, env) or b"").decode("latin-1")
        spec, after_file = base / "ops.json", base / "after.json"
        hardout = hardlinks_outside(outside)
        spec.write_text(
            json.dumps(
                {
                    "root": str(repo.path),
                    "ops": ops,
                    "outside": str(outside),
                    "hardout": str(hardout),
                }
            )
        )
        command = [sys.executable, "-m", "testing.oracle", str(spec), str(after_file)]
        trace = base / "trace"
        res = repo.atomic(
            "run",
            "--json",
            "--history",
            history,
            "--no-gates",
            "--",
            *command,
            cwd=where.cwd,
            env={"GIT_TRACE": str(trace)} if watch else None,
        )
        partial = False
        if any(op[0] == "configlink" for op in ops):
            # Its rollback is refused, nothing changed, until the config is a file again;
            # `recover` then rolls it back, and the rest is judged as for the run's rollback.
            assert res.returncode == 3, f"exit {res.returncode}: {res.stderr}"
            assert "configuration" in res.stderr and "symbolic link" in res.stderr, res.stderr
            assert oracle.walk_exact(outside) == marker, "the marker outside changed"
            linked = oracle.exclude_file(repo.path, repo.env).parent.parent / "config"
            linked.unlink()
            Path(f"{linked}.orig").rename(linked)
            res = repo.atomic("recover", "--json", cwd=where.cwd)
            # A file over the budget that a step deleted or replaced (no checkpoint held it)
            # cannot come back: recover says so, exit 3 (a failed run says so too, exit 1).
            # (or one in a folder a step took away: a FIFO made where `dir` was)
            steps = {os.fsencode(op[1]) for op in ops if len(op) > 1}
            big_gone = any(p in steps or set(_folders_above(p)) & steps for p in big_before)
            partial = res.returncode == 3
            assert res.returncode == 0 or (
                big_gone and res.returncode == 3 and "could not be put back" in res.stderr
            ), f"recover: exit {res.returncode}: {res.stderr}"
        else:
            assert res.returncode == 1, f"exit {res.returncode}: {res.stderr}"
        # core.ignoreCase turns the watcher off; new rules in .git/info/exclude make the next
        # capture look at the whole tree again (the watcher cannot say what they hide).
        # Watchman's names are JSON text: one that is not UTF-8 or holds a newline sends the
        # capture to git's listing too (watcher.py).
        # So does your core.excludesFile, made after the watch's first capture (docs/design.md).
        rules = (
            "core.ignoreCase" in chosen
            or "core.excludesFile" in chosen
            or any(op[0] == "exclude" for op in ops)
            or any(not _watchable(p) for p in [*tree, *(op[1] for op in ops if len(op) > 1)])
        )
        if watch and not rules:
            assert "status --porcelain=v2" not in trace.read_text(), "a capture ran git status"
        result = json.loads(res.stdout)
        assert after_file.exists(), f"the operation did not finish: {res.stderr}"
        after = json.loads(after_file.read_text())
        after_tracked = {os.fsencode(e[0]) for e in after["index"]}
        after_files = visible(
            {os.fsencode(p): tuple(v) for p, v in after["files"].items()},
            after_tracked | tracked,
            protect=protect,
            excluded=excluded,
        )
        after_empty = visible_folders({os.fsencode(p) for p in after["empty"]}, protect=protect)
        after_sizes = {os.fsencode(p): n for p, n in after["sizes"].items()}
        pre = oracle.checkpoint_files(env, repo.path, result["checkpoints"]["pre_op"])
        held_before = {p: v for p, v in before_files.items() if p not in big_before}
        # The budget is for new files: one PRE-OP held (it was small) and the operation grew
        # past it is held still, or the rollback would put back PRE-OP's bytes over the only
        # copy of the operation's.
        # An operation that rewrote the budget's own file (a `git stash` or `rebase` that
        # checks it out through the drawn replace refs, which give it other bytes) leaves the
        # rescue the default budget, or the one before where that is larger (rescue.py): here
        # none of the drawn files is over it.
        config = b".git-atomic.toml"
        same_budget = after_files.get(config) == before_files.get(config)
        big_after = _over_budget(after_sizes, after_tracked, budget=budget and same_budget)
        big_after -= set(held_before)
        assert pre == held_before, "PRE-OP checkpoint: " + _diff(pre, held_before)
        rescue = oracle.checkpoint_files(env, repo.path, result["checkpoints"]["rescue"])
        held_after = {p: v for p, v in after_files.items() if p not in big_after}
        assert rescue == held_after, "rescue checkpoint: " + _diff(rescue, held_after)
        assert oracle.walk_exact(outside) == marker, "the marker outside changed"
        # The other names of hard-linked files: as the operation left them, never written.
        assert oracle.digest_exact(hardout) == after["hardout"], "a file outside changed"
        now = visible(oracle.walk(repo.path), tracked, protect=protect, excluded=excluded)
        # Files over the budget are in no checkpoint: never deleted or overwritten, they stay as
        # the operation left them.
        # So are those that were there before (born before PRE-OP, which the restore asks the
        # filesystem): the operation changed them in place, or tracked them, but did not make
        # them anew (no write, delete, symlink or outlink of theirs or of a folder on their way).
        stayed = big_before - _made_anew(ops, big_before)
        # But one git wrote again from what the operation committed (a rebase, a stash), of
        # the size it had: tracked with the bytes on disk, it stays (restorekeeps.py).
        staged_now = {e[0]: e[2] for e in after["index"] if e[3] == 0}
        stayed |= {
            p
            for p in big_before
            if p in after_files
            and after_sizes.get(p) == sizes_before.get(p)
            and staged_now.get(os.fsdecode(p)) == after_files[p][1]
        }
        left = big_after | stayed
        want = {**held_before, **{p: v for p, v in after_files.items() if p in left}}
        # A file over the budget that the operation only moved (its inode at a name PRE-OP
        # lacked, over the budget) goes back to its name (largegone.py). Where the operation
        # also removed or wrote files, the inode may be one freed and given to a new file
        # (which stays where it is): either is right, as the disk says.
        after_inodes = {os.fsencode(p): n for p, n in after["inodes"].items()}
        moved = _moved_back(want, big_before, big_after, inodes_before, after_inodes)
        if any(op[0] not in ("rename", "mkdir", "branch") for op in ops):
            moved = {q: p for q, p in moved.items() if p in now and q not in now}
        for q, p in moved.items():
            want[p] = want.pop(q)
        # A folder the operation renamed goes back whole (foldermoves.py) with the files in it
        # that no checkpoint holds: one over the budget at its new name (new there, untracked)
        # is at its old name again, as the operation left it (the rollback says so), never
        # deleted.
        for op in ops:
            if op[0] != "rename":
                continue
            src, dst = os.fsencode(op[1]), os.fsencode(op[2])
            for q in sorted(big_after & set(want)):
                p = src + q[len(dst) :]
                if q.startswith(dst + b"/") and q not in now and now.get(p) == want[q]:
                    want[p] = want.pop(q)
        assert now == want, "files after the rollback: " + _diff(now, want)
        now_empty = visible_folders(oracle.empty_folders(repo.path), protect=protect)
        assert budget or now_empty == before_empty, "empty folders after the rollback: " + repr(
            now_empty ^ before_empty
        )
        now_index = oracle.index_entries(env, repo.path)
        assert now_index == before_index, "index after the rollback: " + _entries_diff(
            now_index, before_index
        )
        now_head = repo.git("symbolic-ref", "-q", "HEAD", check=False) + repo.git(
            "rev-parse", "HEAD"
        )
        assert now_head == head, "HEAD after the rollback"
        assert repo.git("for-each-ref", "refs/heads/") == branches, "branches after the rollback"
        now_exclude = (oracle.read_exclude(repo.path, env) or b"").decode("latin-1")
        assert now_exclude == exclude, ".git/info/exclude after the rollback"
        assert log.read_text() == "", "the user's hooks ran: " + log.read_text()
        # Commits mode runs the user's filters, as `git add` would, for what it commits.
        ran = filters.read_text() if history == "shadow" else ""
        assert ran == "", "the user's filters ran: " + ran
        if partial:
            # What stands where the large file was (a FIFO a step made) is a change since the
            # state recover saved: an `undo` of git's half-way state on top of it is refused.
            return
        repo.atomic("undo", cwd=where.cwd, check=0)
        now = visible(
            oracle.walk(repo.path), after_tracked | tracked, protect=protect, excluded=excluded
        )
        # What was moved back: `undo` moves it again (found as a move from the state it
        # returns to), where nothing it writes stands in the way.
        undone = dict(after_files)
        for q, p in moved.items():
            if p in now and q not in now:
                undone[p] = undone.pop(q)
        assert now == undone, "files after undo: " + _diff(now, undone)
        now_empty = visible_folders(oracle.empty_folders(repo.path), protect=protect)
        assert budget or now_empty == after_empty, "empty folders after undo: " + repr(
            now_empty ^ after_empty
        )
        assert oracle.walk_exact(outside) == marker, "the marker outside changed"
        assert oracle.digest_exact(hardout) == after["hardout"], "a file outside changed"
        stored = repo.git("cat-file", "--batch-all-objects", "--batch", check=False)
        assert "OUTSIDE-MARKER" not in stored, "a file from outside was read into the store"
        now_exclude = (oracle.read_exclude(repo.path, env) or b"").decode("latin-1")
        assert now_exclude == after["exclude"], ".git/info/exclude after undo"
        ran = filters.read_text() if history == "shadow" else ""
        assert ran == "", "the user's filters ran: " + ran
        index_after = [(os.fsencode(e[0]), *e[1:]) for e in after["index"]]
        assert [list(e) for e in oracle.index_entries(env, repo.path)] == [
            list(e) for e in index_after
        ], "index after undo"
        assert log.read_text() == "", "the user's hooks ran: " + log.read_text()


def _set_up(
    repo: GitRepo,
    base: Path,
    tree: dict[str, tuple[str, str, str]],
    chosen: dict[str, str],
    *,
    protect: bool,
    budget: bool,
) -> tuple[Path, dict[bytes, tuple[object, ...]], Path, Path]:
    """The marker folder outside, the drawn filters and attributes, the tree, the settings:
    the marker and its exact listing, the log the user's hooks write, and the one their
    filters write."""
    outside = make_marker(base)
    marker = oracle.walk_exact(outside)
    if chosen.get("filter") == "lfs":
        lfs_filter(repo, base)
    filters = base / "filters.log"  # a filter of the user's run by anyone but the operation
    if "attributes" in chosen:
        attributes(repo, chosen["attributes"], log=filters)
    build(repo, tree, outside=outside, protect=protect, budget=budget)
    log = configure(repo, chosen, base)
    filters.write_text("")
    return outside, marker, log, filters


# What another writer (you in an editor, a second session) does after an operation was kept and
# before it is rolled back: names no operation step touches (README is every layout's first
# commit), so that taking the operation's effect back, and `undo`, leave them as written.
OTHER_STEPS = [
    ("write", "README", "yours\n"),
    ("write", "o/new.txt", "one\n"),
    ("write", "o/deep/n.sh", "#!/bin/sh\n"),
    ("write", "fresh", "two\r\nlines\r\n"),
    ("link", "olink", "README"),
    ("stage", "README", "staged\n"),  # written and `git add`ed: the index changes too
    ("session", "o/session.txt", "s\n"),  # a second session's own kept `git atomic run`
    # Steps that move the branch checked out after the operation (a commit of yours on top of
    # it, an amend of its last commit or of yours, a `reset --soft` one commit back): a branch
    # never moves back over them, so HEAD and the branches stay where the writer left them and
    # the operation's effect is taken back (and brought again) in the files and the index.
    ("commit", "README", "committed\n"),
    ("amend", "README", "amended\n"),
    ("reset", "README", ""),
    # A `git stash` of your edit of README (README as HEAD has it again, refs/stash made), a
    # `git gc --prune=now` (refs packed, every object nothing reaches deleted), and a second
    # worktree of the repository that commits a file of its own: a rollback and `undo` leave
    # your stash, and the other worktree's files, index and HEAD, as they are.
    ("stash", "README", "stashed\n"),
    ("gc", "README", ""),
    ("worktree", "o/wt.txt", "in the other worktree\n"),
    # Your sparse checkout widened to take in `out/` (the sparse layouts): git writes
    # `out/deep/b` and clears its skip-worktree flag; your patterns stay as you made them.
    ("sparse", "out/deep/b", ""),
    # Your own flag on README's entry (`update-index --skip-worktree`, as for a config file you
    # keep edited): the rollback and `undo` leave it set.
    ("flag", "README", "skip-worktree"),
    # Unmerged entries of yours with no merge named (as a `stash pop` that conflicted leaves
    # them): `rollback` and `undo` refuse (exit 3, nothing changed) until you resolve them
    # (`git add`), then go on with your resolution staged.
    ("unmerged", "o/clash", "mine\n"),
]
# The steps above that move a branch.
MOVES_BRANCH = ("commit", "amend", "reset")


def _refs_on_disk(repo: GitRepo) -> dict[str, bytes]:
    """How the refs and reflogs lie on disk (not what git says they name): `packed-refs`, HEAD,
    every loose ref and reflog of the common and the worktree's git dir, read as bytes; our own
    (refs/atomic, logs/refs/atomic) and other worktrees' left out."""
    out: dict[str, bytes] = {}
    for flag in ("--git-common-dir", "--git-dir"):
        top = repo.git("rev-parse", "--path-format=absolute", flag).strip()
        for name in ("packed-refs", "HEAD"):
            with contextlib.suppress(FileNotFoundError):
                out[f"{top}/{name}"] = Path(top, name).read_bytes()
        for sub in ("refs", "logs"):
            for dirpath, _dirs, files in os.walk(os.path.join(top, sub)):
                for name in files:
                    full = os.path.join(dirpath, name)
                    if "/refs/atomic" not in full:
                        out[full] = Path(full).read_bytes()
    return out


@dataclass  # not frozen: the expected index gets the other writer's staged entry
class _Seen:
    """The state as the oracle reads it: files and empty folders from the disk, the index
    entries from the index file, HEAD and the branches."""

    files: oracle.Files
    empty: set[bytes]
    index: oracle.Entries
    head: str
    branches: str
    exclude: bytes | None  # .git/info/exclude


def _seen(repo: GitRepo, *, tracked: set[bytes], protect: bool, excluded: bool) -> _Seen:
    index = oracle.index_entries(repo.env, repo.path)
    files = visible(
        oracle.walk(repo.path),
        tracked | {e[0] for e in index},
        protect=protect,
        excluded=excluded,
    )
    head = repo.git("symbolic-ref", "-q", "HEAD", check=False) + repo.git("rev-parse", "HEAD")
    return _Seen(
        files,
        visible_folders(oracle.empty_folders(repo.path), protect=protect),
        index,
        head,
        repo.git("for-each-ref", "refs/heads/"),
        oracle.read_exclude(repo.path, repo.env),
    )


def _same(got: _Seen, want: _Seen, when: str) -> None:
    assert got.files == want.files, f"files {when}: " + _diff(got.files, want.files)
    assert got.empty == want.empty, f"empty folders {when}: {got.empty ^ want.empty!r}"
    assert got.index == want.index, f"index {when}: " + _entries_diff(got.index, want.index)
    assert got.head == want.head, f"HEAD {when}: {got.head!r} != {want.head!r}"
    assert got.branches == want.branches, f"branches {when}: {got.branches} != {want.branches}"
    assert got.exclude == want.exclude, f".git/info/exclude {when}"


def scenario_kept(
    layout: str,
    history: str,
    tree: dict[str, tuple[str, str, str]],
    chosen: dict[str, str],
    ops: list[tuple[str, ...]],
    other: list[int],
    *,
    protect: bool = False,
) -> None:
    """An operation that succeeds and is kept; then another writer (OTHER_STEPS, by index)
    writes, between it and its rollback; then `git atomic rollback` takes its effect back and
    `undo` brings it again. Each time the disk (files, links, modes, empty folders), the index
    entries, HEAD and every branch are what the oracle says: the state before the operation,
    or the one it left, each with the other writer's changes on top, as written."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        where = make_layout(layout, base, sparse_index="core.splitIndex" not in chosen)
        repo = where.repo
        outside, marker, log, filters = _set_up(
            repo, base, tree, chosen, protect=protect, budget=False
        )
        excluded = "core.excludesFile" in chosen
        tracked = {e[0] for e in oracle.index_entries(repo.env, repo.path)}
        before = _seen(repo, tracked=tracked, protect=protect, excluded=excluded)
        spec, after_file = base / "ops.json", base / "after.json"
        hardout = hardlinks_outside(outside)
        spec.write_text(
            json.dumps(
                {
                    "root": str(repo.path),
                    "ops": ops,
                    "outside": str(outside),
                    "hardout": str(hardout),
                    "keep": True,
                }
            )
        )
        command = [sys.executable, "-m", "testing.oracle", str(spec), str(after_file)]
        refs_before = _refs_on_disk(repo)
        res = repo.atomic(
            "run", "--json", "--history", history, "--no-gates", "--", *command, cwd=where.cwd
        )
        assert res.returncode == 0, f"exit {res.returncode}: {res.stderr}"
        op_id = json.loads(res.stdout)["op_id"]
        after = _seen(repo, tracked=tracked, protect=protect, excluded=excluded)
        # A `gc --auto` its commit started packs refs and expires reflogs: an effect in the git
        # dir, which the rollback takes back and `undo` brings again, though no file, index
        # entry or branch differs.
        gitdir_moved = _refs_on_disk(repo) != refs_before
        # The other writer's steps on a path the operation changed (its file, or its index
        # entry: a clean filter its `git add -A` ran again rewrites README's staged content)
        # overlap its effect, which a rollback refuses by design: left out.
        changed = {
            p for p in {*before.files, *after.files} if before.files.get(p) != after.files.get(p)
        }
        changed |= {e[0] for e in set(before.index) ^ set(after.index)}
        other = [i for i in other if os.fsencode(OTHER_STEPS[i][1]) not in changed]
        written, staged = _other_writer(repo, where, other, base, changed)
        # What they left outside this worktree's files and index: the second worktree, the
        # stash; neither a rollback nor `undo` touches it.
        elsewhere = _elsewhere(repo, base)
        if any(OTHER_STEPS[i][0] == "unmerged" for i in other):
            waiting = _seen(repo, tracked=tracked, protect=protect, excluded=excluded)
            for dry in ((), ("--dry-run",)):
                res = repo.atomic("rollback", "--op", op_id, *dry, cwd=_still_in(where))
                assert res.returncode == 3, f"rollback over unmerged entries: {res.stderr}"
                got = _seen(repo, tracked=tracked, protect=protect, excluded=excluded)
                _same(got, waiting, "after a refused rollback")
            repo.git(*_lax(repo), "add", "--sparse", "--", "o/clash", env={"DIFF_OP": "user"})
            entries = oracle.index_entries(repo.env, repo.path)
            staged.append(next(e for e in entries if e[0] == b"o/clash"))
        head = repo.git("symbolic-ref", "-q", "HEAD", check=False) + repo.git("rev-parse", "HEAD")
        if head != after.head:
            # The other writer moved the branch checked out: HEAD stays where they left it,
            # after both, and so does that branch; every other branch moves by
            # compare-and-swap as before. (A commit and a reset one back leave it where the
            # operation did: it then moves back.)
            refs_now = _refs(repo.git("for-each-ref", "refs/heads/"))
            theirs_moved = {b: o for b, o in refs_now.items() if _refs(after.branches).get(b) != o}
            for seen in (before, after):
                seen.head = head
                seen.branches = _listing({**_refs(seen.branches), **theirs_moved})
        # What the rollback takes back, and `undo` brings again (HEAD and the branches the
        # other writer moved, left where they are, set alike).
        moved = after != before
        on_disk = oracle.walk(repo.path)  # (ids in the repository's own format)
        theirs = {p: on_disk[p] for p in written if p in on_disk}
        gone = {p for p in written if p not in on_disk}  # (taken away by git for them)
        for entry in staged:  # their staged files, on top of either state's index
            before.index = _with_entry(before.index, entry)
            after.index = _with_entry(after.index, entry)
        res = repo.atomic("rollback", "--op", op_id, cwd=_still_in(where))
        assert res.returncode == 0, f"rollback: exit {res.returncode}: {res.stderr}"
        took_gitdir = "in the git dir is taken back" in res.stderr
        assert gitdir_moved or not took_gitdir, f"nothing in the git dir changed: {res.stderr}"
        now = _seen(repo, tracked=tracked, protect=protect, excluded=excluded)
        want = {p: v for p, v in {**before.files, **theirs}.items() if p not in gone}
        _same(now, _Seen(want, *_rest(before)), "after the rollback")
        assert _elsewhere(repo, base) == elsewhere, "the other worktree or the stash changed"
        assert oracle.walk_exact(outside) == marker, "the marker outside changed"
        res = repo.atomic("undo", cwd=_still_in(where))
        # An operation that changed nothing has nothing taken back: nothing to undo (exit 2).
        # One whose only effect was in the git dir (refs packed, reflogs expired) has that taken
        # back, where no later writer changed it again, and `undo` brings it again.
        assert res.returncode == (0 if moved or took_gitdir else 2), f"undo: {res.stderr}"
        now = _seen(repo, tracked=tracked, protect=protect, excluded=excluded)
        want = {p: v for p, v in {**after.files, **theirs}.items() if p not in gone}
        _same(now, _Seen(want, *_rest(after)), "after undo")
        assert _elsewhere(repo, base) == elsewhere, "the other worktree or the stash changed"
        assert oracle.walk_exact(outside) == marker, "the marker outside changed"
        assert log.read_text() == "", "the user's hooks ran: " + log.read_text()
        ran = filters.read_text() if history == "shadow" else ""
        assert ran == "", "the user's filters ran: " + ran


def _other_writer(
    repo: GitRepo, where: Where, other: list[int], base: Path, changed: set[bytes]
) -> tuple[list[bytes], list[tuple[bytes, str, str, int, int]]]:
    """Another writer's steps (OTHER_STEPS, by index), as the user (DIFF_OP: the drawn hooks
    and filters log anyone else): the paths written, and README's index entry if staged
    (the unmerged entries of `unmerged` are left for the caller to resolve). A second
    worktree is made at OTHER_WORKTREE in `base`. `changed`: the paths the operation changed
    (a step that would write one of them is not taken)."""
    written: list[bytes] = []
    staged: list[tuple[bytes, str, str, int, int]] = []
    user = {"DIFF_OP": "user"}
    lax = _lax(repo)
    for i in sorted(set(other)):
        kind, path, data = OTHER_STEPS[i]
        full = repo.path / path
        if kind not in ("worktree", "sparse", "flag"):  # (elsewhere, git's to write, none)
            full.parent.mkdir(parents=True, exist_ok=True)
        if kind == "link":
            os.symlink(data, full)
        elif kind == "session":
            script = f"mkdir -p o && printf '{data}' > {path}"
            res = repo.atomic(
                "run",
                "--history",
                "shadow",
                "--no-gates",
                "--",
                "sh",
                "-c",
                script,
                cwd=repo.path,
                env=user,
            )
            assert res.returncode == 0, f"the second session's run: {res.stderr}"
        elif kind == "unmerged":  # stages 1 to 3, no stage 0: a conflict waiting for you
            repo.write(path, data.encode())
            blobs = [
                repo.git("hash-object", "-w", "--stdin", input=f"{side}\n".encode()).strip()
                for side in ("base", "ours", "theirs")
            ]
            info = "".join(f"100644 {oid} {n}\t{path}\n" for n, oid in enumerate(blobs, 1))
            repo.git(*lax, "update-index", "--index-info", input=info.encode(), env=user)
        elif kind == "worktree":  # a second worktree of the repository, its own commit there
            wt = _other_worktree(repo, base, make=True)
            wt.write(path, data.encode())
            wt.git(*lax, "add", "--sparse", "--", path, env=user)
            wt.git(*lax, "commit", "-q", "-m", "in the other worktree", env=user)
            continue
        elif kind == "sparse":  # your sparse checkout widened to `out/`: git writes its file
            # and applies the patterns again: a tracked file outside them goes (not one the
            # operation changed: that would overlap its effect, left out as above).
            how = _sparse(repo)
            if how is None or any(not _in_patterns(p, how) for p in changed):
                continue
            files = oracle.walk(repo.path)
            entries = oracle.index_entries(repo.env, repo.path)
            repo.git(*lax, "sparse-checkout", "add", "out" if how == "cone" else "/out/", env=user)
            now = oracle.walk(repo.path)
            written += [p for p in sorted({*files, *now}) if files.get(p) != now.get(p)]
            for entry in set(oracle.index_entries(repo.env, repo.path)) - set(entries):
                staged = _staged_now(repo, staged, os.fsdecode(entry[0]))
            continue
        elif kind == "flag":
            repo.git(*lax, "update-index", f"--{data}", "--", path, env=user)
            staged = _staged_now(repo, staged, path)
            continue
        elif kind == "gc":  # everything packed, nothing unreachable kept (t5304)
            repo.git(*lax, "gc", "-q", "--prune=now", env=user)
            continue
        elif kind == "stash":  # your edit of README put aside: README as HEAD has it again
            repo.write(path, data.encode())
            plain = {**user, "GIT_NO_REPLACE_OBJECTS": "1"}  # HEAD's own tree
            repo.git(*lax, "stash", "push", "-q", "--", path, env=plain)
            staged = _staged_now(repo, staged, path)
        elif kind == "reset":  # one commit back, the index and files left as they are
            plain = {**user, "GIT_NO_REPLACE_OBJECTS": "1"}  # HEAD's own parent
            parent = repo.git("rev-parse", "-q", "--verify", "HEAD~", check=False, env=plain)
            if parent.strip():
                repo.git("reset", "-q", "--soft", parent.strip(), env=user)
            continue
        else:
            repo.write(path, data.encode(), mode=0o755 if path.endswith(".sh") else 0o644)
            if kind in ("commit", "amend"):
                repo.git(*lax, "add", "--", path, env=user)
                extra = ["--amend"] if kind == "amend" else []
                message = f"{kind} of yours"
                repo.git(*lax, "commit", "-q", "--allow-empty", *extra, "-m", message, env=user)
            if kind in ("stage", "commit", "amend"):
                repo.git(*lax, "add", "--", path, env=user)
                staged = _staged_now(repo, staged, path)
        written.append(os.fsencode(path))
    return written, staged


OTHER_WORKTREE = "other wt"


def _staged_now(
    repo: GitRepo, staged: list[tuple[bytes, str, str, int, int]], path: str
) -> list[tuple[bytes, str, str, int, int]]:
    """`staged` with the index entry of `path` as it is now in place of any earlier one."""
    entries = oracle.index_entries(repo.env, repo.path)
    entry = next(e for e in entries if e[0] == os.fsencode(path))
    return [e for e in staged if e[0] != entry[0]] + [entry]


def _in_patterns(path: bytes, how: str) -> bool:
    """Whether the sparse layouts' patterns, `out/` added, take in `path`: the cone of `dir`
    (and every file at the top), or `/*`, `!/out/`, `!*.bin`, `/out/` (the last that matches
    wins)."""
    if path.startswith(b"out/"):
        return True
    if how == "cone":
        return b"/" not in path or path.startswith(b"dir/")
    return not path.rsplit(b"/", 1)[-1].endswith(b".bin")


def _sparse(repo: GitRepo) -> str | None:
    """How the worktree is sparse: "cone", "patterns", or not (None)."""
    on = repo.git("config", "--bool", "core.sparseCheckout", check=False).strip() == "true"
    cone = repo.git("config", "--bool", "core.sparseCheckoutCone", check=False).strip()
    return None if not on else "cone" if cone == "true" else "patterns"


def _other_worktree(repo: GitRepo, base: Path, *, make: bool = False) -> GitRepo:
    """The other writer's second worktree of the repository (detached: no branch of it),
    with git finding the repository from its `.git` file (not this worktree's GIT_DIR)."""
    path = base / OTHER_WORKTREE
    if make:
        repo.git("worktree", "add", "-q", "--detach", str(path), env={"DIFF_OP": "user"})
    env = {k: v for k, v in repo.env.items() if k not in ("GIT_DIR", "GIT_WORK_TREE")}
    return GitRepo(path, env)


def _elsewhere(repo: GitRepo, base: Path) -> tuple[object, ...]:
    """What the other writer left outside this worktree's files and index: your stash list
    (refs/stash and its log), your sparse patterns, and the second worktree's files, index
    entries and HEAD."""
    plain = {"GIT_NO_REPLACE_OBJECTS": "1"}
    stash = repo.git("log", "-g", "--format=%H", "refs/stash", "--", check=False, env=plain)
    at = repo.git("rev-parse", "--path-format=absolute", "--git-path", "info/sparse-checkout")
    patterns = Path(at.strip()).read_bytes() if Path(at.strip()).exists() else None
    if not (base / OTHER_WORKTREE).exists():
        return (stash, patterns)
    wt = _other_worktree(repo, base)
    head = wt.git("rev-parse", "HEAD", env=plain)
    return (stash, patterns, oracle.walk(wt.path), oracle.index_entries(wt.env, wt.path), head)


def _refs(listing: str) -> dict[str, str]:
    """`for-each-ref refs/heads/`'s lines as branch -> its line."""
    return {line.split("\t", 1)[1]: line for line in listing.splitlines()}


def _listing(refs: dict[str, str]) -> str:
    """The lines of `_refs` as `for-each-ref` prints them (sorted by name)."""
    return "".join(refs[b] + "\n" for b in sorted(refs))


def _lax(repo: GitRepo) -> tuple[str, ...]:
    """`-c` options for the user's own `git add`: on past `core.safecrlf`, and past the drawn
    filter that cannot run (`missing`), which a racily clean `*.bin` makes git start (required
    or not, a process that is not there ends the command): turned off, as a user would."""
    lax: tuple[str, ...] = ("-c", "core.safecrlf=false")
    if "not-installed" in repo.git("config", "--get", "filter.lfs.process", check=False):
        lax += ("-c", "filter.lfs.process=", "-c", "filter.lfs.clean=", "-c", "filter.lfs.smudge=")
        lax += ("-c", "filter.lfs.required=false")
    return lax


def _with_entry(entries: oracle.Entries, entry: tuple[bytes, str, str, int, int]) -> oracle.Entries:
    """`entries` with `entry` in place of the one of its path (or added, in git's order)."""
    return sorted([e for e in entries if e[0] != entry[0]] + [entry], key=lambda e: (e[0], e[3]))


def _still_in(where: Where) -> Path:
    """Where the user runs the next command: their folder, where the operation left it a
    folder of the worktree (not gone, nor a link that leads elsewhere), else the top."""
    cwd = where.cwd
    if not cwd.is_relative_to(where.repo.path):  # the dotfiles layout's other repository
        return cwd
    inside = cwd.is_dir() and cwd.resolve().is_relative_to(where.repo.path.resolve())
    return (
        cwd if inside and not any(p.is_symlink() for p in [cwd, *cwd.parents]) else where.repo.path
    )


def _rest(seen: _Seen) -> tuple[set[bytes], oracle.Entries, str, str, bytes | None]:
    return seen.empty, seen.index, seen.head, seen.branches, seen.exclude


@contextlib.contextmanager
def _watching(tmp: str, watch: bool) -> Iterator[list[Path]]:
    roots: list[Path] = []
    try:
        yield roots
    finally:
        for root in roots:
            subprocess.run(["watchman", "watch-del", str(root)], capture_output=True, check=False)


def _watchable(path: str) -> bool:
    return "\n" not in path and not any("\udc80" <= c <= "\udcff" for c in path)


def _over_budget(sizes: dict[bytes, int], tracked: set[bytes], *, budget: bool) -> set[bytes]:
    """The new untracked files the capture leaves out: over BUDGET bytes, by lstat."""
    if not budget:
        return set()
    return {p for p, n in sizes.items() if n > BUDGET and p not in tracked}


def _moved_back(
    want: oracle.Files,
    big_before: set[bytes],
    big_after: set[bytes],
    inodes_before: dict[bytes, int],
    inodes_after: dict[bytes, int],
) -> dict[bytes, bytes]:
    """(name now -> name it goes back to) for each file over the budget before the operation
    that is gone from its name after the rollback, found by its inode at a name over the
    budget that PRE-OP lacked, where nothing stands in the way of its old name."""
    found = {}
    for p in sorted(big_before):
        if p in want or any(f in want for f in _folders_above(p)):
            continue
        for q in sorted(big_after - big_before):
            if q in want and inodes_after.get(q) == inodes_before.get(p):
                found[q] = p
    return found


def _folders_above(path: bytes) -> list[bytes]:
    parts = path.split(b"/")[:-1]
    return [b"/".join(parts[: i + 1]) for i in range(len(parts))]


def _made_anew(ops: list[tuple[str, ...]], paths: set[bytes]) -> set[bytes]:
    """Those of `paths` the operation removed or made anew, itself or by replacing a folder on
    their way with a link."""
    # (A rename's destination is never one of them: it moves nothing where something is, and
    # a step before it that took that away is counted itself.)
    # (A conflict's path: the operation's own commit there, then git's merge writes it.)
    made = {"write", "delete", "symlink", "outlink", "fifo", "rename", "tofolder", "mkdir"}
    made.add("conflict")
    if any(op[0] == "conflict" and op[2] in ("rebase", "stash") for op in ops):
        # Its own commit (`git add -A`) took in every untracked file, which the rebase's
        # checkout of the other side (or `git stash`) removed and wrote again: new files.
        return set(paths)
    steps = [os.fsencode(op[1]) for op in ops if op[0] in made]
    return {p for p in paths if any(p == q or p.startswith(q + b"/") for q in steps)}


def _diff(got: oracle.Files, want: oracle.Files) -> str:
    return "; ".join(
        f"{p!r}: {got.get(p)} != {want.get(p)}"
        for p in sorted(set(got) | set(want))
        if got.get(p) != want.get(p)
    )


def _entries_diff(got: oracle.Entries, want: oracle.Entries) -> str:
    return "; ".join(
        [f"only now: {e}" for e in got if e not in want]
        + [f"only before: {e}" for e in want if e not in got]
    )
