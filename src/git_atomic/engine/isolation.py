"""The private worktree of `run --isolate`, and the tree arithmetic that carries its result home.

- A private worktree is `git worktree add --detach <common>/atomic/isolated/<op_id> <HEAD>`
  (our git calls run no hooks), brought to the PRE-OP state with the restore engine.
- Results come home by three-way merges of *trees*: `git merge-tree --write-tree` (git >= 2.38)
  on three throwaway commits — the base, and ours and theirs each with the base as only parent —
  so the merge base is exactly the tree we name (2.39 has no `--merge-base`). Chosen over
  `read-tree -m` on a temporary index, which settles only whole-file cases and would need
  `merge-file` for each path both sides changed: merge-tree does content, mode, rename and
  file/folder cases in one call, writes nothing but objects and touches no worktree or index.
- The commits an isolated run made on its detached HEAD go on the user's branch as they are
  (fast-forward) when the branch has not moved, else replayed one by one onto it (cherry-pick
  semantics, author kept, empty ones dropped); a history with merges is squashed into one commit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from git_atomic.core import process, records
from git_atomic.core.errors import GitError
from git_atomic.core.records import dataclass
from git_atomic.engine import checkpoint, discovery, snapshot
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import Repo
from git_atomic.engine.gitobjects import as_utf8

ISOLATED_DIR: Final = "isolated"
# While it runs, an isolated operation's journal row is filed under this, not a worktree.
PRIVATE_PREFIX: Final = "isolated:"


@dataclass(frozen=True)
class Merge:
    """A merged tree (or commit, for a replay), or the paths that conflict."""

    oid: str | None
    conflicts: tuple[str, ...] = ()


# --- the private worktree ------------------------------------------------------------------------
def worktree_path(repo: Repo, op_id: str) -> Path:
    return repo.state_dir / ISOLATED_DIR / op_id


def add_worktree(repo: Repo, path: Path, commit: str) -> Repo:

    path.parent.mkdir(parents=True, exist_ok=True)
    repo.run("worktree", "add", "--detach", str(path), commit)
    return discovery.discover.private(str(path))


def bring_to(private: Repo, target: Snapshot) -> None:
    """Make the fresh private worktree's files and index exactly the target's (HEAD stays)."""
    from git_atomic.engine import restore, restoreplan  # a checkpoint (phasecommit) needs neither

    current = snapshot.capture(private, message="git-atomic probe", ref=None).snapshot
    # .git/info/exclude and info/attributes are the repository's, shared with your worktree:
    # never written here.
    the_plan = restoreplan.plan(private, current, target, with_refs=False)
    the_plan = records.replace(the_plan, exclude_changes=False, attributes_changes=False)
    outcome = restore.apply(private, current, target, the_plan, reason="git-atomic: isolate")
    problems = [p for p in outcome.problems if p not in _sockets_not_made(private, target)]
    if problems:
        raise GitError(
            ["git", "atomic", "isolate"],
            1,
            b"",
            ("cannot prepare the private worktree: " + "; ".join(problems)).encode(),
        )
    # The saved index carries the stat data of the user's files; refresh it once here so that
    # neither our checkpoints nor the command's own git calls hash every file again.
    private.run("update-index", "-q", "--refresh", check=False)


def _sockets_not_made(private: Repo, target: Snapshot) -> set[str]:
    """The lines naming your sockets and devices, which no restore can make in the private
    worktree (they stay in yours, where the result is applied around them): no failure to
    prepare it (before, `run --isolate` was refused, exit 3, while you had a socket)."""
    if target.specials is None:
        return set()
    import stat

    from git_atomic.engine.restorespecials import special_not_back

    found = checkpoint.load_specials(private, target)
    return {special_not_back(p, m, None) for p, m in found.items() if not stat.S_ISFIFO(m)}


def private_cwd(root: Path, private_root: Path) -> Path:
    rel = os.path.relpath(os.path.realpath(os.getcwd()), os.path.realpath(root))
    if rel == "." or rel.startswith(".."):
        return private_root
    cwd = private_root / rel
    try:
        cwd.mkdir(parents=True, exist_ok=True)  # an ignored or empty folder is not captured
    except OSError:
        return private_root
    return cwd


def point_git_variables_at(private: Repo) -> None:
    """GIT_DIR, GIT_WORK_TREE or GIT_INDEX_FILE inherited from a caller (a hook, a script)
    would send the command's and the gates' git calls to the user's worktree. They point at the
    private one instead (only children see them: our own git calls drop them)."""
    targets = {
        "GIT_DIR": private.git_dir,
        "GIT_WORK_TREE": private.root,
        "GIT_INDEX_FILE": private.index_path,
        "GIT_COMMON_DIR": private.common_dir,
    }
    for name, target in targets.items():
        if name in os.environ:
            os.environ[name] = str(target)


def remove_worktree(repo: Repo, path: Path) -> bool:
    """Remove a private worktree and its administrative folder; True when nothing is left.

    Not `git worktree prune`: that also forgets the user's own worktrees whose folders are
    missing right now (an unmounted disk), so only our entries are removed, by name.
    """
    import shutil

    admin = admin_dirs(repo, path)
    if path.exists():
        repo.run("worktree", "remove", "--force", "--force", str(path), check=False)
    if path.exists():
        _force_rmtree(path)
    for folder in admin:
        if folder.exists():
            shutil.rmtree(folder, ignore_errors=True)
    return not path.exists() and not any(f.exists() for f in admin)


def admin_dirs(repo: Repo, path: Path) -> list[Path]:
    wanted = os.path.normpath(path)
    return [entry for entry, worktree in _admin_entries(repo) if worktree == wanted]


def _admin_entries(repo: Repo) -> list[tuple[Path, str]]:
    """(git's folder for a linked worktree, that worktree's folder) for every linked worktree."""
    try:
        entries = list((repo.common_dir / "worktrees").iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        try:
            gitdir = os.fsdecode((entry / "gitdir").read_bytes()).strip()  # a path: any bytes
        except OSError:
            continue
        found.append((entry, os.path.normpath(os.path.dirname(gitdir))))
    return found


def stale_admin_dirs(repo: Repo) -> list[Path]:
    """git's records of private worktrees whose folder is gone (a crash between the two)."""
    ours = os.path.normpath(repo.state_dir / ISOLATED_DIR)
    found = []
    for entry, worktree in _admin_entries(repo):
        if os.path.dirname(worktree) == ours and not os.path.exists(worktree):
            found.append(entry)
    return found


def remove_admin_dir(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _force_rmtree(path: Path) -> None:
    """What `worktree remove` left (it refuses some cases): also folders the command made
    read-only."""
    import shutil

    for folder, _dirs, _files in os.walk(path):
        with contextlib.suppress(OSError):
            os.chmod(folder, 0o700)
    shutil.rmtree(path, ignore_errors=True)


# --- merging -------------------------------------------------------------------------------------
def merge_trees(repo: Repo, *, base: str, ours: str, theirs: str) -> Merge:
    if (repo.state_dir / "lfs").is_dir():  # markers for kept LFS content: alike on each side
        from git_atomic.engine import lfskeep

        base, ours, theirs = lfskeep.alike(repo, base, ours, theirs)
    if theirs in (base, ours):
        return Merge(ours)
    if ours == base:
        return Merge(theirs)
    res = run_merge_tree(repo, base=base, ours=ours, theirs=theirs, messages=False)
    fields = res.stdout.split(b"\0")
    if res.returncode == 0:
        return Merge(fields[0].decode().strip())
    conflicts: list[str] = []
    for item in fields[1:]:
        if not item:
            break
        conflicts.append(item.decode("utf-8", "surrogateescape"))
    return Merge(None, tuple(dict.fromkeys(conflicts)) or ("(unknown)",))


def run_merge_tree(
    repo: Repo, *, base: str, ours: str, theirs: str, messages: bool, renames: bool = True
) -> process.Result:
    """`merge-tree --write-tree -z --name-only` of two trees with `base` as the merge base, on
    three throwaway commits (git 2.39 has no `--merge-base`), every file merged as text;
    objects only. `renames`: git's rename detection (off: each path merged as itself).
    Exit 0: merged, the tree first; 1: conflicts; anything else raises."""
    env = repo.identity_env(required=False)
    b = repo.line("commit-tree", base, "-m", "git-atomic merge base", env=env)
    o = repo.line("commit-tree", ours, "-p", b, "-m", "git-atomic merge: ours", env=env)
    t = repo.line("commit-tree", theirs, "-p", b, "-m", "git-atomic merge: theirs", env=env)
    args = ["merge-tree", "--write-tree", "-z", "--name-only"]
    if not messages:
        args.append("--no-messages")
    per_path = () if renames else ("-c", "merge.renames=false")
    res = repo.run(*repo.text_merges(), *per_path, *args, o, t, check=False)
    if res.returncode not in (0, 1):
        raise GitError(
            ["git", "merge-tree", "--write-tree"], res.returncode, res.stdout, res.stderr
        )
    return res


def tree_of(repo: Repo, commit: str) -> str:
    return repo.line("rev-parse", f"{commit}^{{tree}}")


def replay(repo: Repo, *, since: str, tip: str, onto: str, squash_message: str) -> Merge:
    """The commits `since..tip` on top of `onto`: the new tip, or the paths that conflict."""
    if tip == since:
        return Merge(onto)
    if onto == since:
        return Merge(tip)
    rows = [
        line.split()
        for line in repo.out(
            "rev-list", "--reverse", "--topo-order", "--parents", f"{since}..{tip}"
        )
        .decode()
        .split("\n")
        if line
    ]
    linear = (
        bool(rows)
        and all(len(r) == 2 for r in rows)
        and rows[0][1] == since
        and all(rows[i][1] == rows[i - 1][0] for i in range(1, len(rows)))
        and rows[-1][0] == tip
    )
    identity = repo.identity_env(required=False)
    if not linear:
        merged = merge_trees(
            repo, base=tree_of(repo, since), ours=tree_of(repo, onto), theirs=tree_of(repo, tip)
        )
        if merged.oid is None:
            return merged
        return Merge(
            repo.line(
                *as_utf8(squash_message),
                "commit-tree",
                *repo.sign_args(),
                merged.oid,
                *("-p", onto, "-m", squash_message),
                env=identity,
            )
        )
    current, current_tree = onto, tree_of(repo, onto)
    for commit, parent in rows:
        merged = merge_trees(
            repo, base=tree_of(repo, parent), ours=current_tree, theirs=tree_of(repo, commit)
        )
        if merged.oid is None:
            return merged
        if merged.oid == current_tree:
            continue  # its change is there already: never an empty commit
        current = _copy_commit(repo, commit, tree=merged.oid, parent=current, identity=identity)
        current_tree = merged.oid
    return Merge(current)


def _copy_commit(
    repo: Repo, commit: str, *, tree: str, parent: str, identity: Mapping[str, str]
) -> str:
    """A copy of `commit` on `parent` with `tree`: its author, its message and the encoding it
    names for them kept as they are (git's t3900: a commit without an `encoding` header holds
    UTF-8), never relabelled by your `i18n.commitEncoding`."""
    raw = repo.out("cat-file", "commit", commit)
    headers, _, message = raw.partition(b"\n\n")
    env = dict(identity)
    encoding = "UTF-8"
    for line in headers.split(b"\n"):
        if line.startswith(b"author "):
            who, stamp, zone = line[7:].rsplit(b" ", 2)
            name, _, email = who.partition(b" <")
            # fsdecode: the bytes come back as they were when the variable is passed on.
            env.update(
                GIT_AUTHOR_NAME=os.fsdecode(name),
                GIT_AUTHOR_EMAIL=os.fsdecode(email.rstrip(b">")),
                GIT_AUTHOR_DATE=f"{stamp.decode()} {zone.decode()}",
            )
        elif line.startswith(b"encoding "):
            encoding = os.fsdecode(line[9:])
    return repo.line(
        "-c",
        f"i18n.commitEncoding={encoding}",
        "commit-tree",
        *repo.sign_args(),
        tree,
        "-p",
        parent,
        input=message,
        env=env,
    )


# --- checkpoints ---------------------------------------------------------------------------------
def as_user_checkpoint(
    repo: Repo,
    snap: Snapshot,
    *,
    head_ref: str | None,
    root: Path,
    private_root: Path,
    message: str,
) -> Snapshot:
    """A private worktree's checkpoint as the user's worktree would hold that state: HEAD on the
    user's branch (at the private HEAD's commit) instead of detached, so that `rollback --to` it
    from the user's worktree makes sense. Files, index and staged tree stay as captured."""
    branches = dict(snap.branches)
    if head_ref is not None and snap.head_oid is not None:
        branches[repo.branch_of(head_ref, branches)] = snap.head_oid
    else:
        head_ref = None
    parts = records.replace(
        snap,
        head_ref=head_ref,
        branches=branches,
        worktree=str(root),
        origin={**snap.origin, "isolated_in": str(private_root)},
    )
    return checkpoint.write(repo, parts, message=message)


def target_checkpoint(
    repo: Repo,
    *,
    current: Snapshot,
    files_tree: str,
    staged_tree: str,
    head_oid: str | None,
    index_flags: str | None,
    folders: tuple[str | None, bool],
    message: str,
) -> Snapshot:
    """The state the user's worktree goes to: its HEAD (moved to `head_oid`), merged files, the
    merged staged entries with `index_flags` (the user's with the command's changes of them
    made; those of entries the merge removed go), `folders` (emptyfolders.empty_folders_after)."""
    branches = dict(current.branches)
    if current.head_ref is not None and head_oid is not None:
        branches[repo.branch_of(current.head_ref, branches)] = head_oid
    parts = checkpoint.Parts(
        files_tree=files_tree,
        staged_tree=staged_tree,
        head_ref=current.head_ref,
        head_oid=head_oid,
        branches=branches,
        index_flags=index_flags,
        empty_folders=folders[0],
        all_empty_folders=folders[1],
    )
    return checkpoint.write(repo, parts, message=message)
