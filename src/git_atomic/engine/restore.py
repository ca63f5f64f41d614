"""Bring the worktree from one checkpoint's state to another's, writing only what differs
(what differs is planned by restoreplan.py), in an order a crash can be recovered from: the
files (restorefiles.py writes them; restorekeeps.py says what stays), then git's own state, the
index, the branches and HEAD."""

from __future__ import annotations

import itertools
import os
import stat
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

from git_atomic.core import failpoints
from git_atomic.engine import (
    dotgit,
    gitstate,
    indexstate,
    infoexclude,
    reconcile,
    restorebits,
    restorefiles,
    restoreindex,
    restorekeeps,
    restorerefs,
    rulefiles,
    safefs,
    stashstate,
)
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.restoreplan import (
    GITLINK,
    Action,
    PathChange,
    Plan,
    folders_on_the_way,
    named_modes,
)

# The record of what a restore did, importable from here as before (restoreplan.py holds it).
from git_atomic.engine.restoreplan import Outcome as Outcome
from git_atomic.engine.restorespecials import Specials


def _submodules_without_git(repo: Repo, target: Snapshot, outcome: Outcome) -> None:
    """A submodule of the target whose folder holds something but no `.git`: an operation that
    removed its `.git` file alone is no change to git (it does not look into a gitlink's
    folder), and a nested repository's `.git` is never captured, so it does not come back."""
    blob = f"{target.files_tree}:.gitmodules"
    try:
        if not stat.S_ISREG(os.lstat(repo.root / ".gitmodules").st_mode):
            return
    except OSError:
        # None on disk: no submodules, not a process more; but for a sparse checkout, which
        # may leave it out of the worktree, and so out of the checkpoint's files: the index's,
        # as git reads it then (t7418).
        if not repo.config_bool("core.sparsecheckout"):
            return
        blob = ":.gitmodules"
    listed = repo.run(
        "config",
        "-z",
        "--blob",
        blob,
        "--get-regexp",
        r"^submodule\..*\.path$",
        check=False,
    )
    if listed.returncode != 0:
        return
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for item in listed.stdout.split(b"\0"):
            path = item.split(b"\n", 1)[1] if b"\n" in item else b""
            if not path or tree.kind(path) != stat.S_IFDIR or tree.kind(path + b"/.git"):
                continue
            fd = tree.folder(path)
            if fd is None:
                continue
            with os.scandir(fd) as entries:
                held = sorted(e.name for e in itertools.islice(entries, 64))
            shown = path.decode("utf-8", "backslashreplace")
            named = any(p.startswith(f"{shown}: ") for p in outcome.problems)  # by the files
            if held and not named:  # something in it, and no .git (an uninitialised one is empty)
                # Not checked out (a clone without --recurse-submodules leaves it empty) and
                # written into, or its `.git` removed: git never looks into a gitlink's folder.
                names = ", ".join(held[:5]) + (", …" if len(held) > 5 else "")
                outcome.problems.append(
                    f"{shown}: a submodule with no .git in its folder (not checked out, or its "
                    "`.git` removed): git does not look in it, so what is there is in no "
                    f"checkpoint and is left as it is ({names}); a nested repository's .git "
                    "does not come back either"
                )


def apply(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    the_plan: Plan,
    *,
    reason: str,
    paths: Sequence[bytes] = (),
) -> Outcome:
    """Carry out a plan. Idempotent: running it again after a crash finishes the job.

    In this order: .git/info/exclude, the target's `.gitignore` files and the worktree's
    `core.excludesFile` (the ignored files a restore keeps are judged by them), the rest of
    the files, the sparse-checkout patterns, git's own state and the index, the branches,
    HEAD."""
    if the_plan.index_changes or paths:
        gitstate.wait_for_index_lock(repo, target.git_state)  # before anything is written
    outcome = Outcome()
    files = restorekeeps.within_budget(repo, the_plan.files, target, outcome.problems, current)
    specials = Specials.read(repo, current, target, paths)
    # The worktree's `.git` file first: what ties this folder to its git dir (dotgit.py).
    put_dot_git = the_plan.dot_git_changes and target.dot_git is not None
    if put_dot_git and not dotgit.put(repo, target.dot_git or b""):
        outcome.problems.append(".git is a folder now; the .git file (or link) was not put back")
    # What the rules on disk hide, asked before any of the target's rules is written (its
    # .git/info/exclude first of all): a file the operation deleted that the target's rules
    # would hide is not one the rules on disk hid.
    hiding = _hidden_now(repo, current, target, files)
    # Where a line-ending rule or a filter applies, or changes: the sizes the index says for the
    # files about to be written, read while they are (_put_index).
    writes = [c.path for c in files if c.status != "D" and c.new_mode != GITLINK]
    converting = (
        current.converting
        or target.converting
        or the_plan.attributes_changes
        or rulefiles.attributes_among(repo, (c.path for c in files))
    )
    editable = target.index_present and None is target.index_blob
    sizes = (
        indexstate.Sizes(repo, writes)
        if converting and editable and current.index_blob is None and writes
        else None
    )
    _put_info_exclude(repo, current, target, the_plan, outcome)
    files, kept = _put_ignore_rules(repo, target, files, outcome, specials, hiding)
    restorefiles.apply_files(
        repo,
        [c for c in files if not (c.status == "D" and c.path in kept)],
        outcome,
        folders=the_plan.folders,
        gone_folders=the_plan.gone_folders,
        specials=specials,
        repositories=the_plan.nested_aside,
    )
    specials.name_missing(repo, outcome)
    failpoints.hit("restore:after-files")
    if not paths:
        _submodules_without_git(repo, target, outcome)
    if not target.made_within:  # a worked-out one: bits you changed since stay yours
        put = {c.path for c in files}
        _closed_again(repo, current, target, put, outcome, only=named_modes(repo, target, paths))
    not_done = {*outcome.left, *outcome.failed}
    stale = [p for p in sizes.differing() if p not in not_done] if sizes is not None else []
    # The patterns before the index: git collapses a sparse index by them (indexstate.py).
    if the_plan.sparse_changes and not infoexclude.put(
        repo, target.sparse_checkout, was=current.sparse_checkout, file=infoexclude.SPARSE
    ):
        outcome.problems.append(
            ".git/info/sparse-checkout was changed by another writer after the rescue was "
            "taken; left as it is"
        )
    restoreindex.put_index(repo, current, target, the_plan, paths, stale)
    failpoints.hit("restore:after-index")
    if the_plan.symref_changes:
        from git_atomic.engine import symrefs  # only where a symbolic branch changed

        symrefs.before(repo, the_plan.symref_changes, outcome)
    if the_plan.ref_lines:
        restorerefs.move_branches(repo, the_plan.ref_lines, reason, outcome)
        failpoints.hit("restore:after-refs")
    if the_plan.symref_changes:
        symrefs.after(repo, the_plan.symref_changes, reason, outcome)
    if the_plan.renamed_back:
        from git_atomic.engine import renamedback  # only where another worktree's was renamed

        for name in renamedback.put(repo, the_plan.renamed_back, reason):
            outcome.problems.append(
                f"branch {name.removeprefix('refs/heads/')} is checked out in another "
                f"worktree; left as it is{restorerefs.left_where(current, target, name)}"
            )
    if the_plan.ref_lines or the_plan.renamed_back:
        from git_atomic.engine import branchconfig  # only where a branch comes or goes

        branchconfig.put(repo, current, target)
    if the_plan.shallow_changes and not infoexclude.put(
        repo, target.shallow, was=current.shallow, file=infoexclude.SHALLOW
    ):
        outcome.problems.append(
            ".git/shallow was changed by another writer after the rescue was taken; left as it is"
        )
    stash_files: tuple[list[bytes], list[bytes]] = ([], [])
    if the_plan.stash_changes:
        if stashstate.put(repo, target.stash, was=current.stash):
            from git_atomic.engine import stashfiles  # only where the stash list changes

            # `stash --all`'s files: written back, or taken into a stash made again
            stash_files = stashfiles.bring_back(repo, current, target, outcome)
        else:
            outcome.refs_left.append(stashstate.REF)
            outcome.problems.append("your stashes were changed by someone else; left as they are")
    restorerefs.move_head(repo, current, target, the_plan, reason, outcome)
    restorerefs.report_left(the_plan, outcome, current, target)
    # The ignored files kept are no change either (restorekeeps.py).
    left = {*outcome.left, *outcome.failed, *outcome.in_repositories, *kept}
    outcome.changed = [c for c in the_plan.path_changes() if c.path not in left]
    written, removed = stash_files
    outcome.changed += [PathChange(p, Action.CREATE) for p in written]
    outcome.changed += [PathChange(p, Action.DELETE) for p in removed]
    return outcome


def _closed_again(
    repo: Repo,
    current: Snapshot,
    target: Snapshot,
    changed: set[bytes],
    outcome: Outcome,
    *,
    only: AbstractSet[bytes] | None,
) -> None:
    closed: dict[bytes, tuple[int, int]] = {}
    for path, why in restorebits.closed_again(
        repo, current, target, changed, only=only, record=closed
    ):
        if why:
            outcome.cannot(path, why)
    if closed:  # no tree holds them, no path change lists them: said
        outcome.bits.update(closed)
        names = ", ".join(
            f"{restorerefs.show(p)} ({new:o})" for p, (_, new) in sorted(closed.items())
        )
        outcome.notes.append(f"the permission bits the checkpoint kept closed again: {names}")


def _put_info_exclude(
    repo: Repo, current: Snapshot, target: Snapshot, the_plan: Plan, outcome: Outcome
) -> None:
    """The target's .git/info/exclude, first: the ignored files a restore keeps are judged by
    the target's rules; and its .git/info/attributes, before the files git compares by them."""
    if the_plan.exclude_changes and not infoexclude.put(
        repo, target.info_exclude, was=current.info_exclude
    ):
        outcome.problems.append(
            ".git/info/exclude was changed by another writer after the rescue was taken; "
            "left as it is"
        )
    if the_plan.attributes_changes and not infoexclude.put(
        repo, target.info_attributes, was=current.info_attributes, file=infoexclude.ATTRIBUTES
    ):
        outcome.problems.append(
            ".git/info/attributes was changed by another writer after the rescue was taken; "
            "left as it is"
        )


class _Hiding(NamedTuple):
    """The deletions of a restore, those born before the target (restorekeeps.born_before),
    the `.gitignore` files it writes, and the deletions the rules on disk hide before any of
    the target's rules is written (asked only when it writes a `.gitignore`)."""

    deletions: list[bytes]
    kept: set[bytes]
    rules: list[RawChange]
    hidden: list[bytes]


def _hidden_now(
    repo: Repo, current: Snapshot, target: Snapshot, files: Sequence[RawChange]
) -> _Hiding:
    deletions = [c.path for c in files if c.status == "D"]
    kept = restorekeeps.born_before(repo, deletions, target)
    # The worktree's core.excludesFile is one of them (rulefiles.py): written with them.
    excludes = rulefiles.excludes_file_in_tree(repo)
    rules = [
        c
        for c in files
        if (os.path.basename(c.path) == b".gitignore" or c.path == excludes) and c.path not in kept
    ]
    hidden = reconcile.ignored(repo, [p for p in deletions if p not in kept]) if rules else []
    if hidden:
        # A file the state being left tracks was seen by its capture, whatever a rule says of
        # its name (`git add -f b.swp`): it goes like any other file the operation made.
        tracked = {e.path for e in repo.ls_tree_at(current.staged_tree, hidden)}
        hidden = [p for p in hidden if p not in tracked]
    return _Hiding(deletions, set(kept), rules, hidden)


def _put_ignore_rules(
    repo: Repo,
    target: Snapshot,
    files: Sequence[RawChange],
    outcome: Outcome,
    specials: Specials,
    hiding: _Hiding,
) -> tuple[list[RawChange], set[bytes]]:
    """Write the target's `.gitignore` files (and the worktree's excludes file) before the
    rest, and say which of the files the target does not hold stay: the ignored ones, which
    are not ours to delete (git-facts 6; restorekeeps.py). Returns the changes left to
    apply, and those files."""
    deletions, kept, rules, hidden = hiding
    first: list[RawChange] = []
    rules_and_rest = files
    if rules:
        # A rule file the operation made a folder of (`rm .gitignore; mkdir .gitignore`): the
        # files the target lacks inside it go first, or the folder is in the way of the rule
        # and every ignored file is judged without it (and deleted). Nothing was there then:
        # the rule file stood at that name.
        inside = tuple(c.path + b"/" for c in rules)
        first = [c for c in files if c.status == "D" and c.path.startswith(inside)]
        first = [c for c in first if c.path not in kept and c not in rules]
        if first:
            restorefiles.apply_files(repo, first, outcome, specials=specials)
        # A file or link the operation put where a rule's folder must be (`rm -rf pkg; echo
        # x > pkg`, `mv pkg pkg.real; ln -s pkg.real pkg`) goes first, with the rules: else
        # the rule is not written ("pkg is in the way") and the folder comes back without it.
        on_the_way = {p for c in rules for p in folders_on_the_way(c.path)}
        rules = [*(c for c in files if c.status == "D" and c.path in on_the_way), *rules]
        restorefiles.apply_files(repo, rules, outcome, specials=specials)
    files = [c for c in files if c not in rules and c not in first]
    kept = restorekeeps.ignored_now(repo, deletions, kept, hidden, target, rules_and_rest)
    kept = restorekeeps.not_protected(repo, kept, target)
    return files, restorekeeps.not_in_the_way(kept, files)
