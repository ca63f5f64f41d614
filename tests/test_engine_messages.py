"""Engine: a checkpoint's commit can carry a given message, or make no commit at all."""

from __future__ import annotations

from git_atomic.core.vocab import CheckpointKind, HistoryMode, OpKind
from git_atomic.engine import discovery
from git_atomic.ops import context
from git_atomic.ops.operation import Engine
from testing.gitrepo import GitRepo


def _engine(repo: GitRepo) -> Engine:
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    return Engine(context.Context(g, context.open_journal(g), None))  # type: ignore[arg-type]


def _subjects(repo: GitRepo) -> list[str]:
    return repo.git("log", "--format=%s").splitlines()


def test_commit_message_replaces_the_phase_message(repo: GitRepo) -> None:
    engine = _engine(repo)
    op = engine.begin("tdd-red", history=HistoryMode.COMMITS, kind=OpKind.TDD)
    repo.write("test_x.py", b"def test_x(): assert False\n")
    row = engine.checkpoint(
        op, CheckpointKind.POST_OP, "rule kept", commit_message="RED: x fails\n\nbody"
    )
    assert repo.git("log", "-1", "--format=%B").rstrip("\n") == "RED: x fails\n\nbody"
    assert row.commit_sha == repo.head()
    assert repo.git("status", "--porcelain") == ""


def test_commit_false_keeps_a_checkpoint_and_leaves_the_branch(repo: GitRepo) -> None:
    repo.write("README", b"changed\n")  # the person's work in progress: never committed
    engine = _engine(repo)
    op = engine.begin("x", history=HistoryMode.COMMITS, kind=OpKind.TDD)
    head = repo.head()
    assert _subjects(repo) == ["initial"]  # PRE-OP is a checkpoint, not a commit
    repo.write("a", b"a\n")
    row = engine.checkpoint(op, CheckpointKind.OP_EXEC, "stage", commit=False)
    assert repo.head() == head and row.commit_sha is None
    assert repo.git("status", "--porcelain") == " M README\n?? a\n"
    # The next commit holds the operation's effect since PRE-OP, and only that.
    engine.checkpoint(op, CheckpointKind.POST_OP, "done", commit_message="GREEN: a")
    assert _subjects(repo)[:2] == ["GREEN: a", "initial"]
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == ["a"]
    assert repo.git("status", "--porcelain") == " M README\n"


def test_tree_is_the_change_commits_tracked_files_and_leaves_untracked_ones(
    repo: GitRepo,
) -> None:
    repo.write("README", b"changed\n")
    repo.write("new_test.py", b"x = 1\n")  # an untracked draft: stays out, as git commit -a
    engine = _engine(repo)
    before = repo.head()
    op = engine.begin(
        "tdd-green", history=HistoryMode.COMMITS, kind=OpKind.TDD, tree_is_the_change=True
    )
    assert repo.head() == before
    assert engine.journal.checkpoints(op.id)[0].commit_sha is None
    engine.checkpoint(op, CheckpointKind.POST_OP, "rule kept", commit_message="GREEN: y")
    assert _subjects(repo) == ["GREEN: y", "initial"]
    assert repo.git("show", "--name-only", "--format=", "HEAD").split() == ["README"]
    assert repo.git("status", "--porcelain") == "?? new_test.py\n"


def test_shadow_mode_ignores_commit_message(repo: GitRepo) -> None:
    engine = _engine(repo)
    op = engine.begin("x", history=HistoryMode.SHADOW, kind=OpKind.TDD)
    repo.write("a", b"a\n")
    row = engine.checkpoint(op, CheckpointKind.POST_OP, "done", commit_message="GREEN: a")
    assert _subjects(repo) == ["initial"] and row.commit_sha is None
