"""The repository's own ignore rules, `.git/info/exclude`, as part of the state.

git reads `info/exclude` of the common git dir beside every `.gitignore`: an operation that adds
`*.log` there hides the `debug.log` it makes from every later capture, and one that drops a
line brings back files the user meant to keep out. So a capture records the file's bytes (in
the checkpoint's meta: it is small, and costs no git process), a restore writes them back
before it decides which ignored files are whose, and an effect taken back changes the file only
if it is still as the operation left it.

The file is reached from the common git dir without following a link (safefs.py). Only a
regular file (or none) is recorded; a link (at `info` or `info/exclude`), a folder or a file
over `LIMIT` is not known: a restore to a state that knows the file removes such a link (the
link itself) and writes the file, and a state that does not know it leaves it as it is.
`core.excludesFile` lives outside the repository: never ours to write.

The common git dir's `shallow` file (`SHALLOW`, the commits where a shallow clone's history is
cut) is kept the same way: an operation that runs `git fetch --depth=1` in a full clone and is
rolled back would otherwise leave the history behind HEAD hidden, and the next `git gc` would
delete it.

The worktree's sparse-checkout patterns (`info/sparse-checkout` of its own git dir) are kept
the same way (`SPARSE`): an operation that runs `git sparse-checkout set` and is rolled back
gets its files and skip-worktree flags back, and without its patterns the next `git checkout`
would switch the sparse view to the operation's. (`core.sparseCheckout` is configuration:
not part of a checkpoint.)

The repository's own attributes, `.git/info/attributes` (`ATTRIBUTES`), are kept the same way:
git reads them beside every `.gitattributes`, so one an operation writes (`* text eol=lf`, a
filter, `-diff`) and leaves behind changes what every later `git status`, `git diff` and
`git checkout` of yours does with the files (a file the rollback put back byte for byte reads
as modified), as its `.gitattributes` would.

The `[branch "..."]` sections of the repository's `config` (`CONFIG`, `branch_sections`) are
recorded too, those sections alone: `git branch -D` removes a branch's upstream and description
with it, and `git branch -m` moves them to the new name, so a rollback that makes the branch
again puts them back (branchconfig.py); the rest of the configuration is not part of a
checkpoint.
"""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import Sequence
from typing import Final, NamedTuple

from git_atomic.core import wholefile
from git_atomic.engine import safefs
from git_atomic.engine.git import Repo

PATH: Final = b"info/exclude"
LIMIT: Final = 1 << 20  # bytes: an exclude file larger than this is not recorded


class File(NamedTuple):
    """Which file of a git dir: its name in `folder` (b"": the git dir itself), whether it is
    the common git dir's (else the worktree's own), and its key in a checkpoint's meta."""

    name: bytes
    common: bool
    meta_key: str
    folder: bytes = b"info"

    @property
    def path(self) -> bytes:
        return self.folder + b"/" + self.name if self.folder else self.name


EXCLUDE: Final = File(b"exclude", True, "info_exclude")
SPARSE: Final = File(b"sparse-checkout", False, "sparse_checkout")
ATTRIBUTES: Final = File(b"attributes", True, "info_attributes")
SHALLOW: Final = File(b"shallow", True, "shallow", b"")
CONFIG: Final = File(b"config", True, "branch_config", b"")


def _base(repo: Repo, file: File) -> bytes:
    return os.fsencode(repo.common_dir if file.common else repo.git_dir)


class Rules(NamedTuple):
    """What `info/exclude` was: `known` False when it was not recorded (an older checkpoint,
    a link, a folder, a file over LIMIT); `data` None when there was no such file."""

    known: bool
    data: bytes | None


UNKNOWN: Final = Rules(False, None)


def read(repo: Repo, file: File = EXCLUDE) -> Rules:
    """`info/exclude` (or another `file`) as it is now."""
    with safefs.Tree(_base(repo, file)) as tree:
        folder = tree.kind(file.folder) if file.folder else stat.S_IFDIR
        if folder is None:
            return Rules(True, None)
        if folder != stat.S_IFDIR:
            return UNKNOWN  # a link or a file where git's folder is: never read through it
        st = tree.lstat(file.path)
        if st is None:
            return Rules(True, None)
        if st.st_size > LIMIT:
            return UNKNOWN
        data = tree.read(file.path)
    return UNKNOWN if data is None else Rules(True, data)


def branch_config(repo: Repo) -> Rules:
    """The `[branch "..."]` sections of the repository's config, as their lines are."""
    rules = read(repo, CONFIG)
    if rules.data is None:
        return rules
    return Rules(rules.known, branch_sections(rules.data))


def branch_sections(data: bytes) -> bytes:
    """The lines of `data`'s branch sections (`[branch "name"]`, `[branch.name]`)."""
    out: list[bytes] = []
    inside = False
    for line in data.splitlines(keepends=True):
        if line.lstrip().startswith(b"["):
            head = line.lstrip()[1:].lstrip()
            inside = head[:6].lower() == b"branch" and head[6:7] in (b" ", b"\t", b'"', b".")
        if inside:
            out.append(line)
    return b"".join(out)


def to_meta(rules: Rules, file: File = EXCLUDE) -> dict[str, object]:
    """The checkpoint meta's record of `rules` ({} when not known)."""
    if not rules.known:
        return {}
    data = None if rules.data is None else base64.b64encode(rules.data).decode("ascii")
    return {file.meta_key: data}


def from_meta(meta: dict[str, object], file: File = EXCLUDE) -> Rules:
    if file.meta_key not in meta:
        return UNKNOWN
    data = meta[file.meta_key]
    if data is None:
        return Rules(True, None)
    if not isinstance(data, str):
        return UNKNOWN
    return Rules(True, base64.b64decode(data))


def changes(current: Rules, target: Rules) -> bool:
    """Whether a restore from `current` to `target` writes the file (a target that does not
    know it never does)."""
    return target.known and current != target


def put(repo: Repo, target: Rules, *, was: Rules, file: File = EXCLUDE) -> bool:
    """Make `info/exclude` (or another `file`) what `target` says, if it is still what `was`
    says (or already what `target` says: a restore run again after a crash). False when
    another writer changed it meanwhile: it is left as it is."""
    now = read(repo, file)
    if now == target:
        return True
    if now != was:
        return False
    # With the writer's pid (a killed one's is removed by `recover` and `gc`: gitlinks.py).
    tmp_name = b".%s.%d.atomic-tmp" % (file.name, os.getpid())
    tmp = file.folder + b"/" + tmp_name if file.folder else tmp_name
    with safefs.Tree(_base(repo, file)) as tree:
        if file.folder and tree.kind(file.folder) not in (None, stat.S_IFDIR):
            tree.unlink(file.folder)  # a link (the link itself) or a file where git's folder was
        if tree.kind(file.path) == stat.S_IFDIR:
            # A folder made at the file's name (`mkdir .git/info/attributes`): git passes over
            # it; never emptied by us, left as it is and named, as another writer's change.
            return False
        tree.unlink(tmp)
        if target.data is None:
            tree.unlink(file.path)
            return True
        try:
            folder = tree.make_folders(file.folder)
        except safefs.Blocked:
            return False  # made a link or a file again meanwhile
        # The bits of the one it replaces (t1301: 0664 where a group shares the repository).
        st = tree.lstat(file.path)
        mode = st.st_mode & 0o7777 if st is not None and stat.S_ISREG(st.st_mode) else 0o644
        tree.write(tmp, target.data, mode)
        os.rename(tmp_name, file.name, src_dir_fd=folder, dst_dir_fd=folder)
    return True


def after(repo: Repo, current: Rules, pairs: Sequence[tuple[Rules, Rules]]) -> Rules:
    """The file once each change `frm -> to` is made again on top of `current`, line by line
    as `git merge-file` merges: the user's own lines added since stay. A change whose lines
    the user changed too is not made (the file stays as it is)."""
    rules = current
    for frm, to in pairs:
        if not (rules.known and frm.known and to.known) or frm == to:
            continue
        if rules == frm:
            rules = to
        elif rules.data is not None and frm.data is not None and to.data is not None:
            rules = _merged(repo, rules.data, frm.data, to.data) or rules
    return rules


def _merged(repo: Repo, ours: bytes, base: bytes, theirs: bytes) -> Rules | None:
    """`base -> theirs` made on `ours`; None when the lines conflict."""
    names = [repo.scratch_path(f"exclude-{side}") for side in ("ours", "base", "theirs")]
    try:
        for name, data in zip(names, (ours, base, theirs), strict=True):
            wholefile.write_new(name, data)
        res = repo.run("merge-file", "-p", *map(str, names), check=False)
    finally:
        for name in names:
            name.unlink(missing_ok=True)
    return Rules(True, res.stdout) if res.returncode == 0 else None
