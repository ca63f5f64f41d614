"""Files git opens in the git dir at (nearly) every command, made a FIFO, a link to something
outside (a file, a FIFO, a device) or a folder: by you before a command, or by the operation
itself (engine/gitdirfiles.py).

Every command ends (a hang is a failure: each call has a timeout) with one line, the SPEC's exit
code, no traceback, and nothing outside read or written: a link to a FIFO outside would keep
whoever opened it waiting (so a read through it is a hang), and a file outside keeps its bytes
and its times. An operation's rollback gets past what it left at the index's name and puts a
regular index back, your staged and unstaged work as before.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from testing.agents import claude_hook, write_call
from testing.gitrepo import GitRepo

_QUICK_S = 60  # well within a command's own time: a hang fails the test, never passes slowly
_OUTSIDE = b"outside, not yours to read\n"

KINDS = ["fifo", "link to a file outside", "link to a fifo outside", "link to a device", "folder"]


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    repo.write(".gitignore", b"build/\n")
    repo.write("a.txt", b"a\n")
    repo.write("b.txt", b"b\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "base")
    repo.write("a.txt", b"a staged\n")
    repo.git("add", "a.txt")
    repo.write("b.txt", b"b not staged\n")  # your work in progress, both sides
    repo.atomic("run", "--", "true", check=0)  # our folder, a scan index: the usual state
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "file").write_bytes(_OUTSIDE)
    os.mkfifo(outside / "fifo")
    return repo


def _outside(repo: GitRepo) -> Path:
    return repo.path.parent / "outside"


def _untouched(repo: GitRepo) -> tuple[bytes, int, int]:
    st = os.stat(_outside(repo) / "file")
    return (_outside(repo) / "file").read_bytes(), st.st_mtime_ns, st.st_ctime_ns


def _make(repo: GitRepo, path: Path, kind: str) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        target = {
            "link to a file outside": _outside(repo) / "file",
            "link to a fifo outside": _outside(repo) / "fifo",
            "link to a device": Path("/dev/zero"),
        }[kind]
        os.symlink(target, path)


def _shell_make(repo: GitRepo, rel: str, kind: str) -> str:
    """The same, as the operation's own command (`rel`: from the worktree's top)."""
    make = {
        "fifo": f"mkfifo {rel}",
        "folder": f"mkdir {rel}",
        "link to a file outside": f"ln -s {_outside(repo) / 'file'} {rel}",
        "link to a fifo outside": f"ln -s {_outside(repo) / 'fifo'} {rel}",
        "link to a device": f"ln -s /dev/zero {rel}",
    }[kind]
    return f"rm -rf {rel} && {make}"


def _one_line(res: subprocess.CompletedProcess[str], code: int, *names: str) -> str:
    assert "Traceback" not in res.stderr, res.stderr
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.returncode == code, (res.returncode, res.stderr)
    assert len(lines) == 1, res.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])
    return lines[0]


def _sides(repo: GitRepo) -> str:
    return repo.git("status", "--porcelain")


def _pre_tool_use(repo: GitRepo) -> subprocess.CompletedProcess[str]:
    session, fields = "9b1d7c40-0000-4c55-9e0a-cccccccccccc", write_call(repo, 1, "n.txt", "n\n")
    return claude_hook(repo, session, "PreToolUse", check=False, timeout=_QUICK_S, **fields)


# --- the index -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_an_operation_that_leaves_a_special_file_at_the_index_is_rolled_back(
    repo: GitRepo, kind: str
) -> None:
    """`rm .git/index; mkfifo .git/index` in a failed run: the rollback's capture waited for
    ever on git's own reading of the index (its listing of the rule files). Now git is given
    no index while a FIFO (or a link) is there; the rollback ends, exit 1, a regular index
    back with your staged and unstaged sides, the operation's new file gone. (A folder there:
    git says at once it cannot read it, and the rollback says it cannot put the index back.)"""
    sides, outside = _sides(repo), _untouched(repo)
    script = f"echo new > new.txt && {_shell_make(repo, '.git/index', kind)}; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
    if kind == "folder":
        _one_line(res, 3, ".git/index", "folder")
        return
    _one_line(res, 1, "rolled back")
    index = repo.path / ".git" / "index"
    assert index.is_file() and not index.is_symlink()
    assert _sides(repo) == sides and not repo.exists("new.txt")
    assert _untouched(repo) == outside


@pytest.mark.parametrize("kind", ["fifo", "link to a fifo outside", "link to a device"])
def test_abort_after_the_index_was_made_special_puts_a_regular_one_back(
    repo: GitRepo, kind: str
) -> None:
    sides, outside = _sides(repo), _untouched(repo)
    repo.atomic("begin", "x", check=0, timeout=_QUICK_S)
    repo.write("new.txt", b"new\n")
    _make(repo, repo.path / ".git" / "index", kind)
    _one_line(repo.atomic("abort", timeout=_QUICK_S), 0, "aborted")
    assert (repo.path / ".git" / "index").is_file()
    assert _sides(repo) == sides and not repo.exists("new.txt")
    assert _untouched(repo) == outside


@pytest.mark.parametrize("kind", ["fifo", "link to a fifo outside", "link to a device"])
def test_a_command_with_a_special_file_at_the_index_ends(repo: GitRepo, kind: str) -> None:
    """Yours, before a command. A FIFO: `begin` refuses by name, exit 3 (no state to start
    from: git would wait on it), and so does the hook's first checkpoint (the agent is told
    its call is not protected, exit 0); `status` answers. A link is git dir state (held as the
    link itself: gitstate.py) and never read through: `begin` opens."""
    index = repo.path / ".git" / "index"
    _make(repo, index, kind)
    outside = _untouched(repo)
    assert repo.atomic("status", timeout=_QUICK_S).returncode == 0
    hook = _pre_tool_use(repo)
    assert hook.returncode == 0 and "Traceback" not in hook.stderr, hook.stderr
    begin = repo.atomic("begin", "x", timeout=_QUICK_S)
    if kind == "fifo":
        assert "not protected" in hook.stderr and ".git/index" in hook.stderr, hook.stderr
        _one_line(begin, 3, ".git/index", "FIFO")
        assert index.is_fifo()
    else:
        _one_line(begin, 0, "opened")
        _one_line(repo.atomic("abort", timeout=_QUICK_S), 0, "aborted")
        assert index.is_symlink()  # as it was: the PRE-OP held the link itself
    assert _untouched(repo) == outside


def test_undo_of_a_rollback_past_a_fifo_at_the_index_ends(repo: GitRepo) -> None:
    """The operation replaced your index by a FIFO: its rollback puts your index back; `undo`
    re-does what the operation did (no index: a FIFO holds nothing), and a second `undo` brings
    your index back again. Each ends."""
    sides = _sides(repo)
    script = f"echo new > new.txt && {_shell_make(repo, '.git/index', 'fifo')}; exit 1"
    repo.atomic("run", "--", "sh", "-c", script, check=1, timeout=_QUICK_S)
    _one_line(repo.atomic("undo", timeout=_QUICK_S), 0, "undid")
    assert repo.exists("new.txt") and not (repo.path / ".git" / "index").exists()
    _one_line(repo.atomic("undo", timeout=_QUICK_S), 0, "undid")
    assert _sides(repo) == sides and not repo.exists("new.txt")


@pytest.mark.parametrize("who", ["yours", "the operation's"])
def test_a_fifo_at_the_shared_index_of_a_split_index(repo: GitRepo, who: str) -> None:
    """A split index reads its entries from `.git/sharedindex.<id>`: a FIFO there has git wait
    as one at the index would. Yours: `begin` refuses it by name; the operation's: its
    rollback ends, your index back (written whole)."""
    repo.git("update-index", "--split-index")
    sides = _sides(repo)
    (shared,) = (p.name for p in (repo.path / ".git").glob("sharedindex.*"))
    if who == "yours":
        _make(repo, repo.path / ".git" / shared, "fifo")
        _one_line(repo.atomic("begin", "x", timeout=_QUICK_S), 3, shared, "FIFO")
        return
    script = f"echo new > new.txt && {_shell_make(repo, '.git/' + shared, 'fifo')}; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
    _one_line(res, 1, "rolled back")
    assert _sides(repo) == sides and not repo.exists("new.txt")


# --- files git opens at every command ---------------------------------------------------------

# (where, from the worktree's top, and whether the repository needs a linked worktree)
EVERY_COMMAND = {
    "HEAD": ".git/HEAD",
    "packed-refs": ".git/packed-refs",
    "alternates": ".git/objects/info/alternates",
    "commondir": "COMMONDIR",
}


def _linked(repo: GitRepo) -> GitRepo:
    repo.git("worktree", "add", "-q", str(repo.path.parent / "linked"))
    linked = GitRepo(repo.path.parent / "linked", repo.env)
    linked.atomic("run", "--", "true", check=0)
    return linked


def _place(repo: GitRepo, which: str) -> tuple[GitRepo, Path, str]:
    """The repository to work in, the file's path, and the name a message shows."""
    if which == "commondir":
        linked = _linked(repo)
        return linked, repo.path / ".git" / "worktrees" / "linked" / "commondir", "commondir"
    if which == "packed-refs":
        repo.git("pack-refs", "--all")
    return repo, repo.path / EVERY_COMMAND[which], EVERY_COMMAND[which]


@pytest.mark.parametrize("kind", ["fifo", "link to a fifo outside", "link to a device"])
@pytest.mark.parametrize("which", sorted(EVERY_COMMAND))
def test_a_file_git_opens_at_every_command_is_refused_by_name(
    repo: GitRepo, which: str, kind: str
) -> None:
    """Made so before a command: `status`, `begin`, `undo` and a hook call each end, exit 3 (the
    hook: 0, the agent told), one line naming the file; nothing read through the link (one to a
    FIFO outside would hang whoever opened it). (A link at `packed-refs` or `alternates` to a
    file: refused as before by gitlinks.py and stalls.py.)"""
    if which in ("packed-refs", "alternates") and kind == "link to a device":
        pytest.skip("git reads nothing of /dev/zero there: a link refused elsewhere (gitlinks)")
    here, path, shown = _place(repo, which)
    here.atomic("run", "--", "sh", "-c", "echo x > new.txt; exit 1", check=1)  # for `undo`
    path.parent.mkdir(parents=True, exist_ok=True)
    _make(repo, path, kind)
    outside = _untouched(repo)
    for args in (("status",), ("begin", "x"), ("undo",)):
        _one_line(here.atomic(*args, timeout=_QUICK_S), 3, shown)
    hook = _pre_tool_use(here)
    assert hook.returncode == 0 and "Traceback" not in hook.stderr, hook.stderr
    assert shown in hook.stderr, hook.stderr
    assert _untouched(repo) == outside


@pytest.mark.parametrize("kind", ["fifo", "link to a fifo outside", "link to a device"])
def test_an_operation_that_made_head_special_is_aborted(repo: GitRepo, kind: str) -> None:
    """HEAD made a FIFO (or a link outside) inside an open operation: every git would wait on
    it (or read through it), so it is no repository to git; `abort` sets it aside and puts the
    operation's HEAD back, as for a HEAD git refuses (gitlinks.py)."""
    sides, head = _sides(repo), (repo.path / ".git" / "HEAD").read_bytes()
    repo.atomic("begin", "x", check=0, timeout=_QUICK_S)
    repo.write("new.txt", b"new\n")
    _make(repo, repo.path / ".git" / "HEAD", kind)
    outside = _untouched(repo)
    _one_line(repo.atomic("status", timeout=_QUICK_S), 3, ".git/HEAD")
    _one_line(repo.atomic("abort", timeout=_QUICK_S), 0, "aborted")
    assert (repo.path / ".git" / "HEAD").read_bytes() == head
    assert _sides(repo) == sides and not repo.exists("new.txt")
    assert _untouched(repo) == outside


PACKED_KINDS = [*KINDS, "dangling link"]


def _packed(repo: GitRepo, kind: str) -> str:
    """The operation's own command making packed-refs `kind` (a new file in the tree too)."""
    if kind == "dangling link":
        make = f"rm -f .git/packed-refs && ln -s {_outside(repo) / 'none'} .git/packed-refs"
    else:
        make = _shell_make(repo, ".git/packed-refs", kind)
    return f"echo new > new.txt && {make}"


def _said_unchecked(res: subprocess.CompletedProcess[str], code: int, last: str) -> None:
    """The rollback's line, and before it the one that says what it could not check: what the
    operation left in a packed-refs it made no file (its notes of what it left were skipped,
    said nowhere)."""
    assert "Traceback" not in res.stderr and res.returncode == code, (res.returncode, res.stderr)
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 2 and last in lines[1], res.stderr
    assert "warning: packed-refs was" in lines[0] and "was not checked" in lines[0], lines[0]
    for named in ("replace ref", "refs/original/", "tag"):
        assert named in lines[0], (named, lines[0])


def _refs(repo: GitRepo) -> str:
    return repo.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")


@pytest.mark.parametrize("kind", PACKED_KINDS)
def test_a_run_that_makes_packed_refs_no_file_is_rolled_back(repo: GitRepo, kind: str) -> None:
    """A FIFO there: the rollback's first notes of the git dir read refs and git waited for
    ever; refused by name after that (exit 3), the operation left for `recover` once you had
    removed it. A folder: git could not read a ref, and the rollback said its checkpoint
    "cannot be restored" (exit 3, interrupted). Now whatever it is, set aside unread into the
    rescue (gitlinks.py), the branches back from their reflogs: exit 1, rolled back."""
    repo.git("pack-refs", "--all")  # every branch in packed-refs: none loose to fall back on
    sides, refs, outside = _sides(repo), _refs(repo), _untouched(repo)
    res = repo.atomic("run", "--", "sh", "-c", _packed(repo, kind) + "; exit 1", timeout=_QUICK_S)
    _said_unchecked(res, 1, "rolled back")
    packed = repo.path / ".git" / "packed-refs"
    assert not packed.is_symlink() and (packed.is_file() or not packed.exists())
    assert _sides(repo) == sides and _refs(repo) == refs and not repo.exists("new.txt")
    assert _untouched(repo) == outside
    assert "rolled back" in repo.atomic("log", "-n", "1", check=0, timeout=_QUICK_S).stdout


@pytest.mark.parametrize("kind", PACKED_KINDS)
def test_packed_refs_made_no_file_in_an_open_operation(repo: GitRepo, kind: str) -> None:
    """Inside a `begin` session: `status` names it (exit 3: git would read through it, wait
    on it or fail), and says `abort` sets it aside; `abort` does, the session's work taken
    back, its refs as before."""
    repo.git("pack-refs", "--all")
    sides, refs, outside = _sides(repo), _refs(repo), _untouched(repo)
    repo.atomic("begin", "x", check=0, timeout=_QUICK_S)
    subprocess.run(["sh", "-c", _packed(repo, kind)], cwd=repo.path, check=True)
    line = _one_line(repo.atomic("status", timeout=_QUICK_S), 3, ".git/packed-refs")
    assert "abort" in line, line
    _said_unchecked(repo.atomic("abort", timeout=_QUICK_S), 0, "aborted")
    assert _sides(repo) == sides and _refs(repo) == refs and not repo.exists("new.txt")
    assert _untouched(repo) == outside


def _killed_over_a_packed_refs_folder(
    repo: GitRepo, failpoint: dict[str, str]
) -> tuple[str, str, subprocess.CompletedProcess[str]]:
    """The refs packed, then a failing run that made packed-refs a folder, killed at the
    `failpoint` of its rollback (its environment): the sides and refs before, and the run's
    result."""
    repo.git("pack-refs", "--all")
    sides, refs = _sides(repo), _refs(repo)
    res = repo.atomic(
        "run",
        "--",
        "sh",
        "-c",
        _packed(repo, "folder") + "; exit 1",
        env=failpoint,
        timeout=_QUICK_S,
    )
    return sides, refs, res


def test_recover_sets_aside_a_packed_refs_folder_left_by_a_killed_rollback(repo: GitRepo) -> None:
    """The rollback killed before its rescue (a crash): `recover` finishes it, the folder set
    aside, not "cannot be restored"."""
    sides, refs, res = _killed_over_a_packed_refs_folder(
        repo, {"GIT_ATOMIC_FAILPOINT": "rollback:before-rescue"}
    )
    assert res.returncode != 0 and (repo.path / ".git" / "packed-refs").is_dir()
    res = repo.atomic("recover", check=0, timeout=_QUICK_S)
    assert "packed-refs was a folder" in res.stderr and "was not checked" in res.stderr
    assert _sides(repo) == sides and _refs(repo) == refs and not repo.exists("new.txt")


@pytest.mark.parametrize("rel", [".git/info/attributes", ".git/info/sparse-checkout"])
def test_a_folder_an_operation_made_at_a_rule_file_of_the_git_dir(repo: GitRepo, rel: str) -> None:
    """git passes over a folder there; the rollback tried to remove it as a file (an internal
    error, exit 3, the operation interrupted). Now left as it is and named, the rest rolled
    back."""
    sides = _sides(repo)
    script = f"echo new > new.txt && mkdir -p {rel} && echo x > {rel}/inner; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
    assert res.returncode == 1 and "internal error" not in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert _sides(repo) == sides and not repo.exists("new.txt")
    assert (repo.path / rel / "inner").read_bytes() == b"x\n"  # never emptied by us


def test_a_run_that_puts_a_fifo_in_place_of_our_folder_is_rolled_back(repo: GitRepo) -> None:
    """`rm -rf .git/atomic && mkfifo .git/atomic`: the rollback died making its scratch folder
    (an internal error, the operation interrupted). The FIFO is set aside as a link there is
    (gitlinks.py), the journal written back from the one the command holds open, and the
    rollback ends: exit 1, your work as it was, the operation in the log."""
    sides = _sides(repo)
    script = "echo new > new.txt && rm -rf .git/atomic && mkfifo .git/atomic; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
    _one_line(res, 1, "rolled back")
    assert (repo.path / ".git" / "atomic").is_dir()
    assert _sides(repo) == sides and not repo.exists("new.txt")
    assert "rolled back" in repo.atomic("log", "-n", "1", check=0, timeout=_QUICK_S).stdout


def test_a_hook_call_with_a_fifo_in_place_of_our_folder_says_so(repo: GitRepo) -> None:
    """An internal error before; now one line naming the folder, exit 0 (the agent goes on)."""
    shutil.rmtree(repo.path / ".git" / "atomic")
    os.mkfifo(repo.path / ".git" / "atomic")
    hook = _pre_tool_use(repo)
    assert hook.returncode == 0 and "internal error" not in hook.stderr, hook.stderr
    assert ".git/atomic is not a folder" in hook.stderr, hook.stderr


@pytest.mark.parametrize("command", ["undo", "rollback of a finished operation"])
def test_a_fifo_of_yours_at_the_index_is_refused_by_a_move_back(
    repo: GitRepo, command: str
) -> None:
    """Yours, there before `undo` (or the rollback of an operation that finished): the move went
    on, its rescue holding "no index" (a FIFO holds nothing git can read), and put a regular
    index in its place: `undo` of it would not give the FIFO back. Refused by name as `begin`
    refuses it, exit 3, nothing changed (an operation's own rollback, which takes back what
    the operation made, puts a regular index back: above)."""
    if command == "undo":
        repo.atomic("run", "--", "sh", "-c", "echo x > new.txt; exit 1", check=1)
        args: tuple[str, ...] = ("undo",)
    else:
        repo.atomic("run", "--history", "shadow", "--", "sh", "-c", "echo x > new.txt", check=0)
        args = ("rollback",)
    files = repo.exists("new.txt")
    index = repo.path / ".git" / "index"
    _make(repo, index, "fifo")
    _one_line(repo.atomic(*args, timeout=_QUICK_S), 3, ".git/index", "FIFO")
    assert index.is_fifo() and repo.exists("new.txt") == files


@pytest.mark.parametrize("kind", PACKED_KINDS)
def test_a_run_that_makes_commondir_no_file_is_rolled_back(repo: GitRepo, kind: str) -> None:
    """A linked worktree's `commondir` made a FIFO, a link or a folder by the operation: the
    rollback refused it by name (exit 3), the operation interrupted until you wrote it again
    (its text: `../..`) and ran `recover`. It is set aside now (the rescue holds it, unread)
    and written again as git wrote it, before any git runs: exit 1, rolled back."""
    here, path, _ = _place(repo, "commondir")
    here.atomic("run", "--", "true", check=0, timeout=_QUICK_S)
    text, sides, outside = path.read_bytes(), _sides(here), _untouched(repo)
    make = (
        f"rm -f {path} && ln -s {_outside(repo) / 'none'} {path}"
        if kind == "dangling link"
        else _shell_make(repo, str(path), kind)
    )
    script = f"echo new > new.txt && {make}; exit 1"
    res = here.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
    _one_line(res, 1, "rolled back")
    assert not path.is_symlink() and path.read_bytes() == text
    assert _sides(here) == sides and not here.exists("new.txt")
    assert _untouched(repo) == outside


@pytest.mark.parametrize("how", ["begin, then abort", "a run killed, then recover"])
@pytest.mark.parametrize("kind", PACKED_KINDS)
def test_commondir_made_no_file_in_an_open_operation(repo: GitRepo, kind: str, how: str) -> None:
    """Made so inside a `begin` session (or by a `run` whose git-atomic was killed): `abort`
    and `recover` named it and refused (exit 3), the session's work left until you wrote the
    file again yourself. Set aside and written again now, as the rollback of a finished `run`
    does: the work taken back, the file as git wrote it, nothing outside read."""
    here, path, _ = _place(repo, "commondir")
    text, sides, outside = path.read_bytes(), _sides(here), _untouched(repo)
    make = (
        f"rm -f {path} && ln -s {_outside(repo) / 'none'} {path}"
        if kind == "dangling link"
        else _shell_make(repo, str(path), kind)
    )
    if how == "begin, then abort":
        here.atomic("begin", "x", check=0, timeout=_QUICK_S)
        subprocess.run(["sh", "-c", f"echo new > new.txt && {make}"], cwd=here.path, check=True)
        line = _one_line(here.atomic("status", timeout=_QUICK_S), 3, "commondir")
        assert "abort" in line, line
        _one_line(here.atomic("abort", timeout=_QUICK_S), 0, "aborted")
    else:
        script = f"echo new > new.txt && {make} && kill -9 $PPID"
        res = here.atomic("run", "--", "sh", "-c", script, timeout=_QUICK_S)
        assert res.returncode == -9, res.stderr
        _one_line(here.atomic("status", timeout=_QUICK_S), 3, "commondir")
        res = here.atomic("recover", timeout=_QUICK_S)
        assert res.returncode == 0 and "recovered" in res.stderr, res.stderr
    assert not path.is_symlink() and path.read_bytes() == text
    assert _sides(here) == sides and not here.exists("new.txt")
    assert _untouched(repo) == outside
    here.atomic("status", check=0, timeout=_QUICK_S)


def test_a_folder_of_yours_at_commondir_is_named(repo: GitRepo) -> None:
    """git refuses the worktree at once ("failed to read .../commondir: Is a directory"), which
    was said as a configuration an operation changed; named now, with the text to write."""
    here, path, _ = _place(repo, "commondir")
    path.unlink()
    path.mkdir()
    for args in (("status",), ("begin", "x")):
        line = _one_line(here.atomic(*args, timeout=_QUICK_S), 3, "commondir", "folder")
        assert "../.." in line and "configuration" not in line, line


def test_a_rollback_killed_as_it_writes_a_branch_back_lists_no_branch_of_ours(
    repo: GitRepo,
) -> None:
    """The branches a packed-refs folder held are written back loose from their reflogs, each
    under a temporary name first (gitlinks.py). That name was `main.atomic-tmp` beside it: a
    rollback killed before the rename left a branch `main.atomic-tmp` that `git branch` listed
    until `recover` wrote `main` again. A name git passes over now (a dot first), gone once
    `recover` has finished."""
    sides, refs, res = _killed_over_a_packed_refs_folder(
        repo, {"GIT_ATOMIC_FAILPOINT": "gitlinks:aside"}
    )
    assert res.returncode == -9, res.stderr
    listed = repo.git("for-each-ref", "--format=%(refname)")
    assert "atomic-tmp" not in listed, listed
    heads = repo.path / ".git" / "refs" / "heads"
    yours = {  # like names, not ours: no pid, a live one's
        heads / ".main.atomic-tmp": b"yours\n",
        heads / f".main.{os.getppid()}.atomic-tmp": b"yours too\n",
    }
    for path, data in yours.items():
        path.write_bytes(data)
    repo.atomic("recover", check=0, timeout=_QUICK_S)
    assert _sides(repo) == sides and _refs(repo) == refs and not repo.exists("new.txt")
    left = {
        Path(top, name)
        for top, _, names in os.walk(repo.path / ".git" / "refs")
        for name in names
        if "atomic-tmp" in name
    }
    assert left == set(yours) and all(p.read_bytes() == d for p, d in yours.items())
