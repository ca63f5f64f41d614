"""Our checkpoint refs held again after a command deleted or rewrote them.

A command of an operation or an agent turn may delete our refs (`git update-ref -d
refs/atomic/...`, a `git fetch --prune` of a mirror's `+refs/*:refs/*`) or point them elsewhere
(`git filter-branch -- --all`, which keeps their old values under `refs/original/refs/atomic/`;
a `for-each-ref | update-ref` loop): a checkpoint then held by nothing, or only by the copy
filter-branch's usual clean-up deletes, goes at your next `git gc --prune=now`, and `rollback
--op`, `undo` and `show --diff` of its operation fail. When an operation or a turn closes and
its own refs are not as made (context.checkpoints_held), every ref a journal row names, and the
rescue of each event of no operation (`emergency`, `rollback --to`: refs/atomic/rescue/), holds
its checkpoint again where git still has it, and so does the target of each event no row names
(the commit an `emergency --to` went to, a state a take-back made: refs/atomic/commits/), and
filter-branch's copies of ours go.
"""

from __future__ import annotations

import contextlib

from git_atomic.core.errors import AtomicError
from git_atomic.core.journal import Journal
from git_atomic.engine.git import Repo
from git_atomic.ops.context import ORIGINAL


def hold_all(repo: Repo, journal: Journal) -> None:
    """Every checkpoint the journal names held by its ref again (one transaction)."""
    refs = repo.refs("refs/atomic/", ORIGINAL + "/")
    recorded = {c.ref: c.sha for c in journal.all_checkpoints() if c.ref}
    # A rescue of no operation, the commit an `emergency --to` went to, a state a take-back
    # made: their refs are in no row, but where filter-branch kept them.
    held = {sha for name, sha in refs.items() if not name.startswith(ORIGINAL + "/")}
    for kind, unnamed in (
        ("rescue", journal.rescues_of_no_operation()),
        ("commits", journal.targets_of_no_row()),
    ):
        copies = {
            sha: name.removeprefix("refs/original/")
            for name, sha in refs.items()
            if name.startswith(f"{ORIGINAL}/{kind}/")
        }
        for sha, at in unnamed.items():
            if sha not in held and sha not in recorded.values():
                ref = copies.get(sha) or f"refs/atomic/{kind}/{int(at * 1000):x}-{sha[:4]}"
                recorded[ref] = sha
    unheld = {ref: sha for ref, sha in recorded.items() if refs.get(ref) != sha}
    present: set[str] = set()
    if unheld:
        asked = "".join(f"{sha}\n" for sha in set(unheld.values())).encode()
        listed = repo.run("cat-file", "--batch-check", input=asked, check=False).stdout
        present = {
            line.split()[0].decode() for line in listed.splitlines() if b"missing" not in line
        }
    # Never through a symbolic ref the command made of ours (`git symbolic-ref
    # refs/atomic/... refs/heads/main`, which for-each-ref lists as nothing here): the ref itself
    # holds the checkpoint again, the branch it named stays where it is.
    lines = []
    for ref, sha in unheld.items():
        if sha in present:
            lines += ["option no-deref", f"update {ref} {sha} {refs.get(ref, '')}".rstrip()]
    # filter-branch's copy of one of our refs, as we made it: ours holds it again
    lines += [
        line
        for name, sha in refs.items()
        if name.startswith(ORIGINAL + "/")
        and recorded.get(name.removeprefix("refs/original/")) == sha
        and (name.removeprefix("refs/original/") not in unheld or sha in present)
        for line in ("option no-deref", f"delete {name} {sha}")
    ]
    if lines:
        with contextlib.suppress(AtomicError):  # as before: held by nothing
            repo.update_refs(lines, message="git-atomic: its checkpoints held again")
