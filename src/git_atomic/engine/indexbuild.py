"""An index built to hold a target's entries and flags: what a restore, a commit's index and
`undo` put in place (indexfile.install_index installs it).

It is built on a copy of the worktree's current index (`rebuild`): only the entries that differ
are rewritten (`update-index --index-info`), so every other entry keeps its stat data, and the
flags a tree cannot hold (indexstate.IndexFlags) are set again where they differ: skip-worktree
and assume-unchanged by `update-index`, the resolve-undo record by putting a path's stages in
and resolving them again, intent-to-add entries by git's own `add -N` on a scratch work tree
(`add_intents`), last, as a sparse index needs (`sparse_again`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set
from pathlib import Path
from typing import Final

from git_atomic.engine import objectformat, splitindex
from git_atomic.engine.git import Repo
from git_atomic.engine.indexstate import IndexFlags, copy_index, sparse_index

# An index a restore builds from nothing (you had no index file) is written whole, never split
# by your `core.splitIndex`: each of its writes would make a shared index of its own, which the
# next one leaves unused in your git dir. (Your git splits it at its next write.) One built on a
# copy of your split index stays split, on its shared index.
_WHOLE: Final = ("-c", "core.splitIndex=false")
_INTENT_TO_ADD: Final = 1 << 29  # an entry's flag, as `ls-files --debug` shows it


def rebuild(
    repo: Repo,
    *,
    current_tree: str | None,
    current_flags: IndexFlags,
    target_tree: str,
    target_flags: IndexFlags,
    scratch: Path,
    restat: Sequence[bytes] = (),
    base: Path | None = None,
) -> Path:
    """An index holding `target_tree`'s entries and `target_flags`, built on a copy of the real
    index, or of `base` (whose entries are `current_tree` and `current_flags`; None: there is
    no index file).
    `restat`: paths whose files were just written: their entries, even unchanged, lose their
    status data, so that git compares their bytes again (those bytes may differ from what the
    status data was taken of with the same id: CRLF and LF under a line-ending rule, and git
    takes a file whose size differs from its entry's for changed, unread).
    Returns `scratch`, ready for `indexfile.install_index`."""
    env = {"GIT_INDEX_FILE": str(scratch)}
    source = base or repo.index_path
    if current_tree is None or not source.exists() or splitindex.gone(repo, source):
        whole: tuple[str, ...] = _WHOLE
        repo.run(*whole, "read-tree", target_tree, env=env)
        current_flags = IndexFlags()
        changes = []
    else:
        whole = ()
        copy_index(source, scratch)
        changes = repo.diff_trees(current_tree, target_tree)
    removed = {c.path for c in changes if c.status in ("D", "T")}
    removed |= set(current_flags.intent_to_add) | set(target_flags.intent_to_add)
    added = {c.path: (c.new_mode, c.new_oid) for c in changes if c.status != "D"}
    again = [p for p in restat if p not in added and p not in removed]
    if again:
        entries = repo.ls_tree_at(target_tree, again)
        added.update((e.path, (e.mode, e.oid)) for e in entries if e.kind == "blob")
    info = b"".join(f"0 {repo.zero_oid}\t".encode() + p + b"\0" for p in sorted(removed))
    info += b"".join(
        f"{mode} {oid}\t".encode() + p + b"\0" for p, (mode, oid) in sorted(added.items())
    )
    if info:
        repo.run(*whole, "update-index", "-z", "--index-info", input=info, env=env)
    # Its entries written again, which drops their flags: set again below, as rewritten.
    undone = current_flags.resolve_undo != target_flags.resolve_undo
    if undone:
        _put_resolve_undo(repo, env, whole, target_tree, target_flags.resolve_undo)
    intents = target_flags.intent_to_add
    rewritten = removed | set(added) | (set(target_flags.resolve_undo) if undone else set())
    flags = (
        ("skip-worktree", current_flags.skip_worktree, target_flags.skip_worktree),
        ("assume-unchanged", current_flags.assume_unchanged, target_flags.assume_unchanged),
    )
    for flag, now, wanted in flags:
        _set_flag(
            repo,
            env,
            flag,
            clear=now - wanted - rewritten,
            mark=wanted - (now - rewritten),
            config=whole,
        )
    if target_flags.skip_worktree and sparse_index(repo):
        _collapse(repo, env, whole)
    if info or undone:
        # Each entry written dropped git's cached tree of its folders and above (the index's
        # TREE extension): same entries, but the user's next `git status` and `git commit`
        # would hash those folders again, and the file's bytes were not PRE-OP's. Made again
        # as git makes it, on the scratch index alone (trees it already has: nothing new).
        repo.run(*whole, "write-tree", env=env, check=False)
    if intents:
        # Only `git add -N` makes an intent-to-add entry (add_intents: whatever is on disk,
        # with the mode it had). `--sparse`: one outside the sparse-checkout patterns too
        # (yours, or those the operation set), which git would otherwise refuse to add.
        # Last: git (2.39) writes a
        # sparse index that holds one back wrong (every entry named as the first) once it has
        # expanded it, which the collapse above and write-tree do; `add -N` keeps git's cached
        # trees as git's own `add -N` leaves them (those of the entry's folders dropped).
        add_intents(repo, intents, env, config=whole)
        for flag, _now, wanted in flags:  # those of the entries made just now
            _set_flag(repo, env, flag, clear=set(), mark=wanted & intents.keys(), config=whole)
    return scratch


def _put_resolve_undo(
    repo: Repo,
    env: Mapping[str, str],
    config: Sequence[str],
    target_tree: str,
    wanted: Mapping[bytes, tuple[bytes, ...]],
) -> None:
    """The index's resolve-undo record made `wanted`, its entries left as they are: git has no
    command that writes one, but records it whenever an entry's stages go (read-cache.c,
    remove_index_entry_at). So: the record cleared, then each path's stages put in and
    resolved again as its entry is (or removed, where it has none: resolved by `git rm`)."""
    repo.run(*config, "update-index", "--clear-resolve-undo", env=env)
    if not wanted:
        return
    paths = sorted(wanted)
    entries = {e.path: e for e in repo.ls_tree_at(target_tree, paths)}
    zero = f"0 {repo.zero_oid}\t".encode()
    info = b""
    for path in paths:
        info += zero + path + b"\0"
        info += b"".join(stage + b"\t" + path + b"\0" for stage in wanted[path])
        entry = entries.get(path)
        if entry is not None and entry.kind in ("blob", "commit"):
            info += f"{entry.mode} {entry.oid} 0\t".encode() + path + b"\0"
        else:
            info += zero + path + b"\0"
    repo.run(*config, "update-index", "-z", "--index-info", input=info, env=env)


def add_intents(
    repo: Repo, intents: Mapping[bytes, str], env: Mapping[str, str], *, config: Sequence[str] = ()
) -> None:
    """Intent-to-add entries for `intents` (path -> mode), whatever is on disk at those paths.

    Only git's `add -N` makes one, and it takes the entry's mode from the file it finds: run
    on your worktree, it could make none whose file is gone, and one you `chmod`ed since would
    come back with the new mode. So it is run on a scratch work tree holding, at each path, an
    empty file or link of the entry's mode, or an embedded repository's bare bones for a
    gitlink's (intenttree.py; an entry made by `add -N` holds no bytes or status data, only its
    mode), your index (or `env`'s) its index: nothing of yours is read or written but the
    index. Forced past the ignore rules and the sparse-checkout patterns; names, never
    patterns; the settings that would read the scratch tree for anything else off."""
    if not intents:
        return
    import shutil  # (not on a checkpoint's path: tests/test_hot_path.py)

    from git_atomic.engine import intenttree

    scratch = repo.scratch_path("intents")
    try:
        intenttree.plant(scratch, intents, objectformat.object_id(b"blob", b"", sha256=repo.sha256))
        repo.run(
            *config,
            "-c",
            "core.fileMode=true",
            "-c",
            "core.symlinks=true",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.untrackedCache=keep",
            f"--work-tree={scratch}",
            "add",
            "-N",
            "-f",
            "--sparse",
            "--pathspec-from-file=-",
            "--pathspec-file-nul",
            input=b"".join(p + b"\0" for p in sorted(intents)),
            env={**env, "GIT_LITERAL_PATHSPECS": "1"},
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _collapse(repo: Repo, env: Mapping[str, str], config: Sequence[str]) -> None:
    """The index as git writes a sparse one: an entry put inside a sparse folder (040000)
    expands only that folder, and git never collapses an index read with such entries again
    (`git sparse-checkout reapply` would, writing files). Written whole once, then written as
    git's settings and the patterns on disk say (the target's: restore.py writes them first);
    no file is read or written."""
    repo.run(*config, "-c", "index.sparse=false", "update-index", "--force-write-index", env=env)
    repo.run(*config, "update-index", "--force-write-index", env=env)


def _set_flag(
    repo: Repo,
    env: Mapping[str, str],
    flag: str,
    *,
    clear: Set[bytes],
    mark: Set[bytes],
    config: Sequence[str] = (),
) -> None:
    if not clear and not mark:
        return
    present = {p for p in repo.out("ls-files", "-z", env=env).split(b"\0") if p}
    for option, wanted in ((f"--no-{flag}", clear), (f"--{flag}", mark)):
        paths = sorted(p for p in wanted if p in present)
        if paths:
            repo.run(
                *config,
                "update-index",
                option,
                "-z",
                "--stdin",
                input=b"".join(p + b"\0" for p in paths),
                env=env,
            )


def sparse_again(repo: Repo) -> None:
    """The index written sparse where the sparse settings came back after it was put back
    under the operation's (coreplace.py: a `git sparse-checkout disable` taken back), so that
    it is whole: git would make it sparse as it reads it, which git 2.39 does wrong where it
    holds an intent-to-add entry (every entry named as the first). Those entries are taken out
    first, the index read whole; then it is written sparse, and they are made again."""
    whole = ("-c", "index.sparse=false")
    listing = repo.run(*whole, "ls-files", "-z", "-s", "--debug", check=False)
    if listing.returncode != 0:
        return  # an index git cannot read: left as it is
    chunks = listing.stdout.split(b"\0")
    intents: dict[bytes, str] = {}
    entry = chunks[0]  # `<mode> <object> <stage>\t<path>`
    for chunk in chunks[1:]:
        at = chunk.find(b"\n", chunk.find(b"flags:"))
        if at < 0:
            break  # (the end)
        if int(chunk[:at].rsplit(b"flags:", 1)[1].strip(), 16) & _INTENT_TO_ADD:
            info, path = entry.split(b"\t", 1)
            intents[path] = info.split(b" ", 1)[0].decode()
        entry = chunk[at + 1 :]
    if not intents:
        return  # git makes it sparse itself, as it reads it
    listed = b"".join(p + b"\0" for p in intents)
    repo.run(*whole, "update-index", "--force-remove", "-z", "--stdin", input=listed)
    repo.run("update-index", "--force-write-index")
    add_intents(repo, intents, {})
