"""Commits mode for agent turns: one commit per turn, holding HEAD plus the turn's effect.

The commit's tree is HEAD's with each of the turn's steps merged in, three-way (base: the
step's `before` files, ours: the tree so far, theirs: the step's `after` files), so it holds
what the turn changed and nothing of the user's work in progress: files only the user changed
keep HEAD's version in it, and a file both changed gets the turn's hunks on top of HEAD's text.
Where that has no clean result the turn is not committed (its result stays in the working tree,
as in shadow mode) and the reason is said. The branch moves by compare-and-swap; the index
then takes the commit's change merged into what you had staged (three-way, as a `run`'s commit
does: ops/phasecommit.py), so what you staged stays staged, in the committed files too, every
flag stays (intent-to-add, skip-worktree, assume-unchanged), and everything unstaged stays
unstaged. A change of the turn that overlaps what you staged is not committed either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Final

from git_atomic.core import failpoints
from git_atomic.core.errors import AtomicError, SigningFailed
from git_atomic.core.journal import Journal
from git_atomic.core.records import dataclass
from git_atomic.core.vocab import IntentAction
from git_atomic.engine import checkpoint, isolation, managedbranch
from git_atomic.engine.conversion import NO_AUTOCRLF
from git_atomic.engine.git import Repo
from git_atomic.ops import phasecommit, treemerge


@dataclass(frozen=True)
class Committed:
    commit: str | None  # None: nothing committed (`why` says why, '' when nothing to commit)
    why: str = ""


def commit_turn(
    repo: Repo, journal: Journal, op_id: str, steps: Sequence[tuple[str, str]], message: str
) -> Committed:
    try:
        env = repo.identity_env(required=True)
        managedbranch.refuse_commits_on_managed(repo)
    except AtomicError as exc:
        return Committed(None, str(exc))
    head_ref, head_oid = repo.read_head()
    head_tree = repo.line("rev-parse", f"{head_oid}^{{tree}}") if head_oid else repo.empty_tree
    tree = head_tree
    unseen: set[bytes] = set()
    for before, after in steps:
        start, end = checkpoint.load(repo, before), checkpoint.load(repo, after)
        unseen |= _there_before(repo, start, end.files_tree)
        base = _committed_within(repo, start, end, _as_git_would(repo, start))
        theirs = _as_git_would(repo, end)
        merged = treemerge.merge(repo, base=base, ours=tree, theirs=theirs)
        if merged.tree is None:
            paths = ", ".join(o.path.decode("utf-8", "backslashreplace") for o in merged.conflicts)
            return Committed(None, f"its changes overlap with uncommitted ones in {paths}")
        tree = merged.tree
    if tree != head_tree:
        added = [c.path for c in repo.diff_trees(head_tree, tree) if c.status == "A"]
        drop = _not_its_own(repo, added, unseen)
        if drop:
            tree = repo.tree_without(tree, drop)
    if tree == head_tree:
        return Committed(None)
    if (repo.state_dir / "lfs").is_dir():
        from git_atomic.engine import lfskeep  # markers for kept LFS content: never committed

        tree = lfskeep.without_markers(repo, head_tree, tree)
    # Your index as the turn's last capture holds it (its end, after its calls settled).
    last = checkpoint.load(repo, steps[-1][1])
    if not last.index_present:
        return Committed(None, "there is no index file")
    if last.index_blob is not None:
        return Committed(None, "your index has unmerged entries")
    staged = isolation.merge_trees(repo, base=head_tree, ours=last.staged_tree, theirs=tree)
    if staged.oid is None:
        paths = ", ".join(staged.conflicts)
        return Committed(None, f"its changes overlap with what you staged in {paths}")
    parents = ["-p", head_oid] if head_oid else []
    try:
        commit = phasecommit.signed_commit(repo, tree, parents, message, env=env)
    except SigningFailed as exc:
        return Committed(None, str(exc))
    old = head_oid or repo.zero_oid
    # The intent first (recover finishes it: `finish`), as a `run`'s commit does (phasecommit)
    journal.set_pending(
        op_id,
        {
            "action": IntentAction.ADVANCE,
            "commit": commit,
            "ref": head_ref,
            "old": old,
            "at": steps[-1][1],
            "staged": staged.oid,
        },
    )
    failpoints.hit("turncommit:before-ref")
    if head_ref is not None:
        repo.update_refs([f"update {head_ref} {commit} {old}"], message=f"git-atomic: {message}")
    else:
        repo.run("update-ref", "--no-deref", "-m", f"git-atomic: {message}", "HEAD", commit, old)
    failpoints.hit("turncommit:before-index")
    phasecommit.put_index(repo, last, checkpoint.load_flags(repo, last), staged.oid)
    failpoints.hit("turncommit:before-record")
    _recorded(journal, op_id, commit)
    return Committed(commit)


def _recorded(journal: Journal, op_id: str, commit: str) -> None:
    journal.set_commit_sha(op_id, journal.checkpoints(op_id)[-1].seq, commit)
    journal.set_pending(op_id, None)


def finish(repo: Repo, journal: Journal, op_id: str, intent: Mapping[str, Any]) -> str:
    """A kept turn's commit that a kill stopped half way (its intent, above): what is left of
    it done, or said. Your branch names the commit: the index takes what `commit_turn` would
    have put there, unless it changed since (then it is left as it is, and said). Your branch
    where it was: the commit was never made; the turn's changes stay in your files,
    uncommitted. Anywhere else (you committed or switched since): left as you made it, said."""
    commit, ref = str(intent["commit"]), intent.get("ref")
    head_ref, head_oid = repo.read_head()
    if head_oid != commit or head_ref != ref:
        journal.set_pending(op_id, None)
        now = repo.rev_parse(ref) if isinstance(ref, str) else head_oid
        if (now or repo.zero_oid) == intent.get("old"):
            return "its commit was not made (killed before); its changes stay in your files"
        where = ref.removeprefix("refs/heads/") if isinstance(ref, str) else "HEAD"
        return (
            f"{where} moved since the kill, so it is left as it is; the turn's commit is "
            f"{commit[:12]} (`git log {commit[:12]}`), your index untouched"
        )
    last = checkpoint.load(repo, str(intent["at"]))
    from git_atomic.engine import staged as staged_side

    try:
        now = staged_side.write_tree(repo, {})
    except AtomicError:
        now = None
    said = f"committed as {commit[:12]}"
    if now == last.staged_tree:
        phasecommit.put_index(repo, last, checkpoint.load_flags(repo, last), str(intent["staged"]))
    elif now != intent["staged"]:
        said += "; your index changed since, so it is left as it is (`git status` shows it)"
    _recorded(journal, op_id, commit)
    return said


def _as_git_would(repo: Repo, snap: checkpoint.Snapshot) -> str:
    """A step's files as your git would commit them, as a `run`'s commits take both sides
    (commitview.py): `core.autocrlf`'s line endings, the index's mode under
    `core.fileMode=false`, a skip-worktree entry as the index holds it. The disk's bytes, merged
    over HEAD's, would make every line of a CRLF file a change of the turn's."""
    from git_atomic.engine import commitview

    flags = checkpoint.load_flags(repo, snap)
    return commitview.as_git_would(
        repo,
        staged_tree=snap.staged_tree,
        flags=flags,
        tree=_converted(repo, snap),
        raw_tree=None,
        leave_out=frozenset(),
        filters=False,  # the snapshot keeps no raw bytes: a filtered file as it was held
    )


def _converted(repo: Repo, snap: checkpoint.Snapshot) -> str:
    """A step's files with those a line-ending rule of your attributes converts (`eol=crlf`,
    `text=auto`, `working-tree-encoding`) as `git add` stores them: the checkpoint keeps their
    bytes on disk, and a `*.bat eol=crlf` file's CRLF lines read as a change of yours against
    HEAD's LF, so the turn was never committed. Only the files your index does not hold as
    they are; no filter of yours runs (`_as_git_would`)."""
    changed = [
        c
        for c in repo.diff_trees(snap.staged_tree, snap.files_tree)
        if c.new_mode in ("100644", "100755") and b"\n" not in c.path
    ]
    if not changed:
        return snap.files_tree
    fields = repo.out(
        "check-attr", "-z", "--stdin", *_EOL_ATTRS, input=b"".join(c.path + b"\0" for c in changed)
    ).split(b"\0")
    attrs: dict[bytes, dict[bytes, bytes]] = {}
    for i in range(0, len(fields) - 2, 3):
        if fields[i + 2] != b"unspecified":
            attrs.setdefault(fields[i], {})[fields[i + 1]] = fields[i + 2]
    ruled = [c for c in changed if c.path in attrs]
    olds = {c.old_oid for c in ruled if c.status != "A"}
    contents = dict(repo.cat_blobs({c.new_oid for c in ruled} | olds))
    edits: dict[bytes, tuple[str, str] | None] = {}
    for c in ruled:
        auto = b"auto" in (attrs[c.path].get(b"text"), attrs[c.path].get(b"crlf"))
        if auto and b"\r\n" in contents.get(c.old_oid, b""):
            continue  # git leaves the CRs alone where the index's copy has them ("safer")
        res = repo.run(
            *NO_AUTOCRLF,  # `core.autocrlf` is commitview's, as for a run's commits
            "hash-object",
            "-w",
            "--stdin",
            f"--path={os.fsdecode(c.path)}",
            input=contents[c.new_oid],
            check=False,
        )
        oid = res.stdout.decode().strip()
        if res.returncode == 0 and oid != c.new_oid:
            edits[c.path] = (c.new_mode, oid)
    return repo.tree_edit(snap.files_tree, edits) if edits else snap.files_tree


_EOL_ATTRS: Final = ("text", "eol", "crlf", "working-tree-encoding")


def _committed_within(
    repo: Repo, start: checkpoint.Snapshot, end: checkpoint.Snapshot, base: str
) -> str:
    """`base` (a step's start) with the files the step committed itself (an agent's `git
    commit`) as its commits left them: what is left to commit is measured from there, as a
    `run`'s commits measure a file it committed itself (ops/phasecommit.py). Measured from the
    start, a file it committed and then changed or removed again read as a change over one of
    yours (HEAD's copy differs from the start), and the turn was not committed."""
    if start.head_oid == end.head_oid or end.head_oid is None:
        return base
    trees = [
        repo.line("rev-parse", f"{oid}^{{tree}}") if oid else repo.empty_tree
        for oid in (start.head_oid, end.head_oid)
    ]
    changes = repo.diff_trees(trees[0], trees[1])
    if not changes:
        return base
    return repo.tree_edit(
        base, {c.path: None if c.status == "D" else (c.new_mode, c.new_oid) for c in changes}
    )


def _not_its_own(repo: Repo, added: Sequence[bytes], unseen: set[bytes]) -> list[bytes]:
    """Of the files the turn's commit would add, those that are not the turn's to commit: the
    ones there before its steps (`_there_before`), and those in a folder that holds a `.git`
    now, a repository of its own the turn made where a folder of files was (`git init sub`
    and a commit in it: git lists its files as the folder's while the index has paths under
    it), as a `run`'s commits leave them (engine/snapshot.py)."""
    import os

    from git_atomic.engine import safefs
    from git_atomic.engine.restoreplan import folders_on_the_way

    folders = sorted({f for p in added for f in folders_on_the_way(p)})
    with safefs.Tree(os.fsencode(repo.root)) as disk:
        looks = disk.lstat_many([f + b"/.git" for f in folders]) if folders else []
    repositories = tuple(f + b"/" for f, st in zip(folders, looks, strict=True) if st is not None)
    return [p for p in added if p in unseen or p.startswith(repositories)]


def _there_before(repo: Repo, start: checkpoint.Snapshot, after_tree: str) -> set[bytes]:
    """The files a step's end holds and its start does not, that were on disk before the step
    began: ignored then (`.env`, `target/`), shown by a rule the step changed. Not its own: they
    stay out of the commit, untracked, as a `run`'s commits leave them (ops/phasecommit.py).
    A file the step moved (`mv`, which keeps its birth) where no rule changed is its own."""
    if start.captured_at is None:
        return set()
    from git_atomic.engine import ignoredthen

    added = [c.path for c in repo.diff_trees(start.files_tree, after_tree) if c.status == "A"]
    if not added:
        return set()
    before = ignoredthen.Before(
        start.captured_at, start.files_tree, start.info_exclude, start.head_ref
    )
    return set(ignoredthen.there_before(repo, added, before, after_tree))
