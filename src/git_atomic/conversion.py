"""Byte-exactness under line-ending conversion and clean/smudge filters (git-facts 7).

`git add` stores the *filtered* blob. A checkpoint must hold the bytes on disk, so where a
conversion may apply, the files it may touch are hashed again with `--no-filters`.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic import safefs
from git_atomic.git import Repo

# Our own `git add` never converts line endings; .gitattributes rules are handled below.
NO_AUTOCRLF: Final = ("-c", "core.autocrlf=false", "-c", "core.safecrlf=false")
# The capture's own git calls (the scan's `status` and `update-index`, `add -A`) see the disk as
# it is, whatever your settings tell git to overlook (docs/design.md, "Settings the capture does
# not trust"): the executable bit, symbolic links as links, a change that only the ctime or the
# inode shows. (fsmonitor, hooks and core.ignoreStat are off for every call of ours:
# process.py; so are filters: Repo.no_filters.)
AS_ON_DISK: Final = (
    *NO_AUTOCRLF,
    "-c",
    "core.fileMode=true",
    "-c",
    "core.symlinks=true",
    "-c",
    "core.trustctime=true",
    "-c",
    "core.checkStat=default",
)
_ATTRS: Final = ("text", "eol", "crlf", "filter", "ident", "working-tree-encoding")
_WORDS: Final = tuple(a.encode() for a in _ATTRS)


class Rule(NamedTuple):
    every_file: bool  # core.autocrlf is on: the stat cache's blobs may all be converted ones
    attributes: bool  # some attributes file may ask for a conversion

    @property
    def active(self) -> bool:
        return self.every_file or self.attributes


def detect(repo: Repo, attribute_files: Sequence[bytes]) -> Rule:
    """`attribute_files`: every `.gitattributes` of the capture (the caller finds them in the
    listings it has, without another scan of the tree)."""
    autocrlf = (repo.config("core.autocrlf") or "false").lower() in ("true", "input", "1", "yes")
    return Rule(
        every_file=autocrlf, attributes=_attribute_files_mention_conversion(repo, attribute_files)
    )


def _attribute_files_mention_conversion(repo: Repo, paths: Sequence[bytes]) -> bool:
    candidates: list[Path] = [repo.common_dir / "info" / "attributes"]
    global_file = repo.config("core.attributesfile")
    if global_file:
        candidates.append(Path(os.path.expanduser(global_file)))
    else:
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config")
        candidates.append(Path(xdg) / "git" / "attributes")
    for path in candidates:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(word in data for word in _WORDS):
            return True
    with safefs.Tree(os.fsencode(repo.root)) as tree:  # never read through a link
        return any(any(word in (tree.read(n) or b"") for word in _WORDS) for n in paths)


def raw_tree(repo: Repo, filtered_index: Path, rule: Rule, scratch: Path) -> str:
    """The tree of the files' raw bytes, built on a copy of the filtered temporary index."""
    shutil.copy2(filtered_index, scratch)
    env = {"GIT_INDEX_FILE": str(scratch)}
    try:
        listing = repo.out("ls-files", "-z", "-s", env=env)
        regular: list[tuple[str, bytes]] = []
        for item in listing.split(b"\0"):
            if not item:
                continue
            head, _, path = item.partition(b"\t")
            mode = head.split(b" ", 1)[0].decode()
            if mode in ("100644", "100755"):
                regular.append((mode, path))
        if not rule.every_file:
            converted = _paths_with_conversion(repo, [p for _, p in regular], env)
            regular = [(m, p) for m, p in regular if p in converted]
        if regular:
            oids = repo.hash_worktree_files([p for _, p in regular])  # never through a link
            info = b"".join(
                f"{mode} {oids[path]}\t".encode() + path + b"\0"
                for mode, path in regular
                if path in oids
            )
            if info:
                repo.run("update-index", "-z", "--index-info", input=info, env=env)
        return repo.line("write-tree", env=env)
    finally:
        scratch.unlink(missing_ok=True)


def _paths_with_conversion(repo: Repo, paths: list[bytes], env: dict[str, str]) -> set[bytes]:
    if not paths:
        return set()
    out = repo.out(
        "check-attr", "-z", "--stdin", *_ATTRS, input=b"".join(p + b"\0" for p in paths), env=env
    )
    fields = out.split(b"\0")
    hits: set[bytes] = set()
    for i in range(0, len(fields) - 2, 3):
        path, attr, value = fields[i], fields[i + 1], fields[i + 2]
        if value in (b"unspecified", b"unset"):
            continue
        if attr == b"text" or attr == b"crlf" or value != b"unspecified":
            hits.add(path)
    return hits


def _off(value: str | None) -> bool:
    return (value or "true").lower() in ("false", "no", "off", "0")


def as_git_commits(repo: Repo, staged_tree: str, tree: str) -> dict[bytes, tuple[str, str]]:
    """Entries of `tree` (the files as on disk) that a commit holds as your git would make it,
    for commits mode: with `core.fileMode=false` or `core.symlinks=false` a file keeps the mode
    its index entry has (the disk cannot tell), and a file a filter is configured for holds
    what the filter makes of it (a missing or failing filter: the bytes on disk, as git does
    when the filter is not required). Only files that differ from your index are looked at."""
    modes = _off(repo.config("core.fileMode")), _off(repo.config("core.symlinks"))
    if not any(modes) and not repo.filter_names():
        return {}
    fixes: dict[bytes, tuple[str, str]] = {}
    candidates: list[bytes] = []
    for c in repo.diff_trees(staged_tree, tree):
        if c.new_mode not in ("100644", "100755"):
            continue
        candidates.append(c.path)
        if c.status != "M" or c.old_mode == c.new_mode:
            continue
        if (modes[0] and c.old_mode in ("100644", "100755")) or (
            modes[1] and c.old_mode == "120000"
        ):
            fixes[c.path] = (c.old_mode, c.new_oid)
    names = repo.filter_names()
    if names and candidates:
        fields = repo.out(
            "check-attr", "-z", "--stdin", "filter", input=b"".join(p + b"\0" for p in candidates)
        ).split(b"\0")
        filtered = [
            fields[i]
            for i in range(0, len(fields) - 2, 3)
            if fields[i + 2].decode("utf-8", "replace") in names and b"\n" not in fields[i]
        ]
        # git reads these by name and would follow a link in their folders: each is checked to
        # be a file reached without one just before (safefs.py); one that is not keeps the
        # bytes on disk the capture read.
        with safefs.Tree(os.fsencode(repo.root)) as on_disk:
            filtered = [p for p in filtered if on_disk.kind(p) == stat.S_IFREG]
        if filtered:
            # Your filter runs here, as for a `git commit` of yours. A missing one is no error:
            # not required, and where git still gives up (a `process` filter that cannot
            # start), the commit holds the bytes on disk.
            res = repo.run(
                *NO_AUTOCRLF,
                "hash-object",
                "-w",
                "--stdin-paths",
                input=b"".join(p + b"\n" for p in filtered),
                check=False,
                filters=True,
            )
            oids = res.stdout.split() if res.returncode == 0 else []
            if len(oids) != len(filtered):
                return fixes
            new_modes = {c.path: c.new_mode for c in repo.diff_trees(staged_tree, tree)}
            for path, oid in zip(filtered, oids, strict=True):
                fixes[path] = (fixes.get(path, (new_modes[path], ""))[0], oid.decode())
    return fixes
