"""Which configuration files git reads for a repository, and whether one changed: a key of
their stat data (and of what they include: each `include.path`, the branch an `onbranch:`
condition goes by) that is equal while the configuration is the same, so gitconfig.py reads
it again only when it may have changed; and whether any of them includes another file
(layoutcheck.py). Split from gitconfig.py.
"""

from __future__ import annotations

import os
import stat


def files_key(repo: object, config: dict[str, list[str]] | None = None) -> list[object]:
    """What the configuration files are now (the repository's, the worktree's own, your
    global ones, the system's), and (with the `config` read) what decides what they include:
    equal keys, same configuration."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    places = [
        os.environ.get("GIT_CONFIG_GLOBAL") or os.path.join(home, ".gitconfig"),
        os.path.join(xdg, "git", "config"),
        # The system's (a distribution's git reads /etc/gitconfig), even where
        # GIT_CONFIG_NOSYSTEM says not to read it: a stat of a file not read costs nothing.
        os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig",
    ]
    for attr, name in (("common_dir", "config"), ("git_dir", "config.worktree")):
        folder = getattr(repo, attr, None)
        if folder is not None:
            places.append(os.path.join(folder, name))
    key = [_stat_key(place) for place in places]
    return key + included_key(repo, config) if config is not None else key


def config_files(common_dir: object, git_dir: object) -> list[str]:
    """The configuration files git reads for this repository (the system's unless
    GIT_CONFIG_NOSYSTEM says not to)."""
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    files = [
        os.environ.get("GIT_CONFIG_GLOBAL") or os.path.join(home, ".gitconfig"),
        os.path.join(xdg, "git", "config"),
    ]
    if not os.environ.get("GIT_CONFIG_NOSYSTEM"):
        files.append(os.environ.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig")
    if common_dir is not None:
        files.append(os.path.join(str(common_dir), "config"))
    if git_dir is not None:
        files.append(os.path.join(str(git_dir), "config.worktree"))
    return files


def includes_any(files: list[str]) -> bool:
    """Whether one of the configuration `files` has an include section (a read of each, no
    more: the usual configuration includes nothing; configincludes.py is not imported)."""
    for file in files:
        try:
            if not stat.S_ISREG(os.stat(file).st_mode):
                continue  # (a FIFO: never opened, it would keep us waiting)
            with open(file, "rb") as fh:
                data = fh.read(1 << 20)
        except (OSError, ValueError):
            continue
        if b"include" in data.lower():
            return True
    return False


def _stat_key(place: str) -> object:
    try:
        st = os.stat(place)
    except (OSError, ValueError):
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def included_key(repo: object, config: dict[str, list[str]]) -> list[object]:
    """What changes the configuration while none of its files changes: each file an
    `include.path` or `includeIf.<condition>.path` names (a command's `git config --file`
    writes there; a relative one is looked for beside each configuration file it may be
    named in, included ones too), and, where a condition is `onbranch:`, the branch checked
    out (HEAD's text: a `git checkout` of the operation's includes another file). Nothing
    where nothing is included (the usual case: no more work)."""
    named = [
        value
        for name, values in config.items()
        if name == "include.path" or (name.startswith("includeif.") and name.endswith(".path"))
        for value in values
    ]
    if not named:
        return []
    home = os.path.expanduser("~")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    folders = [str(getattr(repo, a)) for a in ("common_dir", "git_dir") if getattr(repo, a, None)]
    folders += [home, os.path.join(xdg, "git")]
    # A relative path is git's beside the file that names it, which may be an included one:
    # the folders of the included files found are looked in too, until no new one comes.
    places: list[str] = []
    for _ in range(8):  # (git's own include depth is 10; each round adds a level)
        grown = False
        for value in named:
            path = os.path.expanduser(value)
            found = [path] if os.path.isabs(path) else [os.path.join(f, path) for f in folders]
            for place in found:
                if place in places:
                    continue
                places.append(place)
                folder = os.path.dirname(place)
                if folder not in folders and os.path.isfile(place):
                    folders.append(folder)
                    grown = True
        if not grown:
            break
    key: list[object] = [_stat_key(place) for place in places]
    git_dir = getattr(repo, "git_dir", None)
    if git_dir is not None and any(n.startswith("includeif.onbranch:") for n in config):
        try:
            with open(os.path.join(git_dir, "HEAD"), "rb") as fh:
                key.append(fh.read(4096))
        except OSError:
            key.append(None)
    return key
