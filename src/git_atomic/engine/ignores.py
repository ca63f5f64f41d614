"""Ignored files a checkpoint holds all the same: rule files that ignore themselves, the files
the user asked to protect, within the size budget for new files.

git's scan never shows an ignored file. Two kinds must be seen anyway:
- a `.gitignore` (or `.gitattributes`) that a rule ignores, typically itself (`*`, as
  virtualenvs and tool caches write): left behind by a rollback, it would hide the user's files
  from every later checkpoint;
- the ignored files matching the `protect` patterns of the configuration (`.env`).
Both are listed by one `ls-files` that does not descend into ignored folders (`--directory`): it
names each ignored folder instead (`build/`). A rule file in an ignored folder is never read by
git, so never needed; a protected file may well be there (`node_modules/.env`, a
`*.local.toml` under `build/`): a second `ls-files` looks for `protect`'s patterns in those
folders only, never walking again the folders the first one did. (The files a commit leaves
out because a rule hid them before the operation: ignoredthen.py.)
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from typing import Final

from git_atomic.core import process, wholefile
from git_atomic.engine import folderwalk, indexentries, rulefiles, safefs
from git_atomic.engine.folderwalk import RULE_FILES
from git_atomic.engine.git import Repo, worktree_key

_RULE_SPECS = (":(glob)**/.gitignore", ":(glob)**/.gitattributes")


def pathspecs(patterns: Iterable[str], *, within: str = "", icase: bool = False) -> list[str]:
    """gitignore-like patterns as pathspecs: without a slash, a name at any depth (of the
    folder `within`, "" or ending in a slash); with one, from the top. As in a `.gitignore`,
    a pattern that names a folder (`secrets/`, `*.d`) takes in everything below it: a glob
    pathspec matches a path whole, never a folder on its way, so each has a second one.
    `icase`: matched in any letter case, as git matches a `.gitignore` line where
    `core.ignoreCase` is set (`folds_case`); a pathspec of its own never is."""
    specs = []
    for pattern, deep in _split_patterns(patterns):
        at = f":({_magic(icase)}){within}{'**/' if deep else ''}"
        specs += [at + pattern, at + pattern.rstrip("/") + "/**"]
    return specs


def folds_case(repo: Repo) -> bool:
    """Whether git matches ignore rules in any letter case for our calls: `core.ignoreCase`,
    as they are given it (gitconfig.py: never on a filesystem that tells names apart)."""
    return repo.config_bool("core.ignoreCase")


def _magic(icase: bool) -> str:
    return "glob,icase" if icase else "glob"


def _split_patterns(patterns: Iterable[str]) -> list[tuple[str, bool]]:
    """(body, at any depth) of each pattern."""
    found = []
    for pattern in patterns:
        body = pattern.strip().removeprefix("/")
        if body:
            found.append((body, "/" not in pattern.strip().rstrip("/")))
    return found


class Listing:
    """The listing `start_listing` started (None: nothing to ask, or `answer`: git's answer
    to the same question, remembered), and the `protect` patterns it looks for. `remember`:
    where its answer is kept for the next capture, and under which key."""

    def __init__(
        self,
        repo: Repo,
        first: process.Background | None,
        protect: Sequence[str],
        *,
        answer: bytes | None = None,
        remember: tuple[_Key, tuple[bytes, ...]] | None = None,
    ) -> None:
        self.repo = repo
        self.first = first
        self.protect = tuple(protect)
        self.answer = answer
        self.remember = remember

    def wait(self, *, check: bool = False) -> process.Result:
        if self.answer is not None:
            return process.Result(0, self.answer, b"")
        if self.first is None:
            return process.Result(0, b"", b"")
        res = self.first.wait(check=check)
        if res.returncode == 0 and self.remember is not None:
            key, folders = self.remember
            said = set(res.stdout.split(b"\0"))
            # git named each ignored folder whole (it did not look into one: none holds a
            # tracked file, which it would, listing the rule files in it one by one)
            if all(f + b"/" in said for f in folders):
                _keep_answer(self.repo, key, res.stdout)
            self.remember = None
        return res

    def stop(self) -> None:
        if self.first is not None:
            self.first.stop()


# Past this many paths to ask about, git walking the whole tree is cheaper than matching them.
_AT_MOST: Final = 400


def start_listing(
    repo: Repo, *, protect: Sequence[str], walked: folderwalk.Walk | None = None
) -> Listing:
    """Start listing the ignored rule files and `protect`'s ignored files, in folders git looks
    into (`collect` reads the answer, and looks into the ignored folders). It runs beside a
    capture's scan.

    Without `protect`, and with a walk of the folders (folderwalk.py), git is asked about the
    rule files the walk found and about the folders it did not look into only: the ignored ones
    (git looks into one that holds tracked files) and those holding a `.git` (git looks into
    one that is no repository): not a walk of the whole tree.

    The file `core.excludesFile` or `core.attributesFile` names in the worktree (rulefiles.py)
    is asked about too, by its name (`.myattrs` your `.gitignore` ignores): a rule file like a
    `.gitattributes`, held by every checkpoint. With one, git's answer is not kept."""
    configured = [f":(literal){os.fsdecode(p)}" for p in sorted(rulefiles.in_tree(repo))]
    if not protect and walked is not None:
        unseen = (*walked.ignored, *walked.own_repositories)
        asked = len(walked.rule_files) + len(unseen) + len(configured)
        if not asked:
            return Listing(repo, None, ())
        if asked <= _AT_MOST:
            specs = [f":(literal){os.fsdecode(p)}" for p in walked.rule_files] + configured
            for folder in unseen:
                within = glob_escape(os.fsdecode(folder))
                specs += [f":(glob){within}/**/{os.fsdecode(n)}" for n in RULE_FILES]
            kept = not walked.own_repositories and not configured
            key = _answer_key(repo, walked) if kept else None
            if key is not None:
                answer, key = _kept_answer(repo, key)
                if answer is not None:
                    if os.environ.get("GIT_ATOMIC_VERIFY_SCAN") == "1":  # under test: git agrees
                        said = repo.out(*_LS_IGNORED, "--directory", "--", *specs)
                        assert said == answer, (said, answer)
                    return Listing(repo, None, (), answer=answer)
            first = repo.start(*_LS_IGNORED, "--directory", "--", *specs, low_priority=True)
            return Listing(repo, first, (), remember=(key, walked.ignored) if key else None)
    specs = [*_RULE_SPECS, *configured, *pathspecs(protect, icase=folds_case(repo))]
    first = repo.start(*_LS_IGNORED, "--directory", "--", *specs, low_priority=True)
    return Listing(repo, first, protect)


_LS_IGNORED: Final = ("ls-files", "-z", "--others", "--ignored", "--exclude-standard")


# Which of the rule files the walk found a rule ignores is git's answer to one `ls-files`; it
# is the same while every ignore rule is (the walk's `rules_stamp`: none newer than the walk's
# racy window, with the ignored folders it did not look into) and the index is (a tracked file
# is never "other", whatever the rules say): the benchmark's tracked `.gitignore` asked about
# at every checkpoint. Kept in one small file per worktree, only where git named each ignored
# folder whole (`build/`: it did not look into it, whatever is in it) and no folder holding a
# `.git` went unwalked (whether git looks into it depends on what is in its `.git`).
def _answer_file(repo: Repo) -> str:
    return str(repo.state_dir / f"rules-ignored-{worktree_key(repo)}")


# (file, key, rules, entries): where the answer is kept, the index's checksum and the rules'
# stamp, and what git reads of the index (asked only when the checksum is not the one kept).
_Key = tuple[str, str, str, str | None]


def _answer_key(repo: Repo, walked: folderwalk.Walk) -> _Key | None:
    """The key of the answer for this walk's rule files, or None: not to be remembered. It
    names the index by its checksum; an index written again with the same entries (a `git
    status` that took stat data anew) is found by what git reads of it (indexentries.py)."""
    if walked.rules_stamp is None:
        return None
    try:
        fh = indexentries.open_index(repo.index_path)
        if fh is None:
            return None  # a link or a FIFO at the index's name: git's own reading says
        with fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - 32))
            trailer = fh.read(32)
    except FileNotFoundError:
        size, trailer = -1, b""
    except OSError:
        return None
    if size >= 0 and not trailer[-32 if repo.sha256 else -20 :].strip(b"\0"):
        return None  # index.skipHash: no checksum names its entries
    rules = str(walked.rules_stamp)
    return _answer_file(repo), f"{size} {trailer.hex()} {rules}", rules, None


def _kept_answer(repo: Repo, key: _Key) -> tuple[bytes | None, _Key]:
    """The answer kept under `key`, and the key with its entries part asked where needed."""
    import json

    try:
        kept = json.loads(wholefile.read(key[0], limit=1 << 30))  # (no link, no FIFO)
        if kept["key"] == key[1]:
            return os.fsencode(kept["answer"]), key
    except (OSError, ValueError, KeyError, TypeError):
        kept = None
    entries = indexentries.entries_key(
        repo.index_path,
        sha256=repo.sha256,
        memo=indexentries.memo_of(repo),  # (a dry run's keeps none)
    )
    key = (*key[:3], None if entries is None else f"{entries} {key[2]}")
    try:
        if kept is not None and key[3] is not None and kept.get("entries") == key[3]:
            answer = os.fsencode(kept["answer"])
            # Kept under this index's checksum too: the next capture of the same file does not
            # read its entries again (every one after a `git status` did).
            _keep_answer(repo, key, answer)
            return answer, key
    except (AttributeError, KeyError, TypeError, ValueError):
        pass
    return None, key


def _keep_answer(repo: Repo, key: _Key, answer: bytes) -> None:
    if repo.quarantine is not None:
        return  # a dry run keeps no cache
    import json

    scratch = repo.scratch_path("rules-ignored")
    try:
        kept = {"key": key[1], "entries": key[3], "answer": os.fsdecode(answer)}
        wholefile.write_new(scratch, json.dumps(kept).encode())
        os.replace(scratch, key[0])
    except OSError:
        scratch.unlink(missing_ok=True)  # the next capture asks git again


def ignored_in(
    repo: Repo, folders: Sequence[bytes], *, directory: bool = False, config: Sequence[str] = ()
) -> list[bytes] | None:
    """What git ignores in `folders` (b"": the top), as it lists it: every file, or with
    `directory` a wholly ignored folder once, as `dir/` (so is a repository of its own,
    always). `config`: `-c` options before the command. None when git fails."""
    res = repo.run(
        *config,
        *_LS_IGNORED,
        *(("--directory",) if directory else ()),
        "--",
        *(os.fsdecode(f) + "/" if f else "." for f in folders),
        env={"GIT_LITERAL_PATHSPECS": "1"},
        check=False,
    )
    if res.returncode != 0:
        return None
    return [p for p in res.stdout.split(b"\0") if p]


def protected_in_folders_at(
    repo: Repo, protect: Sequence[str], paths: Iterable[bytes]
) -> list[bytes]:
    """`protect`'s ignored files inside the folders that stand at `paths` (index entries not on
    disk as files: `rm y.env && mkdir y.env`), which git's listing with `--directory` neither
    names nor looks into. One lstat each; a git process only where such a folder is."""
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        folders = [p + b"/" for p in sorted(paths) if tree.kind(p) == stat.S_IFDIR]
    return _in_ignored_folders(repo, protect, folders) if folders else []


def _in_ignored_folders(
    repo: Repo, protect: Sequence[str], folders: Sequence[bytes]
) -> list[bytes]:
    """`protect`'s files inside the ignored `folders` (each ending in a slash) that the first
    listing stopped at: a pattern with a slash is looked for where it says (git walks that
    path only), one without in those folders only."""
    patterns = _split_patterns(protect)
    icase = folds_case(repo)
    magic = _magic(icase)
    anchored = [body for body, at_any_depth in patterns if not at_any_depth]
    specs = [f":({magic}){b}" for b in anchored] + [
        f":({magic}){b.rstrip('/')}/**" for b in anchored
    ]
    deep = [body for body, at_any_depth in patterns if at_any_depth]
    for folder in folders:
        if b"\n" in folder or not deep:
            continue
        within = glob_escape(os.fsdecode(folder))
        if _named(folder, deep, icase=icase):  # the folder, or one on its way, is named
            specs.append(f":(glob){within}**")
            continue
        specs += pathspecs(deep, within=within, icase=icase)
    if not specs:
        return []
    res = repo.run(*_LS_IGNORED, "--", *specs, check=False, low_priority=True)
    if res.returncode != 0:
        return []
    return [p for p in res.stdout.split(b"\0") if p]


def _named(folder: bytes, deep: Sequence[str], *, icase: bool) -> bool:
    """Whether a name on the way to `folder` (its own included) matches one of the `deep`
    patterns (no slash but a last one), as a `.gitignore` line matches a folder's name (in any
    letter case with `icase`)."""
    from fnmatch import fnmatchcase  # (only where protect names something in ignored folders)

    names = os.fsdecode(folder).rstrip("/").split("/")
    if icase:  # as git folds: A to Z only
        names, deep = (
            [n.translate(_ASCII_LOWER) for n in names],
            [b.translate(_ASCII_LOWER) for b in deep],
        )
    return any(fnmatchcase(name, body.rstrip("/")) for name in names for body in deep)


_ASCII_LOWER: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def glob_escape(text: str) -> str:
    """`text` matched literally inside a `:(glob)` pathspec."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def collect(repo: Repo, listing: Listing, *, limit: int | None) -> list[bytes]:
    """The regular files and symlinks `start_listing` found (`protect`'s only within `limit`
    bytes; None: no limit)."""
    paths = listed(listing)
    return known(repo, paths if paths is not None else [], limit=limit)


def listed(listing: Listing) -> list[bytes] | None:
    """What `start_listing` printed (None: it failed)."""
    res = listing.wait(check=False)
    if res.returncode != 0:
        return None  # an extra we cannot list is no reason to fail a capture
    paths = [p for p in res.stdout.split(b"\0") if p]
    if listing.protect:
        folders = [p for p in paths if p.endswith(b"/")]
        paths += _in_ignored_folders(listing.repo, listing.protect, folders)
    return list(dict.fromkeys(paths))


def known(repo: Repo, paths: Sequence[bytes], *, limit: int | None) -> list[bytes]:
    """`collect` of a listing already made (`listed`; a scan may know it is still the one)."""
    found = []
    configured = rulefiles.in_tree(repo)
    # The configured rule file in an ignored folder, which git names whole (`.config/`): git
    # reads that file wherever it is, so it is held as one named itself is.
    folders = [p for p in paths if p.endswith(b"/")]
    inside = [c for c in configured if c not in paths and any(c.startswith(f) for f in folders)]
    paths = [*paths, *inside]
    with safefs.Tree(os.fsencode(repo.root)) as tree:
        for path in paths:
            st = tree.lstat(path) if path and not path.endswith(b"/") else None
            if st is None:
                continue
            is_rule = os.path.basename(path) in RULE_FILES or path in configured
            if stat.S_ISLNK(st.st_mode) or (
                stat.S_ISREG(st.st_mode) and (is_rule or limit is None or st.st_size <= limit)
            ):
                found.append(path)
    return found
