"""The size and text of a change: files, lines added and removed between two checkpoints'
trees, and its diff, leaving out the files of repositories of their own."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Final

from git_atomic.engine.git import Repo
from git_atomic.views import rulechange
from git_atomic.views.render import Change, Stat

RENAMES: Final = ("-M", "-l1000")


def file_stats(repo: Repo, pairs: Mapping[str, tuple[str, str]]) -> dict[str, Stat]:
    """Files changed, lines added and removed between pairs of trees (`Change.before`/`after`),
    but for the files of a repository of its own either checkpoint names (`repositories`).

    Two git processes whatever the number of pairs: one resolves every tree-ish (and whether
    its checkpoint names such repositories), one `diff-tree --stdin` diffs them all, so a long
    log stays fast.
    """
    specs = sorted({c for pair in pairs.values() for c in pair})
    if not specs:
        return {}
    metas_asked = {m: s for s in specs if (m := rulechange.meta_spec(s)) is not None}
    asked = [*specs, *(r for r in map(_repositories_spec, specs) if r is not None), *metas_asked]
    trees: dict[str, str] = {}
    found: dict[str, str] = {}
    metas: dict[str, str] = {}  # `<checkpoint>:files` -> its meta's blob
    answer = repo.out("cat-file", "--batch-check", input=("\n".join(asked) + "\n").encode())
    for spec, line in zip(asked, answer.decode().splitlines(), strict=False):
        fields = line.split()
        if len(fields) == 3 and spec in metas_asked and fields[1] == "blob":
            metas[metas_asked[spec]] = fields[0]
        elif len(fields) == 3 and fields[1] in ("tree", "blob"):
            (trees if fields[1] == "tree" else found)[spec] = fields[0]
    roots = _repositories(repo, found)
    wanted = {(trees.get(a), trees.get(b)) for a, b in pairs.values()}
    todo = sorted((a, b) for a, b in wanted if a and b and a != b)
    changed: dict[tuple[str, str], list[tuple[int, int, bytes]]] = {}
    if todo:
        raw = repo.out(
            "diff-tree",
            "--stdin",
            "-r",
            "-z",
            "--numstat",
            *RENAMES,
            input="".join(f"{a} {b}\n" for a, b in todo).encode(),
        )
        current: list[tuple[int, int, bytes]] = []
        records = iter(raw.split(b"\0"))
        for record in records:
            header = _PAIR.match(record)
            if header is not None:
                current = changed.setdefault((header[1].decode(), header[2].decode()), [])
                record = record[header.end() :]
            if record.count(b"\t") < 2:
                continue
            plus, minus, path = record.split(b"\t", 2)
            if not path:  # a rename: its old name, then its new one, each a record of its own
                next(records, b"")
                path = next(records, b"")
            current.append((_count(plus), _count(minus), path))
    listed: dict[str, list[tuple[int, int, bytes]]] = {}
    for key, (a, b) in pairs.items():
        ta, tb = trees.get(a), trees.get(b)
        if ta is None or tb is None:
            continue  # a checkpoint that `git atomic gc` retired
        left = (*roots.get(a, ()), *roots.get(b, ()))
        listed[key] = [f for f in changed.get((ta, tb), []) if not _under(f[2], left)]
    # The rules changed where a changed path holds them, or in `.git/info/exclude` (in the
    # checkpoints' metas: read only for pairs with files and no such path, all at once).
    ruled = {k for k, files in listed.items() if rulechange.in_changed_paths(repo, _paths(files))}
    unsure = [pairs[k] for k, files in listed.items() if files and k not in ruled]
    excluded = rulechange.info_exclude_changed(unsure, metas, repo) if unsure else set()
    out: dict[str, Stat] = {}
    for key, files in listed.items():
        a, b = pairs[key]
        if key in ruled or (a, b) in excluded:
            uncounted = set(_ignored_before(repo, a, b))
            files = [f for f in files if f[2] not in uncounted]
        out[key] = Stat(len(files), sum(f[0] for f in files), sum(f[1] for f in files))
    return out


def _paths(files: Sequence[tuple[int, int, bytes]]) -> list[bytes]:
    return [f[2] for f in files]


_PAIR = re.compile(rb"([0-9a-f]{40,64}) ([0-9a-f]{40,64})\n")


def _count(field: bytes) -> int:
    return int(field) if field.isdigit() else 0  # "-" for a binary file


def _repositories_spec(spec: str) -> str | None:
    """`<checkpoint>:repositories` for a checkpoint's `<checkpoint>:files` (checkpoint.py)."""
    head, sep, tail = spec.rpartition(":")
    return f"{head}:repositories" if sep and tail == "files" else None


def _repositories(repo: Repo, found: Mapping[str, str]) -> dict[str, tuple[bytes, ...]]:
    """For each `<checkpoint>:files` spec, the repositories of their own its checkpoint names
    (`found`: `<checkpoint>:repositories` -> its blob; none mostly, and no process then)."""
    if not found:
        return {}
    data = dict(repo.cat_blobs(found.values()))
    out: dict[str, tuple[bytes, ...]] = {}
    for spec, oid in found.items():
        files = spec.removesuffix(":repositories") + ":files"
        out[files] = tuple(p for p in data.get(oid, b"").split(b"\0") if p)
    return out


def _under(path: bytes, roots: Sequence[bytes]) -> bool:
    return any(path.startswith(root + b"/") for root in roots)


def repositories_in(repo: Repo, change: Change) -> list[bytes]:
    """The repositories of their own either end of `change` names (`file_stats`)."""
    asked = [r for r in map(_repositories_spec, (change.before, change.after)) if r is not None]
    found: dict[str, str] = {}
    if asked:
        answer = repo.out("cat-file", "--batch-check", input=("\n".join(asked) + "\n").encode())
        for spec, line in zip(asked, answer.decode().splitlines(), strict=False):
            fields = line.split()
            if len(fields) == 3 and fields[1] == "blob":
                found[spec] = fields[0]
    return sorted({r for rs in _repositories(repo, found).values() for r in rs})


def diff_text(repo: Repo, change: Change, *, stat_only: bool, colour: bool = False) -> str:
    """`git diff` of the change, but for the files of a repository of its own either
    checkpoint names (file_stats). With the content (`-p`), a new file that the `.gitignore`
    files of the state before ignore is named, not printed: it may have been there before,
    ignored (`.env`, which an operation that emptied `.gitignore` shows), and is no one's to
    print (the rollback leaves such a file where it is)."""
    roots = repositories_in(repo, change)
    hidden = (
        _unignored(repo, change, _changed(repo, change))
        if stat_only
        else _ignored_before(repo, change.before, change.after)
    )
    args = [
        "diff",
        # The bytes the checkpoints hold, and no program of the user's run by our call: a
        # `diff=<driver>` attribute's `diff.<driver>.textconv` (like `diff.external`).
        "--no-ext-diff",
        "--no-textconv",
        *RENAMES,
        "--color=always" if colour else "--no-color",
        "--stat" if stat_only else "-p",
        change.before,
        change.after,
    ]
    if roots or hidden:
        args += [
            "--",
            ".",
            *(":(exclude,literal)" + os.fsdecode(r) + "/" for r in roots),
            *(":(exclude,literal)" + os.fsdecode(p) for p in hidden),
        ]
    text = repo.out(*args).decode("utf-8", "replace")
    for path in hidden:
        shown = path.decode("utf-8", "backslashreplace")
        if stat_only:
            text += (
                f"not counted: {shown}, which the rules of the state before ignore (there "
                "before the operation, ignored, or made by it): taking it back leaves the file\n"
            )
            continue
        text += (
            f"new file {shown}: ignored by the rules of the state before (there before the "
            "operation, ignored, or made by it): its content is not shown\n"
        )
    return text


def _changed(repo: Repo, change: Change) -> list[bytes]:
    listed = repo.out("diff", "--name-only", "-z", "--no-renames", change.before, change.after)
    return [p for p in listed.split(b"\0") if p]


def _unignored(repo: Repo, change: Change, changed: Sequence[bytes]) -> list[bytes]:
    """The files a change adds that only its own change of the ignore rules shows: the rules
    of `before` ignore them (`.env`, after an operation emptied `.gitignore`, `.git/info/
    exclude` or the worktree's excludes file). Such a file was there before, ignored, as far as
    anyone can tell, and taking the operation back (its rules first) leaves it: not counted as
    its change (`log`, `show --stat`). Asked only where the rules changed (rulechange.py): with
    the same rules, a capture sees no file they ignore (but one `git add -f` tracks)."""
    before, after = change.before, change.after
    if not rulechange.in_changed_paths(repo, changed):
        metas = rulechange.metas_of(repo, (before, after))
        if not rulechange.info_exclude_changed([(before, after)], metas, repo):
            return []
    return _ignored_before(repo, before, after)


def _ignored_before(repo: Repo, before: str, after: str) -> list[bytes]:
    """The files the change from `before` to `after` adds that the rules of `before` ignore
    (its `.gitignore` files, and those on disk untouched since its capture: rules changed
    where no tree reaches, `.git/info/exclude`, an excludes file)."""
    added = repo.out("diff", "--name-only", "-z", "--no-renames", "--diff-filter=A", before, after)
    paths = [p for p in added.split(b"\0") if p]
    if not paths:
        return []
    from git_atomic.engine import restorekeeps

    found = restorekeeps.ignored_by_rules_of(repo, before, paths, reading=True)
    if found is None:
        return sorted(paths)  # unsure: no content is printed
    return sorted(found | _untouched_since_capture(repo, before, paths))


def _untouched_since_capture(repo: Repo, before: str, paths: Sequence[bytes]) -> set[bytes]:
    """Those of `paths` on disk that nothing touched since the checkpoint `before` (a
    checkpoint's `SHA:files`) captured the disk: there then, ignored by rules the operation
    changed where no tree reaches (`core.excludesFile`), so no one's to print."""
    if not before.endswith(":files"):
        return set()
    from git_atomic.core.errors import AtomicError
    from git_atomic.engine import changedtimes, checkpoint

    try:
        at = checkpoint.load(repo, before.removesuffix(":files")).captured_at
    except AtomicError:  # a retired checkpoint, or no checkpoint: nothing more is hidden
        return set()
    return changedtimes.untouched_since(repo, paths, at) if at is not None else set()
