"""An oracle that does not ask git what the worktree holds: it reads the disk (`lstat`,
`readlink`, the bytes, the executable bit), the index (`ls-files -s --debug`: entries, stages
and flags, never git's opinion of the files) and a checkpoint's `files` tree (its raw tree
objects, `cat-file`). tests/test_differential.py compares them.

Also the operation the differential test runs under `git atomic run` (`python -m
testing.oracle OPS.json OUT.json`): it applies the steps, then records what it left.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# (path -> (mode, blob id)): what a `files` tree must hold for the worktree as it is on disk.
Files = dict[bytes, tuple[str, str]]
# (path, mode, object, stage, flags) of every index entry, stat data left out.
Entries = list[tuple[bytes, str, str, int, int]]

# Entry flags a user can set (`ce_flags` as `ls-files --debug` prints them): assume-unchanged,
# intent-to-add, skip-worktree. The others are git's in-memory bookkeeping.
_USER_FLAGS = 0x8000 | (1 << 29) | (1 << 30)


def blob_id(data: bytes, *, sha256: bool = False) -> str:
    digest = hashlib.sha256 if sha256 else hashlib.sha1
    return digest(b"blob %d\0" % len(data) + data).hexdigest()


_blob_id = blob_id


def _sha256(root: Path) -> bool:
    """Whether the repository whose `.git` folder is in `root` has SHA-256 ids (its config
    says so; a `.git` file or a git dir elsewhere: the layouts drawn with SHA-1 only)."""
    try:
        config = (root / ".git" / "config").read_bytes().lower()  # not always UTF-8
    except OSError:
        return False
    return b"objectformat = sha256" in config


def walk(root: Path) -> Files:
    """Every file and symbolic link under `root` (its `.git`, file or folder, left out), as a
    tree would hold it (ids in the repository's own format)."""
    out: Files = {}
    base = os.fsencode(root)
    sha256 = _sha256(root)

    def blob_id(data: bytes) -> str:
        return _blob_id(data, sha256=sha256)

    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == base:
            dirnames[:] = [d for d in dirnames if d != b".git"]
            filenames = [f for f in filenames if f != b".git"]
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, base)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("120000", blob_id(os.readlink(full)))
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    data = fh.read()
                out[rel] = ("100755" if st.st_mode & 0o100 else "100644", blob_id(data))
    return out


def empty_folders(root: Path) -> set[bytes]:
    """Every empty folder under `root` (its `.git` left out, and the folders holding a `.git`
    of their own, whose contents are another repository's), by lstat, no link followed."""
    out: set[bytes] = set()
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == base:
            dirnames[:] = [d for d in dirnames if d != b".git"]
            filenames = [f for f in filenames if f != b".git"]
        elif os.path.lexists(os.path.join(dirpath, b".git")):
            dirnames[:] = []
            continue
        if dirpath != base and not dirnames and not filenames:
            out.add(os.path.relpath(dirpath, base))
    return out


def inodes(root: Path) -> dict[bytes, int]:
    """The inode of every regular file under `root` (its `.git` left out), by lstat."""
    return {path: st.st_ino for path, st in _regular_files(root)}


def sizes(root: Path) -> dict[bytes, int]:
    """The size of every regular file under `root` (its `.git` left out), by lstat."""
    return {path: st.st_size for path, st in _regular_files(root)}


def _regular_files(root: Path) -> list[tuple[bytes, os.stat_result]]:
    """Every regular file under `root` (its `.git` left out) with its lstat."""
    out: list[tuple[bytes, os.stat_result]] = []
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == base:
            dirnames[:] = [d for d in dirnames if d != b".git"]
            filenames = [f for f in filenames if f != b".git"]
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode):
                out.append((os.path.relpath(os.path.join(dirpath, name), base), st))
    return out


Disk = dict[bytes, tuple[object, ...]]


def disk(top: Path, *, modes: bool = False) -> Disk:
    """Every entry under `top` but its own `.git`, by lstat, never through a link: folders
    (empty ones count) as ("dir",), links as ("link", target), files as ("file", bytes), with
    their permission bits too where `modes`."""
    out: Disk = {}

    def visit(folder: bytes, rel: bytes) -> None:
        for name in sorted(os.listdir(folder)):
            if not rel and name == b".git":
                continue
            full, here = folder + b"/" + name, rel + name
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                out[here] = ("link", os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[here] = ("dir",)
                visit(full, here + b"/")
            else:
                with open(full, "rb") as fh:
                    data = fh.read()
                out[here] = ("file", data, stat.S_IMODE(st.st_mode)) if modes else ("file", data)

    visit(os.fsencode(top), b"")
    return out


def walk_exact(top: Path) -> dict[bytes, tuple[object, ...]]:
    """Every entry under `top` with its kind, bytes or target, mode and mtime: a folder that
    must not even be touched (the marker outside the repository)."""
    out: dict[bytes, tuple[object, ...]] = {}
    base = os.fsencode(top)
    for dirpath, dirnames, filenames in os.walk(base):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                content: object = os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    content = fh.read()
            else:
                content = None
            out[os.path.relpath(full, base)] = (st.st_mode, st.st_mtime_ns, content)
    return out


def digest_exact(top: Path) -> dict[str, list[object]]:
    """`walk_exact` as JSON holds it (the bytes as their SHA-1)."""
    return {
        os.fsdecode(rel): [
            mode,
            mtime,
            hashlib.sha1(content).hexdigest() if isinstance(content, bytes) else None,
        ]
        for rel, (mode, mtime, content) in walk_exact(top).items()
    }


def through_link(root: Path, rel: str) -> bool:
    """Whether a folder on the way to `rel` is a link: an operation that writes there writes
    outside (its own doing, not git-atomic's), which the oracle's operation never does."""
    parts = rel.split("/")[:-1]
    return any(os.path.islink(os.path.join(root, *parts[:i])) for i in range(1, len(parts) + 1))


def _through_a_file(root: Path, rel: str) -> bool:
    """Whether a folder on the way to `rel` is a file or a FIFO (a step made it one): nothing
    can be made under it, so the step is skipped, as `mkdir -p` would fail it."""
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        here = os.path.join(root, *parts[:i])
        if os.path.lexists(here) and not os.path.isdir(here):
            return True
    return False


def _git(env: Mapping[str, str], cwd: Path, *args: str, input: str | None = None) -> bytes:
    # The user's fsmonitor must not answer for the oracle either, nor their replace refs
    # (`git replace`) say what an object holds.
    return subprocess.run(
        ["git", "-c", "core.fsmonitor=false", *args],
        cwd=cwd,
        env={**env, "GIT_OPTIONAL_LOCKS": "0", "GIT_NO_REPLACE_OBJECTS": "1"},
        input=input.encode() if input is not None else None,
        capture_output=True,
        check=True,
    ).stdout


def index_entries(env: Mapping[str, str], cwd: Path) -> Entries:
    """The index as entries: `ls-files -s --debug` reads the file and nothing else."""
    entries: Entries = []
    # With -z each entry's line ends in NUL and its debug lines follow, the last one with its
    # flags: the path is taken as it is (a newline, a tab, bytes not UTF-8), never quoted.
    chunks = _git(env, cwd, "ls-files", "-s", "--debug", "-z").split(b"\0")
    for chunk in chunks:
        if entries:
            debug, _, chunk = _after_flags(chunk)
            flags = int(debug.rsplit(b"flags:", 1)[1].strip(), 16) & _USER_FLAGS
            entries[-1] = (*entries[-1][:4], flags)
        if chunk:
            head, _, path = chunk.partition(b"\t")
            mode, oid, stage = head.decode().split()
            entries.append((path, mode, oid, int(stage), 0))
    return entries


def _after_flags(chunk: bytes) -> tuple[bytes, bytes, bytes]:
    """An entry's debug lines (up to its `flags:` line) and what follows: the next entry."""
    at = chunk.index(b"\n", chunk.index(b"flags:"))
    return chunk[:at], b"\n", chunk[at + 1 :]


def checkpoint_files(env: Mapping[str, str], cwd: Path, commit: str) -> Files:
    """A checkpoint's `files` tree, read from its raw tree objects."""
    top = _git(env, cwd, "cat-file", "commit", commit).split(b"\n", 1)[0].split()[1].decode()
    files = dict(_tree(env, cwd, top))[b"files"]
    out: Files = {}

    def read(oid: str, prefix: bytes) -> None:
        for name, (mode, child) in _tree(env, cwd, oid):
            if mode == "40000":
                read(child, prefix + name + b"/")
            else:
                out[prefix + name] = (mode, child)

    read(files[1], b"")
    return _kept_content_ids(env, cwd, out)


# A blob of a checkpoint that stands for Git LFS content kept outside .git/objects by a hard
# link (engine/lfskeep.py): its format, as the oracle reads it.
_KEPT_MAGIC = b"git-atomic: Git LFS content kept outside .git/objects (.git/atomic/lfs)\n"


def _kept_content_ids(env: Mapping[str, str], cwd: Path, files: Files) -> Files:
    """`files` with each marker for kept LFS content replaced by the id of the blob of that
    content, read from the hard link and checked against the marker's SHA-256 and size here
    (a marker whose content is not there stays: it then matches nothing on disk)."""
    regular = sorted({oid for mode, oid in files.values() if mode in ("100644", "100755")})
    if not regular:
        return files
    raw = _git(env, cwd, "cat-file", "--batch", input="".join(o + "\n" for o in regular))
    ids: dict[str, str] = {}
    pos = 0
    for oid in regular:
        nl = raw.index(b"\n", pos)
        size = int(raw[pos:nl].split()[2])
        data = raw[nl + 1 : nl + 1 + size]
        pos = nl + 1 + size + 1
        if not data.startswith(_KEPT_MAGIC):
            continue
        fields = dict(line.split(b" ", 1) for line in data[len(_KEPT_MAGIC) :].splitlines())
        digest, length = fields[b"oid"].decode().removeprefix("sha256:"), int(fields[b"size"])
        common = _git(env, cwd, "rev-parse", "--path-format=absolute", "--git-common-dir")
        kept = Path(common.decode().strip()) / "atomic" / "lfs" / "objects" / digest
        content = kept.read_bytes() if kept.is_file() else b""
        if len(content) == length and hashlib.sha256(content).hexdigest() == digest:
            ids[oid] = blob_id(content, sha256=len(oid) == 64)
    return {path: (mode, ids.get(oid, oid)) for path, (mode, oid) in files.items()}


def _tree(env: Mapping[str, str], cwd: Path, oid: str) -> list[tuple[bytes, tuple[str, str]]]:
    raw = _git(env, cwd, "cat-file", "tree", oid)
    width = len(oid) // 2  # 20 bytes (SHA-1) or 32 (SHA-256), as the tree's own id
    entries, pos = [], 0
    while pos < len(raw):
        space = raw.index(b" ", pos)
        nul = raw.index(b"\0", space)
        mode, name = raw[pos:space].decode(), raw[space + 1 : nul]
        entries.append((name, (mode, raw[nul + 1 : nul + 1 + width].hex())))
        pos = nul + 1 + width
    return entries


def _times(*paths: bytes) -> list[tuple[bytes, tuple[int, int]]]:
    """The access and modification times of each of `paths` that is there (not a link)."""
    out = []
    for path in paths:
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            if not stat.S_ISLNK(st.st_mode):
                out.append((path, (st.st_atime_ns, st.st_mtime_ns)))
    return out


def apply_ops(root: Path, ops: list[list[str]], outside: str | None = None) -> None:
    """The operation's steps, on the disk (and `commit` through git, as an agent would). A step
    whose path goes through a link is skipped (it would write outside: the operation's doing);
    `outlink` replaces what is at its path (a folder too) by a link to `outside`."""
    import shutil

    base = os.fsencode(root)
    for op in ops:
        kind, rel = op[0], os.fsencode(op[1]) if len(op) > 1 else b""
        full = os.path.join(base, rel)
        if rel and (through_link(root, op[1]) or _through_a_file(root, op[1])):
            continue
        if kind == "outlink":
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            elif os.path.lexists(full):
                os.unlink(full)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            os.symlink(outside or "/nonexistent", full)
        elif kind in ("write", "symlink"):
            # A write whose mode is "t" keeps the times (`cp -p`, `rsync -t`, `tar x`): the
            # file's mtime, where there was one, and its folder's, where the folder was there:
            # git's untracked cache trusts a folder's mtime, its racy rule a file's.
            kept = _times(full, os.path.dirname(full)) if kind == "write" and op[3] == "t" else []
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            elif os.path.lexists(full):
                os.unlink(full)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            if kind == "symlink":
                os.symlink(op[2], full)
            else:
                with open(full, "wb") as fh:
                    fh.write(op[2].encode())
                os.chmod(full, 0o755 if op[3] == "x" else 0o644)
            for at, times in kept:
                if os.path.lexists(at) and not os.path.islink(at):
                    os.utime(at, ns=times, follow_symlinks=False)
        elif kind == "fifo":  # a FIFO where a file, a link or a folder was
            if os.path.isdir(full) and not os.path.islink(full):
                shutil.rmtree(full)
            elif os.path.lexists(full):
                os.unlink(full)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            os.mkfifo(full)
        elif kind == "delete" and os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)  # a folder a step made where a file was (`tofolder`)
        elif kind == "delete" and os.path.lexists(full):
            os.unlink(full)
        elif kind == "rename":  # `mv` of a file or a link (a folder too) to a free name
            dest = os.path.join(base, os.fsencode(op[2]))
            blocked = through_link(root, op[2]) or _through_a_file(root, op[2])
            blocked = blocked or (dest + b"/").startswith(full + b"/")  # a folder into itself
            if os.path.lexists(full) and not os.path.lexists(dest) and not blocked:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                os.rename(full, dest)
        elif kind == "mkdir":  # an empty folder, where nothing is
            if not os.path.lexists(full):
                os.makedirs(full)
        elif kind == "tofolder":  # a file or a link swapped for a folder holding a file
            if os.path.lexists(full) and not (os.path.isdir(full) and not os.path.islink(full)):
                os.unlink(full)
                os.makedirs(full)
                with open(os.path.join(full, b"inner"), "wb") as fh:
                    fh.write(b"a folder\n")  # within the drawn size budget
        elif kind == "branch":  # a branch of its own, checked out (the files stay)
            env = {**os.environ, "DIFF_OP": "1"}
            subprocess.run(["git", "checkout", "-q", "-B", op[1]], cwd=root, env=env)
        elif kind == "chmod" and os.path.isfile(full) and not os.path.islink(full):
            os.chmod(full, os.lstat(full).st_mode ^ 0o111)
        elif kind == "same-size" and os.path.isfile(full) and not os.path.islink(full):
            # New bytes, same size and mtime: only the ctime (and git's content check) tells.
            st = os.lstat(full)
            with open(full, "r+b") as fh:
                data = fh.read()
                fh.seek(0)
                fh.write(bytes(b ^ 1 for b in data))
            os.utime(full, ns=(st.st_atime_ns, st.st_mtime_ns))
        elif kind == "configlink":
            # The repository's config moved aside and a link to a copy outside put at its
            # name: git would read it there (the operation's own later steps do).
            config = exclude_file(root).parent.parent / "config"
            if not os.path.islink(config):
                copy = Path(outside or "/nonexistent").parent / "config-outside"
                copy.write_bytes(config.read_bytes())
                os.rename(config, str(config) + ".orig")
                os.symlink(copy, config)
        elif kind == "exclude":  # a rule in the repository's own .git/info/exclude
            path = exclude_file(root)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "ab") as fh:
                fh.write(op[1].encode() + b"\n")
        elif kind == "conflict" and not os.path.isdir(full):
            _conflict(root, op[1], op[2])
        elif kind == "commit":
            env = {**os.environ, "DIFF_OP": "1"}  # the hooks log only our own git calls
            subprocess.run(["git", "add", "-A"], cwd=root, env=env, capture_output=True)
            subprocess.run(
                ["git", "commit", "-qm", "op", "--no-verify"],
                cwd=root,
                env=env,
                capture_output=True,
            )


def _conflict(root: Path, rel: str, how: str) -> None:
    """Leave git half way, as a command that stops on a conflict does: a commit of "theirs"
    at `rel` on top of HEAD (made without touching the worktree, the index or a ref), the
    operation's own "ours" committed, then a `merge`, `rebase` or `cherry-pick` of theirs,
    or a `stash pop` of an edit made before (`stash`), stopped on `rel`'s conflict."""
    env = {**os.environ, "DIFF_OP": "1"}  # the hooks log only our own git calls

    def git(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, **kw)  # type: ignore[call-overload, no-any-return]

    def write(data: bytes) -> None:  # a file, never through a link there
        full = os.path.join(os.fsencode(root), os.fsencode(rel))
        if os.path.lexists(full):
            os.unlink(full)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as fh:
            fh.write(data)

    if how == "stash":
        write(b"stashed\n")
        git("add", "-A", env=env)
        if git("stash", "-q", env=env).returncode != 0:
            return
    else:
        index = os.path.join(
            os.fsdecode(git("rev-parse", "--absolute-git-dir").stdout.strip()), "diff-theirs"
        )
        side = {**env, "GIT_INDEX_FILE": index}
        # Written whole: split (core.splitIndex), its own shared index would have git expire
        # the index's under splitIndex.sharedIndexExpire=now, an index git then cannot read
        # and the oracle cannot list (tests/test_split_index_expired.py has that case).
        whole = ("-c", "core.splitIndex=false")
        blob = git("hash-object", "-w", "--stdin", input=b"theirs\n", env=env).stdout.strip()
        git(*whole, "read-tree", "HEAD", env=side)
        cacheinfo = f"100644,{blob.decode()},{rel}"
        add = git(*whole, "update-index", "--add", "--cacheinfo", cacheinfo, env=side)
        tree = git(*whole, "write-tree", env=side).stdout.strip().decode()
        os.unlink(index)
        if add.returncode != 0 or not tree:
            return
        theirs = git("commit-tree", tree, "-p", "HEAD", "-m", "theirs", env=env).stdout.strip()
    write(b"ours\n")
    git("add", "-A", env=env)
    git("commit", "-qm", "ours", "--no-verify", env=env)
    if how == "stash":
        git("stash", "pop", env=env)
    elif how == "merge":
        git("merge", "--no-edit", theirs.decode(), env=env)
    else:
        git(how, theirs.decode(), env=env)


def exclude_file(root: Path, env: Mapping[str, str] | None = None) -> Path:
    """The repository's `info/exclude` (in its common git dir), as git names it."""
    out = _git(
        dict(env or os.environ),
        root,
        "rev-parse",
        "--path-format=absolute",
        "--git-path",
        "info/exclude",
    )
    return Path(os.fsdecode(out.strip()))


def read_exclude(root: Path, env: Mapping[str, str] | None = None) -> bytes | None:
    path = exclude_file(root, env)
    return path.read_bytes() if path.exists() else None


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    root = Path(spec["root"])
    apply_ops(root, spec["ops"], spec.get("outside"))
    env = dict(os.environ)
    after = {
        "files": {os.fsdecode(p): v for p, v in walk(root).items()},
        "index": [[os.fsdecode(e[0]), *e[1:]] for e in index_entries(env, root)],
        "sizes": {os.fsdecode(p): n for p, n in sizes(root).items()},
        "inodes": {os.fsdecode(p): n for p, n in inodes(root).items()},
        "exclude": (read_exclude(root, env) or b"").decode("latin-1"),
        "empty": sorted(os.fsdecode(p) for p in empty_folders(root)),
        "hardout": digest_exact(Path(spec["hardout"])) if spec.get("hardout") else {},
    }
    Path(argv[1]).write_text(json.dumps(after))
    # The operation fails (git-atomic rolls it back), or (`keep`) succeeds and is kept.
    return 0 if spec.get("keep") else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
