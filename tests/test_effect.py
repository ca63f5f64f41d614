"""The effect engine (effect.py) through its API, as the agent-turn engine calls it."""

from __future__ import annotations

from git_atomic.engine import checkpoint, discovery, snapshot
from git_atomic.ops import context, effect
from git_atomic.ops.operation import Engine
from testing.gitrepo import GitRepo, State

TEXT = b"".join(b"line %d\n" % i for i in range(1, 10))


def _engine(repo: GitRepo) -> Engine:
    discovery.discover.cache_clear()
    g = discovery.discover(str(repo.path))
    return Engine(context.Context(g, context.open_journal(g), None))  # type: ignore[arg-type]


def _cp(repo: GitRepo) -> str:
    return snapshot.capture(_engine(repo).repo, message="t", ref=None).snapshot.commit


def _now(engine: Engine) -> checkpoint.Snapshot:
    return snapshot.capture(engine.repo, message="probe", ref=None).snapshot


def _line(n: int, text: bytes) -> bytes:
    lines = TEXT.split(b"\n")
    lines[n - 1] = text
    return b"\n".join(lines)


def _shared(repo: GitRepo) -> None:
    repo.write("shared.txt", TEXT)
    repo.git("add", "shared.txt")
    repo.git("commit", "-qm", "shared")


def test_nothing_since_is_the_exact_before_state(repo: GitRepo) -> None:
    _shared(repo)
    before_state = repo.fingerprint()
    before = _cp(repo)
    repo.write("op.txt", b"op\n")
    repo.git("add", "op.txt")
    repo.write("shared.txt", _line(2, b"op"))
    after = _cp(repo)
    engine = _engine(repo)
    found = effect.take_back(engine.repo, [effect.Step(before, after)], _now(engine))
    assert found.exact and found.target is not None and found.target.commit == before
    effect.carry_out(engine, found, op_id=None, event="rollback")
    assert repo.fingerprint() == before_state


def test_other_writers_changes_stay_and_the_effect_goes(repo: GitRepo) -> None:
    _shared(repo)
    before = _cp(repo)
    repo.write("op.txt", b"op\n")
    repo.write("shared.txt", _line(2, b"op"))
    after = _cp(repo)
    # Since then: the user edits another hunk of the same file and another file; a second
    # session writes a new file and stages it.
    repo.write("shared.txt", _line(2, b"op").replace(b"line 8", b"user"))
    repo.write("README", b"user edit\n")
    repo.write("docs.md", b"session B\n")
    repo.git("add", "docs.md")
    engine = _engine(repo)
    found = effect.take_back(engine.repo, [effect.Step(before, after)], _now(engine))
    assert not found.exact and not found.conflicts and found.changes_something
    result = effect.carry_out(engine, found, op_id=None, event="rollback")
    assert repo.read("shared.txt") == _line(8, b"user")
    assert not repo.exists("op.txt")
    assert repo.read("README") == b"user edit\n"
    assert repo.read("docs.md") == b"session B\n"
    assert "docs.md" in repo.git("diff", "--cached", "--name-only")
    # Re-applying the effect (undo) brings the operation's change back, theirs still there.
    engine = _engine(repo)
    again = effect.take_back(engine.repo, [effect.Step(result.rescue, result.target)], _now(engine))
    assert again.exact  # nothing changed since the move: the rescue itself
    effect.carry_out(engine, again, op_id=None, event="undo")
    assert repo.read("shared.txt") == _line(2, b"op").replace(b"line 8", b"user")
    assert repo.read("op.txt") == b"op\n"


def test_an_overlap_changes_nothing_and_names_the_path(repo: GitRepo) -> None:
    _shared(repo)
    before = _cp(repo)
    repo.write("shared.txt", _line(2, b"op"))
    after = _cp(repo)
    repo.write("shared.txt", _line(2, b"user"))
    state: State = repo.fingerprint()
    engine = _engine(repo)
    found = effect.take_back(engine.repo, [effect.Step(before, after)], _now(engine))
    assert found.target is None
    assert [(c.path, c.where, c.kind) for c in found.conflicts] == [
        (b"shared.txt", "files", "content")
    ]
    assert effect.conflict_lines(found) == ["shared.txt: content (near line 2), in the files"]
    assert repo.fingerprint() == state


def test_a_turn_is_the_sum_of_its_calls_not_what_happened_between(repo: GitRepo) -> None:
    _shared(repo)
    b1 = _cp(repo)
    repo.write("shared.txt", _line(1, b"call one"))
    a1 = _cp(repo)
    repo.write("shared.txt", _line(1, b"call one").replace(b"line 5", b"user between"))
    repo.write("between.txt", b"user\n")
    b2 = _cp(repo)
    repo.write("shared.txt", _line(1, b"call one").replace(b"line 5", b"user between") + b"two\n")
    repo.write("call2.txt", b"2\n")
    a2 = _cp(repo)
    engine = _engine(repo)
    steps = [effect.Step(b1, a1), effect.Step(b2, a2)]
    found = effect.take_back(engine.repo, steps, _now(engine))
    assert not found.exact and found.target is not None
    effect.carry_out(engine, found, op_id=None, event="rollback")
    assert repo.read("shared.txt") == _line(5, b"user between")
    assert repo.read("between.txt") == b"user\n"
    assert not repo.exists("call2.txt")
    engine = _engine(repo)
    back = effect.reapply(engine.repo, steps, _now(engine))
    assert back.target is not None and not back.conflicts
    effect.carry_out(engine, back, op_id=None, event="undo")
    assert repo.read("shared.txt") == (
        _line(1, b"call one").replace(b"line 5", b"user between") + b"two\n"
    )
    assert repo.read("call2.txt") == b"2\n"


def test_a_branch_with_later_commits_stays(repo: GitRepo) -> None:
    _shared(repo)
    before = _cp(repo)
    repo.write("op.txt", b"op\n")
    repo.git("add", "op.txt")
    repo.git("commit", "-qm", "the operation's commit")
    after = _cp(repo)
    repo.write("user.txt", b"u\n")
    repo.git("add", "user.txt")
    repo.git("commit", "-qm", "the user's commit")
    tip = repo.head()
    engine = _engine(repo)
    found = effect.take_back(engine.repo, [effect.Step(before, after)], _now(engine))
    assert found.kept == ("refs/heads/main",)
    effect.carry_out(engine, found, op_id=None, event="rollback")
    assert repo.head() == tip
    assert not repo.exists("op.txt") and repo.read("user.txt") == b"u\n"
    assert repo.git("status", "--porcelain") == "D  op.txt\n"
