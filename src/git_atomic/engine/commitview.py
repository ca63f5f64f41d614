"""The files as your git would commit them (commits mode): what `git add -A` would stage.

A capture holds the disk as it is (`Files.tree`: the bytes with the attributes' conversions,
no filter of yours, the disk's modes; `Files.on_disk`: the raw bytes). Where git reads the
disk otherwise, a commit of those files would commit a change git does not see, or hold back
as yours an edit of a file you never touched. So both sides of a commits-mode commit (the
files it is measured from, and the files it holds) are taken as git takes them:

- an entry with the skip-worktree or assume-unchanged flag is the index's entry, whatever the
  disk holds (a file outside the sparse-checkout patterns is absent: no deletion), but for a
  skip-worktree file on disk in a sparse checkout, whose flag git clears as it reads;
- a file git reads otherwise is read as git would read it: through your clean filter, with
  `core.autocrlf`'s line endings (not where the index's copy holds a CR, as git does), with the
  index's mode under `core.fileMode=false` (100644 for a new file) or `core.symlinks=false`
  (a link checked out as a plain file stays a link).

Only the files that differ from the index are looked at: those git sees as changed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Final

from git_atomic.engine import indexstate, refusedpaths
from git_atomic.engine.conversion import NO_AUTOCRLF
from git_atomic.engine.git import RawChange, Repo

_REGULAR: Final = ("100644", "100755")
_LINK: Final = "120000"
_ATTRS: Final = ("filter", "text", "eol", "crlf")
_UNSPECIFIED: Final = b"unspecified"


def _refused(repo: Repo, changes: Sequence[RawChange]) -> frozenset[bytes]:
    """The changed names your git refuses to track (`GIT~1` under `core.protectNTFS`): a
    deletion is staged whatever the name, so only the others are asked."""
    return refusedpaths.refused(repo, (c.path for c in changes if c.status != "D"))


def as_git_would(
    repo: Repo,
    *,
    staged_tree: str,
    flags: indexstate.IndexFlags,
    tree: str,
    raw_tree: str | None,
    leave_out: frozenset[bytes],
    filters: bool = True,
) -> str:
    """`tree` (a capture's files, `Files.tree`) as `git add -A` would stage it over the index
    (`staged_tree`, its `flags`), without the files in `leave_out`. `raw_tree`: the bytes on
    disk (`Files.on_disk`), what a clean filter is given. `filters=False`: your clean filters
    are not run (where no raw tree is kept: a filter given the capture's blob, an LFS marker,
    would store a pointer of the marker)."""
    edits: dict[bytes, tuple[str, str] | None] = dict.fromkeys(leave_out)
    flagged = flags.skip_worktree | flags.assume_unchanged
    file_mode = repo.config_bool("core.fileMode", default=True)
    symlinks = repo.config_bool("core.symlinks", default=True)
    autocrlf = repo.autocrlf()
    names = repo.filter_names() if filters else []
    changes = [c for c in repo.diff_trees(staged_tree, tree) if c.path not in leave_out]
    refused = _refused(repo, changes)
    if refused:  # as `git add -A` leaves them: the index's entry, or none (refusedpaths.py)
        flagged = flagged | refused
    if not flagged and file_mode and symlinks and not autocrlf and not names:
        return repo.tree_without(tree, leave_out) if leave_out else tree
    if flags.skip_worktree and indexstate.skip_follows_disk(repo):
        # In a sparse checkout git clears the skip-worktree flag of a file that is on disk as
        # it reads the index (a codegen writing outside the patterns): git sees its change,
        # and so does the commit (an index of the same bytes lists it flagged no more).
        present = {c.path for c in changes if c.status != "D"} - flags.assume_unchanged
        flagged = flagged - present
    files: list[RawChange] = []
    seen: dict[bytes, tuple[str, str] | None] = {}  # the changes git sees, as it stages them
    replaced = _replaced(changes, flagged)
    for c in changes:
        if c.path in replaced:  # a folder where it was, or a file where its folder was
            seen[c.path] = None
        elif c.path in flagged:  # git does not look at the disk: the index's entry
            edits[c.path] = None if c.status == "A" else (c.old_mode, c.old_oid)
        elif c.new_mode in _REGULAR:
            files.append(c)
        else:
            seen[c.path] = None if c.status == "D" else (c.new_mode, c.new_oid)
    contents = _read_as_git(repo, files, raw_tree, names=names, autocrlf=autocrlf)
    for c in files:
        old_mode = c.old_mode if c.status != "A" else flags.intent_to_add.get(c.path)
        mode = _mode(old_mode, c.new_mode, file_mode=file_mode, symlinks=symlinks)
        oid = contents.get(c.path, c.new_oid)
        seen[c.path] = (mode, oid)
        if (mode, oid) != (c.new_mode, c.new_oid):
            edits[c.path] = (mode, oid)
    # The same tree either way: `tree` with what git does not see put back as your index has
    # it, or your index's tree with what git sees; the fewer edits (a sparse checkout's files
    # left out of it are each an edit of `tree`, none of your index's).
    from_staged = {**dict.fromkeys(leave_out), **seen}

    def from_tree() -> str:
        return repo.tree_edit(tree, edits) if edits else tree

    def from_index() -> str:
        return repo.tree_edit(staged_tree, from_staged) if from_staged else staged_tree

    made = from_index() if len(from_staged) < len(edits) else from_tree()
    if os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1":  # under test: the other way agrees
        other = from_tree() if len(from_staged) < len(edits) else from_index()
        if other != made:
            raise AssertionError(f"commitview: {other} is not {made} ({tree}, {staged_tree})")
    return made


def _replaced(changes: Sequence[RawChange], flagged: frozenset[bytes]) -> set[bytes]:
    """The flagged entries gone from the disk where a file git stages stands in their way: a
    folder made where the flagged file was (`a/inner` for `a`), or a file where its folder was
    (`d` for `d/x`). `git add -A` stages that file and drops the flagged entry with it (a path
    cannot be both), whatever the flag says; the index's entry kept, the folder's files went
    uncommitted."""
    gone = {c.path for c in changes if c.status == "D" and c.path in flagged}
    if not gone:
        return set()
    added = [c.path for c in changes if c.status != "D" and c.path not in flagged]
    out = set()
    for path in gone:
        if any(a.startswith(path + b"/") or path.startswith(a + b"/") for a in added):
            out.add(path)
    return out


def _mode(old: str | None, new: str, *, file_mode: bool, symlinks: bool) -> str:
    """The mode `git add` gives a regular file whose index entry has mode `old` (None: no
    entry), as git's `ce_mode_from_stat`."""
    if not symlinks and old == _LINK:
        return _LINK
    if not file_mode:
        return old if old in _REGULAR else "100644"
    return new


def _read_as_git(
    repo: Repo,
    files: Sequence[RawChange],
    raw_tree: str | None,
    *,
    names: Sequence[str],
    autocrlf: bool,
) -> dict[bytes, str]:
    """The blobs git would make of those `files` that your filters or `core.autocrlf` convert
    (the attributes' own conversions are in the capture's tree already): path -> blob."""
    if not files or not (names or autocrlf):
        return {}
    paths = [c.path for c in files if b"\n" not in c.path]  # never a name check-attr splits
    fields = repo.out(
        "check-attr", "-z", "--stdin", *_ATTRS, input=b"".join(p + b"\0" for p in paths)
    ).split(b"\0")
    attrs: dict[bytes, dict[str, bytes]] = {}
    for i in range(0, len(fields) - 2, 3):
        attrs.setdefault(fields[i], {})[fields[i + 1].decode()] = fields[i + 2]
    by_path = {c.path: c for c in files}
    # As bytes: an attribute's value, like a driver's name, need not be UTF-8.
    drivers = {os.fsencode(n) for n in names}
    filtered = [p for p in paths if attrs.get(p, {}).get("filter", _UNSPECIFIED) in drivers]
    # Line endings only: `core.autocrlf` where no attribute says how (git's "auto"), for a
    # file with a CR to convert.
    auto_eol = [
        p
        for p in paths
        if autocrlf
        and p not in filtered
        and all(attrs.get(p, {}).get(a, _UNSPECIFIED) == _UNSPECIFIED for a in _ATTRS[1:])
    ]
    if not filtered and not auto_eol:
        return {}
    on_disk = _raw_contents(repo, raw_tree, [*filtered, *auto_eol])
    wanted = [by_path[p].new_oid for p in [*filtered, *auto_eol] if p not in on_disk]
    contents = dict(repo.cat_blobs(wanted))

    def data(path: bytes) -> bytes:
        return on_disk[path] if path in on_disk else contents[by_path[path].new_oid]

    auto_eol = [p for p in auto_eol if b"\r" in data(p)]
    # git leaves a file's CRs alone where the index's copy has one (its "safer autocrlf").
    auto = {p for p in (*filtered, *auto_eol) if _is_auto(attrs.get(p, {}), autocrlf=autocrlf)}
    had_cr = _index_has_cr(repo, [by_path[p] for p in auto])
    auto_eol = [p for p in auto_eol if p not in had_cr]
    found: dict[bytes, str] = {}
    failed: list[bytes] = []
    for path in [*filtered, *auto_eol]:
        if failed and path in filtered:  # a filter that failed once: the rest as on disk
            failed.append(path)
            continue
        # Your filter runs here, as for a `git commit` of yours, on the bytes the capture
        # holds (git given a name would read it, through a folder swapped for a link
        # meanwhile). A missing one is no error: not required.
        eol = NO_AUTOCRLF if path in had_cr else ("-c", "core.safecrlf=false")
        res = repo.run(
            *eol,
            "hash-object",
            "-w",
            "--stdin",
            f"--path={os.fsdecode(path)}",
            input=data(path),
            check=False,
            filters=True,
        )
        if res.returncode != 0:
            # Where git still gives up (a `process` filter that cannot start), the bytes on
            # disk, as git commits them when a filter that is not required fails: never the
            # scan's pointer of them.
            failed.append(path)
            continue
        found[path] = res.stdout.decode().strip()
    if failed:
        found.update(zip(failed, repo.write_blobs([data(p) for p in failed]), strict=True))
    return found


def _is_auto(attrs: dict[str, bytes], *, autocrlf: bool) -> bool:
    """Whether git converts the file's line endings as "auto" (text=auto, or `core.autocrlf`
    where no attribute says how)."""
    if attrs.get("text") == b"auto" or attrs.get("crlf") == b"auto":
        return True
    return autocrlf and all(attrs.get(a, _UNSPECIFIED) == _UNSPECIFIED for a in _ATTRS[1:])


def _index_has_cr(repo: Repo, changes: Sequence[RawChange]) -> set[bytes]:
    """Those of `changes` whose index copy (their old side) is a regular file git leaves the
    CRs of alone: text with a CRLF in it (git's `has_crlf_in_index`)."""
    olds = {c.path: c.old_oid for c in changes if c.status != "A" and c.old_mode in _REGULAR}
    blobs = dict(repo.cat_blobs(olds.values()))
    return {p for p, oid in olds.items() if _text_with_crlf(blobs.get(oid, b""))}


# Bytes below 32 git counts as printable (backspace, tab, escape, form feed), and those it
# counts apart (NUL, CR, LF): the rest below 32, and DEL, are not printable.
_NOT_NONPRINTABLE: Final = bytes([0, 8, 9, 10, 12, 13, 27, *range(32, 127), *range(128, 256)])


def _text_with_crlf(data: bytes) -> bool:
    """git's `gather_convert_stats` on an index copy: a CRLF in it, and not binary (no NUL, no
    CR without its LF, at most one unprintable byte in 128 printable ones; a final ^Z, DOS's end
    of file, not counted)."""
    crlf = data.count(b"\r\n")
    if not crlf or b"\0" in data or data.count(b"\r") != crlf:
        return False
    unprintable = len(data.translate(None, _NOT_NONPRINTABLE))
    printable = len(data) - data.count(b"\r") - data.count(b"\n") - unprintable
    if data.endswith(b"\x1a"):
        unprintable -= 1
    return (printable >> 7) >= unprintable


def _raw_contents(repo: Repo, raw_tree: str | None, paths: Sequence[bytes]) -> dict[bytes, bytes]:
    """The bytes on disk of `paths` (regular files of `raw_tree`): what your filter is given,
    as a `git add` would give it the file. A marker for LFS content kept outside is read as
    that content (lfskeep.py); the scan's tree holds git-lfs's pointer for such files."""
    if raw_tree is None or not paths:
        return {}
    from git_atomic.engine import lfskeep  # commits mode, with a conversion configured

    kept = lfskeep.markers(repo)
    entries = [e for e in repo.ls_tree_at(raw_tree, list(paths)) if e.mode in _REGULAR]
    blobs = dict(repo.cat_blobs(e.oid for e in entries if e.oid not in kept))
    return {
        e.path: lfskeep.content(repo, kept[e.oid]) if e.oid in kept else blobs[e.oid]
        for e in entries
    }
