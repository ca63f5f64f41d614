"""Every attributes file git reads is one to the engine (engine/rulefiles.py): a `.gitattributes`,
the repository's `.git/info/attributes`, and a `core.attributesFile` that is a file of the
worktree (named relative to the top, inside a folder, or by its whole path). An operation that
adds a line-ending rule or a filter to one of them and rewrites the files it converts (as a
checkout would: `a\\r\\n` where `a\\n` was, the same blob to git), or one that takes such a rule
away, is taken back to the bytes on disk before it, and leaves `git status` as clean as it was,
whichever of them holds the rule and wherever the command is run from. `undo` brings the
operation's bytes back. The oracle is the disk: every file's kind, bits and bytes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo
from tests.test_excludes_file_in_tree import disk

# (where the rule file is, how core.attributesFile names it: None when it is not that file)
KINDS = {
    "gitattributes": (".gitattributes", None),
    "info-attributes": (".git/info/attributes", None),
    "attributesFile-relative": (".myattrs", ".myattrs"),
    "attributesFile-folder": ("conf/attrs", "conf/attrs"),
    "attributesFile-absolute": (".myattrs", "{root}/.myattrs"),
}

# (the rule file's lines before, the operation's script with RULE for the rule file)
OPERATIONS = {
    "adds-eol": (
        b"# rules\n",
        "printf '*.txt text eol=crlf\\n' >> RULE; printf 'a\\r\\nb\\r\\n' > a.txt",
    ),
    "adds-filter": (
        b"# rules\n",
        "printf '*.up filter=upper\\n' >> RULE; printf 'LOWER\\n' > x.up",
    ),
    "removes-eol": (
        b"*.txt text eol=crlf\n",
        "printf '# rules\\n' > RULE; printf 'a\\nb\\n' > a.txt",
    ),
}


def setup(repo: GitRepo, kind: str, operation: str) -> str:
    where, configured = KINDS[kind]
    repo.git("config", "filter.upper.clean", "tr a-z A-Z")
    repo.git("config", "filter.upper.smudge", "cat")
    repo.write(where, OPERATIONS[operation][0])
    if configured is not None:
        repo.git("config", "core.attributesFile", configured.format(root=repo.path))
    crlf = operation == "removes-eol"
    repo.write("a.txt", b"a\r\nb\r\n" if crlf else b"a\nb\n")
    repo.write("x.up", b"lower\n")
    repo.write("sub/keep", b"k\n")
    repo.git("add", "-A")
    repo.git("commit", "-qm", "files")
    assert repo.git("status", "--porcelain") == ""
    return where


def run_from(repo: GitRepo, folder: str, *args: str, check: int = 0, **env: str) -> str:
    return repo.atomic(*args, check=check, cwd=repo.path / folder, env=env).stdout


def in_sh(repo: GitRepo, script: str) -> None:
    subprocess.run(["sh", "-c", script], cwd=repo.path, env=repo.env, check=True)


def take_back(repo: GitRepo, how: str, script: str, **env: str) -> dict[bytes, object] | None:
    """The operation `script`, taken back `how`: the disk after it (for `undo`), None where
    no undo follows."""
    folder = "sub" if how.endswith("-in-sub") else ""
    whole = f"cd {repo.path} && {script}"
    if how == "failed-run":
        run_from(repo, folder, "run", "--", "sh", "-c", f"{whole}; exit 1", check=1, **env)
        return None
    if how == "abort-in-sub":
        run_from(repo, folder, "begin", "attrs", **env)
        in_sh(repo, script)
        run_from(repo, folder, "checkpoint", "-m", "half", **env)
        run_from(repo, folder, "abort", **env)
        return None
    history = ["--history", "shadow"] if how == "rollback-op" else []
    run_from(repo, folder, "run", "--no-gates", *history, "--", "sh", "-c", whole, **env)
    done = dict(disk(repo.path))
    if how == "rollback-op":
        op_id = repo.atomic_json("log")["operations"][0]["op_id"]
        run_from(repo, folder, "rollback", "--op", op_id, **env)
    else:
        run_from(repo, folder, "rollback", **env)
    return done


HOWS = ["failed-run", "rollback", "rollback-in-sub", "rollback-op", "abort-in-sub"]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("how", HOWS)
def test_an_operation_on_an_attributes_file_is_taken_back_to_the_bytes(
    repo: GitRepo, kind: str, operation: str, how: str
) -> None:
    where = setup(repo, kind, operation)
    before = disk(repo.path)
    done = take_back(repo, how, OPERATIONS[operation][1].replace("RULE", where))
    after = disk(repo.path)
    assert after == before, sorted(set(after.items()) ^ set(before.items()))
    assert repo.git("status", "--porcelain") == ""
    if done is not None:
        run_from(repo, "sub" if how.endswith("-in-sub") else "", "undo")
        again = disk(repo.path)
        assert again == done, sorted(set(again.items()) ^ set(done.items()))


@pytest.mark.skipif(shutil.which("watchman") is None, reason="Watchman is not installed")
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_through_watchman(repo: GitRepo, kind: str, tmp_path: Path) -> None:
    """The same, the scans answered by Watchman where it can (watcher.py): an attributes file
    reported changed lists the ignored rule files again, whichever kind it is."""
    where = setup(repo, kind, "adds-eol")
    subprocess.run(["watchman", "watch", str(repo.path)], capture_output=True, check=True)
    try:
        run_from(repo, "", "run", "--no-gates", "--", "true")  # a first clock
        before = disk(repo.path)
        trace = tmp_path / "trace"
        script = OPERATIONS["adds-eol"][1].replace("RULE", where)
        done = take_back(repo, "rollback-in-sub", script, GIT_TRACE=str(trace))
        after = disk(repo.path)
        assert after == before, sorted(set(after.items()) ^ set(before.items()))
        assert repo.git("status", "--porcelain") == ""
        assert "--format=%(objecttype)" in trace.read_text()  # Watchman answered a scan
        run_from(repo, "sub", "undo")
        assert disk(repo.path) == done
    finally:
        subprocess.run(["watchman", "watch-del", str(repo.path)], capture_output=True, check=False)


@pytest.mark.parametrize("watched", [False, True], ids=["status", "watchman"])
@pytest.mark.parametrize("kind", ["gitattributes", "attributesFile-relative", "excludesFile"])
def test_an_ignored_rule_file_is_held_and_put_back(
    repo: GitRepo, kind: str, watched: bool, tmp_path: Path
) -> None:
    """A rule ignores the rule file (`.myattrs` in your `.gitignore`, a `.myignore` that ignores
    itself; untracked): a checkpoint holds it all the same (ignores.py), and the rollback writes
    back its rules. The worktree's core.attributesFile or core.excludesFile was no rule file
    to the listing of ignored ones: the operation's rules stayed."""
    if watched and shutil.which("watchman") is None:
        pytest.skip("Watchman is not installed")
    if kind == "excludesFile":
        where = ".myignore"
        repo.write(where, b".myignore\n")
        repo.git("config", "core.excludesFile", where)
        script = "printf 'new.txt\\n' >> .myignore; printf 'n\\n' > new.txt"
        repo.write("a.txt", b"a\n")
    else:
        where = setup(repo, kind, "adds-eol")
        repo.git("rm", "-q", "--cached", where)
        repo.write(".gitignore", f"{where}\n".encode())
        script = OPERATIONS["adds-eol"][1].replace("RULE", where)
    repo.git("add", "-A")
    repo.git("commit", "-qm", "ignored rules")
    assert repo.git("status", "--porcelain", "--ignored") == f"!! {where}\n"
    if watched:
        subprocess.run(["watchman", "watch", str(repo.path)], capture_output=True, check=True)
    try:
        run_from(repo, "", "run", "--no-gates", "--", "true")  # a first clock
        before = disk(repo.path)
        trace = tmp_path / "trace"
        done = take_back(repo, "rollback", script, GIT_TRACE=str(trace))
        after = disk(repo.path)
        assert after == before, sorted(set(after.items()) ^ set(before.items()))
        assert repo.git("status", "--porcelain") == ""
        if watched and kind != "excludesFile":  # (changed ignore rules: the usual scan)
            assert "--format=%(objecttype)" in trace.read_text()  # Watchman answered
        run_from(repo, "", "undo")
        assert disk(repo.path) == done
    finally:
        if watched:
            subprocess.run(["watchman", "watch-del", str(repo.path)], capture_output=True)


def test_a_linked_attributes_file_in_the_worktree_is_not_read_through(
    repo: GitRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worktree core.attributesFile that is a link out of the worktree: never read through
    (nothing outside the worktree is read through a link); it counts as naming a conversion,
    so the capture takes its exact way. Before, its target was read, and one without a
    conversion word let the fast way be taken on rules read from outside."""
    from git_atomic.engine import conversion, discovery

    outside = tmp_path / "outside-attrs"
    outside.write_bytes(b"# nothing here\n")
    (repo.path / ".myattrs").symlink_to(outside)
    repo.git("config", "core.attributesFile", ".myattrs")
    monkeypatch.chdir(repo.path)
    for name, value in repo.env.items():
        monkeypatch.setenv(name, value)
    found = discovery.discover(str(repo.path))
    assert conversion._attribute_files_mention_conversion(found, [], frozenset()) is True
    (repo.path / ".myattrs").unlink()
    (repo.path / ".myattrs").write_bytes(b"# nothing here\n")
    assert conversion._attribute_files_mention_conversion(found, [], frozenset()) is False
