"""The repository's layout checked before anything is read or written: the worktree's folder
and git dir where they were found (not gone, not a link elsewhere now), no git dir inside the
worktree under another name, and the configuration files git opens at every command regular
files (never read through a link, never a FIFO git would wait on). Refused by name, exit 3.
Every command that captures or restores asks (`check_layout`); discovery.py asks
`check_config_files` before git is asked where the repository is."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from git_atomic.core.errors import RefusedError
from git_atomic.engine import configfiles, gitdirfiles
from git_atomic.engine.git import Repo


def check_layout(repo: Repo, *, aside: bool = False) -> None:
    """`aside`: the caller sets aside a `packed-refs` that is no regular file before git reads
    a ref (a capture, a rollback: gitlinks.py), so one is not refused here.

    Refuse (exit 3, nothing changed) a worktree folder that is no longer the one found
    (gone, or a link to another), a git dir inside the worktree under another name than
    `.git` (`--separate-git-dir=./gd`, `.git` a link to `./.git-real`, a dotfiles repository
    in the home folder it tracks), unless git ignores it: git lists its files as untracked
    files of yours, so a checkpoint would hold git's own files and a rollback take the
    objects and refs an operation made for files the operation created."""
    root = os.path.realpath(repo.root)
    if root != repo.real_root or not os.path.isdir(root):
        # A restore writes the files of the worktree's folder by its name: through a link
        # the operation put there (`mv r r.old && ln -s /elsewhere r`), that is elsewhere.
        shown = os.fsdecode(repo.root)
        raise RefusedError(
            f"this worktree's folder {shown} now leads to {root}, not to {repo.real_root} "
            "where it was (moved, removed or replaced by a link while the operation ran?): "
            "nothing was changed"
            if root != repo.real_root
            else f"this worktree's folder {shown} is gone (moved or removed while the "
            "operation ran?): nothing was changed",
            hint="put it back as it was, then run `git atomic recover`",
        )
    check_config_files(repo.git_dir, repo.common_dir, repo.root, aside=aside)
    now = os.path.realpath(repo.git_dir)
    if now != repo.real_git_dir:
        raise RefusedError(
            f"this worktree's git dir {os.fsdecode(repo.git_dir)} now leads to {now}, not to "
            f"{repo.real_git_dir} where it was (a .git link pointed elsewhere while the "
            "operation ran?): nothing was changed",
            hint="put it back as it was, then run `git atomic recover`",
        )
    for folder in dict.fromkeys((repo.git_dir, repo.common_dir)):
        if not os.path.isdir(folder):
            raise RefusedError(
                f"this worktree's git dir {os.fsdecode(folder)} is gone (moved or removed "
                "while the operation ran?): nothing was changed",
                hint="put it back where it was, then run `git atomic recover`",
            )
        rel = os.path.relpath(os.path.realpath(folder), root)
        parts = rel.split(os.sep)
        if ".git" in parts or parts[0] == ".." or os.path.isabs(rel):
            continue  # in a folder named .git (git lists nothing there), or outside
        asked = os.fsencode(rel) + b"/"
        if asked in (repo.ignored([asked]) or ()):
            continue  # ignored: git lists none of its files
        exclude = repo.common_dir / "info" / "exclude"
        raise RefusedError(
            f"this repository's git dir is inside its worktree as {rel}/, not .git: git lists "
            "its files as yours, and a checkpoint cannot tell git's own files from them",
            hint=f"put it back at .git, or have git ignore it: echo '/{rel}/' >> {exclude}",
        )


def check_config_files(
    git_dir: Path, common_dir: Path, root: Path | None, *, head: bool = False, aside: bool = False
) -> None:
    """Refuse (exit 3, nothing changed) a repository configuration, `config` or the worktree's
    `config.worktree`, that is not a regular file: git reads it through a link (from a file
    outside the repository: settings such as `core.worktree` that no rollback of ours could
    trust, and that it never writes back), and waits for ever on a FIFO (`ln -s
    /path/to/fifo .git/config`). Two lstats; never read through. (`root`: the worktree, to show
    `.git/config` as a person finds it; None where it is not known yet.) Then the other files
    git opens at every command (`HEAD`, `packed-refs`...: gitdirfiles.py; git reads its
    configuration first); `head`: HEAD too, before git is asked where the repository is (a
    rollback under way sets one aside itself: gitlinks.py); `aside`: as for `check_layout`."""
    for path in ((common_dir / "config"), (git_dir / "config.worktree")):
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            continue  # none: git reads no file
        if stat.S_ISREG(mode):
            continue
        shown = (
            ".git/" + path.name
            if root is not None and path.parent == root / ".git"
            else os.fsdecode(path)
        )
        if stat.S_ISLNK(mode):
            try:
                target = os.fsdecode(os.readlink(path))
            except OSError:
                target = "?"
            what = (
                f"a symbolic link to {target}: git would read its settings through it, and "
                "git-atomic never reads the repository through a link"
            )
        else:
            what = "not a regular file (a FIFO, say): git would wait for ever reading it"
        raise RefusedError(
            f"this repository's configuration {shown} is {what}; nothing was changed",
            hint=f"make {shown} a regular file again, then run this again (`git atomic "
            "recover` where `git atomic status` shows an operation interrupted)",
        )
    _check_includes(git_dir, common_dir)  # both regular files now, or none
    gitdirfiles.check(git_dir, common_dir, root, head=head, aside=aside)


def _check_includes(git_dir: Path, common_dir: Path) -> None:
    """A file the configuration includes that would have git wait for ever (an operation's
    `git config include.path /path/to/fifo`): refused the same way (configincludes.py). A
    read of each configuration file; that module imported only where one includes anything."""
    files = configfiles.config_files(common_dir, git_dir)
    if configfiles.includes_any(files):
        from git_atomic.engine import configincludes

        configincludes.check_includes(files)
