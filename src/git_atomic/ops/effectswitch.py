"""Effects across a branch switch: where HEAD is elsewhere now than where a change left it, the
part of the change that is the checkout's own is told apart from the branch's (effect.py's
`_worked_out` asks these, each a replay through `treemerge`, None where none applies)."""

from __future__ import annotations

import copy

from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import off_branches, through
from git_atomic.ops import treemerge
from git_atomic.ops.effectconflict import Conflict
from git_atomic.ops.refsafter import RefsAfter


def ends_on_the_checkout(
    repo: Repo, refs: RefsAfter, frm: Snapshot, to: Snapshot
) -> tuple[str, str, str, str] | None:
    """A change that moved the branch it had checked out (a `reset`, a commit), where HEAD is
    on another branch now (you switched since): the branch's move is taken back (or made
    again) by the branch itself, so its files are not this checkout's. The change's ends,
    files and index, are replayed on the commit checked out now (what each held beside its
    own HEAD's tree): only that part, what the change did beside the branch, is made here.
    Taken whole, the branch's files came into your checkout as staged changes, the change
    taken back twice (a `reset --hard HEAD~1` made its dropped files new files there). None
    otherwise, or where a replay does not merge cleanly."""
    name = frm.head_ref
    if name is None or to.head_ref != name or refs.head_ref == name:
        return None
    if frm.head_oid == to.head_oid:
        return None  # it did not move the branch it had checked out
    branch = through(name, refs.symrefs)  # (HEAD on `alias`, naming main: main's commits)
    # (A ref that is no branch, `refs/wip/x`, HEAD has left: not known now, left as it is.)
    where = frm.head_oid if off_branches(branch) else refs.branches.get(str(branch))
    if where == frm.head_oid and holds_commits_taken_off(repo, refs, frm, to):
        # You checked out (or detached HEAD at) the change's own commits since: their files are
        # this checkout's, so the change is made in the files and the index too, HEAD staying
        # where you put it (said: `kept`). Replayed here, it dropped out of the files unsaid.
        refs.kept.append("HEAD")
        if off_branches(branch):  # (its commit stays: said, movefacts.kept_lines)
            refs.kept.append(str(branch))
        return None
    here = _commit_tree(repo, refs.head_oid)
    out: list[str] = []
    for snap in (frm, to):
        own = _commit_tree(repo, snap.head_oid)
        for side in (snap.files_tree, snap.staged_tree):
            merged = treemerge.merge(repo, base=own, ours=side, theirs=here)
            if merged.tree is None:
                return None
            out.append(merged.tree)
    if off_branches(branch):  # (HEAD left it: it stays, said, movefacts.kept_lines)
        refs.kept.append(str(branch))
    elif where == frm.head_oid:  # the branch moves alone, your checkout stays: said
        refs.kept.append("HEAD")
        refs.checked_out.append("HEAD")
    return out[0], out[1], out[2], out[3]


def holds_commits_taken_off(repo: Repo, refs: RefsAfter, frm: Snapshot, to: Snapshot) -> bool:
    """Whether the commit checked out now holds a commit the change takes off the branch it
    moved (one of `frm`'s branch's, not `to`'s): some merge base of the two is not in `to`'s
    history (a branch `to` has not, unborn, holds none)."""
    if refs.head_oid is None or frm.head_oid is None:
        return False
    found = repo.run("merge-base", "--all", frm.head_oid, refs.head_oid, check=False)
    bases = found.stdout.decode().split() if found.returncode == 0 else []
    if to.head_oid is None:
        return bool(bases)
    return any(
        repo.run("merge-base", "--is-ancestor", base, to.head_oid, check=False).returncode != 0
        for base in bases
    )


def ends_beside_a_switch(
    repo: Repo, refs: RefsAfter, frm: Snapshot, to: Snapshot
) -> tuple[str, str, str, str] | None:
    """A change that switched HEAD to another branch, where HEAD stays where it is now (you
    checked out or committed elsewhere since): the switch is not taken back (or made again),
    so neither are the files it checked out, only what the change did on top of them. `to`'s
    ends, files and index, are replayed from its HEAD's commit onto the commit the switch
    checked out (the branch's commit at `to`, before any commit of the change's own): the
    difference between the two branches drops out, the change's commits and files stay in.
    Taken whole, the other branch's files came into your checkout as staged changes (`A  f`
    on the branch you made since). None otherwise (a branch the change made: nothing to tell
    apart), or where a replay does not merge cleanly. A detached HEAD was switched to the
    newest commit of its history that a branch or HEAD held at `to`."""
    if frm.head_ref is not None:
        if frm.head_ref == to.head_ref:
            return None
        switched_to = to.branches.get(frm.head_ref)
    elif frm.head_oid is None or (to.head_ref is None and to.head_oid == frm.head_oid):
        return None
    else:  # detached: where it was detached is the newest of its commits `to` knew
        tips = sorted({t for t in (*to.branches.values(), to.head_oid) if t})
        found = repo.run("merge-base", frm.head_oid, *tips, check=False) if tips else None
        switched_to = found.stdout.decode().strip() if found and found.returncode == 0 else None
    if not switched_to or switched_to == to.head_oid:
        return None
    trial = copy.deepcopy(refs)
    trial.move(frm, to)
    if (trial.head_ref, trial.head_oid) != (refs.head_ref, refs.head_oid):
        return None  # HEAD goes back with it: the files it checked out go too
    own, there = _commit_tree(repo, to.head_oid), _commit_tree(repo, switched_to)
    out: list[str] = []
    for side in (to.files_tree, to.staged_tree):
        merged = treemerge.merge(repo, base=own, ours=side, theirs=there)
        if merged.tree is None:
            return None
        out.append(merged.tree)
    return frm.files_tree, frm.staged_tree, out[0], out[1]


def without_commits_since(
    repo: Repo, refs: RefsAfter, frm: Snapshot, to: Snapshot, files: str, staged: str
) -> tuple[str, str, tuple[Conflict, ...]]:
    """A change that switched HEAD to another branch, where that branch has moved since (you
    committed on it) and HEAD now goes back: the branch keeps your commits (RefsAfter names it
    in `left_on`), so they are not this checkout's. The files and the index now are replayed
    from the commit checked out now onto the one the change left checked out: what you did
    beside your commits comes along, your commits do not. Merged whole, each of your commits'
    changes came onto the branch HEAD goes back to as staged changes you never made there.
    The overlaps where what you left uncommitted overlaps your commits' changes."""
    trial = copy.deepcopy(refs)
    trial.move(frm, to)
    here = (refs.head_ref, refs.head_oid)
    if refs.head_ref is None or (trial.head_ref, trial.head_oid) == here:
        return files, staged, ()
    if refs.head_ref != frm.head_ref or refs.head_oid == frm.head_oid:
        return files, staged, ()
    now, left = _commit_tree(repo, refs.head_oid), _commit_tree(repo, frm.head_oid)
    out: list[str] = []
    for side, where in ((files, "files"), (staged, "index")):
        merged = treemerge.merge(repo, base=now, ours=side, theirs=left)
        if merged.tree is None:
            return (
                files,
                staged,
                tuple(Conflict(c.path, where, c.kind, c.lines) for c in merged.conflicts),
            )
        out.append(merged.tree)
    refs.left_on.append(refs.head_ref)
    return out[0], out[1], ()


def _commit_tree(repo: Repo, commit: str | None) -> str:
    return repo.line("rev-parse", f"{commit}^{{tree}}") if commit else repo.empty_tree
