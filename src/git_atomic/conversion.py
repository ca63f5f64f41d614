"""Byte-exactness under line-ending conversion and clean/smudge filters (git-facts 7).

`git add` stores the *filtered* blob. A checkpoint must hold the bytes on disk, so where a
conversion may apply, the files it may touch are hashed again with `--no-filters`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NamedTuple

from git_atomic import safefs
from git_atomic.git import Repo

# Our own `git add` never converts line endings; .gitattributes rules are handled below.
NO_AUTOCRLF: Final = ("-c", "core.autocrlf=false", "-c", "core.safecrlf=false")
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
