"""t1306-xdg-files: git's own files in your XDG config folder, `$XDG_CONFIG_HOME/git/ignore`
and `git/attributes` (`~/.config/git/...`), read where `core.excludesFile` and
`core.attributesFile` are not set. Where the worktree is your home folder (a repository of your
dot files) they are files of the worktree: an operation that adds a rule there and makes a file
the rule hides has both taken back by its rollback, as with a `core.excludesFile` of the
worktree (docs/limits.md) or a `.gitignore`; elsewhere they are yours, never written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo

RULES = {
    "ignore": (b"*.log\n", b"*.tmp\n", "printf 'made\\n' > made.tmp"),
    "attributes": (b"*.bin binary\n", b"*.txt text eol=crlf\n", "printf 'a\\nb\\n' > new.txt"),
}


def _dotfiles(tmp_path: Path, kind: str) -> GitRepo:
    """A repository whose worktree is HOME: its `.config/git/<kind>` a tracked file."""
    home = tmp_path / "home"
    repo = GitRepo.create(home, home)
    repo.write(f".config/git/{kind}", RULES[kind][0])
    repo.write(".bashrc", b"rc\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "dots")
    return repo


def _op(kind: str, *, fail: bool) -> list[str]:
    _, rule, make = RULES[kind]
    line = f"printf '{rule.decode().strip()}\\n' >> .config/git/{kind}; {make}; printf 'x\\n' > x"
    return ["--", "sh", "-c", line + ("; exit 1" if fail else "")]


@pytest.mark.parametrize("kind", sorted(RULES))
def test_failed_run_in_a_dotfiles_worktree_is_exact(tmp_path: Path, kind: str) -> None:
    """The failed run: the rule file back and the file it hid gone (before: `made.tmp` stayed,
    untracked once the rule went), then `undo` brings both back."""
    repo = _dotfiles(tmp_path, kind)
    before = repo.fingerprint()
    res = repo.atomic("run", "--history", "shadow", "--no-gates", *_op(kind, fail=True), check=1)
    assert repo.fingerprint().diff(before) == [], res.stderr
    made = RULES[kind][2].split("> ")[1]
    assert not repo.exists(made) and not repo.exists("x")
    repo.atomic("undo", check=0)
    assert repo.exists(made) and repo.read(f".config/git/{kind}").endswith(RULES[kind][1])


def test_rollback_op_takes_the_hidden_file_back_and_keeps_yours(tmp_path: Path) -> None:
    """`rollback --op` of an operation that added `*.tmp` to the XDG ignore file and made
    `made.tmp`: both go; a `.tmp` of yours made later stays (the rule is yours to take)."""
    repo = _dotfiles(tmp_path, "ignore")
    run = repo.atomic(
        "run", "--history", "shadow", "--no-gates", "--json", *_op("ignore", fail=False)
    )
    op_id = json.loads(run.stdout)["op_id"]
    repo.write("yours.tmp", b"y\n")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert not repo.exists("made.tmp") and repo.read("yours.tmp") == b"y\n"
    assert repo.read(".config/git/ignore") == RULES["ignore"][0]


@pytest.mark.parametrize(
    ("kind", "named"),
    [("ignore", ""), ("ignore", "core.excludesFile"), ("attributes", "")],
)
def test_rule_file_in_an_ignored_folder_is_held(tmp_path: Path, kind: str, named: str) -> None:
    """The excludes (or attributes) file in a folder your `.gitignore` ignores (`.config/`, as
    dot-files repositories do; git reads it all the same, wherever it is): held by the
    checkpoints, so a failed run that added a rule to it gets it back as it was, and the file
    the rule hid goes (before: the rule and that file both stayed: git lists `.config/`
    whole, not the file)."""
    home = tmp_path / "home"
    repo = GitRepo.create(home, home)
    if named:
        repo.git("config", named, f".config/git/{kind}")
    repo.write(f".config/git/{kind}", RULES[kind][0])
    repo.write(".gitignore", b".config/\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "dots")
    repo.atomic("run", "--history", "shadow", "--no-gates", *_op(kind, fail=True), check=1)
    assert repo.read(f".config/git/{kind}") == RULES[kind][0]
    made = RULES[kind][2].split("> ")[1]
    assert not repo.exists(made) and not repo.exists("x")


def test_no_cache_of_ours_in_a_dotfiles_worktree(tmp_path: Path) -> None:
    """git-atomic keeps the configuration's parse in your cache folder (`~/.cache/git-atomic`);
    where that folder is in the worktree (your home folder is), it keeps none: a run in
    commits mode committed `.cache/git-atomic/config-...` beside the operation's file, as its
    effect, and every command left it untracked in your tree."""
    home = tmp_path / "home"
    repo = GitRepo.create(home, home)
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "t"\nrun = "true"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "dots")
    cache = {"XDG_CACHE_HOME": str(home / ".cache")}
    line = "printf 'x\\n' > x"
    repo.atomic("run", "--history", "commits", "--", "sh", "-c", line, env=cache, check=0)
    assert repo.git("show", "--format=", "--name-only", "HEAD").split() == ["x"]
    assert not repo.exists(".cache")


def test_no_cache_of_ours_through_a_link_of_a_dotfiles_worktree(tmp_path: Path) -> None:
    """The same, with `~/.cache` a link of the worktree to a folder elsewhere (another disk, a
    Stow package): the cache was written there, through a link of the worktree, where nothing
    outside the worktree is written through one. It is no cache now."""
    home = tmp_path / "home"
    repo = GitRepo.create(home, home)
    repo.write(".git-atomic.toml", b'[[gates]]\nname = "t"\nrun = "true"\n')
    repo.git("add", "-A")
    repo.git("commit", "-qm", "dots")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / ".cache").symlink_to(elsewhere)
    for cache in ({"XDG_CACHE_HOME": str(home / ".cache")}, {"XDG_CACHE_HOME": ""}):
        line = "printf 'x\\n' >> x"
        repo.atomic("run", "--no-gates", "--", "sh", "-c", line, env=cache, check=0)
        repo.atomic("status", env=cache, check=0)
        assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("named", ["", "core.excludesFile"])
def test_rule_file_reached_through_a_link_of_the_worktree(tmp_path: Path, named: str) -> None:
    """`.config` a link to `dotfiles/config` (as GNU Stow makes it), the excludes file read
    through it: a failed run that added `*.tmp` there (the tracked `dotfiles/config/git/ignore`
    written through the link) and made `made.tmp` has both taken back (before: the rule went,
    `made.tmp` stayed, untracked)."""
    home = tmp_path / "home"
    repo = GitRepo.create(home, home)
    if named:
        repo.git("config", named, ".config/git/ignore")
    repo.write("dotfiles/config/git/ignore", b"*.log\n")
    (home / ".config").symlink_to("dotfiles/config")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "dots")
    before = repo.fingerprint()
    repo.atomic("run", "--history", "shadow", "--no-gates", *_op("ignore", fail=True), check=1)
    assert repo.fingerprint().diff(before) == []
