"""`core.bare` and `core.worktree`: whether git finds a worktree here, and where; and
`core.sparseCheckout` and `core.sparseCheckoutCone`: whether it is sparse, and how.

git reads both from the repository's `config` (and, with `extensions.worktreeConfig`, from the
worktree's `config.worktree`) before anything else. An operation that sets `core.bare true`
(t1510-repo-setup, t1500-rev-parse) or points `core.worktree` elsewhere leaves every git
command of yours refusing this folder ("must be run in a work tree") or working on another
folder, and every command of ours refusing it too, `undo` included: its rollback put the files
back, and the repository was no worktree any more. The rest of the configuration is yours and
the operation's (README: configuration), but these two decide whether the worktree is one at
all.

So the `[core]` (and `[index]`) sections of both files are noted when an operation begins
(their lines only, read without a git process: `BEFORE`) and when it closes (`LEFT`); whatever
takes its effect back sets the two back as they were, each one only where the operation changed
it (its own rollback), or where it is still as the operation left it (a later `rollback --op`).
So too the three sparse-checkout settings (`git sparse-checkout disable`, `init`, `set` write
`core.sparseCheckout`, `core.sparseCheckoutCone` and `index.sparse` in `config.worktree`): a
rollback puts back the worktree's patterns and skip-worktree entries, and those settings left
as the operation set them made a worktree that was sparse no longer sparse, its skip-worktree
entries the next `git checkout` or `git sparse-checkout` did not honour, or one that was not
sparse follow patterns it had never had; `undo` of the rollback makes them again
(gitdirredo.py). And `extensions.worktreeConfig`, which `set` turns on (its `[extensions]`
lines noted with the others) to write them in config.worktree: left on, git reads every
config.worktree from then on. git reads the noted lines (`git config --file`), and git
writes the setting back (its `config.lock`).
Never through a link: a file that is not a regular one is not noted, nor written.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from typing import Final

from git_atomic.core import wholefile
from git_atomic.engine import gitconfig, indexstate, safefs
from git_atomic.engine.git import Repo

BEFORE: Final = "core_place"  # op detail: {file: its [core] and [index] lines at PRE-OP}
LEFT: Final = "core_place_left"  # op detail: the same when the operation closed
LINES: Final = "config_lines"  # op detail: {file: digests of its lines at PRE-OP} (configmade)
LINES_LEFT: Final = "config_lines_left"  # op detail: the same when the operation closed
FILES: Final = ("config", "config.worktree")
KEYS: Final = (
    "core.bare",
    "core.worktree",
    "core.sparsecheckout",
    "core.sparsecheckoutcone",
    "index.sparse",
    "extensions.worktreeconfig",
)
# What each one decides, as a line says it (git's own spelling of its name).
_WHAT: Final = {
    "core.bare": ("core.bare", "where git finds this worktree"),
    "core.worktree": ("core.worktree", "where git finds this worktree"),
    "core.sparsecheckout": ("core.sparseCheckout", "whether this worktree is sparse"),
    "core.sparsecheckoutcone": ("core.sparseCheckoutCone", "how its sparse patterns read"),
    "index.sparse": ("index.sparse", "whether its index is kept sparse"),
    "extensions.worktreeconfig": ("extensions.worktreeConfig", "whether git reads config.worktree"),
}
_PATTERN: Final = (
    r"^(core\.(bare|worktree|sparsecheckout|sparsecheckoutcone)|index\.sparse"
    r"|extensions\.worktreeconfig)$"
)
_MOST: Final = 1 << 20  # a config file larger than this is not noted
_MOST_LINES: Final = 1 << 14  # nor its lines' digests, over this (a window notes them at each call)


def _files(repo: Repo) -> dict[str, tuple[bytes, bytes]]:
    """The files git reads the two from: name in the journal -> (git dir, name there)."""
    return {
        "config": (os.fsencode(repo.common_dir), b"config"),
        "config.worktree": (os.fsencode(repo.git_dir), b"config.worktree"),
    }


def _shown(repo: Repo, root: bytes, name: bytes) -> str:
    """The file as a person finds it: `.git/config` in the usual layout, else its path."""
    path = os.fsdecode(root + b"/" + name)
    if os.path.dirname(path) == os.path.join(str(repo.root), ".git"):
        return ".git/" + os.path.basename(path)
    return path


def _core_lines(data: bytes) -> bytes:
    """The lines of `data`'s `[core]`, `[index]` and `[extensions]` sections (a subsection
    `[core "x"]` is no such one)."""
    out: list[bytes] = []
    inside = False
    for line in data.splitlines(keepends=True):
        head = line.lstrip()
        if head.startswith(b"["):
            name = head[1:].split(b"]", 1)[0].strip()
            inside = name.lower() in (b"core", b"index", b"extensions")
        if inside:
            out.append(line)
    return b"".join(out)


def note(repo: Repo) -> dict[str, str]:
    """The `[core]` and `[index]` lines of each file there is (as text: bytes not UTF-8 kept
    by escape)."""
    return note_with_lines(repo)[0]


def note_with_lines(repo: Repo) -> tuple[dict[str, str], dict[str, list[str] | None]]:
    """`note`, and the digests of every line of each file (configmade.py: the settings an
    operation changes beside these two are named by its rollback; a digest, never a value,
    so that no token in a remote's URL is copied into the journal; None where the file is
    there but not noted: a link, or too large). One read of each file."""
    out: dict[str, str] = {}
    lines: dict[str, list[str] | None] = {}
    for key, (root, name) in _files(repo).items():
        with safefs.Tree(root) as tree:
            st = tree.lstat(name)
            if st is None:
                continue
            data = None
            if stat.S_ISREG(st.st_mode) and st.st_size <= _MOST:
                data = tree.read(name)
        lines[key] = None
        if data is not None:
            out[key] = _core_lines(data).decode("utf-8", "surrogateescape")
            if len(data) <= _MOST_LINES:  # a larger one: its settings are not named
                lines[key] = sorted({line_digest(line) for line in data.splitlines()})
    return out, lines


def line_digest(line: bytes) -> str:
    """A config line's digest, as noted: its words, whatever the blanks around them and the
    letter case of its key (git writes a branch's section back lower-cased: branchconfig.py;
    a section's header marked `[`, to tell the settings from the headers git drops with
    them)."""
    words = b" ".join(line.split())
    key, equals, value = words.partition(b"=")
    if equals and not words.startswith(b"["):  # a key's letter case is none of its meaning
        words = key.strip().lower() + b" = " + value.strip()
    digest = 0xCBF29CE484222325  # FNV-1a, 64 bits: a few dozen short lines, and no hashlib
    for byte in words:  # on a PRE-OP's path
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return ("[" if words.startswith(b"[") else "") + f"{digest:016x}"


def read_file(repo: Repo, key: str) -> tuple[str, bytes] | None:
    """The file `key` names ("config", "config.worktree"), as shown and its bytes; None where
    there is no regular file (a link: never read through) or it is too large."""
    root, name = _files(repo)[key]
    with safefs.Tree(root) as tree:
        st = tree.lstat(name)
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_size > _MOST:
            return None
        data = tree.read(name)
    return None if data is None else (_shown(repo, root, name), data)


def _values(repo: Repo, path: str) -> dict[str, str] | None:
    """KEYS as git reads them in the file at `path`; None where git cannot read it or one of
    them is set twice."""
    res = repo.run("config", "--file", path, "--null", "--get-regexp", _PATTERN, check=False)
    if res.returncode not in (0, 1):  # 1: neither is set
        return None
    found: dict[str, str] = {}
    for item in res.stdout.split(b"\0"):
        if not item:
            continue
        key, sep, value = item.partition(b"\n")
        value = value if sep else gitconfig.BARE
        name = key.decode("utf-8", "surrogateescape").lower()
        if name in found:
            return None
        found[name] = value.decode("utf-8", "surrogateescape")
    return found


def _noted_values(repo: Repo, lines: str) -> dict[str, str] | None:
    scratch = repo.scratch_path("core-place")
    try:
        wholefile.write_new(scratch, lines.encode("utf-8", "surrogateescape"))
        return _values(repo, str(scratch))
    finally:
        scratch.unlink(missing_ok=True)


# What `undo` of a rollback makes again as the operation left it (all but where git finds the
# worktree): with `extensions.worktreeConfig`, which `git sparse-checkout set` turns on to
# write the other three in config.worktree, and without which git reads none of them there.
SPARSE: Final = (
    "core.sparsecheckout",
    "core.sparsecheckoutcone",
    "index.sparse",
    "extensions.worktreeconfig",
)
REDONE: Final = "sparse_settings"  # gitdirredo's: {file: {setting: [as it was, as written]}}


def put_back(
    repo: Repo,
    details: Mapping[str, object],
    *,
    own: bool,
    dry_run: bool = False,
    changed: dict[str, dict[str, list[str | None]]] | None = None,
) -> list[str]:
    """Set core.bare and core.worktree back as the operation's PRE-OP had them, in each file
    whose `[core]` lines are not as they were then: all it changed (`own`: its own rollback),
    or what is still as it left them (a later rollback of its effect). The lines that say
    so. With `dry_run`, what it would do, nothing written. `changed`: filled with the sparse
    settings written, {file: {setting: [as it was, as written]}}, for an `undo` to write back
    (`redo`; never core.bare or core.worktree: `undo` never points git elsewhere)."""
    before, left = details.get(BEFORE), details.get(LEFT)
    if not isinstance(before, dict):
        return []
    now = note(repo)
    said: list[str] = []
    repo.config_current()
    sparse_before = indexstate.sparse_index(repo)
    for key, (root, name) in _files(repo).items():
        was = before.get(key, "")
        if key not in now or now[key] == was:
            continue  # unchanged, or no regular file to write (a link: never written through)
        if not own and (not isinstance(left, dict) or now[key] != left.get(key, "")):
            continue  # changed since the operation closed: yours
        path = os.fsdecode(root + b"/" + name)
        then = _noted_values(repo, str(was)) if was else {}
        current = _values(repo, path)
        if then is None or current is None:
            continue
        shown = _shown(repo, root, name)
        for setting in KEYS:
            if then.get(setting) == current.get(setting) or _noted_before_it(
                details, key, setting, current.get(setting)
            ):
                continue
            value = then.get(setting)
            spelled, what = _WHAT[setting]
            if not dry_run:
                args = [spelled, value] if value is not None else ["--unset", spelled]
                if repo.run("config", "--file", path, *args, check=False).returncode != 0:
                    said.append(f"{spelled} in {shown} could not be set back; left as it is")
                    continue
            was_set = current.get(setting)
            if changed is not None and setting in SPARSE and not dry_run:
                changed.setdefault(key, {})[setting] = [was_set, value]
            how = f"set it to {was_set!r}" if was_set is not None else "unset it"
            back = f"is {value!r} again" if value is not None else "is unset again"
            said.append(
                f"{spelled} in {shown} ({what}): the operation {how}; "
                f"{back}, as before the operation"
            )
    if said and not dry_run and not sparse_before:
        repo.config_current()
        if indexstate.sparse_index(repo):  # the index was put back whole, under the operation's
            from git_atomic.engine import indexbuild  # (then only)

            indexbuild.sparse_again(repo)
    return said


def _noted_before_it(
    details: Mapping[str, object], key: str, setting: str, value: str | None
) -> bool:
    """Whether `setting`, not in the noted lines, was in the file all the same at PRE-OP: the
    lines of an operation begun before its section was noted (an `[extensions]` line) are
    said by the digests of the file's every line (LINES), and one there is none of its doing."""
    if setting != "extensions.worktreeconfig" or value is None:
        return False
    digests = details.get(LINES)
    noted = digests.get(key) if isinstance(digests, dict) else None
    if not isinstance(noted, list):
        return False
    name = setting.rpartition(".")[2]
    return any(line_digest(line.encode()) in noted for line in (f"{name} = {value}", name))


def _place(repo: Repo, worktree: str | None) -> str:
    """The folder git takes for the worktree by `core.worktree` (relative: to the git dir);
    unset, this one."""
    if worktree is None:
        return os.path.realpath(repo.root)
    return os.path.realpath(os.path.join(repo.git_dir, os.path.expanduser(worktree)))


def _true(value: str | None) -> bool:
    return value is not None and gitconfig.git_bool(value)


def moved_away(repo: Repo, details: Mapping[str, object]) -> str | None:
    """What the operation changed of the two so that git would find no worktree here, or
    another one (`core.bare` made true, `core.worktree` changed), said; None where it did not
    (no git process unless the `[core]` lines changed)."""
    before = details.get(BEFORE)
    if not isinstance(before, dict):
        return None
    now = note(repo)
    for key, (root, name) in _files(repo).items():
        was = before.get(key, "")
        if key not in now or now[key] == was:
            continue
        then = _noted_values(repo, str(was)) if was else {}
        current = _values(repo, os.fsdecode(root + b"/" + name))
        if then is None or current is None:
            continue
        if _true(current.get("core.bare")) and not _true(then.get("core.bare")):
            return f"core.bare true in {_shown(repo, root, name)} (git finds no worktree here then)"
        if _place(repo, current.get("core.worktree")) != _place(repo, then.get("core.worktree")):
            worktree = current.get("core.worktree")
            return (
                f"core.worktree {worktree!r} in {_shown(repo, root, name)} (git finds another "
                "worktree, or none, then)"
            )
    return None


def redo(
    repo: Repo, noted: object, *, what: str, dry_run: bool
) -> tuple[list[str], dict[str, dict[str, list[str | None]]]]:
    """The sparse settings a rollback set back (`put_back`'s `changed`, kept in its event) made
    as it found them, each where it is still as the rollback wrote it (one changed since is
    yours); the lines that say so, and what was written, as `put_back` notes it."""
    lines: list[str] = []
    done: dict[str, dict[str, list[str | None]]] = {}
    if not isinstance(noted, dict):
        return lines, done
    for key, (root, name) in _files(repo).items():
        pairs = noted.get(key)
        if not isinstance(pairs, dict):
            continue
        path = os.fsdecode(root + b"/" + name)
        with safefs.Tree(root) as tree:
            st = tree.lstat(name)
        if st is None or not stat.S_ISREG(st.st_mode):
            continue  # never written through a link
        current = _values(repo, path)
        if current is None:
            continue
        shown = _shown(repo, root, name)
        for setting, pair in pairs.items():
            if setting not in SPARSE or not isinstance(pair, list) or len(pair) != 2:
                continue
            was, wrote = pair
            if current.get(setting) != wrote or was == wrote:
                continue
            spelled, what_for = _WHAT[setting]
            if not dry_run:
                args = [spelled, str(was)] if was is not None else ["--unset", spelled]
                if repo.run("config", "--file", path, *args, check=False).returncode != 0:
                    continue
            done.setdefault(key, {})[setting] = [wrote, was]
            back = f"is {was!r} again" if was is not None else "is unset again"
            lines.append(f"{spelled} in {shown} ({what_for}) {back}, as before {what}")
    return lines, done
