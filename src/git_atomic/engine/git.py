"""Typed git plumbing for one worktree: refs, HEAD, the other worktrees, ignore rules.

`Repo` is built in layers, one module each: how git runs (gitrunner.py, on the configuration
of gitconfig.py), objects read and written and trees compared (gitobjects.py), trees written
and edited (gittrees.py). What git prints is read into records by gitoutput.py."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from git_atomic.core import patterns
from git_atomic.core.errors import GitError
from git_atomic.engine import objectformat, reflisting
from git_atomic.engine.gitoutput import REFS_FORMAT, parse_refs

# The records of git's output, importable from here as before (gitoutput.py parses them).
from git_atomic.engine.gitoutput import RawChange as RawChange
from git_atomic.engine.gitoutput import TreeEntry as TreeEntry
from git_atomic.engine.gittrees import RepoTrees

ZERO_OID: Final = "0" * 40  # SHA-1's; Repo.zero_oid is the repository's own


def is_zero(oid: str) -> bool:
    """Whether `oid` is the id of nothing (all zeros), in either object format."""
    return bool(oid) and not oid.strip("0")


EMPTY_TREE: Final = objectformat.EMPTY_TREE


def head_text(git_dir: Path) -> str:
    """What a HEAD file says, never read through a link: the link git makes itself under
    `core.preferSymlinkRefs` (to `refs/heads/<branch>`) says `ref: <its target>`, as git reads
    it; any other link says nothing (gitlinks.py sets such a HEAD aside before git is asked)."""
    head = git_dir / "HEAD"
    if head.is_symlink():
        target = os.readlink(head)
        parts = target.split("/")
        return f"ref: {target}" if parts[0] == "refs" and ".." not in parts else ""
    # A branch's name may hold bytes that are not UTF-8: kept as surrogates (parse_refs).
    return head.read_bytes().decode("utf-8", "surrogateescape").strip()


# The git dirs (this worktree's, the shared one) of each repository this process opened: the
# command line gives what it made there as root to their owner when it ends (handback.py).
OPENED: Final[set[tuple[Path, Path]]] = set()


class Repo(RepoTrees):
    """A worktree and its git dirs; equal when they name the same ones."""

    def __init__(self, root: Path, git_dir: Path, common_dir: Path) -> None:
        OPENED.add((git_dir, common_dir))
        super().__init__(root, git_dir, common_dir)

    def _key(self) -> tuple[Path, Path, Path]:
        return self.root, self.git_dir, self.common_dir

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Repo) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Repo(root={self.root!r}, git_dir={self.git_dir!r}, common_dir={self.common_dir!r})"

    @property
    def worktree_id(self) -> str:
        if self.git_dir == self.common_dir:
            return "main"
        # A linked worktree's folder name, as git made its id, may hold bytes that are not UTF-8
        # (`git worktree add $'../wt\\351'`): the journal keeps text, so those are written
        # `\\xe9`, a name git's ids never have (a backslash is not allowed in them).
        return os.fsencode(self.git_dir.name).decode("utf-8", "backslashreplace")

    @property
    def index_path(self) -> Path:
        return self.git_dir / "index"

    def ignored(
        self,
        paths: Iterable[bytes],
        *,
        by_rules_alone: bool = True,
        work_tree: str | None = None,
    ) -> set[bytes] | None:
        """Those of `paths` (from the top) that git's ignore rules match; None when git could not
        say. `by_rules_alone`: whatever the index says (`--no-index`); otherwise a tracked path
        is never ignored. `work_tree`: by the `.gitignore` files of that folder instead (with
        this repository's `info/exclude` and `core.excludesFile`). Each path is asked as
        `./path`: check-ignore reads one that starts with `:` as a pathspec with magic (`:x`
        asks for `x`; `:!x` fails the whole call) and takes no literal pathspecs."""
        asked = b"".join(b"./" + p + b"\0" for p in paths)
        if not asked:
            return set()
        res = self.run(
            *((f"--work-tree={work_tree}",) if work_tree is not None else ()),
            "check-ignore",
            "-z",
            "--stdin",
            *(("--no-index",) if by_rules_alone else ()),
            input=asked,
            check=False,
        )
        if res.returncode not in (0, 1):
            return None
        return {p[2:] for p in res.stdout.split(b"\0") if p.startswith(b"./")}

    # --- refs ----------------------------------------------------------------------------
    def read_head(self, branches: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
        """(symbolic ref or None when detached, commit or None when unborn). `branches`: every
        local branch, just read (`refs("refs/heads/")`), which saves a `rev-parse` where HEAD
        names one of them (an unborn branch, or a symbolic ref, is asked)."""
        text = head_text(self.git_dir)
        if text.startswith("ref: "):
            ref = text[5:]
            if branches is not None and ref.startswith("refs/heads/") and ref in branches:
                return ref, branches[ref]
            return ref, self.rev_parse(ref)
        return None, text

    def branch_of(self, ref: str, branches: Mapping[str, str]) -> str:
        """The branch a commit on `ref` moves: `ref` itself, or, for a symbolic ref among the
        branches (HEAD on `refs/heads/alias` naming `refs/heads/main`), the one it leads to.
        `branches`: as `refs("refs/heads/")` reads them, which leaves symbolic refs out."""
        for _ in range(5):  # git follows as few
            if ref in branches:
                break
            res = self.run("symbolic-ref", "-q", ref, check=False)
            if res.returncode != 0:
                break  # an unborn branch, or a ref that is no symbolic one
            ref = res.stdout.decode("utf-8", "surrogateescape").strip()
        return ref

    def rev_parse(self, rev: str) -> str | None:
        res = self.run(
            "rev-parse", "-q", "--verify", "--end-of-options", rev + "^{commit}", check=False
        )
        return res.stdout.decode().strip() if res.returncode == 0 else None

    def refs(self, *prefixes: str) -> dict[str, str]:
        return parse_refs(self.refs_listing(*prefixes))

    def refs_listing(self, *prefixes: str) -> bytes:
        """The refs under `prefixes` as `for-each-ref --format=REFS_FORMAT` lists them (symbolic
        ones too): `parse_refs` reads it. Kept, with our updates since (`listed_again`)."""
        listed = self.out("for-each-ref", f"--format={REFS_FORMAT}", *prefixes)
        self.listed = reflisting.Listing(prefixes, listed)
        return listed

    def listed_again(self, *prefixes: str) -> bytes | None:
        """The refs under `prefixes` as `refs_listing` would list them now, from its last
        listing and our updates since (reflisting.py); None where they are not known so."""
        return self.listed.under(prefixes) if self.listed is not None else None

    def update_refs(self, commands: Iterable[str], *, message: str) -> None:
        """One transaction of `update-ref --stdin` lines (update/create/delete/verify). A ref's
        name may hold bytes that are not UTF-8 (`git branch $'lat\\351n'`): parse_refs keeps
        them as surrogates, given back here as the bytes they were. A ref of ours
        (`refs/atomic/`) made a symbolic ref (to your branch) is written over itself, never
        through it (`option no-deref`): git would refuse our tree there, or move your branch.
        Refs of ours alone are moved with no reflog (OURS_UNLOGGED)."""
        commands = list(commands)
        payload = "".join(("option no-deref\n" if _ours(c) else "") + c + "\n" for c in commands)
        if payload:
            data = payload.encode("utf-8", "surrogateescape")
            listed = self.listed
            unlogged = OURS_UNLOGGED if all(map(_ours, commands)) else ()
            self.run(*unlogged, "update-ref", "-m", message, "--stdin", input=data)
            if listed is not None and listed.moved(commands):
                self.listed = listed

    def set_head(
        self,
        ref: str | None,
        oid: str | None,
        *,
        message: str,
        was: tuple[str | None, str | None] | None = None,
    ) -> bool:
        """Point HEAD at the branch `ref`, or detach it at `oid`. With `was`, what HEAD named
        when the move was planned (a branch: `(ref, None)`; detached: `(None, oid)`), only if
        HEAD still names it: False, and HEAD left alone, when someone moved it since. A
        detached HEAD moves by compare-and-swap (`update-ref --no-deref HEAD new old`); git
        before 2.46 has none for a symbolic one (`symref-verify`), so that is read just before
        it is written."""
        if was is not None and self.head_names() != was:
            return False
        if ref is not None:
            self.run("symbolic-ref", "-m", message, "HEAD", ref)
        elif oid is not None:
            old: list[str] = []
            if was is not None:
                # On a branch, git compares the commit the branch names: read it now.
                old = [(was[1] if was[0] is None else self.rev_parse(was[0])) or self.zero_oid]
            argv = ["update-ref", "--no-deref", "-m", message, "HEAD", oid, *old]
            res = self.run(*argv, check=False)
            if res.returncode != 0:
                if was is not None and self.head_names() != was:
                    return False
                raise GitError(["git", *argv], res.returncode, res.stdout, res.stderr)
        return True

    def head_names(self) -> tuple[str | None, str | None]:
        """What the HEAD file says: `(branch ref, None)`, or `(None, commit)` when detached."""
        text = head_text(self.git_dir)
        return (text[5:], None) if text.startswith("ref: ") else (None, text)

    def other_worktree_heads(self) -> dict[str, Path]:
        """Branches checked out in the other worktrees of this repository, read from their git
        dirs (`git worktree list` names a `--separate-git-dir` repository's worktree by its git
        dir, which would make your own branch look checked out elsewhere)."""
        return {branch: where for branch, _, where in self._other_heads()}

    def other_head_git_dirs(self) -> dict[str, Path]:
        """As other_worktree_heads, each branch with the git dir of the worktree that has it."""
        return {branch: git_dir for branch, git_dir, _ in self._other_heads()}

    def _other_heads(self) -> list[tuple[str, Path, Path]]:
        """(branch, git dir, folder) of each other worktree whose HEAD names a branch; a branch
        checked out in two (git refuses that, but a hand-edited HEAD may) counted once."""
        heads: dict[str, tuple[str, Path, Path]] = {}
        for git_dir, where in self._other_worktrees():
            try:
                text = head_text(git_dir)
            except OSError:
                continue
            if text.startswith("ref: refs/heads/"):
                heads.setdefault(text[5:], (text[5:], git_dir, where))
        return list(heads.values())

    def linked_worktrees(self) -> dict[str, str]:
        """Each other linked worktree of this repository whose git dir is there (under the
        common dir's `worktrees/`): its folder, as text, and what its HEAD says. An operation
        records them (worktreesgone.py), to name one it removed (`git worktree remove`).
        One whose folder is gone already is not (t2401-worktree-prune: `git worktree prune`
        takes its git dir; before, its rollback said its uncommitted files were lost with it,
        and an `rm -rf` of one, without a prune, was never named)."""
        found: dict[str, str] = {}
        for git_dir, where in self._other_worktrees():
            if git_dir == self.common_dir or not os.path.lexists(where):
                continue
            try:
                found[os.fsdecode(where)] = head_text(git_dir)
            except OSError:
                continue
        return found

    def linked_worktree_names(self) -> dict[str, str]:
        """Each other linked worktree's folder, as text, and the name of its git dir under the
        common dir's `worktrees/`: a worktree keeps that name when `git worktree move` moves
        its folder (worktreesgone.py tells a move from a removal by it)."""
        return {
            os.fsdecode(where): git_dir.name
            for git_dir, where in self._other_worktrees()
            if git_dir != self.common_dir
        }

    def other_worktree_folders(self) -> dict[str, Path]:
        """Each other worktree of this repository (the main one too, from a linked one): its
        id, as `worktree_id` names it there, and its folder as git lists it."""
        return {
            "main"
            if git_dir == self.common_dir
            else os.fsencode(git_dir.name).decode("utf-8", "backslashreplace"): where
            for git_dir, where in self._other_worktrees()
        }

    def has_other_worktrees(self) -> bool:
        """Whether this repository has a worktree besides this one (its git dir still there)."""
        return any(git_dir.is_dir() for git_dir, _ in self._other_worktrees())

    def _other_worktrees(self) -> list[tuple[Path, Path]]:
        """(git dir, folder) of each other worktree of this repository."""
        dirs: list[tuple[Path, Path]] = []
        bare = self.config_bool("core.bare")
        if self.git_dir != self.common_dir and not bare:
            main = self.common_dir.parent if self.common_dir.name == ".git" else self.common_dir
            dirs.append((self.common_dir, main))
        with contextlib.suppress(OSError):
            for entry in sorted(os.listdir(self.common_dir / "worktrees")):
                git_dir = self.common_dir / "worktrees" / entry
                if git_dir == self.git_dir:
                    continue
                try:
                    # A path, any bytes (a worktree added at $'../wt\\351'), not UTF-8 text.
                    where = Path(os.fsdecode((git_dir / "gitdir").read_bytes()).strip()).parent
                except OSError:
                    where = git_dir
                dirs.append((git_dir, where))
        return dirs


_PLAIN_NAME: Final = patterns.keep(r"[A-Za-z0-9._-]{1,64}")


# Under your `core.logAllRefUpdates=always` git logs every ref it moves: the scan's ref, a
# tree that moves at nearly every command, then had a reflog your `git gc` and `git reflog
# expire --all` failed on ("not a commit") and that kept every tree it ever named, the bytes of
# untracked files long deleted with them. Our refs need no reflog (gc retires them by name).
OURS_UNLOGGED: Final = ("-c", "core.logAllRefUpdates=false")


def _ours(command: str) -> bool:
    """Whether an `update-ref --stdin` line names a ref of ours (`refs/atomic/`)."""
    fields = command.split(" ", 2)
    return len(fields) > 1 and fields[1].startswith("refs/atomic/")


def worktree_key(repo: Repo) -> str:
    """The worktree's name in the files and refs of the state dir (the scan's, the raw record's)."""
    name = repo.worktree_id
    if re.fullmatch(_PLAIN_NAME, name) and not name.startswith("."):
        return name
    import hashlib  # only for such names: its import alone costs 2 ms of every start

    return hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()[:16]
