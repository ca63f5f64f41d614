"""Family: a rule file the configuration names by a path that steps back out of a folder of the
worktree (`core.excludesFile = conf/../.myignore`) where that folder is a symbolic link. The
kernel follows `conf` and takes `..` from where the link leads: git reads a file outside the
worktree, not the worktree's `.myignore` the text `conf/../.myignore` spells. The path is
worked out here as the kernel does (engine/rulefiles.py `configured`): a link of the worktree
on the way is a link (the exact way, nothing read through it); a real folder is stepped out of
as git does. The file outside is never read nor written: its bytes and mtime are as they were.

- A commits-mode run whose command made `conf` a link to a folder whose parent holds other
  rules (`.env` not among them) committed your `.env`: the times of the worktree's
  `.myignore` said no rule had changed.
- The attributes file so named: the worktree's (no conversion word) chose the capture's fast
  way while git converted by the one outside."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from tests.test_adversary56_links_rulefiles import commits_without_env, outside, untouched


def linked_folder(repo: GitRepo, rules: bytes) -> tuple[Path, tuple[Path, bytes, int]]:
    """A folder out of the worktree, `away/deep`, and in `away` a rule file `.myignore`:
    where `conf/../.myignore` leads once `conf` is a link to `away/deep`."""
    away = repo.path.parent / "away"
    (away / "deep").mkdir(parents=True)
    return away / "deep", outside(repo, "away/.myignore", rules)


@pytest.mark.parametrize("named", ["conf/../.myignore", "{root}/conf/../.myignore"])
def test_a_commit_leaves_out_a_file_of_yours_a_linked_folder_unhid(
    repo: GitRepo, named: str
) -> None:
    repo.write(".myignore", b".env\n")
    repo.write("conf/keep", b"k\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "rules")
    repo.git("config", "core.excludesFile", named.format(root=repo.path))
    repo.write(".env", b"SECRET=hunter2\n")
    assert repo.git("status", "--porcelain") == ""  # git reads the worktree's rules
    deep, seen = linked_folder(repo, b"other/\n")
    commits_without_env(repo, f"rm -r conf && ln -s {deep} conf", seen)


def _found(repo: GitRepo, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from git_atomic.engine import discovery

    monkeypatch.chdir(repo.path)
    for name, value in repo.env.items():
        monkeypatch.setenv(name, value)
    return discovery.discover(str(repo.path))


def test_an_attributes_file_past_a_linked_folder_is_not_the_worktrees(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`conf/../.myattrs` with `conf` a link: git reads the `.myattrs` beside the link's target
    (a line-ending rule in it); the worktree's (none) is not the file, and the one outside is
    never read through the link: it counts as naming a conversion (the exact way)."""
    from git_atomic.engine import conversion, rulefiles

    repo.write(".myattrs", b"# nothing here\n")
    deep, seen = linked_folder(repo, b"*.txt text eol=crlf\n")
    (repo.path / "conf").symlink_to(deep)
    repo.git("config", "core.attributesFile", "conf/../.myattrs")
    found = _found(repo, monkeypatch)
    assert rulefiles.configured_in_tree(found, "core.attributesFile") is None
    assert not rulefiles.is_rule_file(found, b".myattrs")
    placed = rulefiles.configured(found, "core.attributesFile", "attributes")
    assert placed.linked and placed.in_tree is None and placed.st is None
    assert conversion._attribute_files_mention_conversion(found, [], frozenset()) is True
    untouched(seen)
    # A real folder stepped out of: the worktree's own file, read as the tree's files are.
    (repo.path / "conf").unlink()
    (repo.path / "conf").mkdir()
    assert rulefiles.configured_in_tree(found, "core.attributesFile") == b".myattrs"
    placed = rulefiles.configured(found, "core.attributesFile", "attributes")
    assert not placed.linked and placed.in_tree == b".myattrs" and placed.st is not None
    assert conversion._attribute_files_mention_conversion(found, [], frozenset()) is False
    # No folder there: git opens nothing (ENOENT), and no file of the worktree is the rules'.
    (repo.path / "conf").rmdir()
    assert rulefiles.configured_in_tree(found, "core.attributesFile") is None
    placed = rulefiles.configured(found, "core.attributesFile", "attributes")
    assert not placed.linked and placed.in_tree is None and placed.st is None
    assert conversion._attribute_files_mention_conversion(found, [], frozenset()) is False


def test_an_attributes_file_in_a_linked_folder_counts_as_a_conversion(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`conf/attrs` with `conf` a link out of the worktree: the file git reads is outside,
    never read here; before, the walk found nothing at `conf/attrs` and the fast way was
    taken while git converted by a rule there."""
    from git_atomic.engine import conversion

    away = repo.path.parent / "away-attrs"
    away.mkdir()
    seen = outside(repo, "away-attrs/attrs", b"*.txt text eol=crlf\n")
    (repo.path / "conf").symlink_to(away)
    repo.git("config", "core.attributesFile", "conf/attrs")
    found = _found(repo, monkeypatch)
    assert conversion._attribute_files_mention_conversion(found, [], frozenset()) is True
    untouched(seen)


def test_a_path_that_leaves_the_worktree_and_comes_back(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`../<worktree>/sub/../.myignore`: the folders above the top are yours (the text, as
    before); `sub`, a folder of the worktree stepped out of, is looked at."""
    from git_atomic.engine import rulefiles

    repo.write(".myignore", b"x\n")
    os.mkdir(repo.path / "sub")
    named = f"../{repo.path.name}/sub/../.myignore"
    repo.git("config", "core.excludesFile", named)
    repo.git("config", "core.attributesFile", "../elsewhere/.myattrs")  # never in it
    found = _found(repo, monkeypatch)
    assert rulefiles.configured_in_tree(found, "core.excludesFile") == b".myignore"
    (repo.path / "sub").rmdir()
    (repo.path / "sub").symlink_to(repo.path.parent)
    assert rulefiles.configured_in_tree(found, "core.excludesFile") is None
    assert rulefiles.configured(found, "core.excludesFile", "ignore").linked
    assert rulefiles.configured_in_tree(found, "core.attributesFile") is None
    assert not rulefiles.configured(found, "core.attributesFile", "attributes").linked
