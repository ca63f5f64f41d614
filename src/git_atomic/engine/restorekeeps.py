"""What a restore leaves where it is although the target has something else there: files no
checkpoint holds because they are larger than `max_new_file_size`, and ignored files, which are
not ours to delete (git-facts 6), unless they stand in the way of what the target has.

restore.py asks, in its order: the ignored files the rules on disk match are asked about once
the target's own rules are written back."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

from git_atomic.core.config import capture_settings
from git_atomic.engine import changedtimes, checkpoint, reconcile, scantree
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.restoreplan import folders_on_the_way


def within_budget(
    repo: Repo,
    files: Sequence[RawChange],
    target: Snapshot,
    problems: list[str],
    current: Snapshot | None = None,
) -> list[RawChange]:
    """The changes, less the writes over a file no checkpoint holds because it is larger than
    `max_new_file_size`: such a file is never deleted or overwritten (nor read into a rescue).
    Nor is one that was over the budget when the target was captured, though smaller now (an
    operation cut it): the target lacks it only because it did not hold it."""
    limit, _ = capture_settings(repo.root)
    added = [c.path for c in files if c.status == "A"]
    big = set(scantree.too_large(repo, added, limit)) if limit is not None else set()
    for path in sorted(big):
        problems.append(
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
        older = changedtimes.older_than(repo, cut, target.captured_at)
        anew = committed_anew(repo, [p for p in cut if p not in older], target, current)
        cut = older
        for path in anew:
            big.add(path)
            problems.append(
                f"{_show(path)} was larger than max_new_file_size when the state it returns "
                "to was saved, so no checkpoint holds it; the operation committed it and git "
                "wrote it again (a rebase, a stash), its size as then: left as it is"
            )
    for path in cut:
        big.add(path)
        problems.append(
            f"{_show(path)} was larger than max_new_file_size when the state it returns to "
            "was saved, so no checkpoint holds its bytes from then; left as it is now"
        )
    return [c for c in files if c.path not in big]


def committed_anew(
    repo: Repo, paths: Sequence[bytes], target: Snapshot, current: Snapshot | None
) -> list[bytes]:
    """Of the files over the budget when `target` was captured that were made since (`paths`):
    those git wrote again from what the operation committed (`git add -A`, then a rebase or a
    stash removes them and checks them out anew), which the rollback would delete though they
    hold the bytes your file had: tracked now with the bytes on disk (git's checkout), of the
    size `target` recorded. Not the bytes of then, proven (no checkpoint read them), but the
    only copy of what the operation took in, left where it is and named."""
    if not paths or current is None:
        return []
    ids = checkpoint.load_too_large_ids(repo, target)
    sized = [p for p in paths if p in ids]
    if not sized:
        return []
    from git_atomic.engine import heldanyway  # only where such a file is to go

    now = heldanyway.identities(repo, sized)
    same_size = [p for p in sized if p in now and now[p][2] == ids[p][2]]
    if not same_size:
        return []
    on_disk = {e.path: e.oid for e in repo.ls_tree_at(current.files_tree, same_size)}
    staged = {e.path: e.oid for e in repo.ls_tree_at(current.staged_tree, same_size)}
    return [p for p in same_size if p in on_disk and staged.get(p) == on_disk[p]]


def born_before(repo: Repo, deletions: Sequence[bytes], target: Snapshot) -> set[bytes]:
    """Of the files the target does not hold, those that were there when it was captured: it
    did not hold them because they were ignored then. One made since goes whatever the rules
    say now (the capture just taken holds it): an operation that ignores what it made does not
    keep it that way. None for a target that does not know when it was captured."""
    if target.captured_at is None:
        return set()
    return set(changedtimes.older_than(repo, deletions, target.captured_at))


def ignored_now(
    repo: Repo,
    deletions: Sequence[bytes],
    kept: set[bytes],
    hidden: Sequence[bytes],
    target: Snapshot,
    changes: Sequence[RawChange] = (),
) -> set[bytes]:
    """The files kept, asked once the target's ignore rules are back on disk. For a target that
    was not captured from the disk (a commit made a checkpoint, an effect taken back), a file
    they ignore is taken for one that was there. For one that was, a file `born_before` it
    stays only if they ignore it: a name the operation gave an older file (`mv`, `git mv`,
    `ln`) keeps that file's birth time, and goes like any other file the operation made.
    `hidden`: the files the rules on disk before them ignored (unseen.overwritten_ignored),
    which stay too if the target's rules ignore them, as any ignored file the operation made
    does. `changes`: the restore's, which tell a file moved with its folder (`untouched`)."""
    if target.captured_at is None:
        kept = kept | set(reconcile.ignored(repo, [p for p in deletions if p not in kept]))
    elif kept:
        # One nothing has touched since the target was captured (no write, rename or chmod:
        # its ctime is older) stood at its name then, and the target did not hold it: it was
        # ignored then, whatever the rules say now (an operation's `git config
        # core.excludesFile /dev/null`, an edit of your global excludes file: configuration,
        # which no rollback writes back). Never the operation's: it stays.
        untouched = untouched_where_it_was(repo, kept, target, changes)
        kept = untouched | set(reconcile.ignored(repo, sorted(kept - untouched)))
    if hidden:
        kept = kept | set(reconcile.ignored(repo, hidden))
    return kept


def untouched_where_it_was(
    repo: Repo, paths: set[bytes], target: Snapshot, changes: Sequence[RawChange]
) -> set[bytes]:
    """Those of `paths` that nothing touched since the target was captured (changedtimes.py), less
    those that are the same file, mode and bytes, as one the target holds elsewhere and the
    restore makes again: a folder the operation renamed (`mv pkg lib`) sets no ctime of the
    files in it."""
    assert target.captured_at is not None
    untouched = changedtimes.untouched_since(repo, sorted(paths), target.captured_at)
    made = {(c.new_mode, c.new_oid) for c in changes if c.status == "A"}
    if not untouched or not made:
        return untouched
    return {
        c.path
        for c in changes
        if c.status == "D" and c.path in untouched and (c.old_mode, c.old_oid) not in made
    }


def not_protected(repo: Repo, kept: set[bytes], target: Snapshot) -> set[bytes]:
    """The files kept, less those `protect` names: the target held every such file that was
    there (but one over the size budget), so one it lacks is the operation's, whatever its
    birth time says (`mv a .env` keeps `a`'s) or a rule ignores."""
    _, protect = capture_settings(repo.root)
    if not kept or not protect:
        return kept
    named = protected(repo, sorted(kept), protect)
    if named is None:
        return kept
    return kept - (named - checkpoint.load_too_large(repo, target))


def protected(repo: Repo, paths: Sequence[bytes], protect: Sequence[str]) -> set[bytes] | None:
    """Those of `paths` the `protect` patterns match, as `.gitignore` lines (their own
    semantics: a folder named takes in what is below it), asked of git with the patterns in a
    scratch folder of ours; a match by your own rules (`info/exclude`, `core.excludesFile`) is
    not theirs. None when git could not say."""
    with tempfile.TemporaryDirectory(prefix="protect-", dir=repo.scratch_dir()) as folder:
        rules = os.path.join(folder, ".gitignore")
        with open(rules, "w", encoding="utf-8") as fh:
            fh.write("".join(p.strip() + "\n" for p in protect))
        res = repo.run(
            f"--work-tree={folder}",
            "check-ignore",
            "-z",
            "-v",
            "--stdin",
            "--no-index",
            input=b"".join(b"./" + p + b"\0" for p in paths),
            check=False,
        )
        if res.returncode not in (0, 1):
            return None
        fields = res.stdout.split(b"\0")
        found = set()
        for i in range(0, len(fields) - 3, 4):
            source, path = fields[i], fields[i + 3]
            if os.path.basename(source) == b".gitignore" and path.startswith(b"./"):
                found.add(path[2:])
        return found


def foreseen(repo: Repo, files: Sequence[RawChange], target: Snapshot) -> set[bytes]:
    """For a dry run, which writes nothing: the deletions a restore to `target` would leave
    where they are (`born_before` and `ignored_now`), judged by the target's `.gitignore`
    files on the way to them, written into a scratch folder of ours, not the worktree (the
    rules of .git/info/exclude are today's)."""
    deletions = [c.path for c in files if c.status == "D"]
    if not deletions:
        return set()
    asked = deletions
    if target.captured_at is not None:
        asked = sorted(born_before(repo, deletions, target))
        if not asked:
            return set()
    kept = ignored_by_rules_of(repo, target.files_tree, asked) or set()
    if target.captured_at is not None:  # as ignored_now: untouched since, ignored then
        kept |= untouched_where_it_was(repo, set(asked), target, files)
    return not_in_the_way(not_protected(repo, kept, target), files)


def ignored_by_rules_of(
    repo: Repo, tree: str, paths: Sequence[bytes], *, reading: bool = False
) -> set[bytes] | None:
    """Those of `paths` that the `.gitignore` files `tree` holds on the way to them ignore
    (with today's `.git/info/exclude` and `core.excludesFile`): the rule files are written into
    a scratch folder of ours, never the worktree, and git asked there. Three git processes.
    None when git could not say. `reading`: for a command that only reads (`show`), which
    leaves the git dir as it was: the scratch folder is one of the system's temporary folder."""
    rules = sorted({r for p in paths for r in _rule_files(p)})
    entries = [e for e in repo.ls_tree_at(tree, rules) if e.mode[:2] == "10"]
    blobs = dict(repo.cat_blobs(e.oid for e in entries))
    scratch = None if reading else repo.scratch_dir()
    with tempfile.TemporaryDirectory(prefix="git-atomic-rules-", dir=scratch) as folder:
        top = os.fsencode(folder)
        for e in entries:
            full = os.path.join(top, e.path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as fh:
                fh.write(blobs[e.oid])
        return repo.ignored(paths, work_tree=folder)


def _rule_files(path: bytes) -> list[bytes]:
    return [b".gitignore", *(f + b"/.gitignore" for f in folders_on_the_way(path))]


def not_in_the_way(kept: set[bytes], files: Sequence[RawChange]) -> set[bytes]:
    """The files kept, except what stands in the way of what the target has (the rescue holds
    it): an ignored link or file where a folder must be, and what is under a path that becomes
    a file or a link."""
    if not kept:
        return kept
    written = {c.path for c in files if c.status != "D"}
    needed = {f for w in written for f in folders_on_the_way(w)}
    return {p for p in kept if p not in needed and not written.intersection(folders_on_the_way(p))}


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
