"""Peers' bug reports, made ours: each test is the failure family a report of another tool's
checkpoints, undo or stash belongs to (Claude Code's `/rewind`, Gemini CLI's `/restore`, Cline,
Aider's `/undo`, jj's operation log, GitButler, `git stash` and the tools built on it), played
against git-atomic with real git and real processes (`run`, `rollback --op`, `undo`, an agent
turn's hook calls). Each test names the report it comes from and what went wrong there, in our
own words. The oracle is the disk (lstat, readlink, the bytes, the permission bits, the raw
index's entries and flags), never git's opinion of the files alone."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from testing.agents import claude_hook
from testing.gitrepo import GitRepo, read_index

GATE = b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n'
TEN_LINES = b"".join(b"line %d\n" % i for i in range(1, 11))


# --- helpers -----------------------------------------------------------------------------


def disk(root: Path, *, skip_git: bool = True) -> dict[bytes, tuple[str, int, bytes]]:
    """Every entry under `root` but its own `.git`, read with lstat, never through a link:
    its kind, its permission bits and its bytes (a file), its target (a link) or nothing (a
    folder). A nested repository's `.git` is read too: nothing may write there."""
    out: dict[bytes, tuple[str, int, bytes]] = {}
    base = os.fsencode(root)
    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == base and skip_git:
            dirnames[:] = [d for d in dirnames if d != b".git"]
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            rel = os.path.relpath(full, base)
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", 0, os.readlink(full))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode), b"")
            elif stat.S_ISREG(st.st_mode):
                with open(full, "rb") as fh:
                    out[rel] = ("file", stat.S_IMODE(st.st_mode), fh.read())
    return out


def index(repo: GitRepo) -> tuple[tuple[bytes, str, str, int, str], ...]:
    """The raw index's entries: path, mode, object, stage, flags (intent-to-add...)."""
    return read_index((repo.path / ".git" / "index").read_bytes())


def changes(before: dict[bytes, Any], after: dict[bytes, Any]) -> list[str]:
    return [
        f"{p!r}: {before.get(p)!r:.80} -> {after.get(p)!r:.80}"
        for p in sorted(set(before) | set(after))
        if before.get(p) != after.get(p)
    ]


def sh(repo: GitRepo, command: str, cwd: Path | None = None) -> None:
    subprocess.run(["sh", "-c", command], cwd=cwd or repo.path, env=repo.env, check=True)


def commit_all(repo: GitRepo, message: str = "c") -> None:
    repo.git("add", "-A")
    repo.git("commit", "-qm", message)


def with_gate(repo: GitRepo) -> None:
    """A gate that fails while a file `bad` is there; its config is not the turn's."""
    repo.write(".git-atomic.toml", GATE)
    with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
        fh.write(b".git-atomic.toml\n")


def bash_call(
    repo: GitRepo, session: str, n: int, command: str, *, cwd: Path | None = None
) -> None:
    """One Bash tool call of `session`'s: its PreToolUse, the command, its PostToolUse."""
    call: dict[str, Any] = {
        "tool_use_id": f"{session}-{n}",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    extra = {"cwd": str(cwd)} if cwd is not None else {}
    claude_hook(repo, session, "PreToolUse", **call, **extra)
    sh(repo, command, cwd)
    claude_hook(repo, session, "PostToolUse", **call, **extra, tool_response={"success": True})


def stop(repo: GitRepo, session: str) -> dict[str, Any]:
    answer: dict[str, Any] = json.loads(claude_hook(repo, session, "Stop").stdout or "{}")
    return answer


def failed_run(repo: GitRepo, script: str, *, history: str = "shadow") -> str:
    """`git atomic run -- sh -c SCRIPT; exit 1`: rolled back (exit 1); its stderr."""
    res = repo.atomic("run", "--history", history, "--", "sh", "-c", f"{script}; exit 1", check=1)
    return res.stderr


def kept_run(repo: GitRepo, script: str, *, history: str = "shadow") -> str:
    """A kept `run` (no gates); its operation id."""
    out = repo.atomic_json("run", "--no-gates", "--history", history, "--", "sh", "-c", script)
    op_id: str = out["op_id"]
    return op_id


# --- Claude Code: what a shell call changed is not in the checkpoint ------------------------


@pytest.mark.parametrize("session_tool", ["Bash"])
def test_a_turns_shell_call_is_taken_back_whole(repo: GitRepo, session_tool: str) -> None:
    """anthropics/claude-code#94657 and #87575: edits made through the shell (sed, heredocs,
    rm, mv) were in no checkpoint, so `/rewind` offered nothing to restore; #34368: a file
    the agent deleted did not come back. Here one shell call creates (in new folders, a
    binary), edits, deletes, renames, changes a mode and swaps a file for a link: the failed
    turn's take-back leaves every entry as it was, and `undo` brings the call's result back."""
    with_gate(repo)
    repo.write("a.txt", TEN_LINES)
    repo.write("gone.txt", b"deleted by the agent\n")
    repo.write("old/name.py", b"print('renamed')\n")
    repo.write("run.sh", b"#!/bin/sh\necho run\n", mode=0o755)
    repo.write("cfg.ini", b"[x]\n")
    commit_all(repo)
    repo.write("notes.txt", b"yours, untracked\n")
    before = disk(repo.path)
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="refactor")
    bash_call(
        repo,
        "s1",
        1,
        "sed -i 's/line 5/LINE FIVE/' a.txt && rm gone.txt && mkdir -p new/deep"
        " && printf 'PK\\003\\004\\000\\377\\r\\n' > new/deep/blob.bin && mv old/name.py renamed.py"
        " && chmod -x run.sh && rm cfg.ini && ln -s a.txt cfg.ini && touch bad",
    )
    after = disk(repo.path)
    answer = stop(repo, "s1")
    assert answer.get("decision") == "block", answer
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    repo.atomic("undo", check=0)
    assert disk(repo.path) == after, changes(after, disk(repo.path))


# --- Gemini CLI / Cline: a restore that deletes what was not the checkpoint's ----------------


def test_a_rollback_removes_only_what_the_operation_made(repo: GitRepo) -> None:
    """google-gemini/gemini-cli#13331: a `/restore` deleted almost every file of a large
    repository, untracked ones too; gemini-cli#1138 and juanandresgs/claude-ctrl#118: a
    restore by `checkout -- .` left the files a step had created. The operation's new files
    and the folders they alone fill go; your untracked files, your ignored `.env`, your
    ignored build output and your empty folder stay, byte for byte and mode for mode."""
    repo.write(".gitignore", b".env\nbuild/\n")
    repo.write("src/app.py", b"app = 1\n")
    commit_all(repo)
    repo.write(".env", b"TOKEN=secret\n", mode=0o600)
    repo.write("build/out.o", b"\x7fELF")
    repo.write("draft.md", b"yours\n")
    (repo.path / "empty").mkdir()
    before, staged = disk(repo.path), index(repo)
    failed_run(
        repo,
        "mkdir -p src/gen/deeper && echo x > src/gen/deeper/made.py && echo y > top.txt"
        " && echo app = 2 > src/app.py && echo more >> draft.md && mkdir tmpdir",
    )
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert index(repo) == staged


# --- git stash -u / libgit2: ignored files in an untracked folder --------------------------


@pytest.mark.parametrize("op", ["git stash push -q -u", "git clean -fdq", "rm -rf bundle/app"])
def test_ignored_files_inside_an_untracked_folder_stay(repo: GitRepo, op: str) -> None:
    """libgit2/libgit2#2290 and schneidmaster/gitreports.com#72: stashing with untracked
    files removed a folder holding ignored files (`bundle/vendor/`), and they were lost for
    good. An operation that stashes or cleans the untracked files beside them is rolled back:
    the untracked files come back, the ignored ones were never touched, the stash list is as
    before."""
    repo.write(".gitignore", b"bundle/vendor/\n")
    commit_all(repo)
    repo.write("bundle/app/main.js", b"untracked\n")
    repo.write("bundle/vendor/lib/blah.js", b"ignored, yours\n")
    repo.write("bundle/vendor/.keep", b"")
    before = disk(repo.path)
    stashes = repo.git("stash", "list")
    failed_run(repo, op)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert repo.git("stash", "list") == stashes


@pytest.mark.parametrize(
    "how", ["failed run", "rollback --op", "rollback --op, yours since", "agent turn"]
)
def test_ignored_files_an_operations_stash_all_took_come_back(repo: GitRepo, how: str) -> None:
    """gitextensions/gitextensions#1300: a "stash" button that stashed with every file deleted
    all the ignored files and folders (`git stash --all` moves them into the stash and off the
    disk). Rolled back, the operation's stash leaves your stash list, and with it the only copy
    of your `.env` and build output: they were gone, said by nothing. Now each ignored file the
    dropped stash holds comes back where nothing stands (0600: a tree keeps no bits, never more
    open than it was), named; a file you made there since stays yours."""
    if how == "agent turn":  # its gate's config tracked: `stash --all` leaves it
        with_gate(repo)
        (repo.path / ".git" / "info" / "exclude").write_bytes(b"")
    repo.write(".gitignore", b".env\nbuild/\n")
    commit_all(repo)
    repo.write(".env", b"TOKEN=secret\n", mode=0o600)
    repo.write("build/lib/out.o", b"\x7fELF\0object\n")
    os.symlink("lib/out.o", repo.path / "build" / "latest")
    repo.write("draft.txt", b"untracked\n")
    before = disk(repo.path)
    stashes = repo.git("stash", "list")
    if how == "failed run":
        said = failed_run(repo, "git stash push --all -q")
    elif how == "agent turn":
        claude_hook(repo, "s", "UserPromptSubmit", prompt="clean up")
        bash_call(repo, "s", 1, "git stash push --all -q && touch bad")
        answer = stop(repo, "s")
        assert answer.get("decision") == "block", answer
        said = answer["reason"]
    else:
        op_id = kept_run(repo, "git stash push --all -q")
        assert not repo.exists(".env") and repo.git("stash", "list") != stashes
        if how == "rollback --op, yours since":
            repo.write(".env", b"TOKEN=yours, since\n")
        said = repo.atomic("rollback", "--op", op_id, check=0).stderr
    assert repo.git("stash", "list") == stashes
    if how == "rollback --op, yours since":
        assert repo.read(".env") == b"TOKEN=yours, since\n"
        before[b".env"] = disk(repo.path)[b".env"]
    before[b"build/lib/out.o"] = ("file", 0o600, before[b"build/lib/out.o"][2])  # owner alone
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert "build/lib/out.o" in said, said


# --- prek / pre-commit: intent-to-add entries ------------------------------------------------


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_an_intent_to_add_file_keeps_its_bytes_and_its_flag(repo: GitRepo, how: str) -> None:
    """j178/prek#2142: a hook runner that stashed around a formatter lost the content of files
    added with `git add -N` when the formatter's changes and the stash conflicted. An
    operation that rewrites such a file (and a staged one) is taken back: the file's bytes,
    the entry's intent-to-add flag and the other file's staged blob are as you left them."""
    repo.write("a.py", b"x=1\n")
    commit_all(repo)
    repo.write("new.py", b"def f( ):\n  return 1\n")
    repo.git("add", "-N", "new.py")
    repo.write("a.py", b"x = 1\n")
    repo.git("add", "a.py")
    repo.write("a.py", b"x = 1  # unstaged\n")
    before, staged = disk(repo.path), index(repo)
    assert any(e[0] == b"new.py" and "intent-to-add" in e[4] for e in staged)
    fmt = "printf 'def f():\\n    return 1\\n' > new.py && printf 'x = 1\\n' > a.py"
    if how == "failed run":
        failed_run(repo, f"{fmt} && git add -A")
    else:
        op_id = kept_run(repo, fmt)
        repo.atomic("rollback", "--op", op_id, check=0)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert index(repo) == staged


# --- MoonMind / cadis: permission bits --------------------------------------------------------


def test_modes_come_back_exec_and_private(repo: GitRepo) -> None:
    """MoonLadderStudios/MoonMind#4086: a checkpoint restore stripped every executable bit;
    Growth-Circle/cadis#2916: a 0600 secret came back 0644. An operation that rewrites a
    script without its bit, deletes a 0600 key and writes it anew 0644, and opens your
    untracked 0640 notes to 0666 is rolled back: each file's bits are as before."""
    repo.write("run.sh", b"#!/bin/sh\n", mode=0o755)
    commit_all(repo)
    repo.write("key.pem", b"-----PRIVATE-----\n", mode=0o600)
    repo.write("notes.txt", b"notes\n", mode=0o640)
    before = disk(repo.path)
    failed_run(
        repo,
        "cp run.sh t && rm run.sh && cat t > run.sh && rm t && rm key.pem"
        " && echo new > key.pem && chmod 644 key.pem && chmod 666 notes.txt",
    )
    assert disk(repo.path) == before, changes(before, disk(repo.path))


# Without `protect`: the record of the clean files' bits beside the scan index (scanbits.py)
@pytest.mark.parametrize("protect", [False, True])
def test_bits_opened_on_a_clean_tracked_file_are_closed_again(repo: GitRepo, protect: bool) -> None:
    """Growth-Circle/cadis#2916, for a tracked file: your 0640 `settings.cfg`, committed and
    unchanged, that an operation makes 0666 (world-writable) without changing its bytes. With
    the file named in `protect`, each checkpoint keeps its bits: the failed run's rollback
    closes them again, and so does `rollback --op` of a kept operation that did it."""
    if protect:
        repo.write(".git-atomic.toml", b'protect = ["*.cfg"]\n')
        with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
            fh.write(b".git-atomic.toml\n")
    repo.write("conf/settings.cfg", b"a\n", mode=0o640)
    repo.write("other.txt", b"b\n", mode=0o644)
    commit_all(repo)
    before = disk(repo.path)
    failed_run(repo, "chmod 666 conf/settings.cfg other.txt")
    want = {**before, b"other.txt": ("file", 0o666, b"b\n")}  # git's 644, opened: not kept
    assert disk(repo.path) == want, changes(want, disk(repo.path))
    os.chmod(repo.path / "other.txt", 0o644)
    op_id = kept_run(repo, "chmod 666 conf/settings.cfg")
    said = repo.atomic("rollback", "--op", op_id, check=0).stderr
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert "conf/settings.cfg" in said, said


# --- git-stage-batch / restic: links ---------------------------------------------------------


def test_links_come_back_as_links_and_nothing_is_written_through_one(
    repo: GitRepo, tmp_path: Path
) -> None:
    """halfline/git-stage-batch#226: an undo wrote a checkpoint's file through the link that
    stood at its path, changing the link's target; restic/restic#3780: a link could not be
    restored where a file stood. An operation swaps a link for a file and a file for a link
    that points outside: the rollback makes each what it was, and the file outside the
    repository is never written (same bytes, same mtime)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "target.txt").write_bytes(b"not yours to touch\n")
    st = os.lstat(outside / "target.txt")
    repo.write("v1/conf", b"v1\n")
    os.symlink("v1", repo.path / "current")
    repo.write("plain.txt", b"plain\n")
    commit_all(repo)
    before = disk(repo.path)
    failed_run(
        repo,
        "rm current && echo file > current && rm plain.txt"
        f" && ln -s {outside}/target.txt plain.txt",
    )
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    repo.atomic("undo", check=0)  # and the operation's state once more: links as it made them
    assert os.readlink(repo.path / "plain.txt") == f"{outside}/target.txt"
    failed = repo.atomic("rollback", check=0)
    assert failed.returncode == 0
    assert disk(repo.path) == before
    assert (outside / "target.txt").read_bytes() == b"not yours to touch\n"
    assert os.lstat(outside / "target.txt").st_mtime_ns == st.st_mtime_ns


# --- Aider: undo of a commit that is not its own ---------------------------------------------


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_taking_an_operation_back_keeps_the_commits_you_made_since(
    repo: GitRepo, history: str
) -> None:
    """Aider-AI/aider#76: `/undo` is `git reset --hard HEAD^`, which is only safe while the
    last commit is the tool's own; a commit of yours on top would be thrown away. A kept
    operation taken back by `rollback --op` after you committed: your commit stays on the
    branch (HEAD descends from it), its file is yours, and only the operation's line goes."""
    repo.write("a.txt", TEN_LINES)
    repo.write("b.txt", b"b\n")
    commit_all(repo)
    op_id = kept_run(repo, "sed -i 's/line 2/LINE TWO/' a.txt", history=history)
    if history == "shadow":
        commit_all(repo, "the operation's change, committed by you")
    repo.write("b.txt", b"b, yours\n")
    commit_all(repo, "yours")
    mine = repo.head()
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.git("merge-base", "--is-ancestor", mine, "HEAD", check=False) == ""
    assert repo.read("a.txt") == TEN_LINES
    assert repo.read("b.txt") == b"b, yours\n"


# --- GitHub Desktop / Claude Code: your later edits of the same file -------------------------


def test_taking_an_operation_back_keeps_your_later_edit_of_the_same_file(repo: GitRepo) -> None:
    """desktop/desktop#7413: undoing a commit lost the uncommitted edit of the same file;
    anthropics/claude-code#16023: a rewind wrote Claude's snapshot over the edits you made
    after it, with no way back. An operation's line is taken back around your edit of another
    line of that file; where you changed the operation's own line, nothing changes (exit 3)
    and the file keeps your bytes."""
    repo.write("f.txt", TEN_LINES)
    commit_all(repo)
    op_id = kept_run(repo, "sed -i 's/line 1$/LINE ONE/' f.txt")
    sh(repo, "sed -i 's/line 9/yours 9/' f.txt")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert repo.read("f.txt") == TEN_LINES.replace(b"line 9", b"yours 9")
    op2 = kept_run(repo, "sed -i 's/line 3/LINE THREE/' f.txt")
    sh(repo, "sed -i 's/LINE THREE/yours 3/' f.txt")
    mine = repo.read("f.txt")
    refused = repo.atomic("rollback", "--op", op2, check=3)
    assert "f.txt" in refused.stderr
    assert repo.read("f.txt") == mine


# --- Claude Code / jj: other writers between a turn's calls -----------------------------------


def test_another_sessions_edits_are_not_taken_back_with_a_turn(repo: GitRepo) -> None:
    """anthropics/claude-code#28078: a rewind in one session silently threw away the
    uncommitted changes another session had made in the same repository; jj-vcs/jj#7229: a
    stale workspace's update overwrote the edits on disk. Session two writes, edits and
    deletes between session one's calls; session one's failing turn is taken back, session
    two's changes all stay (and session one's are gone)."""
    with_gate(repo)
    repo.write("shared.txt", TEN_LINES)
    repo.write("theirs.txt", b"theirs\n")
    commit_all(repo)
    for s in ("s1", "s2"):
        claude_hook(repo, s, "UserPromptSubmit", prompt="go")
    bash_call(repo, "s1", 1, "echo one > one.txt && sed -i 's/line 1$/ONE/' shared.txt")
    bash_call(repo, "s2", 1, "echo two > two.txt && sed -i 's/line 9/NINE/' shared.txt")
    bash_call(repo, "s2", 2, "rm theirs.txt")
    assert "decision" not in stop(repo, "s2")
    bash_call(repo, "s1", 2, "touch bad")
    assert stop(repo, "s1").get("decision") == "block"
    assert repo.read("shared.txt") == TEN_LINES.replace(b"line 9", b"NINE")
    assert repo.read("two.txt") == b"two\n"
    assert not repo.exists("theirs.txt") and not repo.exists("one.txt")
    assert not repo.exists("bad")


# --- Cline / agentsync: nested repositories ---------------------------------------------------


@pytest.mark.parametrize("kind", ["clone", "submodule"])
def test_a_nested_repository_is_never_renamed_or_written(repo: GitRepo, kind: str) -> None:
    """cline/cline#9620: checkpoints renamed nested `.git` folders aside and a failure left them
    so; spxrogers/agentsync#149: a revert's hard reset wrote over a clone made inside the
    tree. With a clone of its own in `vendor/lib` (commits, an uncommitted edit, an untracked
    file), an operation and its rollback leave every byte of it, its `.git` included."""
    repo.write("top.txt", b"top\n")
    commit_all(repo)
    lib = repo.path / "vendor" / "lib"
    if kind == "clone":
        nested = GitRepo.create(lib, repo.path.parent / "home2")
    else:  # google-gemini/gemini-cli: checkpoints in a project with submodules
        GitRepo.create(repo.path.parent / "upstream", repo.path.parent / "home2")
        add = ["-c", "protocol.file.allow=always", "submodule", "add", "-q"]
        repo.git(*add, str(repo.path.parent / "upstream"), "vendor/lib")
        repo.git("commit", "-qm", "submodule")
        nested = GitRepo(lib, repo.env)
    nested.write("README", b"edited, uncommitted\n")
    nested.write("scratch.txt", b"untracked in the clone\n")
    before = disk(repo.path)
    repo.atomic("begin", "x", check=0)
    assert disk(repo.path) == before  # a checkpoint renames nothing
    sh(repo, "echo changed > top.txt && echo new > vendor/new.txt")
    repo.atomic("abort", check=0)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    failed_run(repo, "rm top.txt")
    assert disk(repo.path) == before, changes(before, disk(repo.path))


# --- heddle: undo took away the ignore file that hid a virtualenv ----------------------------


def test_a_virtualenv_the_ignore_file_hid_survives_rollback_and_undo(
    repo: GitRepo, tmp_path: Path
) -> None:
    """HeddleCo/heddle#1148: an undo deleted the ignore file, so a virtualenv it had hidden
    (1,815 paths, a link to the system's python among them) became the user's unsaved work
    and blocked the recovery. An operation removes `.gitignore`: its rollback brings it back,
    `undo` removes it again and a second `undo` brings it back, each exit 0, and the
    virtualenv (its link to the python outside the repository included) is never touched."""
    python = tmp_path / "python3"
    python.write_bytes(b"#!/bin/sh\n")
    repo.write(".gitignore", b".venv/\n")
    repo.write("app.py", b"app\n")
    commit_all(repo)
    repo.write(".venv/lib/site.py", b"site\n")
    os.makedirs(repo.path / ".venv" / "bin")
    os.symlink(python, repo.path / ".venv" / "bin" / "python3")
    venv = {p: v for p, v in disk(repo.path).items() if p.startswith(b".venv")}
    before = disk(repo.path)
    failed_run(repo, "git rm -q .gitignore")
    assert disk(repo.path) == before
    repo.atomic("undo", check=0)
    assert not repo.exists(".gitignore")
    assert {p: v for p, v in disk(repo.path).items() if p.startswith(b".venv")} == venv
    repo.atomic("undo", check=0)
    assert disk(repo.path) == before, changes(before, disk(repo.path))


# --- opencode: an undo that deleted the whole file ---------------------------------------------


def test_two_undos_at_once_never_lose_the_file(repo: GitRepo) -> None:
    """anomalyco/opencode#3148: after an undo run while a second instance was open on the
    same session, a file the turn had only edited one line of was deleted whole. Two `undo`
    commands at once after a failed run: the file is there, either as the operation left it
    or as before (each `undo` that went through flips it), never gone or cut, and no
    operation is left interrupted."""
    repo.write("f.txt", TEN_LINES)
    commit_all(repo)
    failed_run(repo, "sed -i 's/line 4/LINE FOUR/' f.txt")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: repo.atomic("undo"), range(2)))
    codes = sorted(r.returncode for r in results)
    assert all(c in (0, 3) for c in codes), [(r.returncode, r.stderr) for r in results]
    flips = codes.count(0)
    edited = TEN_LINES.replace(b"line 4", b"LINE FOUR")
    assert repo.read("f.txt") == (edited if flips % 2 else TEN_LINES)
    status = repo.atomic_json("status")
    assert status["interrupted"] is None and status["open"] is None


# --- hermes-agent: files over the size budget ----------------------------------------------


def test_a_large_file_the_operation_appended_to_is_not_deleted(repo: GitRepo) -> None:
    """NousResearch/hermes-agent#95207: a rollback took files absent from the checkpoint for
    the turn's own and deleted them, but a file over the size cap is absent for another
    reason; the agent had appended to a dataset, and it was gone with nothing to restore it
    from. Your untracked file over `max_new_file_size`, appended to by a failed operation,
    stays (as the operation left it: its old bytes were never held), and the rollback names
    it; one the operation made over the budget stays too."""
    repo.write(".git-atomic.toml", b"max_new_file_size = 4096\n")
    with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
        fh.write(b".git-atomic.toml\n")
    repo.write("data.csv", b"row\n" * 2000)
    err = failed_run(repo, "echo appended >> data.csv && head -c 9000 /dev/zero > made.bin")
    assert repo.read("data.csv") == b"row\n" * 2000 + b"appended\n"
    assert repo.read("made.bin") == b"\0" * 9000
    assert "data.csv" in err, err


@pytest.mark.parametrize("how", ["failed run", "rollback --op"])
def test_a_large_file_the_operations_stash_took_comes_back(repo: GitRepo, how: str) -> None:
    """NousResearch/hermes-agent#95207 again, by way of a stash: `git stash -u` moves your
    untracked file over `max_new_file_size` (no checkpoint holds it) into the stash and off
    the disk, and the rollback took that stash off your list: the file was named "gone now,
    cannot come back" though the stash held it. Now it is written back from the stash, with
    its bytes and its 0640, and no warning says it is gone."""
    repo.write(".git-atomic.toml", b"max_new_file_size = 4096\n")
    with open(repo.path / ".git" / "info" / "exclude", "ab") as fh:
        fh.write(b".git-atomic.toml\n")
    repo.write("dump.sql", bytes(range(256)) * 40, mode=0o640)
    before = disk(repo.path)
    if how == "failed run":
        said = failed_run(repo, "git stash push -u -q")
    else:
        op_id = kept_run(repo, "git stash push -u -q")
        assert not repo.exists("dump.sql")
        said = repo.atomic("rollback", "--op", op_id).stderr
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert "cannot come back" not in said, said
    assert repo.git("stash", "list") == ""


# --- Claude Code / entire: a turn started in a subfolder -----------------------------------


def test_a_turn_from_a_subfolder_takes_back_files_above_it(repo: GitRepo, tmp_path: Path) -> None:
    """entireio/cli#661: a rewind started from a subfolder wrote the files relative to it, in
    the wrong place; Claude Code checkpoints miss files outside the session's folder. A turn
    whose cwd is `web/` edits `../api/server.go` and writes a file in `web/`: both come back
    where they belong, and nothing is made under `web/api/`."""
    with_gate(repo)
    repo.write("api/server.go", b"package api\n")
    repo.write("web/index.js", b"index\n")
    commit_all(repo)
    before = disk(repo.path)
    web = repo.path / "web"
    claude_hook(repo, "s1", "UserPromptSubmit", prompt="go", cwd=str(web))
    bash_call(
        repo,
        "s1",
        1,
        "echo '// edited' >> ../api/server.go && echo new > made.js && touch ../bad",
        cwd=web,
    )
    answer = json.loads(claude_hook(repo, "s1", "Stop", cwd=str(web)).stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert disk(repo.path) == before, changes(before, disk(repo.path))


# --- jj: files an older rule did not ignore -------------------------------------------------


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_checkout_of_an_older_ignore_rule_takes_none_of_your_ignored_files(
    repo: GitRepo, history: str
) -> None:
    """jj-vcs/jj#5596 and #3204: moving to an older commit whose `.gitignore` lacked a rule
    made the ignored files (a `target/` of build output) part of the change. An operation
    that checks out the older `.gitignore` and fails leaves your ignored files as they were,
    and a kept one commits none of them (commits mode) and its rollback removes none."""
    repo.write("src.rs", b"fn main() {}\n")
    commit_all(repo, "no rule")
    old = repo.head()
    repo.write(".gitignore", b"target/\n")
    commit_all(repo, "rule")
    repo.write("target/debug/app", b"\x7fELF build output\n", mode=0o755)
    before = disk(repo.path)
    failed_run(repo, f"git checkout -q {old} -- .gitignore 2>/dev/null || git rm -q .gitignore")
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    op_id = kept_run(repo, "git rm -q .gitignore && echo 'fn x() {}' >> src.rs", history=history)
    if history == "commits":
        shown = repo.git("show", "--stat", "--format=", "HEAD")
        assert "target/" not in shown, shown
    repo.atomic("rollback", "--op", op_id, check=0)
    assert disk(repo.path) == before, changes(before, disk(repo.path))


# --- git's stash: a file where a folder was, and back -----------------------------------------


@pytest.mark.parametrize(
    "op",
    [
        "rm f && mkdir -p f/sub && echo in > f/sub/x",  # file -> folder
        "rm -r d && echo now-a-file > d",  # folder -> file
        "rm -r d && ln -s f d",  # folder -> link
    ],
)
def test_a_file_and_a_folder_swapped_come_back(repo: GitRepo, op: str) -> None:
    """git/git#1086 (D/F fixes in stash): stash and its pop mishandled a path that was a file
    on one side and a folder on the other, removing untracked files. An operation swaps a
    file for a folder, a folder for a file or a link: the rollback makes each what it was,
    your untracked file in the folder too, and `undo` makes the operation's state again."""
    repo.write("f", b"a file\n")
    repo.write("d/tracked.txt", b"tracked\n")
    commit_all(repo)
    repo.write("d/yours.txt", b"untracked, yours\n")
    before = disk(repo.path)
    failed_run(repo, op)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    repo.atomic("undo", check=0)
    twin = repo.path.parent / "twin"
    subprocess.run(["cp", "-a", str(repo.path), str(twin)], check=True)
    repo.atomic("undo", check=0)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert disk(twin) != before


# --- Git for Windows / IoTDB: line endings a filter converts -------------------------------


@pytest.mark.parametrize("setting", ["autocrlf", "text=auto, CRLF in the index", "eol=crlf"])
def test_line_endings_come_back_as_the_bytes_they_were(repo: GitRepo, setting: str) -> None:
    """git-for-windows/git#1579 and apache/iotdb#3794: a file committed with CRLF under a
    line-ending attribute could not be put back by `git stash` or `git checkout`, which
    convert; a restore through them changes bytes. An operation that rewrites such files as
    LF, and one that only touches them, is rolled back to their bytes on disk exactly, and
    the index entries (objects, modes) are as before."""
    if setting == "autocrlf":
        repo.git("config", "core.autocrlf", "true")
        repo.write("w.txt", b"one\ntwo\n")
        commit_all(repo)
        (repo.path / "w.txt").unlink()
        repo.git("checkout", "--", "w.txt")
    elif setting == "text=auto, CRLF in the index":
        repo.write("w.txt", b"one\r\ntwo\r\n")
        commit_all(repo)
        repo.write(".gitattributes", b"* text=auto\n")
        commit_all(repo)
    else:
        repo.write(".gitattributes", b"*.bat text eol=crlf\n")
        repo.write("w.bat", b"@echo off\r\nexit\r\n")
        commit_all(repo)
        repo.write("w.txt", b"plain\n")
        commit_all(repo)
    repo.write("new.txt", b"untracked\r\nCRLF\r\n")
    before, staged = disk(repo.path), index(repo)
    failed_run(
        repo,
        "for f in w.txt w.bat new.txt; do [ -e $f ] && tr -d '\\r' < $f > t && mv t $f; done;"
        " touch w.txt; true",
    )
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert [e[:4] for e in index(repo)] == [e[:4] for e in staged]


# --- git (sparse checkout): skip-worktree entries taken for deletions --------------------------


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_files_outside_the_sparse_checkout_are_never_taken_for_deleted(
    repo: GitRepo, history: str
) -> None:
    """gitgitgadget/git#355: in a sparse checkout, `git stash` recorded the files outside the
    cone (skip-worktree, absent on purpose) as deleted. A failed operation leaves every
    skip-worktree flag and every file as it was; a kept one (commits mode) commits only its
    own file, no deletion, and its rollback leaves the sparse view as it was."""
    for d in ("dir1", "dir2", "dir3"):
        repo.write(f"{d}/test.txt", f"{d}\n".encode())
    commit_all(repo)
    repo.git("sparse-checkout", "set", "dir1")
    assert not repo.exists("dir2/test.txt")
    before, staged = disk(repo.path), index(repo)
    assert any("skip-worktree" in e[4] for e in staged)
    failed_run(repo, "echo edit >> dir1/test.txt && git add -A", history=history)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert index(repo) == staged
    op_id = kept_run(repo, "echo edit >> dir1/test.txt", history=history)
    if history == "commits":
        names = repo.git("show", "--name-status", "--format=", "HEAD")
        assert names.split() == ["M", "dir1/test.txt"], names
    repo.atomic("rollback", "--op", op_id, check=0)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert [e for e in index(repo) if "skip-worktree" in e[4]] == [
        e for e in staged if "skip-worktree" in e[4]
    ]


# --- Codenvy: tracked files a rule ignores ---------------------------------------------------


@pytest.mark.parametrize("history", ["commits", "shadow"])
def test_a_tracked_file_a_rule_ignores_comes_back(repo: GitRepo, history: str) -> None:
    """codenvy/codenvy#2025: after a snapshot and restore, files that matched `.gitignore` but
    were force-added (a `sample.json` under `*.json`) were gone. An operation that edits one
    and deletes another is rolled back: both come back, with their index entries; a kept one
    that edits it commits the edit (commits mode) and its rollback takes the edit back."""
    repo.write(".gitignore", b"*.json\n")
    repo.write("data/sample.json", b'{"a": 1}\n')
    repo.write("other.json", b"{}\n")
    repo.git("add", ".gitignore")
    repo.git("add", "-f", "data/sample.json", "other.json")
    repo.git("commit", "-qm", "forced")
    repo.write("local.json", b'{"ignored": "yours"}\n')
    before, staged = disk(repo.path), index(repo)
    failed_run(repo, "echo '{}' > data/sample.json && git rm -q other.json", history=history)
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert index(repo) == staged
    op_id = kept_run(repo, "echo '{\"a\": 2}' > data/sample.json", history=history)
    if history == "commits":
        assert "data/sample.json" in repo.git("show", "--name-only", "--format=", "HEAD")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert disk(repo.path) == before, changes(before, disk(repo.path))


# --- GitButler: uncommitted work through a stash, a merge and a pop ---------------------------


def test_your_uncommitted_work_survives_an_update_that_conflicts(repo: GitRepo) -> None:
    """gitbutlerapp/gitbutler#5015 and #4266: an update (a merge of the target into the
    workspace) or a project's set-up overwrote uncommitted changes with no warning. An
    operation stashes your work (staged and unstaged), merges a branch that changed the same
    lines, and pops the stash into a conflict: it is rolled back, and your staged and
    unstaged changes, untracked file, stash list and HEAD are exactly as before, no merge
    left in progress."""
    repo.write("app.txt", TEN_LINES)
    commit_all(repo)
    repo.git("checkout", "-qb", "target")
    repo.write("app.txt", TEN_LINES.replace(b"line 3", b"theirs 3"))
    commit_all(repo, "target")
    repo.git("checkout", "-q", "main")
    repo.write("app.txt", TEN_LINES.replace(b"line 3", b"staged 3"))
    repo.git("add", "app.txt")
    repo.write("app.txt", TEN_LINES.replace(b"line 3", b"staged 3").replace(b"line 8", b"mine 8"))
    repo.write("wip.txt", b"untracked work\n")
    before, staged, head = disk(repo.path), index(repo), repo.head()
    stashes = repo.git("stash", "list")
    failed_run(repo, "git stash -q -u && git merge -q target && git stash pop -q")
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert index(repo) == staged
    assert repo.head() == head and repo.git("stash", "list") == stashes
    assert not (repo.path / ".git" / "MERGE_HEAD").exists()


# --- Claude Code: a file the agent made, edited by a later turn ---------------------------------


def _file_tool(repo: GitRepo, session: str, n: int, tool: str, rel: str, data: bytes) -> None:
    call: dict[str, Any] = {
        "tool_use_id": f"{session}-{n}",
        "tool_name": tool,
        "tool_input": {"file_path": str(repo.path / rel), "content": data.decode()},
    }
    claude_hook(repo, session, "PreToolUse", **call)
    repo.write(rel, data)
    claude_hook(repo, session, "PostToolUse", **call, tool_response={"success": True})


def test_a_later_turns_edit_of_an_untracked_file_it_made_goes_back_to_the_first(
    repo: GitRepo,
) -> None:
    """anthropics/claude-code#91733: a file Claude had created (never tracked by git), then
    edited at a later prompt, was not put back by rewinding to that prompt. Turn one writes
    the file (kept), turn two edits it and breaks the gate: the file is as turn one left it,
    not deleted and not as turn two made it."""
    with_gate(repo)
    claude_hook(repo, "s", "UserPromptSubmit", prompt="make it")
    _file_tool(repo, "s", 1, "Write", "rewind_test.txt", b"rewind test v1\n")
    assert "decision" not in stop(repo, "s")
    claude_hook(repo, "s", "UserPromptSubmit", prompt="edit it")
    _file_tool(repo, "s", 2, "Edit", "rewind_test.txt", b"rewind test v2\n")
    _file_tool(repo, "s", 3, "Write", "bad", b"x\n")
    assert stop(repo, "s").get("decision") == "block"
    assert repo.read("rewind_test.txt") == b"rewind test v1\n"
    assert not repo.exists("bad")


# --- Gemini CLI: a repository with nothing tracked yet --------------------------------------------


def test_a_repository_with_no_commit_yet_is_restored(empty_repo: GitRepo) -> None:
    """google-gemini/gemini-cli#11243 (a restore failed, "pathspec '.' did not match any
    file(s) known to git", and left the file unchanged) and #4115 (no checkpoint at all in a
    project with no history): in a repository with no commit and nothing tracked, an
    operation's edits of your untracked files, its new files and its `git add` are rolled
    back exactly, and the branch stays unborn."""
    repo = empty_repo
    repo.write("main.py", b"print(1)\n")
    repo.write("lib/util.py", b"x = 1\n", mode=0o755)
    before = disk(repo.path)
    failed_run(repo, "echo 'print(2)' > main.py && echo y > lib/new.py && git add -A")
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert not (repo.path / ".git" / "index").exists() or index(repo) == ()
    assert repo.git("rev-parse", "-q", "--verify", "HEAD", check=False) == ""


# --- Claude Code: a session that changed nothing -----------------------------------------------


def test_a_turn_that_changed_nothing_takes_nothing_back(repo: GitRepo) -> None:
    """anthropics/claude-code#28078: session B, which had changed nothing, said "no changes" to
    rewind, yet the rewind deleted every uncommitted change session A had made. Session A
    writes, edits and leaves the file that fails the gate; session B's turn only reads: its
    Stop takes nothing back and blocks nothing, and A's changes all stay."""
    with_gate(repo)
    repo.write("shared.txt", TEN_LINES)
    commit_all(repo)
    for s in ("a", "b"):
        claude_hook(repo, s, "UserPromptSubmit", prompt="go")
    bash_call(repo, "a", 1, "echo a > a.txt && sed -i 's/line 2/A2/' shared.txt && touch bad")
    after_a = disk(repo.path)
    bash_call(repo, "b", 1, "cat shared.txt > /dev/null")
    answer = stop(repo, "b")
    assert answer.get("decision") is None, answer
    assert disk(repo.path) == after_a, changes(after_a, disk(repo.path))


# --- Claude Code on macOS: the project reached through a link -------------------------------


def test_a_turn_whose_paths_go_through_a_link_to_the_repository(
    repo: GitRepo, tmp_path: Path
) -> None:
    """anthropics/claude-code#14002: the snapshot tracked 0 files and only some edits were
    restored; one way there is a file path that names the project through another path (macOS
    gives `/tmp/...` and `/private/tmp/...` for one folder). With the session's cwd and its
    file tools' paths going through a link to the worktree, the turn's Write and Edit calls
    are taken back whole, and nothing is written through the link's own path."""
    with_gate(repo)
    repo.write("app.py", b"app = 1\n")
    commit_all(repo)
    alias = tmp_path / "alias"
    os.symlink(repo.path, alias)
    before = disk(repo.path)
    claude_hook(repo, "s", "UserPromptSubmit", prompt="go", cwd=str(alias))
    for n, (tool, rel, data) in enumerate(
        [("Edit", "app.py", b"app = 2\n"), ("Write", "pkg/new.py", b"new\n"), ("Write", "bad", b"")]
    ):
        call: dict[str, Any] = {
            "tool_use_id": f"s-{n}",
            "tool_name": tool,
            "tool_input": {"file_path": str(alias / rel), "content": data.decode()},
            "cwd": str(alias),
        }
        claude_hook(repo, "s", "PreToolUse", **call)
        repo.write(rel, data)
        claude_hook(repo, "s", "PostToolUse", **call, tool_response={"success": True})
    answer = json.loads(claude_hook(repo, "s", "Stop", cwd=str(alias)).stdout or "{}")
    assert answer.get("decision") == "block", answer
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert os.path.islink(alias)


def test_a_file_tool_call_outside_the_repository_is_never_written(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Claude Code's checkpoints do not cover files outside the project (a `~/.bashrc` the
    agent edits); a tool that took them back would write outside the worktree. A turn whose
    Write goes to a file outside the repository, and which breaks the gate in it: the turn's
    file inside is taken back, the outside file keeps what the agent wrote there, untouched
    by the take-back (same bytes, same mtime)."""
    with_gate(repo)
    outside = tmp_path / "home" / ".bashrc"
    outside.parent.mkdir(parents=True, exist_ok=True)
    before = disk(repo.path)
    claude_hook(repo, "s", "UserPromptSubmit", prompt="go")
    call: dict[str, Any] = {
        "tool_use_id": "s-out",
        "tool_name": "Write",
        "tool_input": {"file_path": str(outside), "content": "alias ll='ls -l'\n"},
    }
    claude_hook(repo, "s", "PreToolUse", **call)
    outside.write_bytes(b"alias ll='ls -l'\n")
    claude_hook(repo, "s", "PostToolUse", **call, tool_response={"success": True})
    mtime = os.lstat(outside).st_mtime_ns
    _file_tool(repo, "s", 2, "Write", "bad", b"")
    assert stop(repo, "s").get("decision") == "block"
    assert disk(repo.path) == before, changes(before, disk(repo.path))
    assert outside.read_bytes() == b"alias ll='ls -l'\n"
    assert os.lstat(outside).st_mtime_ns == mtime


# --- jj: undo resolved against what changed since --------------------------------------------


def test_undo_is_applied_on_top_of_your_edits_since(repo: GitRepo) -> None:
    """jj-vcs/jj#2813 (an `op undo` against a working copy changed since its snapshot, and a
    conflict where the two touched the same line) and anthropics/claude-code#16023 (a rewind
    could not be redone, and your edits after it were lost): `undo` of a rollback brings the
    operation's line back on top of your edit of another line; where you changed the same
    line since, it changes nothing (exit 3) and your bytes stay."""
    repo.write("f.txt", TEN_LINES)
    commit_all(repo)
    failed_run(repo, "sed -i 's/line 1$/OP 1/' f.txt")
    sh(repo, "sed -i 's/line 9/yours 9/' f.txt")
    repo.atomic("undo", check=0)
    assert repo.read("f.txt") == TEN_LINES.replace(b"line 1\n", b"OP 1\n").replace(
        b"line 9", b"yours 9"
    )
    failed_run(repo, "sed -i 's/line 5/OP 5/' f.txt")
    sh(repo, "sed -i 's/line 5/yours 5/' f.txt")
    mine = repo.read("f.txt")
    refused = repo.atomic("undo", check=3)
    assert "f.txt" in refused.stderr
    assert repo.read("f.txt") == mine


# --- opencode: the store of snapshots cleaned away ------------------------------------------


def test_checkpoints_survive_a_prune_of_everything_unreachable(repo: GitRepo) -> None:
    """anomalyco/opencode#3148: starting a new instance deleted the whole folder of snapshots,
    so an undo had nothing to go back to and deleted the file instead. After a kept operation
    and a failed one, `git reflog expire --all` and `git gc --prune=now` lose no checkpoint:
    `rollback --op` of the kept one and `undo` of the failed one's rollback both work."""
    repo.write("f.txt", TEN_LINES)
    commit_all(repo)
    op_id = kept_run(repo, "echo kept > kept.txt")
    failed_run(repo, "sed -i 's/line 4/OP 4/' f.txt")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")
    repo.atomic("undo", check=0)
    assert repo.read("f.txt") == TEN_LINES.replace(b"line 4", b"OP 4")
    repo.atomic("rollback", "--op", op_id, check=0)
    assert not repo.exists("kept.txt")
    assert repo.read("f.txt") == TEN_LINES.replace(b"line 4", b"OP 4")


# --- Aider: your dirty edits committed along with the agent's ------------------------------


def _committing_hook(repo: GitRepo, event: str, **fields: Any) -> dict[str, Any]:
    """A Claude Code hook call as `hooks install claude-code --history commits` makes it."""
    payload = {"session_id": "s", "cwd": str(repo.path), "hook_event_name": event, **fields}
    ran = subprocess.run(
        [sys.executable, "-m", "git_atomic", "hook", "claude-code", event, "--history", "commits"],
        input=json.dumps(payload),
        cwd=repo.path,
        env={**repo.env, "CLAUDE_PROJECT_DIR": str(repo.path)},
        capture_output=True,
        text=True,
        check=True,
    )
    answer: dict[str, Any] = json.loads(ran.stdout or "{}")
    return answer


def test_a_committed_turn_holds_its_own_hunk_and_not_your_dirty_edit(repo: GitRepo) -> None:
    """Aider-AI/aider#207: before editing a file you had changed, aider committed your dirty
    changes for you (so that its own commit could be undone alone). In commits mode a turn's
    commit holds the turn's hunk only: your staged edit of another line of that file stays
    staged, your unstaged one unstaged, and nothing of yours is in any commit."""
    repo.write("f.txt", TEN_LINES)
    commit_all(repo, "f")
    head = repo.head()
    staged_text = TEN_LINES.replace(b"line 2", b"staged 2")
    repo.write("f.txt", staged_text)
    repo.git("add", "f.txt")
    repo.write("f.txt", staged_text.replace(b"line 4", b"unstaged 4"))
    _committing_hook(repo, "UserPromptSubmit", prompt="fix line 8")
    call = {"tool_use_id": "s-1", "tool_name": "Bash", "tool_input": {"command": "sed"}}
    _committing_hook(repo, "PreToolUse", **call)
    sh(repo, "sed -i 's/line 8/agent 8/' f.txt")
    _committing_hook(repo, "PostToolUse", **call, tool_response={"success": True})
    answer = _committing_hook(repo, "Stop", stop_hook_active=False)
    assert "committed as" in answer.get("systemMessage", ""), answer
    assert repo.git("rev-list", f"{head}..HEAD").split() == [repo.head()]
    assert repo.git("show", "HEAD:f.txt").encode() == TEN_LINES.replace(b"line 8", b"agent 8")
    both = TEN_LINES.replace(b"line 8", b"agent 8")
    assert repo.git("show", ":f.txt").encode() == both.replace(b"line 2", b"staged 2")
    assert repo.read("f.txt") == both.replace(b"line 2", b"staged 2").replace(
        b"line 4", b"unstaged 4"
    )


# --- Cline / Gemini CLI: ignore rules the operation changed outside the tree --------------------


@pytest.mark.parametrize("how", ["failed run", "rollback --op", "agent turn"])
@pytest.mark.parametrize(
    "change", ["git config core.excludesFile /dev/null", "printf '*.log\\n' > $GLOBAL"]
)
def test_your_ignored_files_stay_when_the_operation_changed_what_git_ignores(
    repo: GitRepo, how: str, change: str
) -> None:
    """cline/cline#14367 (a restore put back an older `.gitignore`, then `git clean -fd`
    deleted the files it no longer ignored) and google-gemini/gemini-cli#13331 (a restore
    deleted almost every file, untracked ones too): a rollback decides what to delete by the
    ignore rules of the moment. An operation that changes them where no checkpoint reaches
    (`core.excludesFile`, the global excludes file's lines: configuration) made your ignored
    `.env` and `node_modules/` look like files it had made, and its rollback deleted them.
    Files nothing touched since PRE-OP stay, the dry run lists none of them, and `show
    --diff` prints none of their content (it printed your `.env`'s token)."""
    with_gate(repo)
    global_ignore = Path(repo.env["XDG_CONFIG_HOME"]) / "git" / "ignore"
    global_ignore.parent.mkdir(parents=True, exist_ok=True)
    global_ignore.write_bytes(b".env\nnode_modules/\n")
    repo.env["GLOBAL"] = str(global_ignore)
    repo.write("app.py", b"app\n")
    commit_all(repo)
    repo.write(".env", b"TOKEN=secret\n", mode=0o600)
    repo.write("node_modules/pkg/index.js", b"module\n")
    # Yours from before: a file stamped within the kernel's clock lag (50 ms) of PRE-OP may be
    # the operation's (changedtimes.untouched_since), and a fast PRE-OP comes sooner than that.
    time.sleep(0.2)
    before = disk(repo.path)
    if how == "failed run":
        failed_run(repo, f"{change} && echo new > new.py")
    elif how == "rollback --op":
        op_id = kept_run(repo, f"{change} && echo new > new.py")
        shown = repo.atomic("show", op_id, "--diff", check=0).stdout
        assert "TOKEN=secret" not in shown and "new.py" in shown, shown  # never printed
        dry = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0).stderr
        assert ".env" not in dry and "node_modules" not in dry, dry
        repo.atomic("rollback", "--op", op_id, check=0)
    else:
        claude_hook(repo, "s", "UserPromptSubmit", prompt="go")
        bash_call(repo, "s", 1, f"{change} && echo new > new.py && touch bad")
        assert stop(repo, "s").get("decision") == "block"
    assert disk(repo.path) == before, changes(before, disk(repo.path))
