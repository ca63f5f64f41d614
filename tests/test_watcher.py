"""Scans answered by Watchman (watcher.py): exact, and the usual scan whenever Watchman cannot
say. Skipped where Watchman is not installed (CI): the reason shows in pytest's summary.

Each test watches its own temporary repository and removes the watch at the end. Whether a
capture asked Watchman or ran `git status` is read from GIT_TRACE (a scan answered by Watchman
runs no `status`), so a test that means the watcher path fails if the usual scan answered."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing import oracle
from testing.gitrepo import GitRepo

pytestmark = pytest.mark.skipif(
    shutil.which("watchman") is None, reason="Watchman is not installed (apt-get install watchman)"
)


def watchman(*args: str) -> dict[str, object]:
    res = subprocess.run(
        ["watchman", "--no-pretty", *args], capture_output=True, check=True, timeout=60
    )
    data: dict[str, object] = json.loads(res.stdout)
    assert "error" not in data, data
    return data


@pytest.fixture
def watched(repo: GitRepo) -> Iterator[GitRepo]:
    watchman("watch", str(repo.path))
    try:
        yield repo
    finally:
        subprocess.run(["watchman", "watch-del", str(repo.path)], capture_output=True, check=False)


def scans(repo: GitRepo, tmp: Path, *args: str, check: int = 0) -> tuple[str, list[str]]:
    """Run git-atomic; its stdout and how each of its scans went ("status" or "watchman")."""
    trace = tmp / "trace"
    trace.unlink(missing_ok=True)
    res = repo.atomic(*args, check=check, env={"GIT_TRACE": str(trace)})
    kinds = []
    for line in trace.read_text().splitlines():
        if "status --porcelain=v2" in line:
            kinds.append("status")
        elif "--format=%(objecttype)" in line:
            kinds.append("watchman")
    return res.stdout, kinds


def captured(repo: GitRepo, commit: str) -> oracle.Files:
    return oracle.checkpoint_files(repo.env, repo.path, commit)


def on_disk(repo: GitRepo, *ignored: bytes) -> oracle.Files:
    return {
        p: v
        for p, v in oracle.walk(repo.path).items()
        if not any(p == i or p.startswith(i + b"/") for i in ignored)
    }


def rescue_of_abort(repo: GitRepo, tmp: Path) -> tuple[oracle.Files, list[str]]:
    out, kinds = scans(repo, tmp, "abort", "--json")
    return captured(repo, json.loads(out)["checkpoints"]["rescue"]), kinds


def test_every_kind_of_change_through_watchman(watched: GitRepo, tmp_path: Path) -> None:
    repo = watched
    repo.write(".gitignore", b"build/\n!build/keep\n*.log\n")
    repo.write("a/one", b"one\n")
    repo.write("a/two", b"two\n")
    repo.write("b/three", b"three\n", mode=0o755)
    repo.write("c", b"file that becomes a folder\n")
    os.symlink("a", repo.path / "link")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    repo.write("untracked-before", b"u\n")
    # The first capture sets the watch up (its scan is git status, after Watchman's clock).
    _, kinds = scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    assert kinds == ["status"]
    before = on_disk(repo, b"build")
    repo.write("a/one", b"one, edited\n")
    (repo.path / "a" / "two").unlink()
    (repo.path / "b" / "three").chmod(0o644)
    (repo.path / "c").unlink()
    repo.write("c/inside", b"now a folder\n")
    (repo.path / "link").unlink()
    os.symlink("b", repo.path / "link")
    repo.write("new/deep/file", b"new\n")
    repo.write("build/out.o", b"ignored\n")
    repo.write("build/keep", b"ignored all the same: its folder is\n")
    repo.write("x.log", b"ignored\n")
    (repo.path / "untracked-before").unlink()
    after = on_disk(repo, b"build", b"x.log")
    rescue, kinds = rescue_of_abort(repo, tmp_path)
    assert kinds == ["watchman"]
    assert rescue == after
    assert on_disk(repo, b"build", b"x.log") == before  # the rollback itself, exact
    # undo's capture follows the restore's writes through Watchman too.
    _, kinds = scans(repo, tmp_path, "undo")
    assert on_disk(repo, b"build", b"x.log") == after
    _, kinds = scans(repo, tmp_path, "begin", "w2", "--history", "shadow")
    assert kinds == ["watchman"]
    out, _ = scans(repo, tmp_path, "abort", "--json")
    assert captured(repo, json.loads(out)["checkpoints"]["pre_op"]) == after


def test_nothing_changed_runs_no_scan_of_the_tree(watched: GitRepo, tmp_path: Path) -> None:
    repo = watched
    for i in range(30):
        repo.write(f"d{i % 3}/f{i}", b"%d\n" % i)
    scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    out, kinds = scans(repo, tmp_path, "abort", "--json")
    assert kinds == []  # neither status nor a lookup: Watchman listed nothing
    assert captured(repo, json.loads(out)["checkpoints"]["rescue"]) == on_disk(repo)


@pytest.mark.parametrize("what", ["gitignore", "exclude", "nested", "fresh", "disabled"])
def test_the_usual_scan_when_watchman_cannot_say(
    watched: GitRepo, tmp_path: Path, what: str
) -> None:
    repo = watched
    repo.write(".gitignore", b"*.tmp\n")
    repo.write("kept.tmp", b"ignored until the rules change\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    env_off = False
    if what == "gitignore":
        repo.write(".gitignore", b"# nothing ignored now\n")
    elif what == "exclude":
        (repo.path / ".git" / "info" / "exclude").write_text("# changed\n")
        repo.write("new", b"n\n")
    elif what == "nested":
        sub = GitRepo.create(repo.path / "inner", tmp_path / "home2")
        sub.write("more", b"m\n")
    elif what == "fresh":
        subprocess.run(["watchman", "watch-del", str(repo.path)], capture_output=True, check=True)
        watchman("watch", str(repo.path))
        repo.write("new", b"n\n")
    else:
        env_off = True
        repo.write("new", b"n\n")
    trace = tmp_path / "trace"
    res = repo.atomic(
        "abort",
        "--json",
        check=0,
        env={"GIT_TRACE": str(trace), **({"GIT_ATOMIC_WATCHMAN": "0"} if env_off else {})},
    )
    assert "status --porcelain=v2" in trace.read_text()
    rescue = captured(repo, json.loads(res.stdout)["checkpoints"]["rescue"])
    if what == "nested":
        assert b"inner/more" not in rescue and b"inner/README" not in rescue
    elif what == "gitignore":
        assert b"kept.tmp" in rescue
    else:
        assert b"new" in rescue and b"kept.tmp" not in rescue


def test_a_submodule_keeps_the_usual_scan(watched: GitRepo, tmp_path: Path) -> None:
    """A submodule's checked-out commit can move without a file of the worktree changing:
    no clock is kept for a tree that holds one."""
    repo = watched
    inner = GitRepo.create(tmp_path / "inner", tmp_path / "home")
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(inner.path), "m")
    repo.git("commit", "-qm", "submodule")
    scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    assert not list((repo.path / ".git" / "atomic").glob("watch-*.json"))
    _, kinds = scans(repo, tmp_path, "abort")
    assert kinds == ["status"]


def test_differential_through_watchman() -> None:
    """The differential scenario (testing/differential.py) with its captures answered by
    Watchman: a few drawn examples of it, named here so that each runs every time."""
    from testing.differential import scenario

    cases: list[tuple[str, str, dict[str, tuple[str, str, str]], dict[str, str], list]] = [
        (
            "plain",
            "shadow",
            {"a": ("file", "one\n", "commit"), "dir/c": ("link", "x", "untracked")},
            {"core.untrackedCache": "true"},
            [("write", "a", "two\r\nlines\r\n", "x"), ("delete", "dir/c"), ("chmod", "a")],
        ),
        (
            "worktree",
            "commits",
            {"e.txt": ("exec", "", "stage"), "dir/sub/d.bin": ("file", "one\n", "commit")},
            {"core.fileMode": "false", "core.splitIndex": "true"},
            [("symlink", "g", "dir"), ("same-size", "e.txt"), ("commit",)],
        ),
        (
            "gitfile",
            "shadow",
            {"g": ("file", "two\r\nlines\r\n", "commit")},
            {"core.autocrlf": "true"},
            [("write", "g", "two\nlines\n", "-"), ("write", "dir/f.bin", "one\n", "-")],
        ),
        (
            "dotfiles",
            "shadow",
            {"b.sh": ("exec", "#!/bin/sh\necho hi\n", "commit")},
            {"core.trustctime": "false", "core.checkStat": "minimal"},
            [("same-size", "b.sh"), ("delete", "README")],
        ),
        (
            "sparse",
            "commits",
            {"dir/c": ("file", "one\n", "untracked")},
            {"core.fsmonitor": "HOOK"},
            [("write", "dir/c", "two\r\nlines\r\n", "-"), ("commit",)],
        ),
    ]
    for layout, history, tree, chosen, ops in cases:
        scenario(layout, history, tree, chosen, ops, watch=True)


def test_ignored_rule_files_through_watchman(watched: GitRepo, tmp_path: Path) -> None:
    """A rule file that a rule ignores is held by every checkpoint (ignores.py). Through
    Watchman, the listing of such files is the one kept with the clock only while no rule file
    was reported since: a new `.gitignore` is a change of rules (the usual scan), a new
    `.gitattributes` is listed again."""
    repo = watched
    repo.write(".gitignore", b"sub/.gitattributes\n")
    repo.git("add", ".gitignore")
    repo.git("commit", "-qm", "rules")
    scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    scans(repo, tmp_path, "abort")  # a clock, and the listing kept with it
    scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    repo.write("venv/.gitignore", b"*\n")
    repo.write("venv/lib/x", b"ignored\n")
    repo.write("sub/.gitattributes", b"* -text\n")
    rescue, kinds = rescue_of_abort(repo, tmp_path)
    assert kinds == ["status"]  # a new .gitignore: the rules changed
    # The operation hid venv/lib/x behind its own new rule: the abort takes it too, and its
    # rescue holds it for undo.
    assert b"venv/.gitignore" in rescue and b"venv/lib/x" in rescue
    assert not os.path.lexists(repo.path / "venv")
    assert b"sub/.gitattributes" in rescue
    scans(repo, tmp_path, "undo")
    assert (
        repo.read("venv/lib/x") == b"ignored\n"
    )  # (it writes the .gitignore again: the usual scan next)
    scans(repo, tmp_path, "run", "--history", "shadow", "--", "true")
    out, kinds = scans(repo, tmp_path, "begin", "w2", "--history", "shadow", "--json")
    assert kinds == []  # Watchman: nothing changed
    pre_op = captured(repo, json.loads(out)["checkpoints"]["pre_op"])
    assert b"venv/.gitignore" in pre_op and b"sub/.gitattributes" in pre_op
    (repo.path / "sub" / ".gitattributes").unlink()
    repo.write("sub/other/.gitattributes", b"* -text\n")  # not ignored: the scan finds it
    out, kinds = scans(repo, tmp_path, "abort", "--json")
    assert kinds == ["watchman"]
    rescue = captured(repo, json.loads(out)["checkpoints"]["rescue"])
    assert b"venv/.gitignore" in rescue and b"sub/.gitattributes" not in rescue
    assert b"sub/other/.gitattributes" in rescue
    out, kinds = scans(repo, tmp_path, "begin", "w3", "--history", "shadow", "--json")
    assert kinds == ["watchman"]  # the rollback's writes; a .gitattributes among them
    pre_op = captured(repo, json.loads(out)["checkpoints"]["pre_op"])
    assert b"sub/.gitattributes" in pre_op  # put back by the rollback, listed again
    assert pre_op == on_disk(repo, b"venv/lib")


def folder_listings(repo: GitRepo, tmp: Path, *args: str) -> int:
    """Run git-atomic; how many times its captures looked for the empty folders: walks of the
    folders (folderwalk.py), and git's listings of them (folders.py) where none could be."""
    trace, steps = tmp / "trace", tmp / "steps"
    trace.unlink(missing_ok=True)
    steps.unlink(missing_ok=True)
    env = {"GIT_TRACE": str(trace), "GIT_ATOMIC_FAILPOINT_TRACE": str(steps)}
    repo.atomic(*args, check=0, env=env)
    walks = steps.read_text().splitlines().count("capture:walk") if steps.exists() else 0
    listed = trace.read_text().splitlines()
    return walks + sum("ls-files --others --directory" in line for line in listed)


def dirs_and_files(repo: GitRepo) -> set[bytes]:
    found = set()
    for folder, subdirs, names in os.walk(repo.path):
        subdirs[:] = [d for d in subdirs if d != ".git"]
        rel = os.path.relpath(folder, repo.path)
        found.update(os.fsencode(os.path.normpath(os.path.join(rel, n))) for n in subdirs + names)
    return found


def test_empty_folders_through_watchman(watched: GitRepo, tmp_path: Path) -> None:
    """The empty folders a listing found after a clock are kept with it (folders.py): while
    Watchman reports nothing but files of the tree that are still files, a capture takes them
    without listing again; a folder made or removed is listed again. Judged on the disk: a
    rollback removes the empty folders its checkpoint lacks and makes those it holds."""
    repo = watched
    repo.write("a/one", b"one\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    (repo.path / "keep" / "inner").mkdir(parents=True)
    scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    scans(repo, tmp_path, "abort")  # a clock, and the empty folders kept with it
    before = dirs_and_files(repo)
    assert b"keep/inner" in before
    assert folder_listings(repo, tmp_path, "begin", "w2", "--history", "shadow") == 0
    repo.write("a/one", b"one, edited\n")  # a file of the tree, still a file
    assert folder_listings(repo, tmp_path, "abort") == 0
    assert dirs_and_files(repo) == before  # keep/inner was in both checkpoints
    assert repo.path.joinpath("a/one").read_bytes() == b"one\n"
    # The rollback wrote a/one anew (a new file renamed into a/): listed again once.
    assert folder_listings(repo, tmp_path, "begin", "w3", "--history", "shadow") == 1
    assert folder_listings(repo, tmp_path, "abort") == 0
    assert folder_listings(repo, tmp_path, "begin", "w4", "--history", "shadow") == 0
    (repo.path / "keep" / "inner").rmdir()
    (repo.path / "made" / "empty").mkdir(parents=True)
    assert folder_listings(repo, tmp_path, "abort") == 1  # folders changed: listed again
    assert dirs_and_files(repo) == before
    scans(repo, tmp_path, "undo")  # the rescue held made/empty and no keep/inner
    after = dirs_and_files(repo)
    assert b"made/empty" in after and b"keep/inner" not in after and b"keep" in after


def test_same_bytes_written_again_through_watchman(watched: GitRepo, tmp_path: Path) -> None:
    """Files Watchman reports that hold the same bytes as before: the scan's tree is the last
    one and its index is not written again (`update-index --index-info` of a split index reads
    and writes the whole index); the next change to those files is still seen."""
    repo = watched
    repo.write("a/one", b"one\n")
    repo.write("b/two", b"two\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "tree")
    scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    scans(repo, tmp_path, "abort")
    repo.write("a/one", b"one\n")
    repo.write("b/two", b"two\n")
    trace = tmp_path / "trace"
    trace.unlink(missing_ok=True)
    out = repo.atomic(
        "begin", "w2", "--history", "shadow", "--json", check=0, env={"GIT_TRACE": str(trace)}
    ).stdout
    lines = trace.read_text().splitlines()
    assert any("--format=%(objecttype)" in line for line in lines)  # Watchman answered
    assert not any("update-index -z --index-info" in line for line in lines)
    assert captured(repo, json.loads(out)["checkpoints"]["pre_op"]) == on_disk(repo)
    repo.write("a/one", b"one, edited\n")
    edited = on_disk(repo)
    rescue, kinds = rescue_of_abort(repo, tmp_path)
    assert kinds == ["watchman"]
    assert rescue == edited  # the rescue read the edit
    assert repo.path.joinpath("a/one").read_bytes() == b"one\n"  # rolled back
    scans(repo, tmp_path, "undo")
    assert repo.path.joinpath("a/one").read_bytes() == b"one, edited\n"


def test_watchman_is_asked_over_its_socket_and_a_stale_name_is_learnt_again(
    watched: GitRepo, tmp_path: Path
) -> None:
    """Watchman's command-line client runs once, for its socket's name; every later capture
    talks to the socket itself (no process). A kept name that no longer answers (Watchman
    restarted elsewhere) is asked again, and the scan still goes through Watchman."""
    repo = watched
    real = shutil.which("watchman")
    assert real is not None
    shims = tmp_path / "bin"
    shims.mkdir()
    calls = tmp_path / "calls"
    shim = shims / "watchman"
    shim.write_text(f'#!/bin/sh\necho "$*" >> {calls}\nexec {real} "$@"\n')
    shim.chmod(0o755)
    env = {"PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    repo.env.update(env)
    repo.write("a", b"1\n")
    _, kinds = scans(repo, tmp_path, "begin", "w", "--history", "shadow")
    assert kinds == ["status"]
    assert calls.read_text().split("\n")[:-1] == ["--no-spawn --no-pretty get-sockname"]
    calls.unlink()
    repo.write("a", b"2\n")
    after = on_disk(repo)
    rescue, kinds = rescue_of_abort(repo, tmp_path)
    assert kinds == ["watchman"]
    assert rescue == after
    assert not calls.exists()  # no process: the socket
    kept = repo.path / ".git" / "atomic" / "watchman-sock.json"
    record = json.loads(kept.read_text())
    record["sockname"] = str(tmp_path / "gone" / "sock")
    kept.write_text(json.dumps(record))
    repo.write("a", b"3\n")
    _, kinds = scans(repo, tmp_path, "begin", "w2", "--history", "shadow")
    assert kinds == ["watchman"]
    assert calls.read_text().split("\n")[:-1] == ["--no-spawn --no-pretty get-sockname"]
    repo.write("b", b"new\n")
    after = on_disk(repo)
    rescue, kinds = rescue_of_abort(repo, tmp_path)
    assert kinds == ["watchman"]
    assert rescue == after


def test_a_worktree_watchman_does_not_watch_is_not_asked_again_for_a_while(
    repo: GitRepo, tmp_path: Path
) -> None:
    """Watchman running but not watching this worktree: a cold command paid a connection and
    a JSON answer (a process where Watchman was installed but not running) at every capture.
    The answer is kept 30 seconds; a watch begun meanwhile is taken up by the first capture
    after, and a scan without a clock is the usual one (so never wrong, only slower)."""
    mark = repo.path / ".git" / "atomic" / "unwatched-main"
    repo.atomic("run", "--", "true", check=0)
    assert mark.exists()
    repo.write("a.txt", b"one\n")
    _, kinds = scans(repo, tmp_path, "run", "--", "true")
    assert kinds and set(kinds) == {"status"} and mark.exists()
    watchman("watch", str(repo.path))  # Watchman's state file changes: asked again
    try:
        repo.write("a.txt", b"two\n")
        scans(repo, tmp_path, "run", "--", "true")  # takes the clock
        assert not mark.exists()
        repo.write("a.txt", b"three\n")
        _, kinds = scans(repo, tmp_path, "run", "--", "true")
        assert "watchman" in kinds and "status" not in kinds
    finally:
        subprocess.run(["watchman", "watch-del", str(repo.path)], capture_output=True, check=False)


def test_a_dry_run_asks_no_watchman_and_leaves_a_watched_repository_as_it_was(
    watched: GitRepo, tmp_path: Path
) -> None:
    """Watchman settles its view by writing a cookie file in the repository (in `.git`): a dry
    run asks it nothing (git's status answers), and leaves every entry as it was."""
    repo = watched
    repo.write("a.txt", b"a\n")
    repo.atomic("run", "--no-gates", "--", "sh", "-c", "echo op >> a.txt; echo n > new", check=0)
    scans(repo, tmp_path, "begin", "w")  # sets the watch up
    repo.atomic("abort", check=0)
    _, kinds = scans(repo, tmp_path, "begin", "probe")  # the watch answers a real scan
    assert "status" not in kinds, kinds
    repo.atomic("abort", check=0)
    repo.write("yours.txt", b"since\n")
    before = oracle.walk_exact(repo.path)
    _, kinds = scans(repo, tmp_path, "rollback", "--dry-run")
    after = oracle.walk_exact(repo.path)
    assert [p for p in before.keys() | after.keys() if before.get(p) != after.get(p)] == []
    assert kinds == ["status"], kinds  # git's status, not the watch


def test_a_watchman_that_does_not_answer_is_not_asked_again_until_it_restarts(
    repo: GitRepo, tmp_path: Path
) -> None:
    """A Watchman that takes the connection and never answers (a 4.9 server was seen so: it
    answered `version`, never `watch-list`) costs one wait of watchmanlink.TIMEOUT_S, not one per
    capture: the captures after it do not connect while its socket is the same file. One made
    anew (a restarted Watchman) is asked at once. Counted at a socket of our own in its place."""
    import socket
    import threading

    folder = tmp_path / "wm"
    folder.mkdir()
    sockname = folder / "sock"
    asked: list[str] = []
    held: list[socket.socket] = []

    def serve(server: socket.socket, answer: bytes | None) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            asked.append("stuck" if answer is None else "answered")
            if answer is None:
                held.append(conn)  # taken, never answered, never closed
            else:
                with conn:
                    conn.recv(1 << 16)
                    conn.sendall(answer)

    def start(answer: bytes | None) -> socket.socket:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(sockname))
        server.listen(8)
        threading.Thread(target=serve, args=(server, answer), daemon=True).start()
        return server

    env = {"WATCHMAN_SOCK": str(sockname), "GIT_ATOMIC_HELPER": "0"}
    server = start(None)
    try:
        for n in range(3):
            repo.write("a.txt", f"{n}\n".encode())
            repo.atomic("run", "--", "true", check=0, env=env)
            # the "not watched" answer of 30 seconds must not be what spares the later ones
            for mark in (repo.path / ".git" / "atomic").glob("unwatched-*"):
                mark.unlink()
        assert asked == ["stuck"], asked
        server.close()
        sockname.unlink()
        server = start(b'{"version": "4.9.0", "roots": []}\n')  # restarted: a new socket
        repo.atomic("run", "--", "true", check=0, env=env)
        assert asked == ["stuck", "answered"], asked
    finally:
        server.close()
        for conn in held:
            conn.close()
