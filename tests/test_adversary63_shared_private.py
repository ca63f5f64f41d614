"""t1301-shared-repo: `core.sharedRepository=0600`, a repository only its owner may read.

git makes every file and folder it writes in such a repository its owner's alone, whatever
the umask (`adjust_shared_perm`): the index, refs, reflogs, objects. Our folder in the git dir
(`.git/atomic/`) was made as the umask said (0755 under 022), and so were the journal (every
command line run, every operation's name), the gate logs (your tests' output) and the scan
index (every file name): readable by every user of the machine in a repository its owner
had made private. Our folder now gets the bits git gives a folder of its own under an exact
mode (0600: 0700; 0640: 2750), the files inside are out of others' reach with it, and one
made before the setting is made so at the next command that writes.

The oracle: `lstat` of the folder; the index's bits as git left them.
"""

from __future__ import annotations

import os
import stat

import pytest

from testing.gitrepo import GitRepo


@pytest.mark.parametrize(("shared", "others"), [("0600", 0o077), ("0640", 0o027)])
def test_our_folder_is_as_private_as_git_makes_its_own(
    repo: GitRepo, shared: str, others: int
) -> None:
    """A command first (our folder made under the umask), then the setting, then a failed run
    with a gate that prints, begin/abort: our folder has no bits for those git gives none."""
    repo.atomic("run", "--", "true", check=0)
    state = repo.path / ".git" / "atomic"
    assert os.lstat(state).st_mode & 0o077, "the umask's bits before"
    repo.git("config", "core.sharedRepository", shared)
    repo.write("a", b"a\n")
    repo.git("add", "a")
    repo.atomic("run", "-g", "echo secret output; exit 1", "--", "sh", "-c", ": > b", check=1)
    repo.atomic("begin", "x", check=0)
    repo.atomic("abort", check=0)
    mode = os.lstat(state).st_mode
    assert stat.S_ISDIR(mode) and not mode & others, oct(mode)
    assert not os.lstat(repo.path / ".git" / "index").st_mode & others  # git's, as git made it


def test_a_repository_shared_by_umask_is_left_as_it_was(repo: GitRepo) -> None:
    """The guard: no setting (the umask's), our folder as the umask made it."""
    repo.atomic("run", "--", "sh", "-c", ": > b", check=0)
    assert os.lstat(repo.path / ".git" / "atomic").st_mode & 0o777 == 0o777 & ~_umask()


def _umask() -> int:
    old = os.umask(0)
    os.umask(old)
    return old


@pytest.mark.parametrize("shared", ["group", "0600"])
def test_reflogs_written_back_keep_the_bits_git_gave_them(repo: GitRepo, shared: str) -> None:
    """t1301 with reflogkeep: a failed run that deleted a branch and emptied the reflogs
    (`git reflog expire --expire=now --all`): the rollback writes main's and HEAD's back, and
    makes feat's again. Each keeps the bits git gives a reflog in that repository (group: 0664,
    which another member's `git commit` appends to; 0600: its owner's alone); they were 0644,
    so the group's next commit on main failed to append to its reflog."""
    repo.git("config", "core.sharedRepository", shared)
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("branch", "feat", "HEAD~")
    logs = repo.path / ".git" / "logs"
    names = ("HEAD", "refs/heads/main", "refs/heads/feat")
    for name in names:  # made before the setting: as git makes them now
        os.chmod(logs / name, 0o664 if shared == "group" else 0o600)
    before = {name: os.lstat(logs / name).st_mode & 0o7777 for name in names}
    script = "git branch -D feat; git reflog expire --expire=now --all; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1)
    after = {name: os.lstat(logs / name).st_mode & 0o7777 for name in names}
    assert after == before


def test_the_stash_list_written_back_keeps_the_bits_git_gave_it(repo: GitRepo) -> None:
    """The same for the stash list (`logs/refs/stash`): a failed run that cleared your
    stashes; the rollback writes the list back with the bits git gave it (group: 0664)."""
    repo.git("config", "core.sharedRepository", "group")
    for text in (b"one\n", b"two\n"):
        repo.write("README", text)
        repo.git("stash", "-q")
    log = repo.path / ".git" / "logs" / "refs" / "stash"
    before = (log.read_bytes(), os.lstat(log).st_mode & 0o7777)
    assert before[1] == 0o664
    repo.atomic("run", "--", "sh", "-c", "git stash clear; exit 1", check=1)
    assert (log.read_bytes(), os.lstat(log).st_mode & 0o7777) == before


def test_orig_head_written_back_keeps_the_bits_git_gave_it(repo: GitRepo) -> None:
    """The same for ORIG_HEAD, which a failed run's `reset` moved: written back as before,
    with the bits git gave it (group: 0664)."""
    repo.git("config", "core.sharedRepository", "group")
    repo.git("commit", "-q", "--allow-empty", "-m", "two")
    repo.git("reset", "-q", "--hard", "HEAD~")
    orig = repo.path / ".git" / "ORIG_HEAD"
    before = (orig.read_bytes(), os.lstat(orig).st_mode & 0o7777)
    assert before[1] == 0o664
    repo.atomic("run", "--", "sh", "-c", "git reset -q --hard 'HEAD@{1}'; exit 1", check=1)
    assert (orig.read_bytes(), os.lstat(orig).st_mode & 0o7777) == before


def test_info_exclude_written_back_keeps_its_bits(repo: GitRepo) -> None:
    """The same for `.git/info/exclude` a failed run appended to: written back as before,
    with the bits it had (a group's: 0664, for every member's editor)."""
    repo.git("config", "core.sharedRepository", "group")
    exclude = repo.path / ".git" / "info" / "exclude"
    os.chmod(exclude, 0o664)
    before = (exclude.read_bytes(), os.lstat(exclude).st_mode & 0o7777)
    repo.atomic("run", "--", "sh", "-c", "printf 'x\\n' >> .git/info/exclude; exit 1", check=1)
    assert (exclude.read_bytes(), os.lstat(exclude).st_mode & 0o7777) == before
