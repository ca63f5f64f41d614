"""A file an operation deleted or replaced comes back with the permission bits it had, though a
git tree keeps only 644 and 755: a 0600 key, a 0640 file, a read-only 0444 one, a setgid bit.

Compared against the disk (lstat), after every way an operation's effect is taken back."""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
from pathlib import Path

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo
from testing.takeback import take_back

# name -> (bytes, permission bits): untracked, changed since the index, protected and ignored
PRIVATE = {
    "secret.txt": (b"untracked, mine alone\n", 0o600),
    "team.txt": (b"untracked, my group reads it\n", 0o640),
    "frozen.txt": (b"untracked, read-only\n", 0o444),
    "tool.sh": (b"#!/bin/sh\n", 0o700),
    "shared.sh": (b"#!/bin/sh\necho gid\n", 0o2755),
    "key": (b"KEY=2\n", 0o600),  # tracked, changed since it was committed
    ".env": (b"TOKEN=1\n", 0o600),  # ignored, and `protect` holds it
}


def _bits(repo: GitRepo, name: str) -> int:
    return stat.S_IMODE(os.lstat(repo.path / name).st_mode)


def _setup(repo: GitRepo) -> None:
    repo.write(".gitignore", b".env\n")
    repo.write(".git-atomic.toml", b'protect = [".env"]\n')
    repo.write("key", b"KEY=1\n", mode=0o600)
    repo.git("add", ".gitignore", ".git-atomic.toml", "key")
    repo.git("commit", "-qm", "key")
    for name, (data, bits) in PRIVATE.items():
        repo.write(name, data, mode=bits)
    # A first operation's scans see them all: the next one's scan finds none of them new.
    repo.atomic("run", "--no-gates", "--", "true", check=0)


def _back(repo: GitRepo) -> None:
    for name, (data, bits) in PRIVATE.items():
        assert repo.read(name) == data, name
        assert _bits(repo, name) == bits, f"{name}: {oct(_bits(repo, name))} != {oct(bits)}"


@pytest.mark.parametrize("how", ["failed run", "rollback", "rollback --op"])
def test_a_deleted_file_comes_back_with_its_permission_bits(repo: GitRepo, how: str) -> None:
    """An operation that deleted a 0600 key or `.env`: its rollback made it again with the
    umask's bits (0644), readable by every user of the machine. The capture keeps the bits a
    tree cannot of the files your index does not hold as they are (untracked, changed, held by
    `protect`), and a file made again gets them back."""
    _setup(repo)
    take_back(repo, "rm -f " + " ".join(PRIVATE), how, PRIVATE)
    _back(repo)


def test_a_file_replaced_by_a_rename_comes_back_with_its_permission_bits(repo: GitRepo) -> None:
    """An editor's save by rename, or `mv new key`, puts a file made with the umask's bits at
    the name: the rollback wrote the old bytes over it and kept the newcomer's 0644."""
    _setup(repo)
    swap = "; ".join(f"echo new > n; mv -f n {name}" for name in PRIVATE)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", swap + "; exit 1", check=1)
    _back(repo)


def test_a_protected_file_whose_bits_no_capture_saw_comes_back_the_owners_alone(
    repo: GitRepo,
) -> None:
    """A tracked file clean by your index is not looked at (one lstat each of every file, on
    every checkpoint, would cost what a scan saves): its bits are not known. One `protect`
    names is a secret: it comes back readable by its owner alone, never more open than it
    was; another comes back as git makes it."""
    repo.write(".git-atomic.toml", b'protect = ["id_*"]\n')
    repo.write("id_ed25519", b"PRIVATE KEY\n", mode=0o600)
    repo.write("id_run", b"#!/bin/sh\n", mode=0o700)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "keys")
    repo.atomic(
        "run", "--no-gates", "--", "sh", "-c", "rm id_ed25519 id_run README; exit 1", check=1
    )
    umask = os.umask(0)
    os.umask(umask)
    assert repo.read("id_ed25519") == b"PRIVATE KEY\n"
    assert _bits(repo, "id_ed25519") == 0o600 & ~umask
    assert _bits(repo, "id_run") == 0o700 & ~umask
    assert _bits(repo, "README") == 0o666 & ~umask


@pytest.mark.parametrize("how", ["failed run", "rollback", "rollback --dry-run"])
def test_permission_bits_the_operation_opened_are_closed_again(repo: GitRepo, how: str) -> None:
    """An operation whose only change was `chmod 644` of a 0600 key (or `go+r`): a tree keeps
    no such bit, so its checkpoints were the same, a failed run said "it had changed nothing"
    and a kept one's rollback "nothing further", and the key stayed readable by all. The bits
    its PRE-OP saw come back, where the file is more open now; never opened."""
    _setup(repo)
    opened = {name: 0o644 | (bits & 0o111) for name, (_, bits) in PRIVATE.items()}
    script = "; ".join(f"chmod {oct(m)[2:]} {name}" for name, m in opened.items())
    if how == "failed run":
        res = repo.atomic("run", "--no-gates", "--", "sh", "-c", script + "; exit 1", check=1)
        _back(repo)
        assert "it had changed nothing" not in res.stderr, res.stderr
        return
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
    res = repo.atomic(*how.split(), check=0)
    if how == "rollback --dry-run":
        assert "would close again" in res.stderr, res.stderr
        assert {name: _bits(repo, name) for name in PRIVATE} == opened
        return
    assert "closed again" in res.stderr, res.stderr
    _back(repo)


def test_permission_bits_closed_since_stay(repo: GitRepo) -> None:
    """Closed more than PRE-OP saw them (the operation's `chmod 400`, or yours since): never
    opened again by a rollback."""
    _setup(repo)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "chmod 400 secret.txt; exit 1", check=1)
    assert _bits(repo, "secret.txt") == 0o400


def _acl_granting_read(uid: int) -> bytes:
    """A POSIX access ACL as the kernel stores it: owner rw, user `uid` r, group r, mask r."""
    entry = lambda tag, perm, who=0xFFFFFFFF: struct.pack("<HHI", tag, perm, who)  # noqa: E731
    return struct.pack("<I", 2) + b"".join(
        [entry(1, 6), entry(2, 4, uid), entry(4, 4), entry(16, 4), entry(32, 0)]
    )


def _attributes(repo: GitRepo, name: str) -> dict[str, bytes]:
    path = repo.path / name
    return {a: os.getxattr(path, a) for a in sorted(os.listxattr(path))}


@pytest.mark.parametrize("how", ["deleted", "replaced by a rename"])
def test_a_private_file_made_again_keeps_its_acl_and_attributes(
    repo: GitRepo, tmp_path: Path, how: str
) -> None:
    """A file the operation deleted, or replaced by a rename, came back with no extended
    attribute: its ACL (who else may read the key) and a tool's `user.` label were lost. Those
    of the files whose permission bits the capture keeps (a tree keeps neither) come back."""
    probe = tmp_path / "probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        os.setxattr(probe, "system.posix_acl_access", _acl_granting_read(12345))
    except OSError:
        pytest.skip("this file system keeps no extended attributes or ACLs")
    _setup(repo)
    for name in ("secret.txt", ".env", "key"):
        os.setxattr(repo.path / name, "user.origin", b"team-vault")
    os.setxattr(repo.path / "team.txt", "system.posix_acl_access", _acl_granting_read(12345))
    names = ("secret.txt", ".env", "key", "team.txt")
    before = {n: _attributes(repo, n) for n in names}
    bits = {n: _bits(repo, n) for n in names}
    repo.atomic("run", "--no-gates", "--", "true", check=0)  # seen by a scan before
    step = "rm -f {}" if how == "deleted" else "echo new > n; mv -f n {}"
    script = "; ".join(step.format(n) for n in names)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script + "; exit 1", check=1)
    assert {n: _attributes(repo, n) for n in names} == before
    assert {n: _bits(repo, n) for n in names} == bits


@pytest.mark.parametrize("how", ["failed run", "rollback"])
def test_a_private_folder_comes_back_as_closed_as_it_was(repo: GitRepo, how: str) -> None:
    """`rm -rf secrets` of a 0700 folder: the rollback made it again 0755, its files readable
    by all through it; a setgid folder (a team's shared one) lost its setgid bit, and with it
    the group its new files get. A folder on the way of a file the capture looks at keeps its
    bits beside the tree; one made again, or opened by `chmod 755`, is closed again."""
    repo.write("secrets/deep/token.txt", b"TOKEN\n")
    repo.write("shared/notes.txt", b"team\n")
    os.chmod(repo.path / "secrets", 0o700)
    os.chmod(repo.path / "shared", 0o2755)
    repo.atomic("run", "--no-gates", "--", "true", check=0)  # seen by a scan before
    if how == "failed run":
        script = "rm -rf secrets shared; exit 1"
        repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    else:
        script = "chmod 755 secrets; chmod g-s shared"
        repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
        res = repo.atomic("rollback", check=0)
        assert "closed again: secrets/ (700), shared/ (2755)" in res.stderr, res.stderr
    assert repo.read("secrets/deep/token.txt") == b"TOKEN\n"
    assert _bits(repo, "secrets") == 0o700
    assert _bits(repo, "shared") & 0o2000


def test_a_protected_file_the_capture_saw_open_comes_back_as_open(repo: GitRepo) -> None:
    """The owner-only bits are for a protected file whose bits no capture saw (tracked and
    clean): an ignored `.env` of 0644, which the capture reads and so looked at, comes back
    0644, as it was."""
    repo.write(".gitignore", b".env\n")
    repo.write(".git-atomic.toml", b'protect = [".env"]\n')
    repo.git("add", ".gitignore", ".git-atomic.toml")
    repo.git("commit", "-qm", "protect")
    repo.write(".env", b"PUBLIC=1\n", mode=0o644)
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "rm .env; exit 1", check=1)
    assert repo.read(".env") == b"PUBLIC=1\n" and _bits(repo, ".env") == 0o644


def test_bits_you_changed_since_stay_after_rollback_op(repo: GitRepo) -> None:
    """`rollback --op` takes back what that operation did: a folder you opened after it (your
    `chmod 755 secrets`) stays as you left it, though its PRE-OP saw it 0700."""
    repo.write("secrets/token.txt", b"TOKEN\n")
    os.chmod(repo.path / "secrets", 0o700)
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "rm", "README", check=0)
    op_id = repo.atomic_json("log")["operations"][0]["op_id"]
    os.chmod(repo.path / "secrets", 0o755)
    repo.write("mine.txt", b"yours, since\n")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("README") == b"hello\n"
    assert _bits(repo, "secrets") == 0o755


def test_a_rollback_without_protect_lists_no_tree_to_find_the_bits_no_capture_saw(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The owner-only bits are for a file `protect` names: without a `protect` setting, the
    restore of many files listed them in two trees (an `ls-tree` of every file it wrote, one
    per tree: 160 ms of a large rollback at 100,000 files) for an answer nothing used."""
    for i in range(40):
        repo.write(f"f{i}.txt", b"one\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    trace = tmp_path / "trace"
    change = "for f in f*.txt; do echo two > $f; done; exit 1"
    repo.atomic("run", "--", "sh", "-c", change, check=1, env={"GIT_TRACE": str(trace)})
    listed = [line for line in trace.read_text().splitlines() if "ls-tree" in line]
    assert not [line for line in listed if "f1.txt" in line], listed
    assert repo.read("f1.txt") == b"one\n"


# folder -> permission bits: a team's setgid group-writable one, a group's, a sticky drop box
FOLDERS = {"team": 0o2775, "group": 0o770, "drop": 0o1777, "mine": 0o700}


def _take_back_folders(repo: GitRepo, how: str) -> None:
    """An operation that removed the folders of FOLDERS, its effect taken back `how`."""
    take_back(repo, "rm -rf " + " ".join(FOLDERS), how, FOLDERS)


@pytest.mark.parametrize(
    "how",
    ["failed run", "abort", "recover after kill -9", "rollback", "rollback --op", "undo of undo"],
)
def test_a_folder_made_again_gets_the_bits_its_capture_saw(repo: GitRepo, how: str) -> None:
    """`rm -rf team` of a 2775 folder (setgid, group-writable: a team's shared one): made again
    by mkdir under the umask (0755) and only ever closed, it came back 2755, the group unable
    to write in it; a 0770 one lost g+w, a 1777 drop box o+w. A folder the restore makes again
    itself is given the bits its capture saw, as a file it makes again is; one it finds there
    is still only closed."""
    for name, bits in FOLDERS.items():
        repo.write(f"{name}/notes.txt", b"untracked\n", mode=0o664)  # the group writes it too
        os.chmod(repo.path / name, bits)
    repo.atomic("run", "--no-gates", "--", "true", check=0)  # seen by a scan before
    _take_back_folders(repo, how)
    for name, bits in FOLDERS.items():
        assert repo.read(f"{name}/notes.txt") == b"untracked\n", name
        assert _bits(repo, f"{name}/notes.txt") == 0o664, name
        assert _bits(repo, name) == bits, f"{name}: {oct(_bits(repo, name))} != {oct(bits)}"


@pytest.mark.parametrize("how", ["rollback", "failed run"])
def test_a_rollback_that_only_closes_bits_is_a_move_undo_takes_back(
    repo: GitRepo, how: str
) -> None:
    """A kept run whose only change was `chmod 644` of a 0600 key: its rollback closed the bits
    and said "nothing further", writing no event: `undo` could not open them again, as it
    brings back anything else a rollback replaced, and `--json` said nothing of it. It is a
    move: an event with its rescue, what it closed in its `--json`, and `undo` (and `undo`
    again) goes each way."""
    _setup(repo)
    if how == "failed run":
        repo.atomic("run", "--no-gates", "--", "sh", "-c", "chmod 644 secret.txt; exit 1", check=1)
    else:
        repo.atomic("run", "--no-gates", "--history", "shadow", "--", "chmod", "644", "secret.txt")
        out = repo.atomic_json("rollback")
        assert out["checkpoints"]["rescue"] and out["event"] == "rollback", out
        assert any("secret.txt" in line for line in out["notes"]), out
    assert _bits(repo, "secret.txt") == 0o600
    repo.atomic("undo", check=0)
    assert _bits(repo, "secret.txt") == 0o644
    repo.atomic("undo", check=0)
    assert _bits(repo, "secret.txt") == 0o600


def test_rollback_op_over_later_changes_closes_the_bits_the_operation_opened(
    repo: GitRepo,
) -> None:
    """`rollback --op` on top of later changes closed no bit at all (bits changed since may
    be yours). Those the operation opened on a file nobody changed since are its effect, and
    are closed; one you changed since (your `chmod 640`) is yours: left, and said so."""
    _setup(repo)
    script = "chmod 644 secret.txt team.txt; chmod 755 tool.sh"
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
    op_id = repo.atomic_json("log")["operations"][0]["op_id"]
    repo.write("README", b"yours, since\n")
    os.chmod(repo.path / "tool.sh", 0o750)  # yours, since
    res = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
    assert "would close again secret.txt, team.txt" in res.stderr, res.stderr
    assert _bits(repo, "secret.txt") == 0o644
    res = repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("README") == b"yours, since\n"
    assert _bits(repo, "secret.txt") == 0o600 and _bits(repo, "team.txt") == 0o640
    assert _bits(repo, "tool.sh") == 0o750
    assert "tool.sh" in res.stderr and "changed since" in res.stderr, res.stderr
    repo.atomic("undo", check=0)
    assert _bits(repo, "secret.txt") == 0o644 and _bits(repo, "team.txt") == 0o644
    assert repo.read("README") == b"yours, since\n"


@pytest.mark.parametrize("between", ["", "echo yours > mine.txt"])
def test_an_agent_turns_take_back_closes_the_bits_its_calls_opened(
    repo: GitRepo, between: str
) -> None:
    """A Claude Code turn whose call ran `chmod 644` of a 0600 key, its gate failing: its Stop
    took back nothing of it (no tree holds the bits: "nothing to take back"), or, with a file
    of yours written between its calls, took back its files and left the key open. The bits
    its calls opened are closed again, yours stay, and `undo` opens them again."""
    _setup(repo)
    gate = 'test "$(stat -c %a secret.txt)" = 600'
    repo.write(".git-atomic.toml", f'[[gates]]\nname = "g"\nrun = {json.dumps(gate)}\n'.encode())
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\nmine.txt\n")
    for n, command in enumerate(["chmod 644 secret.txt", "echo call > call.txt"], start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        assert claude_hook(repo, "s1", "PreToolUse", **call).stdout == ""
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        after = claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        assert after.stdout == ""
        if n == 1 and between:
            subprocess.run(["sh", "-c", between], cwd=repo.path, env=repo.env, check=True)
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert _bits(repo, "secret.txt") == 0o600, answer
    assert not repo.exists("call.txt")
    if between:
        assert repo.read("mine.txt") == b"yours\n"
    repo.atomic("undo", check=0)
    assert _bits(repo, "secret.txt") == 0o644


def test_bits_you_opened_between_a_turns_calls_stay_at_its_take_back(repo: GitRepo) -> None:
    """Effect, not state: you ran `chmod 644 team.txt` between the agent's calls (neither of
    which touched it); its gate failing, the turn's take-back closes the bits ITS calls
    opened (secret.txt), never yours."""
    _setup(repo)
    gate = "test ! -e call.txt"
    repo.write(".git-atomic.toml", f'[[gates]]\nname = "g"\nrun = {json.dumps(gate)}\n'.encode())
    (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
    for n, command in enumerate(["chmod 644 secret.txt", "echo call > call.txt"], start=1):
        call = {"tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": f"t{n}"}
        assert claude_hook(repo, "s1", "PreToolUse", **call).stdout == ""
        subprocess.run(["sh", "-c", command], cwd=repo.path, env=repo.env, check=True)
        after = claude_hook(repo, "s1", "PostToolUse", **call, tool_response={"success": True})
        assert after.stdout == ""
        if n == 1:
            os.chmod(repo.path / "team.txt", 0o644)  # yours, between its calls
    answer = json.loads(claude_hook(repo, "s1", "Stop").stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert not repo.exists("call.txt")
    assert _bits(repo, "secret.txt") == 0o600, answer
    assert _bits(repo, "team.txt") == 0o644, answer


@pytest.mark.parametrize("also", ["", "echo x > new.txt; "])
def test_undo_dry_run_lists_the_bits_it_would_open_with_the_files(repo: GitRepo, also: str) -> None:
    """A failed run that opened a 0600 key (`chmod 644`), its rollback closing it again: `undo
    --dry-run` named the key only in a `git` line, as if the git dir held it, and counted no
    path ("would change 0 paths"), its JSON listing no change. The key is listed with the
    files, a `mode` change, in the count and in the JSON's `changes`; no `git` line."""
    _setup(repo)
    opened = ["secret.txt", "key"]
    script = also + "".join(f"chmod 644 {name}; " for name in opened) + "exit 1"
    repo.atomic("run", "--no-gates", "--", "sh", "-c", script, check=1)
    res = repo.atomic("undo", "--dry-run", check=0)
    lines = res.stdout.splitlines()
    for name in opened:
        assert f"mode    {name}" in lines, res.stdout
    assert not [line for line in lines if line.startswith("git ")], res.stdout
    n = len(opened) + (1 if also else 0)
    assert f"would change {n} paths" in res.stderr, res.stderr
    changes = repo.atomic_json("undo", "--dry-run")["changes"]
    assert {(c["path"], c["action"]) for c in changes} >= {(p, "mode") for p in opened}
    assert {_bits(repo, name) for name in opened} == {0o600}  # a dry run: nothing changed
    repo.atomic("undo", check=0)
    assert {_bits(repo, name) for name in opened} == {0o644}
