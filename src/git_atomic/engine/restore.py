"""Bring the worktree from one checkpoint's state to another's, writing only what differs
(what differs is planned by restoreplan.py)."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import field

from git_atomic.core import failpoints
from git_atomic.core.config import capture_settings
from git_atomic.core.errors import GitError
from git_atomic.core.records import dataclass
from git_atomic.engine import (
    checkpoint,
    gitstate,
    ignores,
    indexfile,
    infoexclude,
    reconcile,
    safefs,
    scantree,
    unchanged,
)
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.restoreplan import (
    GITLINK,
    SYMLINK,
    PathChange,
    Plan,
    folders_on_the_way,
    head_key,
)


@dataclass
class Outcome:
    changed: list[PathChange] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # Paths another writer changed since the state the restore started from (its rescue) was
    # captured: left as they are, in no checkpoint (unchanged.py).
    left: list[bytes] = field(default_factory=list)
    refs_left: list[str] = field(default_factory=list)  # HEAD, branches: the same, for refs


def apply(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    the_plan: Plan,
    *,
    reason: str,
    paths: Sequence[bytes] = (),
) -> Outcome:
    """Carry out a plan. Idempotent: running it again after a crash finishes the job."""
    outcome = Outcome()
    files = _within_budget(repo, the_plan.files, target, outcome)
    specials = Specials(checkpoint.load_specials(repo, current), _fifos(repo, target, paths))
    # A file the target does not hold goes, unless it was there when the target was captured:
    # the target did not hold it because it was ignored then, and ignored files are not ours to
    # delete (git-facts 6). One made since goes whatever the rules say now (the capture just
    # taken holds it): an operation that ignores what it made does not keep it that way.
    deletions = [c.path for c in files if c.status == "D"]
    kept: set[bytes] = set()
    if the_plan.exclude_changes and not infoexclude.put(
        repo, target.info_exclude, was=current.info_exclude
    ):
        outcome.problems.append(
            ".git/info/exclude was changed by another writer after the rescue was taken; "
            "left as it is"
        )
    if target.captured_at is not None:
        kept = set(ignores.older_than(repo, deletions, target.captured_at))
    # The target's ignore rules first; then, for a target that was not captured from the disk
    # (a commit made a checkpoint, an effect taken back), a file they ignore is taken for one
    # that was there.
    rules = [c for c in files if os.path.basename(c.path) == b".gitignore" and c.path not in kept]
    hidden: list[bytes] = []
    if rules:
        # Files the rules now on disk hide (unseen.overwritten_ignored): once the target's rules are
        # back, those they ignore too stay, as any ignored file the operation made does.
        hidden = reconcile.ignored(repo, [p for p in deletions if p not in kept])
        _apply_files(repo, rules, outcome, specials=specials)
    files = [c for c in files if c not in rules]
    if target.captured_at is None:
        kept |= set(reconcile.ignored(repo, [p for p in deletions if p not in kept]))
    elif kept:
        # Born before the capture yet not in it: only because the target's rules ignored it.
        # A name the operation gave an older file (`mv`, `git mv`, `ln`) keeps that file's
        # birth time, and goes like any other file the operation made.
        kept = set(reconcile.ignored(repo, sorted(kept)))
    if hidden:
        kept |= set(reconcile.ignored(repo, hidden))
    # Except what stands in the way of what the target has (the rescue holds it): an ignored
    # link or file where a folder must be, and what is under a path that becomes a file or
    # a link.
    if kept:
        written = {c.path for c in files if c.status != "D"}
        needed = {f for w in written for f in folders_on_the_way(w)}
        kept = {
            p for p in kept if p not in needed and not written.intersection(folders_on_the_way(p))
        }
    _apply_files(
        repo,
        [c for c in files if not (c.status == "D" and c.path in kept)],
        outcome,
        folders=the_plan.folders,
        gone_folders=the_plan.gone_folders,
        specials=specials,
    )
    failpoints.hit("restore:after-files")
    if the_plan.git_state_changes:
        # Before the index: a stale index.lock the operation left would block writing it.
        gitstate.put(repo, target.git_state)
    if paths:
        _restore_index_paths(repo, target, paths)
    elif the_plan.index_changes:
        indexfile.put_index(repo, current, target)
    failpoints.hit("restore:after-index")
    if the_plan.ref_lines:
        _move_branches(repo, the_plan.ref_lines, reason, outcome)
        failpoints.hit("restore:after-refs")
    if the_plan.head_changes and not repo.set_head(
        target.head_ref, target.head_oid, message=reason, was=head_key(current)
    ):
        outcome.refs_left.append("HEAD")
        outcome.problems.append("HEAD was moved by someone else; left as it is")
    for name in the_plan.branches_left:
        outcome.problems.append(
            f"branch {name.removeprefix('refs/heads/')} is checked out in "
            "another worktree; left as it is"
        )
    for path in outcome.left:
        outcome.problems.append(
            f"{_show(path)} was changed by another writer after the rescue was taken; "
            "left as it is (no checkpoint holds it)"
        )
    left = set(outcome.left)
    outcome.changed = [c for c in the_plan.path_changes() if c.path not in left]
    return outcome


def _within_budget(
    repo: Repo, files: Sequence[RawChange], target: Snapshot, outcome: Outcome
) -> list[RawChange]:
    """The changes, less the writes over a file no checkpoint holds because it is larger than
    `max_new_file_size`: such a file is never deleted or overwritten (nor read into a rescue).
    Nor is one that was over the budget when the target was captured, though smaller now (an
    operation cut it): the target lacks it only because it did not hold it."""
    limit, _ = capture_settings(repo.root)
    added = [c.path for c in files if c.status == "A"]
    big = set(scantree.too_large(repo, added, limit)) if limit is not None else set()
    for path in sorted(big):
        outcome.problems.append(
            f"{_show(path)} is larger than max_new_file_size and no checkpoint holds it; "
            "left as it is"
        )
    was_big = checkpoint.load_too_large(repo, target)
    # Only a regular file (a link or anything else there is the operation's), and, where the
    # target knows when it was captured, one born before: one born since is the operation's
    # (it deleted the big file and made another of that name), and goes as usual.
    cut = [
        c.path for c in files if c.status == "D" and c.path in was_big and c.old_mode[:2] == "10"
    ]
    if cut and target.captured_at is not None:
        cut = ignores.older_than(repo, cut, target.captured_at)
    for path in cut:
        big.add(path)
        outcome.problems.append(
            f"{_show(path)} was larger than max_new_file_size when the state it returns to "
            "was saved, so no checkpoint holds its bytes from then; left as it is now"
        )
    return [c for c in files if c.path not in big]


@dataclass(frozen=True)
class Specials:
    """FIFOs, sockets and devices (path -> st_mode; git holds none of them): those the state
    the restore starts from saw, which it may take away where the target has a file or a
    folder, and the target's FIFOs, which it makes again where nothing is."""

    seen: Mapping[bytes, int]
    fifos: Mapping[bytes, int]

    def make_way(self, tree: safefs.Tree, path: bytes, outcome: Outcome) -> None:
        """Take away what the start saw at `path` or on its way, if still of that kind."""
        for where in [*folders_on_the_way(path), path]:
            if where in self.seen:
                mode = self.seen[where]
                found = unchanged.remove_special(tree, where, mode)
                # A FIFO holds no data, and `undo` makes it again; a socket or a device
                # cannot be made again.
                if found is unchanged.Found.SAME and not stat.S_ISFIFO(mode):
                    outcome.problems.append(
                        f"{_show(where)} was a {_special_kind(mode)} where a file or folder "
                        "comes back; removed (it held no data; `undo` cannot make it again)"
                    )

    def remake(self, tree: safefs.Tree, outcome: Outcome) -> None:
        for path, mode in sorted(self.fifos.items()):
            if tree.kind(path) is not None or not _make_parents(tree, path, outcome):
                continue
            try:
                tree.mkfifo(path, mode)
            except FileExistsError:
                outcome.left.append(path)


def _fifos(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> dict[bytes, int]:
    fifos = {p: m for p, m in checkpoint.load_specials(repo, target).items() if stat.S_ISFIFO(m)}
    if paths:
        fifos = {
            p: m
            for p, m in fifos.items()
            if any(p == q or p.startswith(q.rstrip(b"/") + b"/") for q in paths)
        }
    return fifos


def _special_kind(mode: int) -> str:
    return "socket" if stat.S_ISSOCK(mode) else "device"


def _move_branches(repo: Repo, lines: Sequence[str], reason: str, outcome: Outcome) -> None:
    try:
        repo.update_refs(lines, message=reason)
        return
    except GitError:
        pass  # the transaction is refused as a whole when one branch moved meanwhile
    # Someone moved a branch meanwhile: move the others, report the ones that failed.
    for line in lines:
        res = repo.run(
            "update-ref", "-m", reason, "--stdin", input=(line + "\n").encode(), check=False
        )
        if res.returncode != 0:
            ref = line.split()[1]
            outcome.refs_left.append(ref)
            name = ref.removeprefix("refs/heads/")
            outcome.problems.append(f"branch {name} was moved by someone else; left as it is")


def _apply_files(
    repo: Repo,
    changes: Sequence[RawChange],
    outcome: Outcome,
    *,
    folders: Sequence[bytes] = (),
    gone_folders: Sequence[bytes] = (),
    specials: Specials,
) -> None:
    # Every path is reached from the top of the worktree without following a link
    # (safefs.py): a link where a folder was is removed as itself, never written through.
    # Nothing is removed, written over or chmodded unless it is still what the state the plan
    # starts from (the rescue) holds (unchanged.py): another writer's bytes are left there.
    removals = [c for c in changes if c.status in ("D", "T") and c.old_mode != GITLINK]
    writes = [c for c in changes if c.status in ("A", "M", "T") and c.new_mode != GITLINK]
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        emptied: set[bytes] = set()
        for c in sorted(removals, key=lambda c: c.path, reverse=True):
            kind = tree.kind(c.path)
            if kind is None:
                continue  # not there, or beyond a link (the link has its own entry)
            if kind == stat.S_IFDIR:
                outcome.problems.append(f"{_show(c.path)} is a folder now; left as it is")
                continue
            found = unchanged.remove(tree, c.path, _was(c))
            if found is unchanged.Found.CHANGED:
                outcome.left.append(c.path)
            elif found is unchanged.Found.SAME:
                emptied.add(os.path.dirname(c.path))
        # An empty folder the target lacks goes, and so do the folders it leaves empty (the
        # target's own empty folders are made again below).
        _prune_empty_dirs(tree, emptied | set(gone_folders))
        if removals:
            failpoints.hit("restore:after-removals")
        left = set(outcome.left)
        writes = [c for c in writes if c.path not in left]
        blobs = dict(
            repo.cat_blobs(c.new_oid for c in writes if c.old_oid != c.new_oid or c.status != "M")
        )
        umask = _umask()
        for c in writes:
            mode = (0o777 if c.new_mode == "100755" else 0o666) & ~umask
            if c.status == "M" and c.new_mode != SYMLINK:
                mode = _permissions_kept(tree.lstat(c.path), mode)
            # A file with other names (an operation's hard link to a file elsewhere) is
            # written anew, as one whose bytes changed: chmod would change the other file too.
            if c.status == "M" and c.old_oid == c.new_oid:
                chmodded = unchanged.chmod(tree, c.path, _was(c), mode)
                if chmodded in (unchanged.Found.CHANGED, unchanged.Found.GONE):
                    outcome.left.append(c.path)
                if chmodded is not None:
                    continue
            if c.status == "M" and tree.reachable(c.path) and tree.lstat(c.path) is None:
                outcome.left.append(c.path)  # removed since: someone else's change too
                continue
            specials.make_way(tree, c.path, outcome)
            if not _make_parents(tree, c.path, outcome):
                continue
            kind = tree.kind(c.path)
            # A folder of nothing but empty folders holds nothing to lose (a checkpoint keeps
            # those that stood where files were): it makes way. One with files in it does not.
            if kind == stat.S_IFDIR and not tree.remove_empty_folders(c.path):
                outcome.problems.append(
                    f"cannot restore {_show(c.path)}: a folder with ignored files is in the way"
                )
                continue
            # What the plan starts from holds nothing here for an added path (or for one whose
            # old kind was removed above): anything there now is someone else's.
            if kind is not None and kind != stat.S_IFDIR and not _removed(tree, c, outcome):
                continue
            if c.new_oid not in blobs:
                blobs[c.new_oid] = repo.cat_blob(c.new_oid)
            data = blobs[c.new_oid]
            try:
                if c.new_mode == SYMLINK:
                    tree.symlink(c.path, data)
                else:
                    tree.write(c.path, data, mode)
            except FileExistsError:  # made since the look above: never written over
                outcome.left.append(c.path)
                continue
            failpoints.hit("restore:after-write")
        specials.remake(tree, outcome)
        for folder in folders:
            specials.make_way(tree, folder, outcome)
            try:
                tree.make_folders(folder)
            except safefs.Blocked as exc:
                outcome.problems.append(
                    f"{_show(exc.path)} is in the way of the folder {_show(folder)}"
                )


def _permissions_kept(st: os.stat_result | None, mode: int) -> int:
    """The mode of a file written over the regular file `st`: its read and write permissions
    (a 0600 key stays 0600, never readable by others after a rollback), executable where
    `mode` is."""
    if st is None or not stat.S_ISREG(st.st_mode):
        return mode
    kept = st.st_mode & 0o666
    return kept | (kept & 0o444) >> 2 if mode & 0o100 else kept


def _was(c: RawChange) -> unchanged.Expected:
    return unchanged.Expected(c.old_mode, c.old_oid)


def _removed(tree: safefs.Tree, c: RawChange, outcome: Outcome) -> bool:
    """Make way for the write of `c` over what is there: only a modified path's old file or
    link, still as the plan's start holds it."""
    if c.status == "M" and unchanged.remove(tree, c.path, _was(c)) is not unchanged.Found.CHANGED:
        return True
    outcome.left.append(c.path)
    return False


def _make_parents(tree: safefs.Tree, path: bytes, outcome: Outcome) -> bool:
    parent = os.path.dirname(path)
    try:
        tree.make_folders(parent)
    except safefs.Blocked as exc:
        # An ignored file or a link stands where a folder must be; the snapshot says the
        # folder is ours, the ignored file is not captured: move nothing, report it.
        outcome.problems.append(f"{_show(exc.path)} is in the way of {_show(path)}")
        return False
    return True


def _prune_empty_dirs(tree: safefs.Tree, dirs: set[bytes]) -> None:
    for d in sorted(dirs, key=len, reverse=True):
        while d and tree.rmdir(d):
            d = os.path.dirname(d)


def _restore_index_paths(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> None:
    """Selective: the index entries under `paths` as the target's staged tree had them."""
    spec = [os.fsdecode(p) for p in paths]
    wanted = repo.out("ls-tree", "-r", "-z", "--full-tree", target.staged_tree, "--", *spec)
    present = repo.out("ls-files", "-z", "-s", "--", *spec)
    info = b""
    kept: set[bytes] = set()
    for item in wanted.split(b"\0"):
        if item:
            head, _, path = item.partition(b"\t")
            mode, _kind, oid = head.decode().split()
            info += f"{mode} {oid}\t".encode() + path + b"\0"
            kept.add(path)
    for item in present.split(b"\0"):
        if item:
            path = item.partition(b"\t")[2]
            if path not in kept:
                info += b"0 " + b"0" * 40 + b"\t" + path + b"\0"
    if info:
        repo.run("update-index", "-z", "--index-info", input=info)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
