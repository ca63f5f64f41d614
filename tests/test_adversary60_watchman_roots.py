"""The root Watchman watches for a worktree is found by asking `clock` of the worktree and of
each folder above it (watcher.py), never by `watch-list`: Watchman 4.9 answers `watch-list`
nothing at all while one of its roots, anywhere, has a name that is not UTF-8 (its JSON
cannot carry it), and a capture then waited 5 s for it and scanned the usual way, at every
capture after the 30 s its "not watched" is kept. A socket of our own stands in for Watchman
(`WATCHMAN_SOCK`): it answers as 4.9 does, and never answers `watch-list`."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo


class FakeWatchman:
    """One command a connection, answered as Watchman 4.9 answers it; `watch-list` never."""

    def __init__(self, folder: Path, roots: set[str]) -> None:
        self.roots = roots
        self.asked: list[list[object]] = []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(folder / "sock"))
        self.server.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                got = b""
                while not got.endswith(b"\n"):
                    chunk = conn.recv(1 << 16)
                    if not chunk:
                        break
                    got += chunk
                command = json.loads(got)
                self.asked.append(command)
                if command[0] == "watch-list":
                    time.sleep(10)  # (a root not UTF-8: nothing comes)
                    continue
                if command[0] == "clock" and command[1] in self.roots:
                    answer: dict[str, object] = {"version": "4.9.0", "clock": "c:1:2:3:4"}
                elif command[0] == "get-config" and command[1] in self.roots:
                    answer = {"version": "4.9.0", "config": {}}  # no .watchmanconfig
                else:
                    root = command[1] if len(command) > 1 else ""
                    error = f"unable to resolve root {root}: directory {root} is not watched"
                    answer = {"version": "4.9.0", "error": error}
                conn.sendall(json.dumps(answer).encode() + b"\n")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    found = tmp_path / "wm"
    found.mkdir()
    (found / "state").write_text('{"watched": []}')
    yield found


def test_the_clock_of_a_watched_worktree_without_watch_list(repo: GitRepo, folder: Path) -> None:
    real = os.path.realpath(repo.path)
    fake = FakeWatchman(folder, {real})
    env = {"WATCHMAN_SOCK": str(folder / "sock"), "GIT_ATOMIC_HELPER": "0"}
    try:
        repo.write("a.txt", b"a\n")
        started = time.monotonic()
        repo.atomic("begin", "w", check=0, env=env)
        assert time.monotonic() - started < 4  # no 5 s wait for an answer that never comes
    finally:
        fake.close()
    # The scan that sets the watch up; the root's ignore_dirs (watcher._sees_all).
    assert [c[:2] for c in fake.asked] == [["clock", real], ["get-config", real]]
    record = json.loads((repo.path / ".git" / "atomic" / "watch-main.json").read_text())
    assert (record["root"], record["relative"], record["clock"]) == (real, "", "c:1:2:3:4")
    assert not (repo.path / ".git" / "atomic" / "unwatched-main").exists()


def test_a_root_above_the_worktree(repo: GitRepo, folder: Path) -> None:
    real = os.path.realpath(repo.path)
    above = os.path.dirname(real)
    fake = FakeWatchman(folder, {above})
    env = {"WATCHMAN_SOCK": str(folder / "sock"), "GIT_ATOMIC_HELPER": "0"}
    try:
        repo.atomic("begin", "w", check=0, env=env)
    finally:
        fake.close()
    assert [c[:2] for c in fake.asked] == [["clock", real], ["clock", above], ["get-config", above]]
    record = json.loads((repo.path / ".git" / "atomic" / "watch-main.json").read_text())
    assert (record["root"], record["relative"]) == (above, os.path.basename(real))


def test_not_watched_is_asked_once_until_watchmans_watches_change(
    repo: GitRepo, folder: Path
) -> None:
    """Nothing watched: the first capture asks the worktree and each folder above it, once;
    the next ones within 30 seconds ask nothing, and one after Watchman's state file changed
    (a watch begun or ended) asks again."""
    fake = FakeWatchman(folder, set())
    env = {"WATCHMAN_SOCK": str(folder / "sock"), "GIT_ATOMIC_HELPER": "0"}
    real = Path(os.path.realpath(repo.path))
    every = [str(real), *map(str, real.parents)]
    try:
        for n in range(2):
            repo.write("a.txt", f"{n}\n".encode())
            repo.atomic("run", "--", "true", check=0, env=env)
        assert [(c[0], c[1]) for c in fake.asked] == [("clock", p) for p in every]
        state = folder / "state"
        state.write_text('{"watched": [{"path": "/elsewhere"}]}')
        os.utime(state, ns=(state.stat().st_atime_ns, state.stat().st_mtime_ns + 1_000_000))
        repo.atomic("run", "--", "true", check=0, env=env)
        assert len(fake.asked) == 2 * len(every)
    finally:
        fake.close()
    assert not (repo.path / ".git" / "atomic" / "watch-main.json").exists()
