"""HEAD and the branches as an effect's changes leave them (effect.py), each moved only by
compare-and-swap.

A branch (or a detached HEAD) a change moved goes back only if it still points where the change
left it; one that moved since (later commits) stays where it is and is listed in `kept`, and so
is HEAD when it is no longer on the branch the change switched to. A branch the change made,
moved or deleted while HEAD was elsewhere, and that HEAD names now (you checked it out since),
stays too (`checked_out`): deleting it left HEAD on a branch that is not there (an unborn one,
"No commits yet"), moving it moved the commit under your checkout. Nothing here writes a ref:
the result is part of a computed target that `Engine.rollback_to` then carries out.
"""

from __future__ import annotations

from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.restoreplan import off_branches, through


class RefsAfter:
    """HEAD and the branches as the changes leave them: each moves only by compare-and-swap."""

    def __init__(self, current: Snapshot) -> None:
        self.branches = dict(current.branches)
        self.head_ref = current.head_ref
        self.detached_oid = current.head_oid if current.head_ref is None else None
        # HEAD on a ref that is no branch (`refs/remotes/origin/main`): its commit, moved by
        # compare-and-swap as a branch's (restoreplan.head_ref_moved carries it out).
        # (HEAD on a branch that is a symbolic ref to it too: `through`)
        ahead = through(current.head_ref, current.symrefs)
        self.off_branch_oid = current.head_oid if off_branches(ahead) else None
        self.kept: list[str] = []
        self.checked_out: list[str] = []  # of `kept`: checked out here since the change
        # Branches a change had switched HEAD to that moved since (your commits), HEAD going
        # back: they stay, your commits on them (effectswitch.without_commits_since).
        self.left_on: list[str] = []
        # Branches that are symbolic refs -> the ref each names (None: not known), each
        # pointed back, made again or removed by compare-and-swap as a branch is.
        self.symrefs = dict(current.symrefs) if current.symrefs is not None else None

    def move(self, frm: Snapshot, to: Snapshot) -> None:
        before = dict(self.branches)
        kept_now = []
        for name in sorted(set(frm.branches) | set(to.branches)):
            old, new = frm.branches.get(name), to.branches.get(name)
            now = self.branches.get(name)
            if old == new or now == new:
                continue
            if now != old:
                kept_now.append(name)  # moved since (later commits): it stays
            elif new is None:
                del self.branches[name]
            else:
                self.branches[name] = new
        self.kept += kept_now
        self._move_symrefs(frm, to, kept_now)
        self._move_off_branch(frm, to)
        self._move_head(frm, to, kept_now)
        self._keep_checked_out(frm, to, before)

    def _move_symrefs(self, frm: Snapshot, to: Snapshot, kept_now: list[str]) -> None:
        """A symbolic branch the change pointed elsewhere, made or removed (`git symbolic-ref
        refs/heads/alias refs/heads/side`) goes as `to` has it, where it is still as the change
        left it; one pointed elsewhere since is yours, and stays (`kept`), and so does the one
        HEAD is on where the branch it names has your commits since (as HEAD stays on it)."""
        if self.symrefs is None or frm.symrefs is None or to.symrefs is None:
            return
        for name in sorted(set(frm.symrefs) | set(to.symrefs)):
            old, new = frm.symrefs.get(name), to.symrefs.get(name)
            now = self.symrefs.get(name)
            if old == new or now == new:
                continue
            yours = name == self.head_ref and old in kept_now
            if now != old or (old is None and name in self.branches) or yours:
                self.kept.append(name)  # yours since: it stays
            elif new is None:
                del self.symrefs[name]
            else:
                self.symrefs[name] = new

    def _move_off_branch(self, frm: Snapshot, to: Snapshot) -> None:
        ref = through(self.head_ref, self.symrefs)
        ends = through(frm.head_ref, frm.symrefs), through(to.head_ref, to.symrefs)
        if not off_branches(ref) or not ref == ends[0] == ends[1]:
            return
        old, new, now = frm.head_oid, to.head_oid, self.off_branch_oid
        if old == new or now == new:
            return
        if now != old:
            self.kept.append(str(ref))  # moved since (later commits): it stays
        else:  # (None: the change made it, HEAD unborn there before: it goes, as a branch's)
            self.off_branch_oid = new

    def _move_head(self, frm: Snapshot, to: Snapshot, kept_now: list[str]) -> None:
        frm_head = (frm.head_ref, frm.head_oid if frm.head_ref is None else None)
        to_head = (to.head_ref, to.head_oid if to.head_ref is None else None)
        here = (self.head_ref, self.detached_oid)
        if frm_head == to_head or here == to_head:
            return
        # HEAD stays with later work: on a branch that has commits since, or moved since.
        if here == frm_head and self.head_ref not in kept_now:
            self.head_ref, self.detached_oid = to_head
            if off_branches(through(self.head_ref, self.symrefs)) and self.head_ref != here[0]:
                # Back on a ref that is no branch, which HEAD had left (a `checkout --detach`):
                # with the commit it had there (restoreplan.head_ref_moved moves the ref back).
                self.off_branch_oid = to.head_oid
        else:
            self.kept.append("HEAD")

    def _keep_checked_out(self, frm: Snapshot, to: Snapshot, before: dict[str, str]) -> None:
        """The branch HEAD names now, if the change moved it while HEAD was on neither end of
        the change there: it stays as it is."""
        name = self.head_ref
        if name is None or name in (frm.head_ref, to.head_ref):
            return
        if self.branches.get(name) == before.get(name):
            return
        if name in before:
            self.branches[name] = before[name]
        else:
            self.branches.pop(name, None)
        self.kept.append(name)
        self.checked_out.append(name)

    def name_clashes(self, current: Snapshot) -> list[str]:
        """Branches the changes leave beside a branch named as a folder of theirs (`a` and
        `a/c`), which git cannot hold: a branch made again where one of yours made since holds
        the name (t1404). One line each, naming both."""
        out = []
        for name in sorted(self.branches):
            parts = name.split("/")
            for depth in range(3, len(parts)):  # past `refs/heads/`
                outer = "/".join(parts[:depth])
                # (both there now: not the changes' doing, git was given them so)
                if outer in self.branches and not {outer, name} <= current.branches.keys():
                    made, there = (outer, name) if outer not in current.branches else (name, outer)
                    made, there = (n.removeprefix("refs/heads/") for n in (made, there))
                    out.append(
                        f"branch {made} cannot be made again beside branch {there} (a branch "
                        f"and a folder of branches cannot share a name): delete or rename "
                        f"{there} first"
                    )
        return out

    @property
    def head_oid(self) -> str | None:
        if self.head_ref is None:
            return self.detached_oid
        ref = through(self.head_ref, self.symrefs)
        if off_branches(ref):
            return self.off_branch_oid
        return self.branches.get(str(ref))
