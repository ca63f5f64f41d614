"""Concurrency property (issue 15): an operation's writes interleaved with another writer's.

Each example is a real repository with three text files. An operation (its writes bracketed by
checkpoints, as an agent turn's tool calls are) and another writer (a user, a second session) write
lines of shared and of disjoint files, and new files, in a random order; in the first property they
also delete files and copy them (files alike, which git's merge pairs as renames where one is
deleted and another made: the model, like an effect, is path by path). Then: rollback of the
operation's effect, more writes by the other writer, `undo` of that rollback, more writes, rollback
again. After each move the disk is compared with a model: a per-line three-way merge (the writable
lines are three lines apart, so each is its own hunk for git). The move either changed the disk to
exactly what the model says (the other writer's changes intact, the operation's gone, then back,
then gone), or the model has an overlap and the disk did not change at all.

A second property does the same through the commands (`run`, `rollback`, `undo`, `rollback
--op`), with the other writer's changes made between them. A third has an agent turn's shell
call run while you write and another session makes calls of its own; the turn's take-back
leaves the other session's changes (real hook calls).

Examples: GIT_ATOMIC_EFFECT_EXAMPLES (default 12 for the engine, a third of that for the
commands and a quarter for the turns; about 35 s of CPU in all).
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from git_atomic.engine import discovery, snapshot
from git_atomic.ops import context, effect
from git_atomic.ops.operation import Engine
from testing import agents
from testing.gitrepo import GitRepo, read_index

FILES = ("one.txt", "two.txt", "three.txt")
SLOTS = 3  # writable lines per file, at lines 1, 4 and 7
VALUES = ("red", "blue", "gray")  # few, so that both writers sometimes write the same thing

# path -> the writable lines and, last, the executable bit ("x" or "-"); None: no such file.
# git merges a file's mode apart from its bytes, as the model merges each element apart.
State = dict[str, tuple[str, ...] | None]
Write = tuple[str, str, int, str]  # (who, file or "new", slot, value)


def _examples() -> int:
    return int(os.environ.get("GIT_ATOMIC_EFFECT_EXAMPLES") or 12)


write = st.tuples(
    st.sampled_from(("op", "other")),
    st.sampled_from((*FILES, "new")),
    st.integers(0, SLOTS - 1),
    st.sampled_from(VALUES),
)
# Deletions, copies and mode changes too (for the engine's property): every file shares its
# fixed lines, so git's merge pairs a deleted file with a new one as a rename; the model is
# path by path.
change = st.one_of(
    write,
    st.tuples(
        st.sampled_from(("op", "other")),
        st.sampled_from(("copy", "delete", "chmod")),
        st.integers(0, 7),
        st.sampled_from(VALUES),
    ),
)
# The other writer also stages everything there is (`git add -A`) or commits it: the files stay
# as they are, and no move may take such a commit off the branch.
others = st.lists(
    st.tuples(
        st.just("other"),
        st.sampled_from((*FILES, *FILES, "stage", "commit", "chmod")),
        st.integers(0, SLOTS - 1),
        st.sampled_from(VALUES),
    ),
    max_size=3,
)


def _text(lines: tuple[str, ...]) -> bytes:
    # Every line of a file unique (the slot in each): git's merges use the histogram diff,
    # which aligns repeated lines its own way, so a model of hunks needs unique lines.
    return b"".join(
        f"{i}:{v}\nfixed {i}a\nfixed {i}b\n".encode() for i, v in enumerate(lines[:SLOTS])
    )


def _fresh(value: str) -> tuple[str, ...]:
    """A new file's writable lines, all `value`, not executable."""
    return (value,) * SLOTS + ("-",)


class World:
    """The repository, the model of its files, and the engine."""

    def __init__(self, root: Path) -> None:
        self.repo = GitRepo.create(root / "repo", root / "home")
        self.model: State = {f: _fresh("base") for f in FILES}
        for f in FILES:
            self.repo.write(f, _text(self.model[f] or ()))
        self.repo.git("add", ".")
        self.repo.git("commit", "-qm", "files")
        self.index: State = dict(self.model)  # what is staged, as the model has it
        self.created = 0
        self.commits: list[str] = []  # the other writer's commits

    def engine(self) -> Engine:
        discovery.discover.cache_clear()
        g = discovery.discover(str(self.repo.path))
        return Engine(context.Context(g, context.open_journal(g), None))  # type: ignore[arg-type]

    def capture(self) -> str:
        return snapshot.capture(self.engine().repo, message="t", ref=None).snapshot.commit

    def write(self, who: str, path: str, slot: int, value: str) -> None:
        if path in ("stage", "commit"):
            self.repo.git("add", "-A")
            self.index = dict(self.model)
            if path == "commit":
                self.repo.git("commit", "-q", "--no-verify", "--allow-empty", "-m", "other")
                self.commits.append(self.repo.head())
            return
        there = sorted(p for p, lines in self.model.items() if lines is not None)
        if path == "chmod":  # any file there is: its executable bit flipped
            if there:
                path = there[slot % len(there)]
                lines = self.model[path] or ()
                self.model[path] = (*lines[:SLOTS], "-" if lines[SLOTS] == "x" else "x")
                self._put(path)
            return
        if path == "delete":  # any file there is, the other writer's new ones too
            if there:
                path = there[slot % len(there)]
                self.model[path] = None
                os.unlink(self.repo.path / path)
            return
        if path == "copy":  # a new file of `who`'s, a copy of one there is
            if not there:
                return
            copied = self.model[there[slot % len(there)]]
            assert copied is not None
            self.created += 1
            path = f"{who}-copy-{self.created}.txt"
            lines: tuple[str, ...] = copied
        elif path == "new":  # each writer's new files are its own
            self.created += 1
            path = f"{who}-new-{self.created}.txt"
            lines = _fresh(value)
        else:
            old = self.model[path] or _fresh("base")  # a deleted file is written anew
            lines = tuple(value if i == slot % SLOTS else v for i, v in enumerate(old))
        self.model[path] = lines
        self._put(path)

    def _put(self, path: str) -> None:
        lines = self.model[path]
        assert lines is not None
        self.repo.write(path, _text(lines), mode=0o755 if lines[SLOTS] == "x" else 0o644)

    def still_on_the_branch(self) -> None:
        reachable = set(self.repo.git("rev-list", "HEAD").split())
        left = [c for c in self.commits if c not in reachable]
        assert not left, f"the other writer's commits left the branch: {left}"

    def disk(self) -> State:
        found: State = {}
        for name in os.listdir(self.repo.path):
            if name.endswith(".txt"):
                data = self.repo.read(name).decode().split("\n")
                x = "x" if os.lstat(self.repo.path / name).st_mode & stat.S_IXUSR else "-"
                lines = [data[i].split(":", 1)[1] for i in range(0, len(data) - 1, 3)]
                found[name] = (*lines, x)
        return {**dict.fromkeys(self.model), **found}

    def staged(self) -> State:
        """The index's entries of the files, read from the index file itself (the blobs
        through git: the index holds their ids only)."""
        found: State = {}
        index = (self.repo.path / ".git" / "index").read_bytes()
        for path, mode, oid, _stage, _flags in read_index(index):
            name = path.decode()
            if name.endswith(".txt"):
                data = self.repo.git("cat-file", "blob", oid).split("\n")
                lines = [data[i].split(":", 1)[1] for i in range(0, len(data) - 1, 3)]
                found[name] = (*lines, "x" if mode == "100755" else "-")
        return {**dict.fromkeys(self.index), **found}


def _merge(frm: State, cur: State, to: State) -> State | None:
    """The change frm -> to on top of cur, per path and per line; None: an overlap."""
    out: State = {}
    for path in sorted(set(frm) | set(cur) | set(to)):
        b, o, t = frm.get(path), cur.get(path), to.get(path)
        if t == b or o == t:
            out[path] = o
        elif o == b:
            out[path] = t
        elif b is None or o is None or t is None:
            return None
        else:
            lines = []
            for lb, lo, lt in zip(b, o, t, strict=True):
                if lt == lb or lo == lt:
                    lines.append(lo)
                elif lo == lb:
                    lines.append(lt)
                else:
                    return None
            out[path] = tuple(lines)
    return out


def _move(
    world: World, steps: Sequence[effect.Step], model_steps: Sequence[tuple[State, State]]
) -> effect.Outcome | None:
    """Take the steps back; compare the disk with the model. The outcome when it moved."""
    expected: State | None = dict(world.model)
    for before, after in reversed(model_steps):
        expected = _merge(after, expected, before) if expected is not None else None
    engine = world.engine()
    current = snapshot.capture(engine.repo, message="probe", ref=None).snapshot
    found = effect.take_back(engine.repo, steps, current)
    if found.target is None:
        assert expected is None, f"refused, but the model merges cleanly: {found.conflicts}"
        assert world.disk() == world.model, "a refusal changed the disk"
        return None
    assert expected is not None, "the model has an overlap, the engine found none"
    effect.carry_out(engine, found, op_id=None, event="rollback")
    engine.journal.close()
    world.model = {p: v for p, v in expected.items()}
    assert world.disk() == world.model
    world.still_on_the_branch()
    return found


@settings(
    max_examples=_examples(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    interleaving=st.lists(change, min_size=1, max_size=7),
    between=others,
    later=others,
)
def test_other_writers_changes_survive_rollback_undo_rollback(
    interleaving: list[Write], between: list[Write], later: list[Write]
) -> None:
    root = Path(tempfile.mkdtemp(prefix="effect-"))
    try:
        world = World(root)
        steps: list[effect.Step] = []
        model_steps: list[tuple[State, State]] = []
        for who, path, slot, value in interleaving:
            if who == "other":
                world.write(who, path, slot, value)
                continue
            before, model_before = world.capture(), dict(world.model)
            world.write(who, path, slot, value)
            steps.append(effect.Step(before, world.capture()))
            model_steps.append((model_before, dict(world.model)))
        first = _move(world, steps, model_steps)
        if first is None or first.target is None:
            return
        for w in between:
            world.write(*w)
        # undo: the rollback's own change (its rescue -> its target), taken back.
        at_rollback, after_rollback = _model_of(world, first)
        undone = _move(
            world,
            [effect.Step(first.current.commit, first.target.commit)],
            [(at_rollback, after_rollback)],
        )
        if undone is None:
            return
        for w in later:
            world.write(*w)
        _move(world, steps, model_steps)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _model_of(world: World, found: effect.Outcome) -> tuple[State, State]:
    """The model's states at a move's start (its rescue) and end (its target), read back from
    the checkpoints themselves: what the engine recorded, not what the test believes."""
    repo = world.engine().repo
    states = []
    for snap in (found.current, found.target):
        assert snap is not None
        state: State = dict.fromkeys(world.model)
        for entry in repo.ls_tree(snap.files_tree):
            name = entry.path.decode()
            if name.endswith(".txt"):
                data = repo.cat_blob(entry.oid).decode().split("\n")
                x = "x" if entry.mode == "100755" else "-"
                lines = [data[i].split(":", 1)[1] for i in range(0, len(data) - 1, 3)]
                state[name] = (*lines, x)
        states.append(state)
    return states[0], states[1]


@pytest.mark.parametrize(
    "interleaving",
    [
        # the operation writes a line, the other writer overwrites it: an overlap
        [("op", "one.txt", 0, "red"), ("other", "one.txt", 0, "blue")],
        # the other writer first, the operation over it: taking it back gives the other's line
        [("other", "one.txt", 0, "blue"), ("op", "one.txt", 0, "red")],
        # the operation's mode change and the other writer's line of the same file (one.txt is
        # the first file there is), and the other way round: each kept apart
        [("op", "chmod", 0, "x"), ("other", "one.txt", 1, "blue")],
        [("other", "chmod", 0, "x"), ("op", "one.txt", 1, "red")],
        # a file the operation made executable, which the other writer deletes: an overlap
        [("op", "chmod", 1, "x"), ("other", "delete", 1, "x")],
        # disjoint lines of a shared file, and new files on both sides
        [
            ("op", "one.txt", 0, "red"),
            ("other", "one.txt", 2, "red"),
            ("op", "new", 0, "x"),
            ("other", "new", 0, "y"),
        ],
    ],
)
def test_concrete_interleavings(interleaving: list[Write]) -> None:
    test_other_writers_changes_survive_rollback_undo_rollback.hypothesis.inner_test(  # type: ignore[attr-defined]
        interleaving, [("other", "two.txt", 1, "gray")], [("other", "one.txt", 1, "gray")]
    )


def _shell_write(world: World, path: str, slot: int, value: str) -> str:
    """The operation's write as a shell command (the model is updated as it will be)."""
    if path == "new":
        world.created += 1
        path = f"op-new-{world.created}.txt"
        lines: tuple[str, ...] = _fresh(value)
    else:
        old = world.model[path]
        assert old is not None
        lines = tuple(value if i == slot else v for i, v in enumerate(old))
    world.model[path] = lines
    return f"printf '%s' '{_text(lines).decode()}' > {path}"


Sides = tuple[State, State]  # (the files, the index)


def _sides(world: World) -> Sides:
    return dict(world.model), dict(world.index)


def _cli_move(world: World, args: Sequence[str], frm: Sides, to: Sides) -> bool:
    """A real `git atomic` move; the disk and the index against the model of the change
    frm -> to on what is there now, files and index entries each three-way."""
    expected = _merge(frm[0], world.model, to[0])
    expected_index = _merge(frm[1], world.index, to[1])
    res = world.repo.atomic(*args)
    if res.returncode == 3:
        assert expected is None or expected_index is None, (
            f"refused, but the model merges cleanly: {res.stderr}"
        )
        assert world.disk() == world.model, "a refusal changed the disk"
        assert world.staged() == world.index, "a refusal changed the index"
        return False
    assert res.returncode == 0, res.stderr
    assert expected is not None and expected_index is not None, (
        f"the model has an overlap, the command found none: {res.stderr}"
    )
    world.model, world.index = dict(expected), dict(expected_index)
    assert world.disk() == world.model, res.stderr
    assert world.staged() == world.index, res.stderr
    world.still_on_the_branch()
    return True


def _nothing_to_bring(world: World, frm: Sides, to: Sides) -> bool:
    """Whether the change frm -> to is already there, in the files and in the index."""
    return (
        _merge(frm[0], world.model, to[0]) == world.model
        and _merge(frm[1], world.index, to[1]) == world.index
    )


@settings(
    max_examples=max(1, _examples() // 3),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    history=st.sampled_from(("commits", "shadow")),
    op_writes=st.lists(write, min_size=1, max_size=4),
    since=others,
    between=others,
    later=others,
)
@example(  # found by a helper's run: you write back the operation's own change after its
    # rollback; `undo` then has nothing to do (test_the_commands_keep_what_others_wrote_since)
    history="shadow",
    op_writes=[("op", "two.txt", 1, "red")],
    since=[],
    between=[("other", "two.txt", 1, "red")],
    later=[("other", "two.txt", 1, "blue")],
)
@example(  # commits mode: the same, but `undo` puts the operation's commit back
    history="commits",
    op_writes=[("op", "one.txt", 0, "red")],
    since=[],
    between=[("other", "one.txt", 0, "red")],
    later=[],
)
@example(  # found by a random draw: commits mode, and you commit what you wrote back; `undo`
    # cannot put the operation's commit back over yours, and the files and the index already
    # hold all it would bring: it has nothing to do, and what is there is yours
    history="commits",
    op_writes=[("op", "one.txt", 0, "red")],
    since=[],
    between=[("other", "one.txt", 0, "red"), ("other", "commit", 0, "red")],
    later=[],
)
@example(  # the same, where the rollback could not move the branch back (your commit after the
    # operation's) and you write the line back and stage it
    history="commits",
    op_writes=[("op", "one.txt", 0, "red")],
    since=[("other", "commit", 0, "red")],
    between=[("other", "one.txt", 0, "red"), ("other", "stage", 0, "red")],
    later=[],
)
def test_the_commands_keep_what_others_wrote_since(
    history: str,
    op_writes: list[Write],
    since: list[Write],
    between: list[Write],
    later: list[Write],
) -> None:
    """The same property through the commands: `run`, then the other writer; `rollback`, the
    other writer; `undo`, the other writer; `rollback --op` again."""
    root = Path(tempfile.mkdtemp(prefix="effect-cli-"))
    try:
        world = World(root)
        pre = _sides(world)
        script = "; ".join(_shell_write(world, p, s, v) for _who, p, s, v in op_writes)
        op = world.repo.atomic_json("run", "--history", history, "--", "sh", "-c", script)
        if history == "commits":  # its OP-EXEC commit: the effect staged too
            world.index = dict(world.model)
        post = _sides(world)
        assert world.disk() == post[0]
        assert world.staged() == post[1]
        for w in since:
            world.write(*w)
        at_rollback = _sides(world)
        if not _cli_move(world, ["rollback"], post, pre):
            return
        after_rollback = _sides(world)
        for w in between:
            world.write(*w)
        # Where you already wrote back all the rollback took away (the same bytes, in the
        # files and in the index), `undo` has nothing to do and does nothing: the operation
        # stays rolled back, and what is there is yours, so `rollback --op` of it has nothing
        # further to take back. Unless the rollback took the operation's commit off the branch
        # (commits mode, no commit of yours after it) and the branch is still there (none
        # since): `undo` puts it back (the files as they are), and the operation's effect is
        # there again for `rollback --op`.
        commit_back = history == "commits" and not any(w[1] == "commit" for w in since + between)
        redone_by_you = not commit_back and _nothing_to_bring(world, after_rollback, at_rollback)
        if not _cli_move(world, ["undo"], after_rollback, at_rollback):
            return
        for w in later:
            world.write(*w)
        if redone_by_you:
            res = world.repo.atomic("rollback", "--op", op["op_id"], check=0)
            assert "nothing further" in res.stderr, res.stderr
            assert world.disk() == world.model
            assert world.staged() == world.index
            return
        _cli_move(world, ["rollback", "--op", op["op_id"]], post, pre)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# --- another agent session's calls inside a turn's shell call ------------------------------------
# A turn's shell call (s1's) runs while you write files and another session (s2) makes calls of
# its own, each with its checkpoints before and after, or its files noted (agents/turnothers.py).
# The turn's gate fails and its take-back runs: what you wrote while the call ran is the turn's
# (a shell call claims everything), what s2's calls wrote is s2's. The model: the stretches of
# the call's window between s2's calls, taken back newest first, three-way, per line.
inside_a_call = st.lists(
    st.tuples(
        st.sampled_from(("s1", "s2", "you")),
        st.sampled_from((*FILES, "new", "chmod")),
        st.integers(0, SLOTS - 1),
        st.sampled_from(VALUES),
    ),
    min_size=1,
    max_size=5,
)


def _bash(n: int) -> dict[str, object]:
    return {"tool_name": "Bash", "tool_input": {"command": "job"}, "tool_use_id": f"t{n}"}


@settings(
    max_examples=max(1, _examples() // 4),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(inside=inside_a_call)
@example(inside=[("s1", "one.txt", 0, "red"), ("s2", "one.txt", 2, "blue")])
@example(inside=[("s1", "one.txt", 0, "red"), ("s2", "one.txt", 0, "blue")])
def test_another_sessions_calls_inside_a_turns_shell_call_stay_theirs(
    inside: list[Write],
) -> None:
    root = Path(tempfile.mkdtemp(prefix="effect-turns-"))
    try:
        world = World(root)
        repo = world.repo
        repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
        (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
        agents.claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
        agents.claude_hook(repo, "s1", "PreToolUse", **_bash(0))
        stretches: list[tuple[State, State]] = []
        start = dict(world.model)
        for n, (who, path, slot, value) in enumerate(inside, start=1):
            if who != "s2":
                world.write(who, path, slot, value)
                continue
            stretches.append((start, dict(world.model)))
            # A line of a file: Claude Code's Write, which once its turn has a step takes no
            # capture (its files noted); anything else a shell call.
            call = _bash(n)
            if path in FILES:
                named = {"file_path": str(repo.path / path), "content": ""}
                call = {**call, "tool_name": "Write", "tool_input": named}
            agents.claude_hook(repo, "s2", "PreToolUse", **call)
            world.write(who, path, slot, value)
            agents.claude_hook(repo, "s2", "PostToolUse", **call, tool_response={})
            start = dict(world.model)
        if any(who == "s2" for who, *_ in inside):
            agents.claude_hook(repo, "s2", "Stop")  # its gate passes: kept
        repo.write("bad", b"x\n")
        stretches.append((start, dict(world.model)))
        agents.claude_hook(repo, "s1", "PostToolUse", **_bash(0), tool_response={})
        expected: State | None = dict(world.model)
        for before, after in reversed(stretches):
            expected = _merge(after, expected, before) if expected is not None else None
        agents.claude_hook(repo, "s1", "Stop")
        if expected is None:
            assert world.disk() == world.model, "a refusal changed the disk"
            assert repo.exists("bad")
        else:
            assert world.disk() == expected
            assert not repo.exists("bad")
    finally:
        shutil.rmtree(root, ignore_errors=True)
