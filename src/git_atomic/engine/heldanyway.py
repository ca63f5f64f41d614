"""What git's reading of the worktree does not show, and a capture holds anyway (snapshot.py):
files whose index entries tell git not to look (skip-worktree, assume-unchanged, intent-to-add),
ignored files held anyway (ignore files that ignore themselves, `protect`ed files), and files a
restore is about to overwrite. Each is read from disk without following a link. And what git
cannot hold at all: FIFOs, sockets and devices at tracked paths or where a restore writes."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Mapping, Sequence, Set
from pathlib import Path

from git_atomic.engine import indexstate, safefs, scan, scanindex
from git_atomic.engine.git import Repo


def held_anyway(
    repo: Repo,
    on_disk: str,
    *,
    scanned: bool,
    added: Sequence[bytes],
    deleted: Set[bytes],
    flags: indexstate.IndexFlags,
    ignored: Sequence[bytes],
    also_capture: Callable[[str], Sequence[bytes]] | None,
    specials: dict[bytes, int],
    modes: dict[bytes, int] | None = None,
) -> str:
    """The files on disk (`on_disk`, read by a scan when `scanned`, else by `git add -A`, with
    the paths it `added` and found `deleted`) plus those git did not show the reading: files
    whose index entries tell git not to look, the `ignored` files held anyway, and
    `also_capture`'s. Those of them that are FIFOs, sockets or devices (git can hold none) go
    into `specials` (path -> st_mode); the permission bits a tree cannot keep of the regular
    files among them into `modes` (private_modes)."""
    tree = on_disk
    # `add -A` takes skip-worktree and assume-unchanged entries as they are in the index,
    # whatever is on disk: the bytes on disk of those files are captured here, and those
    # that are not on disk are left out.
    # A scan index has no flags: its tree is the disk, but for flagged files that an ignore
    # rule now covers (its listing of untracked files leaves them out).
    flagged = flags.skip_worktree | flags.assume_unchanged
    extra: list[bytes] = []
    if not scanned:
        extra = _on_disk(repo, flagged)
        if flagged:
            tree = _without_absent(repo, tree, flagged.difference(extra))
    elif flags:
        left_out = set(deleted & flagged) | set(flags.intent_to_add).difference(added)
        extra = _on_disk(repo, frozenset(left_out))
    extra += [p for p in ignored if p not in extra]
    if also_capture is not None:
        # Asked of the tree with the ignored files held anyway: a self-ignoring `.gitignore`
        # is part of what it compares with the restore's target.
        if extra:
            tree = _with_raw_files(repo, tree, extra, specials, modes)
        extra = [p for p in also_capture(tree) if p not in extra]
    if extra:
        tree = _with_raw_files(repo, tree, extra, specials, modes)
    return tree


def unflagged_scan(repo: Repo, index: Path, flags: indexstate.IndexFlags) -> scan.Scan | None:
    """A scan seeded from a copy of your index without its flags: skip-worktree and
    assume-unchanged entries as plain entries, intent-to-add entries left out (the scan lists
    their files as untracked), so that it sees every file as it is on disk."""
    seed = repo.scratch_path("seed")
    env = {"GIT_INDEX_FILE": str(seed)}
    try:
        scanindex.share(index, seed)
        # The intent-to-add entries out first: git (2.39) writes a sparse index holding one
        # back wrong once it has expanded it (every entry named as the first), which taking
        # the skip-worktree flags off does.
        steps = [
            (("--force-remove",), frozenset(flags.intent_to_add)),
            (("--no-skip-worktree",), flags.skip_worktree),
            (("--no-assume-unchanged",), flags.assume_unchanged),
        ]
        for options, paths in steps:
            if (
                paths
                and repo.run(
                    "update-index",
                    *options,
                    "-z",
                    "--stdin",
                    input=b"".join(p + b"\0" for p in sorted(paths)),
                    env=env,
                    check=False,
                ).returncode
                != 0
            ):
                return None
        return scan.start(repo, known_tree=None, seed=seed, scratch=repo.scratch_path("scan"))
    finally:
        seed.unlink(missing_ok=True)


def _on_disk(repo: Repo, paths: frozenset[bytes]) -> list[bytes]:
    """The files and symlinks among `paths` that exist on disk."""
    rels = sorted(paths)  # a folder's together: each looked up once (a sparse checkout: many)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        found = tree.lstat_many(rels)
    return [
        rel
        for rel, st in zip(rels, found, strict=True)
        if st is not None and stat.S_IFMT(st.st_mode) in (stat.S_IFREG, stat.S_IFLNK)
    ]


def _without_absent(repo: Repo, tree: str, paths: frozenset[bytes]) -> str:
    """`tree` without those of `paths` it holds as files (their files are not on disk). A
    folder there is what `add -A` read where the flagged entry was (`rm g; mkdir g`): kept."""
    if not paths:
        return tree
    held = [e.path for e in repo.ls_tree_at(tree, sorted(paths)) if e.kind != "tree"]
    return repo.tree_without(tree, [p for p in held if p in paths])  # a sparse checkout: many


def _with_raw_files(
    repo: Repo,
    tree: str,
    paths: Sequence[bytes],
    specials: dict[bytes, int],
    modes: dict[bytes, int] | None,
) -> str:
    """`tree` plus the given files' raw bytes (rare: files git ignores right now, or whose index
    entries tell git not to look at the worktree). Only the folders on their way are written
    again (`tree_edit`): a protected `.env` costs no index of the whole tree."""
    regular: list[tuple[str, bytes]] = []
    links: list[tuple[bytes, bytes]] = []
    with safefs.Tree(os.fsencode(repo.root)) as files:
        for rel in paths:
            st = files.lstat(rel)  # None beyond a link: never read through one
            if st is None:
                continue
            if stat.S_ISLNK(st.st_mode):
                target = files.readlink(rel)
                if target is not None:
                    links.append((rel, target))
            elif stat.S_ISREG(st.st_mode):
                regular.append(("100755" if st.st_mode & 0o100 else "100644", rel))
            elif not stat.S_ISDIR(st.st_mode):
                specials[rel] = st.st_mode
    if modes is not None and regular:
        modes.update(private_modes(repo, [rel for _, rel in regular]))
    edits: dict[bytes, tuple[str, str] | None] = {}
    if regular:
        oids = repo.hash_worktree_files([p for _, p in regular])
        edits.update((rel, (mode, oids[rel])) for mode, rel in regular if rel in oids)
    contents = [target for _, target in links]
    for (rel, _), oid in zip(links, repo.write_blobs(contents), strict=True):
        edits[rel] = ("120000", oid)
    return repo.tree_edit(tree, edits)


def walked_specials(
    repo: Repo, paths: Sequence[bytes], known: Mapping[bytes, int]
) -> dict[bytes, int]:
    """The FIFOs, sockets and devices the walk of the folders found (folderwalk.Walk.specials,
    told by their folders' listings) that git would not ignore, those in `known` aside: path ->
    st_mode. One lstat each (a few), never through a link; git is asked which of them its
    rules ignore only where there are any (they are neither captured nor touched, as ignored
    files are not). A tracked path is never ignored."""
    found: dict[bytes, int] = {}
    asked = [p for p in paths if p not in known]
    if not asked:
        return found
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in asked:
            st = tree.lstat(rel)
            if st is not None and not (
                stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)
            ):
                found[rel] = st.st_mode
    if found:
        ignored = repo.ignored(sorted(found), by_rules_alone=False)
        for rel in ignored or ():
            found.pop(rel, None)
    return found


def private_modes(
    repo: Repo, paths: Sequence[bytes], *, walked: Set[bytes] = frozenset()
) -> dict[bytes, int]:
    """The permission bits of the regular files among `paths` that a tree cannot keep: any but
    0644 and 0755 (a 0600 key, a 0640 file, a read-only 0444 one, a setgid bit), and of the
    folders on their way (any but 0755), those with a slash at the end. One lstat each, never
    through a link. `walked`: folders whose bits the caller has from this capture's own walk
    (folderwalk.Walk.walked, which the checkpoint keeps as they are): not looked at again
    (at 100,000 files, 2,000 folders on the way of a 1 % change)."""
    found: dict[bytes, int] = {}
    if not paths:
        return found
    folders: set[bytes] = set(walked)
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in paths:
            st = tree.lstat(rel)
            if st is not None and stat.S_ISREG(st.st_mode) and _private(st.st_mode):
                found[rel] = st.st_mode & 0o7777
            folder = os.path.dirname(rel)
            while folder and folder not in folders:
                folders.add(folder)
                folder = os.path.dirname(folder)
        # The folders on their way too (a 0700 `secrets/`, a setgid one), named with a
        # slash: one lstat each, once.
        for folder in sorted(folders.difference(walked)):
            st = tree.lstat(folder)
            if st is not None and stat.S_ISDIR(st.st_mode) and st.st_mode & 0o7777 != 0o755:
                found[folder + b"/"] = st.st_mode & 0o7777
    return found


def attributes_of(repo: Repo, paths: Sequence[bytes]) -> dict[bytes, tuple[tuple[str, bytes], ...]]:
    """The extended attributes (an ACL, a `user.` label) of the regular files among `paths`
    (a few: those whose permission bits a tree cannot keep); those with none left out."""
    found: dict[bytes, tuple[tuple[str, bytes], ...]] = {}
    if not paths or not hasattr(os, "listxattr"):
        return found
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in paths:
            attrs = tree.attributes(rel)
            if attrs:
                found[rel] = attrs
    return found


def identities(repo: Repo, paths: Sequence[bytes]) -> dict[bytes, tuple[int, int, int]]:
    """The device, inode and size of each regular file of `paths` (a few: the files over the
    size budget, which no checkpoint holds; one the operation only moved is found by them)."""
    found: dict[bytes, tuple[int, int, int]] = {}
    if not paths:
        return found
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in paths:
            st = tree.lstat(rel)
            if st is not None and stat.S_ISREG(st.st_mode):
                found[rel] = (st.st_dev, st.st_ino, st.st_size)
    return found


def _private(mode: int) -> bool:
    return mode & 0o7777 not in (0o644, 0o755)


def special_entries(repo: Repo, index: Path) -> dict[bytes, int]:
    """The index's entries whose path on disk is neither a file, a link nor a folder (a FIFO,
    a socket, a device), looked at without following a link."""
    listed = repo.run("ls-files", "-z", env={"GIT_INDEX_FILE": str(index)}).stdout
    found = {}
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for rel in dict.fromkeys(p for p in listed.split(b"\0") if p):
            st = tree.lstat(rel)
            kind = stat.S_IFMT(st.st_mode) if st is not None else None
            if st is not None and kind not in (stat.S_IFREG, stat.S_IFLNK, stat.S_IFDIR):
                found[rel] = st.st_mode
    return found
