"""Human output (snapshots, colour off), JSON shapes, help, the man page, completion, reference."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testing.gitrepo import ROOT, GitRepo

DATA = ROOT / "src" / "git_atomic" / "data"
MAN = DATA / "man" / "man1" / "git-atomic.1"
BASH = DATA / "completion" / "git-atomic.bash"
ZSH = DATA / "completion" / "_git-atomic"
GIT_BASH_COMPLETION = Path("/usr/share/bash-completion/completions/git")
GATE = "echo 'collected 3 items'; echo 'FAILED test_a - assert 1 == 2'; exit 1"


def normalise(text: str, repo: GitRepo) -> str:
    text = text.replace(str(repo.path), "<repo>")
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}", "<time>", text)
    text = re.sub(r"\b\d+ (second|minute|hour|day|week|month|year)s? ago", "<ago>", text)
    text = re.sub(r"\b[0-9a-f]{7,40}\b", "<id>", text)
    text = re.sub(r"\b\d+(\.\d+)?s\b|\b\d+m\d\ds\b", "<t>", text)
    return re.sub(r" {2,}", "  ", text)


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> GitRepo:
    """Four operations: committed, a gate failed, the command failed, one still open."""
    tmp = tmp_path_factory.mktemp("story")
    repo = GitRepo.create(tmp / "repo", tmp / "home")
    repo.atomic(
        "run",
        "-n",
        "add-feature",
        "-g",
        "test -f feature.txt",
        "--",
        "sh",
        "-c",
        "echo hi > feature.txt",
        check=0,
    )
    repo.atomic(
        "run",
        "-n",
        "break-tests",
        "-g",
        GATE,
        "--",
        "sh",
        "-c",
        "echo bad >> README; echo 1 > b.txt",
        check=1,
    )
    repo.atomic("run", "-n", "crash", "--", "sh", "-c", "echo x > junk.txt; exit 4", check=1)
    repo.atomic("begin", "refactor", "--history", "shadow", check=0)
    repo.write("stage.txt", b"one\ntwo\n")
    repo.atomic("checkpoint", "-m", "stage one", check=0)
    return repo


def _ops(repo: GitRepo) -> list[dict[str, Any]]:
    ops: list[dict[str, Any]] = repo.atomic_json("log")["operations"]
    return ops


# --- log ---------------------------------------------------------------------------------------
def test_log_snapshot(story: GitRepo) -> None:
    out = story.atomic("log", check=0).stdout
    assert normalise(out, story) == (
        "<id>  <ago>  open  refactor  …  1 file +2 -0  waiting for `git atomic commit` or `abort`\n"
        "<id>  <ago>  rolled back  crash  <t>  1 file +1 -0  command exited 4\n"
        "<id>  <ago>  rolled back  break-tests  <t>  2 files +2 -0  gate echo failed\n"
        "<id>  <ago>  committed  add-feature  <t>  1 file +1 -0  1 gate passed\n"
    )


@pytest.mark.parametrize(("history", "word"), [("shadow", "kept"), ("commits", "committed")])
def test_a_kept_shadow_operation_is_kept_in_every_view(
    repo: GitRepo, history: str, word: str
) -> None:
    """`run` says a shadow-mode operation was "kept" (nothing committed); log, show and status
    said "committed". The JSON status stays `committed`."""
    res = repo.atomic("run", "--history", history, "--", "sh", "-c", "echo x > f")
    assert f"] {word} (" in res.stderr
    assert repo.atomic("log", "-n", "1").stdout.split()[4] == word
    op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    assert f"status    {word};" in repo.atomic("show", op_id).stdout
    assert f"  {word}  " in repo.atomic("status").stdout
    assert repo.atomic_json("log", "-n", "1")["operations"][0]["status"] == "committed"


def test_a_commits_mode_operation_that_committed_nothing_is_kept_in_every_view(
    repo: GitRepo,
) -> None:
    """`run` says a commits-mode operation that changed nothing was "kept ...; nothing to
    commit"; log, show and status said "committed" though no commit was made. The JSON status
    stays `committed`."""
    res = repo.atomic("run", "--history", "commits", "--", "true")
    assert "] kept (" in res.stderr and "nothing to commit" in res.stderr, res.stderr
    assert repo.atomic("log", "-n", "1").stdout.split()[4] == "kept"
    op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    assert "status    kept;" in repo.atomic("show", op_id).stdout
    assert "  kept  " in repo.atomic("status").stdout
    assert repo.atomic_json("log", "-n", "1")["operations"][0]["status"] == "committed"


def test_log_columns_line_up(story: GitRepo) -> None:
    lines = story.atomic("log", check=0).stdout.splitlines()
    for word in ("refactor", "crash", "break-tests", "add-feature"):
        assert word in "".join(lines)
    starts = {
        line.index(name)
        for line, name in zip(
            lines, ("refactor", "crash", "break-tests", "add-feature"), strict=True
        )
    }
    assert len(starts) == 1


def test_log_filters(story: GitRepo) -> None:
    def names(*args: str) -> list[str]:
        return [
            line.split("  ")[3].strip()
            for line in normalise(story.atomic("log", *args, check=0).stdout, story).splitlines()
        ]

    assert names("--status", "rolled_back") == ["crash", "break-tests"]
    assert names("--name", "*-*") == ["break-tests", "add-feature"]
    assert names("--name", "crash") == ["crash"]
    assert names("-n", "1") == ["refactor"]
    assert names("--since", "1h", "-n", "2") == ["refactor", "crash"]
    res = story.atomic("log", "--name", "nothing*", check=0)
    assert (res.stdout, res.stderr) == ("", "no operations match\n")
    res = story.atomic("log", "--since", "yesterday-ish", check=2)
    assert res.stderr.startswith("git-atomic: --since: expected") and "Traceback" not in res.stderr


def test_log_json_shape(story: GitRepo) -> None:
    ops = _ops(story)
    assert [o["status"] for o in ops] == ["open", "rolled_back", "rolled_back", "committed"]
    required = {
        "op_id",
        "name",
        "status",
        "failed_phase",
        "history",
        "checkpoints",
        "command",
        "gates",
        "duration_s",
        "started_at",
        "ended_at",
    }
    for op in ops:
        assert required <= set(op)
        assert set(op["checkpoints"]) >= {"pre_op", "op_exec", "post_op", "rescue"}
    gate = ops[2]["gates"][0]
    assert {"name", "passed", "exit_code", "duration_s", "coverage"} <= set(gate)
    assert gate["passed"] is False and gate["exit_code"] == 1


# --- show --------------------------------------------------------------------------------------
def test_show_snapshot_of_a_failed_gate(story: GitRepo) -> None:
    op_id = str(_ops(story)[2]["op_id"])
    out = normalise(story.atomic("show", op_id[:8], "--stat", check=0).stdout, story)
    assert out == (
        "operation <id>  break-tests\n"
        "status  rolled back: gate echo failed; the tree went back to PRE-OP\n"
        "started  <time> (<ago>), took <t>\n"
        "history  commits: OP-EXEC/POST-OP commits of its effect on the branch\n"
        "command  sh -c 'echo bad >> README; echo 1 > b.txt'  (exit 0 after <t>)\n"
        "change  2 files +2 -0 (PRE-OP -> rescue)\n"
        "\n"
        "timeline\n"
        "  +<t>  PRE-OP  <id>  backup state before operation\n"
        "  +<t>  command  ran <t>, exit 0\n"
        "  +<t>  OP-EXEC  <id>  sh -c 'echo bad >> README; echo 1 > b.txt'  commit <id>\n"
        "  +<t>  gates  1 of 1 failed in <t>\n"
        "  echo  FAILED: exited with status 1  exit 1  <t>\n"
        "  ran: echo 'collected 3 items'; echo 'FAILED test_a - assert 1 == 2'; exit 1\n"
        "  | collected 3 items\n"
        "  | FAILED test_a - assert 1 == 2\n"
        "  full output: <repo>/.git/atomic/logs/<id>/01-echo.log\n"
        "  +<t>  rollback  to PRE-OP <id>; rescue <id> holds what it replaced\n"
        "\n"
        "next: `git atomic rollback --to <id> --whole` brings its result back\n"
        "\n"
        "PRE-OP <id> -> rescue <id>\n"
        " README | 1 +\n"
        " b.txt  | 1 +\n"
        " 2 files changed, 2 insertions(+)\n"
    )


def test_show_diff_and_next_step(story: GitRepo) -> None:
    ops = _ops(story)
    crash = story.atomic("show", str(ops[1]["op_id"]), "--diff", check=0).stdout
    assert "status    rolled back: the command exited 4; the tree went back to PRE-OP" in crash
    assert "+++ b/junk.txt" in crash and "+x" in crash
    assert "next: `git atomic undo` brings its result back" in crash
    committed = story.atomic("show", str(ops[3]["op_id"]), check=0).stdout
    assert "committed: 1 gate passed; the result is final" in committed
    assert "POST-OP" in committed and "  test         passed" in committed
    assert f"`git atomic rollback --op {str(ops[3]['op_id'])[:8]}` takes it back" in committed
    opened = story.atomic("show", str(ops[0]["op_id"]), "--stat", check=0).stdout
    assert "status    open, in OP-EXEC" in opened and " stage.txt | 2 ++" in opened


@pytest.mark.parametrize(
    "script, names",
    [
        ("git mv a.txt b.txt", ("a.txt", "b.txt")),  # moved as it is
        ("mkdir d && mv a.txt d/a.txt && echo 51 >> d/a.txt", ("a.txt", "d/a.txt")),  # and edited
    ],
)
def test_log_and_show_count_a_move_as_one_change(
    repo: GitRepo, script: str, names: tuple[str, str]
) -> None:
    """`mv a.txt b.txt` of a 50-line file was "2 files +50 -50" in `log` and `show` (and its
    `--diff` a deletion and an addition of every line): the views diffed with `--no-renames`.
    A move is one file, its lines changed counted, as git shows it (`-M`)."""
    repo.write("a.txt", "".join(f"{i}\n" for i in range(1, 51)).encode())
    repo.git("add", "a.txt")
    repo.git("commit", "-qm", "a")
    repo.atomic("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script, check=0)
    edited = "echo" in script
    counted = "1 file +1 -0" if edited else "1 file +0 -0"
    assert counted in repo.atomic("log", "-n", "1").stdout
    op_id = repo.atomic_json("log", "-n", "1")["operations"][0]["op_id"]
    assert f"change    {counted} (PRE-OP -> POST-OP)" in repo.atomic("show", op_id).stdout
    old, new = names
    diff = repo.atomic("show", op_id, "--diff").stdout
    assert f"rename from {old}" in diff and f"rename to {new}" in diff, diff
    assert "deleted file" not in diff and "-50" not in diff, diff
    assert "1 file changed" in repo.atomic("show", op_id, "--stat").stdout


def test_show_json_and_bad_ids(story: GitRepo) -> None:
    op_id = str(_ops(story)[2]["op_id"])
    obj = story.atomic_json("show", op_id, "--stat")
    assert obj["op_id"] == op_id and obj["failed_phase"] == "validate"
    assert [c["kind"] for c in obj["checkpoint_list"]] == ["pre_op", "op_exec", "rescue"]
    assert "2 files changed" in obj["diff"]
    for bad, code in (("zz", 2), ("0000000", 2)):
        res = story.atomic("show", bad, check=code)
        assert res.stderr.count("\n") == 1 and res.stderr.startswith("git-atomic: unknown")


# --- status ------------------------------------------------------------------------------------
def test_status_open_session(story: GitRepo) -> None:
    out = normalise(story.atomic("status", check=0).stdout, story)
    assert out == (
        "open: refactor [<id>]\n"
        "  phase  OP-EXEC, stage 1 recorded <ago>\n"
        "  since  <time> (<ago>)\n"
        "  process  none: the operation waits for you\n"
        "  next  `git atomic checkpoint` records a stage, `git atomic commit` runs the gates\n"
        "  and makes it final, `git atomic abort` rolls it back\n"
        "  changed  1 path on disk since PRE-OP <id>:\n"
        "  added  stage.txt\n"
    )


def test_status_nothing_open_points_at_undo(repo: GitRepo) -> None:
    assert repo.atomic("status", check=0).stdout == "no operation is open in this worktree\n"
    repo.atomic("run", "-n", "oops", "--", "sh", "-c", "echo x > y; false", check=1)
    out = normalise(repo.atomic("status", check=0).stdout, repo)
    assert out == (
        "no operation is open in this worktree\n"
        "  last  <id>  <ago>  rolled back  oops  <t>  1 file +1 -0  command exited 1\n"
        "  undo  `git atomic undo` brings back what the last rollback replaced\n"
    )
    repo.atomic("undo", check=0)
    assert repo.read("y") == b"x\n"
    assert (
        repo.atomic("log", check=0)
        .stdout.rstrip()
        .endswith("command exited 1; brought back by undo")
    )
    assert (
        "undone    `git atomic undo` brought its result back"
        in repo.atomic("show", repo.atomic_json("log")["operations"][0]["op_id"], check=0).stdout
    )
    assert (
        "  undo     `git atomic undo` reverses the last undo"
        in repo.atomic("status", check=0).stdout
    )


def test_status_of_a_rollback_left_half_done_says_so(repo: GitRepo) -> None:
    """An `abort` that ended after its rescue, before its restore (killed there, or refused by
    what it found): the status said the process was "killed or crashed" whatever ended it."""
    repo.atomic("begin", "half")
    repo.write("work.txt", b"w\n")
    env = {**repo.env, "GIT_ATOMIC_FAILPOINT": "abort:after-rescue", "GIT_ATOMIC_HELPER": "0"}
    res = subprocess.run(
        [sys.executable, "-m", "git_atomic", "abort"], cwd=repo.path, env=env, check=False
    )
    assert res.returncode == -9
    out = repo.atomic("status", check=0).stdout
    assert out.startswith("interrupted: half [")
    assert "ended before finishing a change it had started" in out, out
    repo.atomic("recover")
    assert not repo.exists("work.txt")


def test_status_after_a_real_crash(repo: GitRepo, tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "git_atomic",
            "run",
            "-n",
            "long",
            "--",
            "sh",
            "-c",
            f"echo $$ > {pidfile}; echo w > work.txt; exec sleep 60",
        ],
        cwd=repo.path,
        env=repo.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            if pidfile.exists() and pidfile.read_text().strip():
                break
            subprocess.run(["sleep", "0.05"], check=True)
        running = normalise(repo.atomic("status", check=0).stdout, repo)
        assert running.startswith("open: long [<id>]\n  phase  OP-EXEC")
        assert f"process  pid {proc.pid} is working on it" in running
        proc.kill()  # git-atomic dies for real; its command is left running
        proc.wait()
        out = normalise(repo.atomic("status", check=0).stdout, repo)
        assert out.startswith("interrupted: long [<id>]\n  phase  OP-EXEC\n")
        assert f"process  pid {proc.pid} is gone (killed or crashed)" in out
        assert "`git atomic recover` goes back to PRE-OP" in out
        assert (
            "  note     until then new operations in this worktree are refused (exit 3)"
            in repo.atomic("status", check=0).stdout
        )
        assert "interrupted: `git atomic recover`" in repo.atomic("log", check=0).stdout
        assert repo.atomic_json("status")["interrupted"]["name"] == "long"
        repo.atomic("recover", check=0)
        assert repo.atomic("log", check=0).stdout.rstrip().endswith("recovered after a crash")
        repo.atomic("undo", check=0)
        assert repo.read("work.txt") == b"w\n"
        assert (
            repo.atomic("log", check=0)
            .stdout.rstrip()
            .endswith("recovered after a crash; brought back by undo")
        )
    finally:
        if proc.poll() is None:
            proc.kill()
        if pidfile.exists() and pidfile.read_text().strip():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pidfile.read_text()), 9)


# --- colour and pager --------------------------------------------------------------------------
def test_colour_follows_no_color_and_git_config(story: GitRepo) -> None:
    assert "\x1b[" not in story.atomic("log", check=0).stdout  # not a terminal, NO_COLOR=1
    story.git("config", "color.atomic", "always")
    try:
        assert "\x1b[" in story.atomic("log", check=0, env={"NO_COLOR": ""}).stdout
        assert "\x1b[" not in story.atomic("log", check=0).stdout  # NO_COLOR wins
    finally:
        story.git("config", "--unset", "color.atomic")


def _on_a_terminal(repo: GitRepo, *args: str, env: dict[str, str]) -> str:
    """Run git-atomic with stdout on a real pseudo-terminal; return what reached it."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "git_atomic", *args],
        cwd=repo.path,
        env={**repo.env, **env},
        stdout=follower,
        stderr=subprocess.PIPE,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    proc.wait(timeout=60)
    os.close(leader)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_pager_like_git(story: GitRepo) -> None:
    paged = _on_a_terminal(story, "log", env={"GIT_PAGER": "sed -e 's/^/P:/'"})
    assert paged.count("P:") == 4 and "\x1b[" not in paged  # NO_COLOR=1 in the hermetic env
    coloured = _on_a_terminal(story, "log", env={"GIT_PAGER": "cat", "NO_COLOR": ""})
    assert "P:" not in coloured and "\x1b[33m" in coloured  # a terminal: colour on
    story.git("config", "pager.atomic", "false")
    try:
        plain = _on_a_terminal(story, "log", env={"PAGER": "sed -e 's/^/P:/'"})
        assert "P:" not in plain and "refactor" in plain
    finally:
        story.git("config", "--unset", "pager.atomic")


# --- help, version, man page -------------------------------------------------------------------
def test_help(repo: GitRepo) -> None:
    top = repo.atomic("help", check=0).stdout
    assert top.startswith("usage: git atomic [--version] [--help] COMMAND [ARGS]\n")
    assert "go back:\n   rollback" in top and "   undo" in top
    assert repo.atomic("--help", check=0).stdout == top
    assert repo.atomic(check=0).stdout == top
    log_help = repo.atomic("help", "log", check=0).stdout
    assert log_help == repo.atomic("log", "--help", check=0).stdout
    assert "--since SINCE" in log_help and "examples:\n  git atomic log -n 10" in log_help
    res = repo.atomic("help", "nope", check=2)
    assert res.stderr == "git-atomic: help: no command 'nope' (see `git atomic help`)\n"
    assert Path(
        repo.atomic("help", "--man-path", check=0).stdout.strip(), "man1", "git-atomic.1"
    ).is_file()


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_help_man_shows_the_page(repo: GitRepo) -> None:
    res = repo.atomic("help", "--man", check=0, env={"MANPAGER": "cat", "MANWIDTH": "80"})
    assert "GIT-ATOMIC(1)" in res.stdout and "EXIT STATUS" in re.sub(".\b", "", res.stdout)


def test_a_missing_pager_prints_instead(story: GitRepo) -> None:
    out = _on_a_terminal(story, "log", env={"GIT_PAGER": "no-such-pager-here -R"})
    assert out.count("\n") == 4 and "refactor" in out


def _console(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`code`, then the console script's entry point with `args`, in a fresh interpreter."""
    prog = (
        f"import sys\n{code}\nfrom git_atomic.cli.main import console_main\n"
        f"sys.exit(console_main({list(args)!r}))"
    )
    return subprocess.run(
        [sys.executable, "-c", prog],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
    )


def test_the_quick_exit_keeps_output_exit_code_and_exit_handlers() -> None:
    # Exit handlers run, after the command's output, which is all there; the interpreter is not
    # torn down (an object's finaliser that teardown would call is not called).
    code = (
        "import atexit; atexit.register(lambda: print('handler ran', flush=True))\n"
        "class Kept:\n    def __del__(self): print('torn down', flush=True)\n"
        "kept = Kept()"
    )
    res = _console(code, "--version")
    assert (res.returncode, res.stdout) == (0, "git-atomic 0.1.0\nhandler ran\n")
    # The exit code is the command's: a usage error is 2, and says why on one line.
    res = _console("", "no-such-command")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.startswith("git-atomic:") and res.stderr.count("\n") == 1


def test_the_quick_exit_waits_for_another_thread() -> None:
    # A thread still running (not the tool's own, which end before it returns) is not cut
    # short: the usual exit waits for it.
    code = (
        "import threading, time\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done'))).start()"
    )
    res = _console(code, "--version")
    assert (res.returncode, res.stdout) == (0, "git-atomic 0.1.0\nthread done\n")


def test_generated_files_are_current() -> None:
    res = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_docs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_page_renders() -> None:
    res = subprocess.run(
        ["man", "-l", str(MAN)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MANWIDTH": "80", "MANPAGER": "cat", "PAGER": "cat"},
    )
    assert res.returncode == 0, res.stderr
    text = re.sub(".\b", "", res.stdout)
    for heading in ("NAME", "SYNOPSIS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES"):
        assert f"\n{heading}\n" in text
    assert "git atomic rollback [--op ID]" in text and "--dry-run" in text
    if shutil.which("groff"):
        lint = subprocess.run(
            ["groff", "-man", "-Tutf8", "-ww", "-z", str(MAN)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.stderr == ""


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_git_help_opens_the_installed_page(repo: GitRepo, tmp_path: Path) -> None:
    """`git atomic --help` is `man git-atomic` to git: a prefix's bin/ maps to share/man."""
    prefix = tmp_path / "prefix"
    (prefix / "share" / "man" / "man1").mkdir(parents=True)
    shutil.copy(MAN, prefix / "share" / "man" / "man1")
    (prefix / "bin").mkdir()
    script = prefix / "bin" / "git-atomic"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m git_atomic "$@"\n')
    script.chmod(0o755)
    env = {
        **repo.env,
        "PATH": f"{prefix / 'bin'}:{os.environ['PATH']}",
        "MANPAGER": "cat",
        "MANWIDTH": "80",
    }
    env.pop("MANPATH", None)
    res = subprocess.run(
        ["git", "atomic", "--help"],
        cwd=repo.path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "GIT-ATOMIC(1)" in res.stdout


# --- completion ----------------------------------------------------------------------------------
def _bash_complete(
    words: list[str],
    *,
    via_git: bool = False,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> list[str]:
    setup = f"source {GIT_BASH_COMPLETION}; " if via_git else ""
    quoted = " ".join(f"'{w}'" for w in words)
    entry = "__git_wrap__git_main" if via_git else "__git_atomic_main"
    script = (
        f"{setup}source {BASH}; COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; "
        f'COMP_LINE="{" ".join(words)}"; COMP_POINT=${{#COMP_LINE}}; {entry}; '
        "printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    res = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=cwd,
        env=env,
    )
    return [w.strip() for w in res.stdout.splitlines() if w.strip()]


def test_bash_completion_loads_and_completes() -> None:
    res = subprocess.run(
        ["bash", "--norc", "-c", f"source {BASH}; complete -p git-atomic"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert res.stdout.strip().endswith("-F __git_atomic_main git-atomic")
    assert _bash_complete(["git-atomic", "ro"]) == ["rollback"]
    assert _bash_complete(["git-atomic", "log", "--st"]) == ["--status"]
    assert _bash_complete(["git-atomic", "log", "--status", "r"]) == ["rolled_back", "recovered"]
    assert _bash_complete(["git-atomic", "run", "--history", ""]) == ["commits", "shadow"]
    assert _bash_complete(["git-atomic", "tdd", "re"]) == ["red", "refactor"]
    assert _bash_complete(["git-atomic", "help", "un"]) == ["undo"]


def _shim(tmp_path: Path) -> str:
    """A `git-atomic` on PATH that runs this source tree, as an installed one would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    script = bin_dir / "git-atomic"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} -m git_atomic "$@"\n')
    script.chmod(0o755)
    return f"{bin_dir}:{os.environ['PATH']}"


def test_bash_completes_operation_ids(story: GitRepo, tmp_path: Path) -> None:
    ids = sorted(str(o["op_id"])[:8] for o in _ops(story))
    env = {**story.env, "PATH": _shim(tmp_path)}
    assert sorted(_bash_complete(["git-atomic", "show", ""], cwd=story.path, env=env)) == ids
    first = ids[0]
    assert _bash_complete(
        ["git-atomic", "rollback", "--op", first[:6]], cwd=story.path, env=env
    ) == [first]


@pytest.mark.skipif(not GIT_BASH_COMPLETION.exists(), reason="git's bash completion is absent")
def test_git_atomic_tab_through_gits_own_completion() -> None:
    assert _bash_complete(["git", "atomic", "sta"], via_git=True) == ["status"]
    assert _bash_complete(["git", "-C", ".", "atomic", "show", "--s"], via_git=True) == ["--stat"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_parses_and_registers(tmp_path: Path) -> None:
    shutil.copy(ZSH, tmp_path)
    subprocess.run(["zsh", "-n", str(ZSH)], check=True)
    res = subprocess.run(
        [
            "zsh",
            "-f",
            "-c",
            f"fpath=({tmp_path} $fpath); autoload -U compinit; "
            "compinit -u -D; print -r -- $_comps[git-atomic]",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert res.stdout.strip() == "_git-atomic"


def _zsh_tab(fpath: Path, line: str, expect: str) -> str:
    """Type LINE and TAB into an interactive zsh on a pty; what the screen shows after."""
    import select
    import time

    pid, fd = pty.fork()
    if pid == 0:  # the child: an interactive zsh with only our function added
        os.environ["HOME"] = str(fpath)
        os.execvp("zsh", ["zsh", "-f", "-i"])
    screen = b""

    def shown() -> str:
        return re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]|.\x08", "", screen.decode(errors="replace"))

    def read_until(marker: str, timeout: float = 20.0) -> None:
        nonlocal screen
        end = time.monotonic() + timeout
        while marker not in shown() and time.monotonic() < end:
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                try:
                    screen += os.read(fd, 65536)
                except OSError:
                    return

    try:
        os.write(
            fd,
            f"fpath=({fpath} $fpath); autoload -U compinit; compinit -u -D; "
            "PS1=$((6*7))'> '; print\n".encode(),
        )
        read_until("42> ")
        screen = b""
        os.write(fd, line.encode() + b"\t")
        read_until(expect)
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        os.close(fd)
    return shown()


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_completes(tmp_path: Path) -> None:
    shutil.copy(ZSH, tmp_path)
    assert "git-atomic log --status=" in _zsh_tab(tmp_path, "git-atomic log --st", "--status=")
    listed = _zsh_tab(tmp_path, "git-atomic tdd re", "refactor")
    assert "red" in listed and "refactor" in listed
    assert "git atomic log " in _zsh_tab(tmp_path, "git atomic lo", "log ")  # through _git


def test_json_mode_keeps_stdout_to_one_object(story: GitRepo) -> None:
    for args in (("log",), ("status",), ("show", str(_ops(story)[0]["op_id"]))):
        res = story.atomic(*args, "--json", check=0)
        assert isinstance(json.loads(res.stdout), dict) and res.stdout.count("\n") == 1


@pytest.mark.parametrize("mode", ["shadow", "commits"])
def test_an_operation_named_with_control_characters_never_drives_the_terminal(
    repo: GitRepo, mode: str
) -> None:
    """A name an agent chose (MCP `begin`, `-n`, a command's own name) with ESC and BEL set the
    terminal's title from `git atomic log` (`\\x1b]0;...\\x07`). Now each control character is
    written `\\xNN`, in every line about the operation, in `log` and `show`, and in its commit."""
    name = "x\x1b]0;pwned\x07y\tz\x9b"
    command = "echo o > o.txt; printf '\x1b]0;T\x07' >/dev/null"
    ran = repo.atomic("run", "--history", mode, "-n", name, "--", "sh", "-c", command)
    op = repo.atomic_json("log", "--json")["operations"][0]
    shown = [ran.stderr, repo.atomic("log").stdout, repo.atomic("show", op["op_id"]).stdout]
    if mode == "commits":
        shown.append(repo.git("log", "-1", "--format=%B"))
    for text in shown:
        assert not any((ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0 for c in text), text
        assert "x\\x1b]0;pwned\\x07y\\x09z\\x9b" in text, text
    assert "\\x1b]0;T\\x07" in shown[2]  # the command, in `show`
    assert op["name"] == "x\\x1b]0;pwned\\x07y\\x09z\\x9b"
