"""Other writers around an operation (stop 48): whatever a person or a second session does
before the operation, between it and its take-back, or between two take-backs, the take-back
moves only what the operation (or the move being undone) changed.

tests/test_property_effect.py draws lines of three text files; testing/differential.py's
scenario_kept keeps the other writer off the operation's paths. Here every writer draws from
one vocabulary over a few names, one of them nested: a file's bytes, its executable bit, a
link in its place, a folder in its place, a deletion, a rename, `git add`, `git add -N`, `git
rm --cached`, a commit; the other writer also amends, checks out another branch and back,
stashes everything (`stash push -u`), or runs a second `git atomic run` of its own. The
operation is kept (`run`, either history) and taken back by `rollback --op` or `rollback`,
then `undo`, then `undo` again (an undo of the undo), the other writer writing between each;
or it is an agent turn's shell call, the other writer writing between the call and the turn's
end, whose gate fails.

The oracle reads the disk (lstat, readlink, bytes, the executable bit) and the index
(`ls-files -s --debug`), never git's opinion of the files. A move is expected to be the
three-way merge, per path, of its own change onto the state now: base = where the move's
change ends (the state the operation left, or the target of the move undone), ours = now,
theirs = where it starts. A file's bytes and its executable bit merge apart, as git's do;
anything else both sides changed differently is an overlap, and so is a file where the merge
leaves a folder. Where the model overlaps, the move refuses (exit 3), changes nothing, and
names a path of the overlap; where it does not, the disk and the index are the model's. An
ignored file is in no checkpoint: no move touches it. Every commit the other writer made stays
on a branch.

Examples: GIT_ATOMIC_WRITERS_EXAMPLES (default 25, about 15 s in all; the turns' property a
third of that).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from testing import agents, gitrepo, oracle
from testing.gitrepo import GitRepo

NAMES = ("a", "b", "d/c")
VALUES = ("1", "2", "3")
IGNORED = "junk.log"  # a `.gitignore` rule: in no checkpoint, every writer may write it
# What a path holds on disk or in the index: (mode, bytes or link target, flags). A file's
# bytes and its executable bit merge apart, so a file is ("100644"|"100755", bytes, 0).
Value = tuple[str, bytes, int]
State = dict[str, dict[bytes, Value]]  # {"files": ..., "index": ...}
Action = tuple[str, int, int]  # (kind, name index, value index)
ITA = 1 << 29  # an index entry's intent-to-add flag, as `ls-files --debug` shows it

BOTH = ("write", "write", "chmod", "link", "rm", "folder", "mv", "add", "add", "rmcached", "ita")
OP_KINDS = (*BOTH, "commit", "ignored")
OTHER_KINDS = (*BOTH, "commit", "amend", "checkout", "switch", "stash", "session", "ignored")


def _examples() -> int:
    return int(os.environ.get("GIT_ATOMIC_WRITERS_EXAMPLES") or 25)


def _actions(kinds: Sequence[str], size: int) -> st.SearchStrategy[list[Action]]:
    return st.lists(
        st.tuples(
            st.sampled_from(kinds),
            st.integers(0, len(NAMES) - 1),
            st.integers(0, len(VALUES) - 1),
        ),
        max_size=size,
    )


class World:
    """A repository and the writers' hands on it."""

    def __init__(self, root: Path) -> None:
        self.repo = GitRepo.create(root / "repo", root / "home")
        self.repo.write(".gitignore", f"{IGNORED}\n".encode())
        self.repo.git("add", ".gitignore")
        self.repo.git("commit", "-qm", "ignore rule")
        self.repo.git("branch", "side")
        self.commits: list[str] = []  # the other writer's
        self.sessions = 0

    def path(self, name: str) -> str:
        return os.path.join(self.repo.path, name)

    def clear(self, name: str) -> None:
        """Whatever `name` is on disk gone (a file, a link, a folder), and no file where
        its folders go (d/c where d is a file)."""
        full = self.path(name)
        parts = name.split("/")
        for i in range(1, len(parts)):
            above = self.path("/".join(parts[:i]))
            if os.path.lexists(above) and not (os.path.isdir(above) and not os.path.islink(above)):
                os.unlink(above)
        if os.path.islink(full) or os.path.isfile(full):
            os.unlink(full)
        elif os.path.isdir(full):
            shutil.rmtree(full)
        os.makedirs(os.path.dirname(full), exist_ok=True)

    def act(self, who: str, action: Action) -> None:
        kind, n, v = action
        name, value = NAMES[n], VALUES[v]
        full = self.path(name)
        git: Callable[..., str] = lambda *a: self.repo.git(*a, check=False)  # noqa: E731
        if kind == "write":
            if not os.path.isfile(full) or os.path.islink(full):
                self.clear(name)
            with open(full, "wb") as fh:
                fh.write(f"{who} {value}\n".encode())
        elif kind == "chmod":
            if os.path.isfile(full) and not os.path.islink(full):
                os.chmod(full, os.lstat(full).st_mode ^ 0o111)
        elif kind == "link":
            self.clear(name)
            os.symlink(f"target-{value}", full)
        elif kind == "rm":
            if os.path.lexists(full):
                self.clear(name)
        elif kind == "folder":
            self.clear(name)
            os.makedirs(full)
            with open(os.path.join(full, "in"), "wb") as fh:
                fh.write(f"{who} in {value}\n".encode())
        elif kind == "mv":
            dest = NAMES[(n + 1 + v % (len(NAMES) - 1)) % len(NAMES)]
            if os.path.lexists(full) and not (dest + "/").startswith(name + "/"):
                self.clear(dest)
                if os.path.lexists(full):  # (d/c's folder was a file moved away)
                    os.rename(full, self.path(dest))
        elif kind == "add":
            git("add", "-A", "--", name.split("/")[0])
        elif kind == "rmcached":
            git("rm", "-rq", "--cached", "--ignore-unmatch", "--", name.split("/")[0])
        elif kind == "ita":
            git("add", "-N", "--", name)
        elif kind == "ignored":
            with open(self.path(IGNORED), "ab") as fh:
                fh.write(f"{who} {value}\n".encode())
        elif kind in ("commit", "amend"):
            git("add", "-A")
            if kind == "amend" and self.repo.head() in self.commits:
                self.commits.remove(self.repo.head())  # yours, replaced by the amended one
            self.sessions += 1  # (every commit its own: an amend is never the commit it amends)
            extra = ("--amend",) if kind == "amend" else ()
            message = f"{who} {kind} {value} {self.sessions}"
            git("commit", "-q", "--no-verify", "--allow-empty", *extra, "-m", message)
            if who == "other":
                self.commits.append(self.repo.head())
        elif kind in ("checkout", "switch"):  # another branch; "checkout": and back again
            went = subprocess.run(
                ["git", "checkout", "-q", "side"],
                cwd=self.repo.path,
                env=self.repo.env,
                capture_output=True,
                check=False,
            )
            if went.returncode == 0 and kind == "checkout":
                self.repo.git("checkout", "-q", "main")
        elif kind == "stash":
            git("stash", "push", "-q", "-u")
        elif kind == "agent":  # another agent session's call (its turn never ends)
            self.sessions += 1
            call = {"tool_name": "Bash", "tool_input": {"command": "job"}}
            call["tool_use_id"] = f"s2-{self.sessions}"
            agents.claude_hook(self.repo, "s2", "PreToolUse", **call)
            self.act("agent", ("write", n, v))
            agents.claude_hook(self.repo, "s2", "PostToolUse", **call, tool_response={})
        elif kind == "session":  # a second session's operation: a path of its own, or ours
            self.sessions += 1
            own = f"session-{self.sessions}"
            script = f"printf 's{value}\\n' > {own}"
            if v == 0:  # one of the names the writers share, whatever stands there
                script = f"rm -rf {name}; printf 's{value}\\n' > {name}"
                if "/" in name:
                    folder = name.rsplit("/", 1)[0]
                    make = f"{{ [ -d {folder} ] && [ ! -L {folder} ]; }} || rm -f {folder}"
                    script = f"{make}; mkdir -p {folder}; {script}"
            res = self.repo.atomic(
                "run", "--history", "shadow", "--no-gates", "--", "sh", "-c", script
            )
            assert res.returncode == 0, res.stderr

    def state(self) -> State:
        files: dict[bytes, Value] = {}
        for rel in oracle.walk(self.repo.path):
            full = os.path.join(os.fsencode(self.repo.path), rel)
            st_ = os.lstat(full)
            if rel == os.fsencode(IGNORED):
                continue
            if stat.S_ISLNK(st_.st_mode):
                files[rel] = ("120000", os.readlink(full), 0)
            else:
                with open(full, "rb") as fh:
                    data = fh.read()
                files[rel] = ("100755" if st_.st_mode & 0o100 else "100644", data, 0)
        index = {
            path + (b"" if stage == 0 else f"@{stage}".encode()): (mode, oid.encode(), flags)
            for path, mode, oid, stage, flags in oracle.index_entries(self.repo.env, self.repo.path)
        }
        return {"files": files, "index": index}

    def ignored(self) -> bytes | None:
        try:
            with open(self.path(IGNORED), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return None

    def on_a_branch(self) -> None:
        reachable = set(self.repo.git("rev-list", "--branches").split())
        left = [c for c in self.commits if c not in reachable]
        assert not left, f"the other writer's commits left every branch: {left}"


def _merge_value(b: Value | None, o: Value | None, t: Value | None) -> Value | str | None:
    """One path's change b -> t on top of o; "overlap" where both changed it apart."""
    if t == b or o == t:
        return o
    if o == b:
        return t
    files = ("100644", "100755")
    if b and o and t and b[0] in files and o[0] in files and t[0] in files:
        out = []
        for eb, eo, et in zip(b, o, t, strict=True):
            if et == eb or eo == et:
                out.append(eo)
            elif eo == eb:
                out.append(et)
            else:
                return "overlap"
        return (str(out[0]), bytes(out[1]), int(out[2]))  # type: ignore[call-overload]
    return "overlap"


def merge(frm: State, cur: State, to: State) -> tuple[State, set[bytes]]:
    """The change frm -> to on top of cur, path by path; the paths that overlap."""
    out: State = {}
    overlaps: set[bytes] = set()
    for part in ("files", "index"):
        b, o, t = frm[part], cur[part], to[part]
        got: dict[bytes, Value] = {}
        for path in sorted(set(b) | set(o) | set(t)):
            v = _merge_value(b.get(path), o.get(path), t.get(path))
            if v == "overlap":
                overlaps.add(path.split(b"@")[0])
            elif v is not None:
                got[path] = v  # type: ignore[assignment]
        if part == "index":  # an intent-to-add entry of yours (the move's change leaves
            # it alone) whose file the move takes away or gives another mode (ops/intents.py);
            # one whose file was gone before stays so
            for path, (mode, _oid, flags) in got.items():
                then = out["files"].get(path, ("",))[0]
                if (
                    flags & ITA
                    and b.get(path) == t.get(path)
                    and then != mode
                    and then != cur["files"].get(path, ("",))[0]
                ):
                    overlaps.add(path)
        for path in got:  # a file where another's folder is: no clean result
            for i in range(1, path.count(b"/") + 1):
                above = b"/".join(path.split(b"/")[:i])
                if above in got:
                    overlaps.update((above, path))
        out[part] = got
    return out, overlaps


class Mover:
    """Each move compared with the model; the state the last one started and ended at."""

    def __init__(self, world: World) -> None:
        self.world = world

    def move(self, args: Sequence[str], frm: State, to: State) -> tuple[State, State] | None:
        world = self.world
        now, ignored = world.state(), world.ignored()
        expected, overlaps = merge(frm, now, to)
        res = world.repo.atomic(*args)
        after = world.state()
        assert world.ignored() == ignored, f"{args}: the ignored file was touched"
        world.on_a_branch()
        # Whatever the move did, a path its change does not name stays as the writers left it.
        for part in ("files", "index"):
            for path in set(now[part]) | set(after[part]):
                if frm[part].get(path) == to[part].get(path):
                    assert after[part].get(path) == now[part].get(path), (
                        f"{args}: {part} {path!r}, not the move's, changed: {res.stderr}"
                    )
        if world.repo.git("symbolic-ref", "-q", "HEAD", check=False).strip() != "refs/heads/main":
            # You switched to another branch since: the operation's commits are main's, and
            # which of its files come back in your checkout is the replay's (design.md)
            return (now, after) if res.returncode == 0 else None
        if res.returncode == 3 and overlaps:
            assert after == now, f"{args}: a refusal changed things: {_diff(after, now)}"
            said = res.stderr
            assert any(os.fsdecode(p) in said for p in overlaps), (overlaps, said)
            return None
        assert res.returncode == 0, (
            f"{args}: exit {res.returncode}, overlaps {overlaps}: {res.stderr}"
        )
        assert not overlaps, f"{args}: the model overlaps at {overlaps}, the move did not"
        assert after == expected, f"{args}: {_diff(after, expected)}\n{res.stderr}"
        return now, after


def _diff(got: State, want: State) -> str:
    lines = []
    for part in ("files", "index"):
        for p in sorted(set(got[part]) | set(want[part])):
            if got[part].get(p) != want[part].get(p):
                lines.append(f"{part} {p!r}: got {got[part].get(p)}, want {want[part].get(p)}")
    return "\n".join(lines)


SETTINGS = settings(
    max_examples=_examples(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@SETTINGS
@given(
    tree=_actions(BOTH, 6),
    history=st.sampled_from(("shadow", "commits")),
    op=_actions(OP_KINDS, 4),
    since=_actions(OTHER_KINDS, 3),
    how=st.sampled_from(("rollback --op", "rollback", "abort")),
    between=_actions(OTHER_KINDS, 3),
    later=_actions(OTHER_KINDS, 3),
)
def test_a_kept_operations_take_backs_leave_the_other_writers(
    tree: list[Action],
    history: str,
    op: list[Action],
    since: list[Action],
    how: str,
    between: list[Action],
    later: list[Action],
) -> None:
    root = Path(tempfile.mkdtemp(prefix="writers-"))
    try:
        world = World(root)
        for a in tree[:3]:
            world.act("tree", a)
        world.act("tree", ("commit", 0, 0))
        for a in tree[3:]:
            world.act("tree", a)
        pre = world.state()
        res = world.repo.atomic("begin", "op", "--history", history, "--json")
        assert res.returncode == 0, res.stderr
        for a in op:
            world.act("op", a)
        mover = Mover(world)
        if how == "abort":  # all the open operation's own: exactly PRE-OP
            post, ignored = world.state(), world.ignored()
            res = world.repo.atomic("abort")
            assert res.returncode == 0, res.stderr
            assert world.state() == pre, _diff(world.state(), pre)
            assert world.ignored() == ignored, "abort touched the ignored file"
            moved: tuple[State, State] | None = (post, pre)
        else:
            res = world.repo.atomic("commit", "--no-gates")
            assert res.returncode == 0, res.stderr
            op_id = world.repo.atomic_json("log")["operations"][0]["op_id"]
            post = world.state()
            for a in since:
                world.act("other", a)
            args = ["rollback", "--op", op_id] if how == "rollback --op" else ["rollback"]
            if how == "rollback" and any(k == "session" for k, *_ in since):
                args = ["rollback", "--op", op_id]  # the newest operation is the session's
            moved = mover.move(args, post, pre)
        for writes in (between, later):
            if moved is None:
                return
            if moved[0] == moved[1]:
                return  # the move changed nothing (you had taken it back): nothing to undo
            for a in writes:
                world.act("other", a)
            rescue, target = moved
            moved = mover.move(["undo"], target, rescue)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _bash(n: int) -> dict[str, object]:
    return {"tool_name": "Bash", "tool_input": {"command": "job"}, "tool_use_id": f"t{n}"}


@settings(
    max_examples=max(1, _examples() // 3),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    tree=_actions(BOTH, 5),
    before=_actions(OTHER_KINDS, 2),
    call=_actions(OP_KINDS, 4),
    after=_actions((*OTHER_KINDS, "agent", "agent"), 3),
    later=_actions((*OTHER_KINDS, "agent"), 2),
)
def test_a_turns_take_back_leaves_what_others_wrote_between_its_calls(
    tree: list[Action],
    before: list[Action],
    call: list[Action],
    after: list[Action],
    later: list[Action],
) -> None:
    root = Path(tempfile.mkdtemp(prefix="writers-turn-"))
    try:
        world = World(root)
        repo = world.repo
        repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
        (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\n")
        for a in tree[:3]:
            world.act("tree", a)
        world.act("tree", ("commit", 0, 0))
        for a in tree[3:]:
            world.act("tree", a)
        agents.claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
        for a in before:
            world.act("other", a)
        agents.claude_hook(repo, "s1", "PreToolUse", **_bash(0))
        pre = world.state()
        for a in call:
            world.act("op", a)
        repo.write("bad", b"x\n")
        post = world.state()
        agents.claude_hook(repo, "s1", "PostToolUse", **_bash(0), tool_response={})
        for a in after:
            world.act("other", a)
        now, ignored = world.state(), world.ignored()
        expected, overlaps = merge(post, now, pre)
        if not repo.exists("bad"):  # the other writer took it away: the gate passes
            expected, overlaps = now, set()
        res = agents.claude_hook(repo, "s1", "Stop", check=False)
        got = world.state()
        assert world.ignored() == ignored, "the ignored file was touched"
        world.on_a_branch()
        for part in ("files", "index"):  # what the call did not change stays as it is now
            for path in set(now[part]) | set(got[part]):
                if pre[part].get(path) == post[part].get(path):
                    assert got[part].get(path) == now[part].get(path), (part, path, res.stderr)
        if repo.git("symbolic-ref", "-q", "HEAD", check=False).strip() != "refs/heads/main":
            return  # you switched branches since: which files come back is the replay's
        if overlaps:
            assert got == now, f"a refusal changed things: {_diff(got, now)}\n{res.stderr}"
            return
        assert got == expected, f"{_diff(got, expected)}\n{res.stdout}{res.stderr}"
        if got == now:
            return
        for a in later:  # then `undo` of the turn's take-back, and `undo` of that
            world.act("other", a)
        mover = Mover(world)
        moved = mover.move(["undo"], got, now)
        if moved is not None and moved[0] != moved[1]:
            mover.move(["undo"], moved[1], moved[0])
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize(
    ("op", "yours", "move"),
    [
        # the operation made the file, you marked it `git add -N`: its rollback would leave
        # the entry without its file (which its own `undo` then refused as git's half-way state)
        ("echo op > n", "git add -N n", ["rollback"]),
        # the operation made your untracked file executable, you marked it: the rollback
        # would leave an intent-to-add entry of mode 100755 on a file of mode 100644
        ("chmod +x a", "git add -N a", ["rollback"]),
        # the operation deleted your untracked file; rolled back, you marked it: `undo` would
        # delete it again under your mark
        ("rm a", "git atomic rollback && git add -N a", ["undo"]),
    ],
)
def test_an_intent_to_add_of_yours_on_the_effects_file_is_an_overlap(
    op: str, yours: str, move: list[str]
) -> None:
    root = Path(tempfile.mkdtemp(prefix="writers-ita-"))
    try:
        world = World(root)
        repo = world.repo
        repo.write("a", b"yours\n")
        repo.atomic("run", "--history", "shadow", "--", "sh", "-c", op, check=0)
        bin_dir = root / "bin"
        env = gitrepo.git_atomic_on_path(bin_dir, repo.env)
        subprocess.run(["sh", "-c", yours], cwd=repo.path, env=env, check=True)
        now = world.state()
        res = repo.atomic(*move)
        assert res.returncode == 3, res.stderr
        marked = yours.rsplit(" ", 1)[1]
        assert f"{marked}: intent-to-add" in res.stderr, res.stderr
        assert world.state() == now, _diff(world.state(), now)
    finally:
        shutil.rmtree(root, ignore_errors=True)
