"""Hostile layouts, settings and links: each case failed before its fix. Judged from the disk
(lstat, bytes, readlink), never only from git."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from git_atomic.engine import statuslist
from testing import oracle
from testing.gitrepo import GitRepo


def _nested_repository(repo: GitRepo, rel: str) -> None:
    """A repository inside the worktree, untracked: its files are its own (never captured), and
    with it present the capture reads the tree with `git add -A` instead of a scan."""
    folder = repo.path / rel
    subprocess.run(["git", "init", "-q", str(folder)], env=repo.env, check=True)


def test_a_dot_git_in_another_case_beside_a_nested_repository(repo: GitRepo) -> None:
    """`add -A` (read where a scan cannot be) died at `h/.GIT/config`: an operation that made
    one stayed interrupted, `recover` died the same way, and one there before PRE-OP gave a
    crash log instead of the refusal. Now as without the nested repository: refused before
    anything changes; one an operation makes is left where it is, the rest rolled back."""
    _nested_repository(repo, "vendor")
    repo.write("h/.GIT/config", b"precious\n")
    before = oracle.walk(repo.path)
    res = repo.atomic("run", "--", "sh", "-c", "echo op > README; exit 1", check=3)
    assert "letter case" in res.stderr and "h/.GIT" in res.stderr, res.stderr
    assert oracle.walk(repo.path) == before
    (repo.path / "h/.GIT/config").unlink()
    (repo.path / "h/.GIT").rmdir()
    (repo.path / "h").rmdir()
    before = oracle.walk(repo.path)
    made = "mkdir -p h/.GIT/x && echo a > h/.GIT/x/y && echo b > .Git && echo op > README; exit 1"
    repo.atomic("run", "--", "sh", "-c", made, check=1)
    after = oracle.walk(repo.path)
    assert {p: v for p, v in after.items() if not statuslist.dot_git_variant(p)} == before
    assert repo.read("h/.GIT/x/y") == b"a\n" and repo.read(".Git") == b"b\n"
    assert "interrupted" not in repo.atomic("status", check=0).stdout


# --- what the operation made unreadable ---------------------------------------------------
class Unprivileged:
    """A repository used as a user who is not root (root reads through any mode): as this
    user where it is not root, else as `nobody` through `setpriv`, the folder theirs."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="s39-unreadable-"))
        self.base.chmod(0o755)
        self.repo = GitRepo.create(self.base / "repo", self.base / "home")
        self.repo.env["GIT_ATOMIC_HELPER"] = "0"  # no warm helper started as someone else
        self.prefix: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv to run as another user")
            subprocess.run(["chown", "-R", "65534:65534", str(self.base)], check=True)
            self.prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            probe = self.run(sys.executable, "-c", "import git_atomic")
            if probe.returncode != 0:  # this checkout or the interpreter is not theirs to read
                self.close()
                pytest.skip(f"`nobody` cannot run git-atomic here: {probe.stderr.strip()[-200:]}")

    def run(self, *argv: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.prefix, *argv],
            cwd=self.repo.path,
            env={**self.repo.env, "CLAUDE_PROJECT_DIR": str(self.repo.path)},
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def atomic(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(sys.executable, "-m", "git_atomic", *args)

    def close(self) -> None:
        subprocess.run(["chmod", "-R", "u+rwX", str(self.base)], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def unprivileged() -> Iterator[Unprivileged]:
    made = Unprivileged()
    yield made
    made.close()


@pytest.mark.parametrize(
    "made_unreadable",
    ["chmod 000 a/b/g", "chmod 000 a/b", "mkdir -p n/m && echo s > n/m/f && chmod 000 n"],
    ids=["a file", "a folder", "a new folder"],
)
def test_what_the_operation_made_unreadable_is_named_and_recover_is_exact(
    unprivileged: Unprivileged, made_unreadable: str
) -> None:
    """An operation that left a file unreadable (chmod 000): the capture died at it (a crash
    log, the operation left interrupted, `recover` dying the same way). One that left a folder
    unreadable: git could not look in, took what it knew of the files there as still so, and
    the rollback said the tree was as before with the operation's edits, its new file and the
    loss of an untracked file left behind that folder. A new folder it made unreadable (git
    knows nothing in it) was left as a folder nobody captured, the rollback saying the
    operation had changed nothing. Now each is named, nothing changed, and once readable again
    `recover` returns the tree exactly."""
    u = unprivileged
    setup = (
        "mkdir -p a/b/c && echo x > a/b/c/f && echo y > a/b/g && echo t > top && "
        "git add -A && git commit -qm i && echo u > a/b/c/untracked"
    )
    assert u.run("sh", "-c", setup).returncode == 0
    before = oracle.walk(u.repo.path)
    change = "echo edit > a/b/g; echo new > a/b/new; rm a/b/c/untracked; echo op > top; "
    res = u.atomic("run", "--", "sh", "-c", change + made_unreadable + "; exit 1")
    assert res.returncode == 3, res.stderr
    assert "cannot be read" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert (
        u.run("chmod", "-R", "u+rwX", "a", *(["n"] if "n/m" in made_unreadable else [])).returncode
        == 0
    )
    res = u.atomic("recover")
    assert res.returncode == 0, res.stderr
    assert oracle.walk(u.repo.path) == before


def test_a_run_that_made_a_new_folder_unreadable_and_exited_0_is_not_kept_without_it(
    unprivileged: Unprivileged,
) -> None:
    """A run whose command made a folder of new files unreadable and exited 0 was kept (its
    last checkpoint without the folder, which git cannot list), and its `rollback --op` said
    'exactly its PRE-OP state' with the folder and its files left behind. Now its last capture
    names the folder, as for a file it made unreadable: interrupted, exit 3; made readable,
    `recover` returns the tree exactly."""
    u = unprivileged
    assert u.run("sh", "-c", "echo t > top && git add -A && git commit -qm i").returncode == 0
    before = oracle.walk(u.repo.path)
    res = u.atomic("run", "--", "sh", "-c", "echo op > top; mkdir n; echo s > n/f; chmod 000 n")
    assert res.returncode == 3, res.stderr
    assert "n/: cannot be read" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert u.run("chmod", "u+rwx", "n").returncode == 0
    res = u.atomic("recover")
    assert res.returncode == 0, res.stderr
    assert oracle.walk(u.repo.path) == before
    assert not (u.repo.path / "n").exists()


@pytest.mark.parametrize("move", ["rollback --op", "undo"])
def test_a_folder_made_unreadable_since_the_operation_began_is_refused_by_later_moves(
    unprivileged: Unprivileged, move: str
) -> None:
    """A kept operation made `n/f`; the folder `n` made unreadable since (chmod 000): its
    `rollback --op` could not see `n/f`, took it for gone already, and said 'exactly its
    PRE-OP state' with `n/f` left behind. Likewise `undo` of a rollback that put back `k/f`
    (an untracked file the operation deleted), `k` unreadable since: 'undid the last
    rollback' with `k/f` still there. Now each names the folder, exit 3, nothing changed; once
    readable again the move is carried out."""
    u = unprivileged
    setup = "echo t > top && git add -A && git commit -qm i && mkdir k && echo u > k/f"
    assert u.run("sh", "-c", setup).returncode == 0
    if move == "undo":
        res = u.atomic("run", "--", "sh", "-c", "echo op > top; rm k/f; exit 1")
        assert res.returncode == 1, res.stderr
        folder, now, then = "k", b"t\n", b"op\n"
    else:
        res = u.atomic("run", "--json", "--", "sh", "-c", "echo op > top; mkdir n; echo s > n/f")
        assert res.returncode == 0, res.stderr
        move += " " + json.loads(res.stdout)["op_id"]
        folder, now, then = "n", b"op\n", b"t\n"
    assert u.run("chmod", "000", folder).returncode == 0
    res = u.atomic(*move.split())
    assert res.returncode == 3, res.stderr
    assert f"{folder}/" in res.stderr and "cannot be read" in res.stderr, res.stderr
    assert "Traceback" not in res.stderr
    assert (u.repo.path / "top").read_bytes() == now
    assert stat.S_IMODE(os.lstat(u.repo.path / folder).st_mode) == 0
    assert u.run("chmod", "u+rwx", folder).returncode == 0
    res = u.atomic(*move.split())
    assert res.returncode == 0, res.stderr
    assert (u.repo.path / "top").read_bytes() == then
    assert not (u.repo.path / folder / "f").exists()


@pytest.mark.parametrize("open_op", [True, False], ids=["open", "after a kept one"])
def test_emergency_refuses_a_folder_made_unreadable_since_the_operation_began(
    unprivileged: Unprivileged, open_op: bool
) -> None:
    """`emergency` while an operation is open (or after a kept one) that made a new folder
    `n` with a file in it and then unreadable (chmod 000): git could not list `n`, and the
    emergency said "everything was saved as rescue" with `n/m/f` in no rescue, where the
    operation's own rollback, `rollback --op` and `undo` refuse it. It names the folder, exit
    3, nothing changed (its dry run too); once readable again it goes back, `n` with the rest,
    and `undo` brings every file back."""
    u = unprivileged
    setup = "mkdir -p a && echo t > a/top && git add -A && git commit -qm i"
    assert u.run("sh", "-c", setup).returncode == 0
    if open_op:
        assert u.atomic("begin", "x").returncode == 0
    else:
        assert u.atomic("run", "--", "sh", "-c", "echo k > kept").returncode == 0
    made = "echo op > a/top; mkdir -p n/m && echo s > n/m/f && chmod 000 n"
    assert u.run("sh", "-c", made).returncode == 0
    before = oracle.walk(u.repo.path)
    for dry in (["--dry-run"], []):
        res = u.atomic("emergency", *dry)
        assert res.returncode == 3, res.stderr
        assert "n/: cannot be read" in res.stderr and "Traceback" not in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert oracle.walk(u.repo.path) == before
    assert u.run("chmod", "u+rwx", "n").returncode == 0
    res = u.atomic("emergency")
    assert res.returncode == 0, res.stderr
    assert not (u.repo.path / "n").exists()
    assert (u.repo.path / "a" / "top").read_bytes() == (b"t\n")
    res = u.atomic("undo")
    assert res.returncode == 0, res.stderr
    assert (u.repo.path / "n" / "m" / "f").read_bytes() == b"s\n"
    assert (u.repo.path / "a" / "top").read_bytes() == b"op\n"


@pytest.mark.parametrize("opened", [True, False], ids=["open", "kept"])
def test_rollback_to_a_checkpoint_refuses_a_folder_made_unreadable_since_it(
    unprivileged: Unprivileged, opened: bool
) -> None:
    """`rollback --to PRE-OP` (of the open operation, or `--whole` of a kept one) after a new
    folder `n` with a file in it was made unreadable: it said "rolled back to PRE-OP" and left
    `n/m/f` behind, in no rescue, where `rollback` and `abort` refuse it. Its preview's
    capture became the rescue, which then did not look. Named, exit 3, nothing changed; a
    selective `--to CHECKPOINT -- PATH` elsewhere still goes ahead (it touches nothing there)."""
    u = unprivileged
    setup = "mkdir -p a && echo t > a/top && echo o > other && git add -A && git commit -qm i"
    assert u.run("sh", "-c", setup).returncode == 0
    if opened:
        out = u.atomic("begin", "x", "--json")
    else:
        out = u.atomic("run", "--json", "--", "sh", "-c", "echo k > kept")
    assert out.returncode == 0, out.stderr
    pre = json.loads(out.stdout)["checkpoints"]["pre_op"]
    made = "echo op > a/top; echo op > other; mkdir -p n/m && echo s > n/m/f && chmod 000 n"
    assert u.run("sh", "-c", made).returncode == 0
    before = oracle.walk(u.repo.path)
    res = u.atomic("rollback", "--to", pre, *([] if opened else ["--whole"]))
    assert res.returncode == 3, res.stderr
    assert "n/: cannot be read" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert oracle.walk(u.repo.path) == before
    res = u.atomic("rollback", "--to", pre, "--", "other")
    assert res.returncode == 0, res.stderr
    assert (u.repo.path / "other").read_bytes() == b"o\n"
    assert (u.repo.path / "a" / "top").read_bytes() == b"op\n"


def _turn_that_makes_a_folder_unreadable(
    u: Unprivileged,
) -> tuple[Callable[..., subprocess.CompletedProcess[str]], oracle.Files]:
    """A turn whose Bash call made `top` its own, made a gate fail and made a folder of new
    files unreadable (chmod 000 n), ended: its Stop said it is not judged. Its hook call, and
    the tree as it was before the turn."""
    gate = '[[gates]]\nname = "g"\nrun = "test ! -e fail"\n'
    setup = f"echo t > top && printf '{gate}' > .git-atomic.toml && git add -A && git commit -qm i"
    assert u.run("sh", "-c", setup).returncode == 0
    assert u.atomic("hooks", "install", "claude-code").returncode == 0
    before = oracle.walk(u.repo.path)
    common = {
        "session_id": "s1",
        "transcript_path": "/x/s1.jsonl",
        "cwd": str(u.repo.path),
        "permission_mode": "default",
    }
    call = {**common, "tool_name": "Bash", "tool_input": {"command": "x"}, "tool_use_id": "t1"}

    def hook(event: str, **fields: object) -> subprocess.CompletedProcess[str]:
        payload = json.dumps({**common, **fields, "hook_event_name": event})
        argv = (sys.executable, "-m", "git_atomic", "hook", "claude-code", event)
        answer = u.run(*argv, input=payload)
        assert answer.returncode == 0 and "Traceback" not in answer.stderr, answer.stderr
        return answer

    hook("UserPromptSubmit", prompt="go")
    hook("PreToolUse", **call)
    made = "echo op > top; touch fail; mkdir n; echo s > n/f; chmod 000 n"
    assert u.run("sh", "-c", made).returncode == 0
    hook("PostToolUse", **call, tool_response={"success": True})
    said = json.loads(hook("Stop", stop_hook_active=False).stdout)["systemMessage"]
    assert "not judged" in said and "n/: cannot be read" in said, said
    return hook, before


def test_an_agent_turn_that_made_a_folder_unreadable_is_not_taken_back_around_it(
    unprivileged: Unprivileged,
) -> None:
    """A turn's Bash call made a folder of new files unreadable (chmod 000) and its gate
    failed: the take-back said 'this turn's changes were rolled back' and left the folder and
    its files behind (git cannot list it). Now the turn is not judged, named, nothing changed
    (judged at a later Stop, once the folder is readable: below)."""
    u = unprivileged
    _turn_that_makes_a_folder_unreadable(u)
    assert (u.repo.path / "top").read_bytes() == b"op\n" and (u.repo.path / "fail").exists()
    assert stat.S_IMODE(os.lstat(u.repo.path / "n").st_mode) == 0


def test_a_folder_you_cannot_list_from_before_the_operation_is_left_alone(
    unprivileged: Unprivileged,
) -> None:
    """A folder nobody can list that was so before the operation (a container's data folder):
    neither captured nor touched, and no reason to refuse the operation's rollback (only one
    the operation made so is refused)."""
    u = unprivileged
    setup = "mkdir -p data/in && echo d > data/in/f && chmod 000 data && echo u > untracked"
    assert u.run("sh", "-c", setup).returncode == 0
    res = u.atomic("run", "--", "sh", "-c", "echo op > untracked; echo new > new; exit 1")
    assert res.returncode == 1, res.stderr
    assert (u.repo.path / "untracked").read_bytes() == b"u\n"
    assert not (u.repo.path / "new").exists()
    assert stat.S_IMODE(os.lstat(u.repo.path / "data").st_mode) == 0


def test_a_folder_another_user_made_while_it_ran_is_left_alone(
    unprivileged: Unprivileged,
) -> None:
    """A folder another user makes in the worktree while an operation is open (a container
    writing its data folder), that we cannot list: not the operation's to refuse its abort
    over, though it is newer than its PRE-OP; left as it is."""
    u = unprivileged
    if not u.prefix:
        pytest.skip("needs root, to make a folder as another user")
    assert u.atomic("begin", "op").returncode == 0
    assert u.run("sh", "-c", "echo op > mine.txt").returncode == 0
    data = u.repo.path / "data"
    data.mkdir(mode=0o700)  # root's
    (data / "f").write_bytes(b"theirs\n")
    res = u.atomic("abort")
    assert res.returncode == 0, res.stderr
    assert not (u.repo.path / "mine.txt").exists()
    assert (data / "f").read_bytes() == b"theirs\n"


# --- the worktree's own folder replaced -----------------------------------------------------
def test_a_worktree_folder_the_operation_replaced_by_a_link_is_never_written_through(
    tmp_path: Path,
) -> None:
    """`--separate-git-dir`: the worktree's folder holds only a `.git` file, and an operation
    moved it away and put a link to another folder at its name. The rollback wrote the
    worktree's files there through the link and deleted that folder's own files as ones the
    operation made. Now refused (exit 3, nothing touched either side); put back, `recover`
    returns the tree exactly."""
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "precious").write_bytes(b"not yours\n")
    marker = oracle.walk_exact(outside)
    repo = GitRepo.create(tmp_path / "wt", tmp_path / "home", git_dir=tmp_path / "gd")
    repo.write("a/g", b"g\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "a")
    repo.write("untracked", b"u\n")
    before = oracle.walk(repo.path)
    moved = tmp_path / "moved"
    swap = f"echo op > README; mv '{repo.path}' '{moved}' && ln -s '{outside}' '{repo.path}'"
    res = repo.atomic("run", "--", "sh", "-c", swap + "; exit 1", check=3)
    assert "now leads to" in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert oracle.walk_exact(outside) == marker
    assert (moved / "README").read_bytes() == b"op\n"
    repo.path.unlink()
    moved.rename(repo.path)
    repo.atomic("recover", check=0)
    assert oracle.walk(repo.path) == before
    assert oracle.walk_exact(outside) == marker


def test_the_error_report_is_written_when_the_current_folder_is_gone(tmp_path: Path) -> None:
    """A command whose folder its operation removed: the report died at `getcwd` and the
    one line said `(no log written: No such file or directory)`, an empty log left behind."""
    gone = tmp_path / "gone"
    gone.mkdir()
    code = (
        "import os, sys\n"
        "from git_atomic.core import errorlog\n"
        "os.chdir(sys.argv[1]); os.rmdir(sys.argv[1])\n"
        "print(errorlog.write(RuntimeError('boom'), argv=['run']))\n"
    )
    src = Path(__file__).resolve().parent.parent / "src"
    env = {**os.environ, "GIT_ATOMIC_LOG_DIR": str(tmp_path), "PYTHONPATH": str(src)}
    res = subprocess.run(
        [sys.executable, "-c", code, str(gone)], env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr
    log = Path(res.stdout.strip())
    assert log.is_file(), res.stdout
    text = log.read_text()
    assert "cwd: (No such file or directory)" in text and "RuntimeError: boom" in text, text


# --- a FIFO where a folder holding only an empty folder was ---------------------------------
@pytest.mark.parametrize("how", ["run", "abort"])
def test_a_fifo_where_a_folder_of_empty_folders_was_is_removed(repo: GitRepo, how: str) -> None:
    """`emp/ty/` an empty folder (so `emp/` holds no file), and the operation put a FIFO at
    `emp`: the rollback made `emp/ty/` again only where the FIFO stood at `emp/ty` itself, and
    here said 'emp is in the way; left as it is'. Now the FIFO is taken away as where a file
    comes back, and `undo` makes it again."""
    (repo.path / "emp" / "ty").mkdir(parents=True)
    (repo.path / "deep" / "x" / "y").mkdir(parents=True)
    listing = _kinds(repo.path)
    change = "rm -rf emp deep/x && mkfifo emp deep/x"
    if how == "run":
        res = repo.atomic("run", "--", "sh", "-c", change + "; exit 1", check=1)
    else:
        repo.atomic("begin", "x", check=0)
        subprocess.run(["sh", "-c", change], cwd=repo.path, check=True)
        res = repo.atomic("abort", check=0)
    assert "in the way" not in res.stderr, res.stderr
    assert _kinds(repo.path) == listing
    repo.atomic("undo", check=0)
    assert stat.S_ISFIFO(os.lstat(repo.path / "emp").st_mode)
    assert stat.S_ISFIFO(os.lstat(repo.path / "deep" / "x").st_mode)


def _kinds(top: Path) -> dict[str, str]:
    """Every entry under `top` but `.git`, with its kind: folders (empty ones too), files with
    their bytes, links with their targets, anything else by its file type."""
    out: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        if Path(dirpath) == top:
            dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            st = os.lstat(full)
            rel = str(full.relative_to(top))
            if stat.S_ISDIR(st.st_mode):
                out[rel] = "dir"
            elif stat.S_ISLNK(st.st_mode):
                out[rel] = "link " + os.readlink(full)
            elif stat.S_ISREG(st.st_mode):
                out[rel] = f"file {st.st_mode & 0o100:o} " + full.read_bytes().hex()
            else:
                out[rel] = f"other {stat.S_IFMT(st.st_mode):o}"
    return out


CONFIG_SWAPS = [
    ("config", "link to a file outside"),
    ("config", "link to a fifo outside"),
    ("config", "fifo"),
    ("config.worktree", "link to a file outside"),
    ("config", "include of a fifo outside"),
    ("config.worktree", "include of a fifo outside"),
]


@pytest.mark.parametrize(("name", "swap"), CONFIG_SWAPS)
def test_a_configuration_the_operation_made_a_link_or_fifo_is_never_read(
    tmp_path: Path, name: str, swap: str
) -> None:
    """An operation that moved the repository's `config` (or the worktree's `config.worktree`)
    away and put a link to a file outside at its name: the rollback had git read its settings
    there (a `core.worktree` naming another folder stayed, said by nothing), and through a link
    to a fifo, or a fifo itself, every git call of the rollback waited for ever, SIGTERM
    included, and so did every later command (`git atomic status`, a hook call) at its first
    git process; so did one that had the configuration include a fifo (`git config
    include.path`). Refused now (exit 3, no git of ours reads it, the folder outside untouched);
    the file put back, `recover` returns the tree exactly."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_bytes(b"not yours\n")
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    if name == "config.worktree":
        repo.git("config", "extensions.worktreeConfig", "true")
        repo.git("config", "--worktree", "user.note", "mine")
    real = repo.path / ".git" / name
    if swap == "link to a file outside":
        # A `core.worktree` elsewhere: a rollback that reads it restores there.
        text = real.read_bytes() + f"[core]\n\tworktree = {outside}\n".encode()
        (outside / "config").write_bytes(text)
        target = outside / "config"
    else:
        os.mkfifo(outside / "fifo")
        target = outside / "fifo"
    marker = oracle.walk_exact(outside)
    repo.write("untracked", b"u\n")
    before = oracle.walk(repo.path)
    config_before = real.read_bytes()
    make = f"mkfifo .git/{name}" if swap == "fifo" else f"ln -s '{target}' .git/{name}"
    swapped = f"mv .git/{name} .git/{name}.orig && {make}"
    said = f".git/{name} is "
    if swap.startswith("include"):  # git config [--worktree] include.path: no swap
        where = "--worktree " if name == "config.worktree" else ""
        swapped = f"cp -p .git/{name} .git/{name}.orig && git config {where}include.path {target}"
        said = f"{name} includes (a FIFO"
    op = f"echo op > README; echo new > made; {swapped}; exit 1"
    res = repo.atomic("run", "--", "sh", "-c", op, check=3, timeout=60)
    assert said in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert oracle.walk_exact(outside) == marker
    assert (repo.path / "made").read_bytes() == b"new\n"  # nothing changed: as the op left it
    # A command, or a hook call, started since: refused before its first git process (which
    # would wait for ever on a FIFO), from a folder below the top too.
    (repo.path / "sub").mkdir()
    res = repo.atomic("status", check=3, timeout=60, cwd=repo.path / "sub")
    assert said.removeprefix(".git/") in res.stderr and "Traceback" not in res.stderr, res.stderr
    (repo.path / "sub").rmdir()
    (repo.path / ".git" / name).unlink()
    (repo.path / ".git" / f"{name}.orig").rename(real)
    repo.atomic("recover", check=0)
    assert oracle.walk(repo.path) == before
    assert real.read_bytes() == config_before and not real.is_symlink()
    assert oracle.walk_exact(outside) == marker


def test_an_agent_turn_that_made_a_folder_unreadable_is_taken_back_whole_once_readable(
    unprivileged: Unprivileged,
) -> None:
    """The turn above, its folder readable again (`chmod 755 n`): its call's checkpoint had
    been taken without the folder, so the file the turn made there was in none of its steps,
    and `recover` took the turn back around it (`n/f` left as yours). Now the call's checkpoint
    refuses a folder made unlistable since its window began: the turn waits, not judged, and
    its next Stop, the folder readable, takes it back whole."""
    u = unprivileged
    hook, before = _turn_that_makes_a_folder_unreadable(u)
    assert u.run("chmod", "755", "n").returncode == 0
    said = json.loads(hook("Stop", stop_hook_active=False).stdout)["systemMessage"]
    assert "rolled back" in said, said
    assert oracle.walk(u.repo.path) == before
    assert not (u.repo.path / "n").exists()


@pytest.mark.parametrize("layout", ["a .git link to the git dir", "a ceiling above"])
def test_the_look_before_git_finds_the_git_dir_git_finds(tmp_path: Path, layout: str) -> None:
    """Before its first git process a command looks for the git dir itself, to refuse a
    configuration that is not a regular file (git would wait for ever reading a FIFO). That
    look walked past a `.git` that is a link to the git dir (a layout of yours: `.git ->
    ../store.git`), so a FIFO config there hung every command, SIGTERM included; and it walked
    past `GIT_CEILING_DIRECTORIES`, refusing a FIFO in a repository above the ceiling that git
    never looks in (git: "not a git repository"). It is git's own look now."""
    repo = GitRepo.create(tmp_path / "repo", tmp_path / "home")
    if layout == "a .git link to the git dir":
        (repo.path / ".git").rename(tmp_path / "store.git")
        (repo.path / ".git").symlink_to("../store.git")
        assert repo.git("status", "--porcelain").strip() == ""
        (tmp_path / "store.git" / "config").rename(tmp_path / "config.orig")
        os.mkfifo(tmp_path / "store.git" / "config")
        res = repo.atomic("status", check=3, timeout=60)
        assert ".git/config is not a regular file" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
        return
    (repo.path / ".git" / "config").rename(tmp_path / "config.orig")
    os.mkfifo(repo.path / ".git" / "config")
    (repo.path / "sub").mkdir()
    ceiling = {"GIT_CEILING_DIRECTORIES": str(repo.path)}
    res = repo.atomic("status", check=3, timeout=60, cwd=repo.path / "sub", env=ceiling)
    assert "not a git repository" in res.stderr and "FIFO" not in res.stderr, res.stderr
