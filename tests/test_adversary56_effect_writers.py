"""Effect, not state, with other writers (stop 56's campaign).

tests/test_property_writers.py draws a person's writes around a kept operation. Here the tree
also holds empty folders and links that point inside it, the operation may switch branches,
move another branch or commit, and the other writers include a second worktree of the same
repository (its own `git atomic begin`, its commits, its moves of a branch both share) that
writes while the operation is open and after it closed. The take-back is drawn too: a failed
gate (`commit -g false`), `abort`, or a kept operation's `rollback --op` / `rollback` later,
then `undo` and `undo` again, the person writing between each; or an agent turn whose failed
gate takes back its own calls, another session's calls and yours between them.

The oracle reads the disk (lstat, readlink, bytes, the executable bit, empty folders) and the
index (`ls-files -s --debug`). While an operation is open everything in its worktree is its
own, so a failed gate and `abort` are exact: that worktree's files, index and HEAD as at
PRE-OP. The other worktree's files, HEAD and branch are never touched by anything done in
this one, and every commit it (or the person) made stays on a branch. A later take-back is the
three-way merge, per path, of the move's change onto the state now (a file's bytes and bits
apart); where the model overlaps, the move refuses (exit 3), changes nothing and names a path.
An empty folder is a path of its own; one where the result has files goes (design.md, "Empty
folders").

Examples: GIT_ATOMIC_ADVERSARY56_EXAMPLES (default 10 each: about 15 s in all on 2 idle cores).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from testing import agents, oracle
from testing.gitrepo import GitRepo
from tests.test_property_writers import _merge_value

NAMES = ("a", "b", "d/c")
VALUES = ("1", "2", "3")
IGNORED = "junk.log"
Value = tuple[str, bytes, int]
State = dict[str, dict[bytes, Value]]
Action = tuple[str, int, int]
ITA = 1 << 29
FOLDER = "040000"  # an empty folder, in `files`

BOTH = ("write", "write", "chmod", "link", "inlink", "rm", "folder", "empty", "mv", "add")
BOTH += ("add", "rmcached", "ita")
OP_KINDS = (*BOTH, "commit", "ignored", "branch", "switch")
OTHER_KINDS = (*BOTH, "commit", "ignored", "checkout", "stash")
OTHER_KINDS += ("w2", "w2", "w2commit", "w2branch", "w2session", "w2stash")


def _examples() -> int:
    return int(os.environ.get("GIT_ATOMIC_ADVERSARY56_EXAMPLES") or 10)


def _actions(kinds: Sequence[str], size: int) -> st.SearchStrategy[list[Action]]:
    return st.lists(
        st.tuples(
            st.sampled_from(kinds),
            st.integers(0, len(NAMES) - 1),
            st.integers(0, len(VALUES) - 1),
        ),
        max_size=size,
    )


def _clear(top: str, name: str) -> None:
    full = os.path.join(top, name)
    parts = name.split("/")
    for i in range(1, len(parts)):
        above = os.path.join(top, *parts[:i])
        if os.path.lexists(above) and not (os.path.isdir(above) and not os.path.islink(above)):
            os.unlink(above)
    if os.path.islink(full) or os.path.isfile(full):
        os.unlink(full)
    elif os.path.isdir(full):
        shutil.rmtree(full)
    os.makedirs(os.path.dirname(full), exist_ok=True)


def disk_state(top: str, *, skip: Sequence[bytes] = ()) -> dict[bytes, Value]:
    files: dict[bytes, Value] = {}
    base = os.fsencode(top)
    for dirpath, dirnames, filenames in os.walk(base):
        if dirpath == base:
            dirnames[:] = [d for d in dirnames if d != b".git"]
            filenames = [f for f in filenames if f != b".git"]
        rel_dir = os.path.relpath(dirpath, base)
        for name in [*filenames, *dirnames]:
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == b"." else os.path.join(rel_dir, name)
            st_ = os.lstat(full)
            if rel in skip:
                continue
            if stat.S_ISLNK(st_.st_mode):
                files[rel] = ("120000", os.readlink(full), 0)
            elif stat.S_ISREG(st_.st_mode):
                with open(full, "rb") as fh:
                    files[rel] = ("100755" if st_.st_mode & 0o100 else "100644", fh.read(), 0)
            elif stat.S_ISDIR(st_.st_mode) and not os.listdir(full):
                files[rel] = (FOLDER, b"", 0)
    return files


class World:
    """A repository, a second worktree of it (on `side2`), and the writers' hands on both."""

    def __init__(self, root: Path, *, second: bool) -> None:
        self.repo = GitRepo.create(root / "repo", root / "home")
        self.repo.write(".gitignore", f"{IGNORED}\n".encode())
        self.repo.git("add", ".gitignore")
        self.repo.git("commit", "-qm", "ignore rule")
        self.repo.git("branch", "side")
        self.wt2: str | None = None
        if second:
            self.wt2 = str(root / "wt2")
            self.repo.git("worktree", "add", "-q", "-b", "side2", self.wt2)
        self.commits: list[str] = []  # the other writers'
        self.count = 0
        self.w2_open = False

    def path(self, name: str) -> str:
        return os.path.join(self.repo.path, name)

    def git(self, *args: str, cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["git", *args],
            cwd=cwd or self.repo.path,
            env=self.repo.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def act(self, who: str, action: Action) -> None:
        kind, n, v = action
        name, value = NAMES[n], VALUES[v]
        top = str(self.repo.path)
        full = self.path(name)
        if kind == "write":
            if not os.path.isfile(full) or os.path.islink(full):
                _clear(top, name)
            with open(full, "wb") as fh:
                fh.write(f"{who} {value}\n".encode())
        elif kind == "chmod":
            if os.path.isfile(full) and not os.path.islink(full):
                os.chmod(full, os.lstat(full).st_mode ^ 0o111)
        elif kind == "link":
            _clear(top, name)
            os.symlink(f"target-{value}", full)
        elif kind == "inlink":  # a link to another of the names, inside the tree
            _clear(top, name)
            other = NAMES[(n + 1 + v % 2) % len(NAMES)]
            os.symlink(os.path.relpath(other, os.path.dirname(name) or "."), full)
        elif kind == "rm":
            if os.path.lexists(full):
                _clear(top, name)
        elif kind == "folder":
            _clear(top, name)
            os.makedirs(full)
            with open(os.path.join(full, "in"), "wb") as fh:
                fh.write(f"{who} in {value}\n".encode())
        elif kind == "empty":
            _clear(top, name)
            os.makedirs(os.path.join(full, "e") if v == 2 else full)
        elif kind == "mv":
            dest = NAMES[(n + 1 + v % (len(NAMES) - 1)) % len(NAMES)]
            if os.path.lexists(full) and not (dest + "/").startswith(name + "/"):
                _clear(top, dest)
                if os.path.lexists(full):
                    os.rename(full, self.path(dest))
        elif kind == "add":
            self.git("add", "-A", "--", name.split("/")[0])
        elif kind == "rmcached":
            self.git("rm", "-rq", "--cached", "--ignore-unmatch", "--", name.split("/")[0])
        elif kind == "ita":
            self.git("add", "-N", "--", name)
        elif kind == "ignored":
            with open(self.path(IGNORED), "ab") as fh:
                fh.write(f"{who} {value}\n".encode())
        elif kind == "commit":
            self.git("add", "-A")
            self.count += 1
            self.git("commit", "-q", "--no-verify", "--allow-empty", "-m", f"{who} {self.count}")
            if who != "op":
                self.commits.append(self.repo.head())
        elif kind == "branch":  # the operation moves a branch no worktree has checked out
            self.git("branch", "-f", "side", "HEAD" if v else "HEAD~1")
        elif kind in ("switch", "checkout"):  # to `side`; the operation may stay there
            if self.git("checkout", "-q", "side").returncode == 0 and (v or kind == "checkout"):
                self.git("checkout", "-q", "main")
        elif kind == "stash":
            self.git("stash", "push", "-q", "-u")
        elif kind.startswith("w2") and self.wt2 is not None:
            self.second(kind, name, value)

    def second(self, kind: str, name: str, value: str) -> None:
        assert self.wt2 is not None
        if kind == "w2":
            _clear(self.wt2, name)
            with open(os.path.join(self.wt2, name), "wb") as fh:
                fh.write(f"w2 {value}\n".encode())
        elif kind == "w2commit":
            self.git("add", "-A", cwd=self.wt2)
            self.count += 1
            self.git("commit", "-qm", f"w2 {self.count}", "--allow-empty", cwd=self.wt2)
            self.commits.append(self.git("rev-parse", "HEAD", cwd=self.wt2).stdout.strip())
        elif kind == "w2branch":  # the second worktree moves the branch both share
            self.git("branch", "-f", "side", "side2", cwd=self.wt2)
            self.commits.append(self.git("rev-parse", "side2", cwd=self.wt2).stdout.strip())
        elif kind == "w2stash":  # the stash list both worktrees share
            self.git("stash", "push", "-q", "-u", cwd=self.wt2)
        elif kind == "w2session":  # a session of its own there: opened, or closed with a commit
            wt = Path(self.wt2)
            if not self.w2_open:
                res = self.repo.atomic("begin", f"w2-{value}", "--history", "shadow", cwd=wt)
                assert res.returncode == 0, res.stderr
                self.w2_open = True
            else:
                with open(os.path.join(self.wt2, f"w2-{value}"), "wb") as fh:
                    fh.write(b"session\n")
                res = self.repo.atomic("commit", "--no-gates", cwd=wt)
                assert res.returncode == 0, res.stderr
                self.w2_open = False

    def state(self) -> State:
        files = disk_state(str(self.repo.path), skip=(os.fsencode(IGNORED),))
        index = {
            path + (b"" if stage == 0 else f"@{stage}".encode()): (mode, oid.encode(), flags)
            for path, mode, oid, stage, flags in oracle.index_entries(self.repo.env, self.repo.path)
        }
        return {"files": files, "index": index}

    def elsewhere(self) -> tuple[object, ...]:
        """What nothing done in this worktree may change: the ignored file, the second
        worktree's files, index and HEAD."""
        ignored = None
        if os.path.lexists(self.path(IGNORED)):
            ignored = Path(self.path(IGNORED)).read_bytes()
        if self.wt2 is None:
            return (ignored,)
        wt = Path(self.wt2)
        return (
            ignored,
            disk_state(self.wt2),
            oracle.index_entries(self.repo.env, wt),
            self.git("rev-parse", "HEAD", cwd=self.wt2).stdout,
            self.git("symbolic-ref", "-q", "HEAD", cwd=self.wt2).stdout,
        )

    def on_a_branch(self) -> None:
        reachable = set(self.git("rev-list", "--branches").stdout.split())
        left = [c for c in self.commits if c not in reachable]
        assert not left, f"the other writers' commits left every branch: {left}"

    def branches(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
        return dict(line.split() for line in out.stdout.splitlines())

    def on_main(self) -> bool:
        return self.git("symbolic-ref", "-q", "HEAD").stdout.strip() == "refs/heads/main"


def merge(frm: State, cur: State, to: State) -> tuple[State, set[bytes]]:
    """The change frm -> to on top of cur, path by path; the paths that overlap."""
    out: State = {}
    overlaps: set[bytes] = set()
    for part in ("files", "index"):
        b, o, t = (_no_folders(s[part]) for s in (frm, cur, to))
        got: dict[bytes, Value] = {}
        for path in sorted(set(b) | set(o) | set(t)):
            v = _merge_value(b.get(path), o.get(path), t.get(path))
            was, now = b.get(path), o.get(path)
            if part == "index" and was and was[2] & ITA and now and not now[2] & ITA:
                v = now  # a `git add -N` whose entry you staged since: the entry is yours
            if v == "overlap":
                overlaps.add(path.split(b"@")[0])
            elif v is not None:
                got[path] = v  # type: ignore[assignment]
        if part == "files":  # empty folders: a change of their own, a file where one goes wins
            fb, fo, ft = (_folders(s[part]) for s in (frm, cur, to))
            kept = (fo - (fb - ft)) | (ft - fb)
            for path in sorted(kept):
                below = path + b"/"
                if path in got and path not in fb and path in ft:
                    overlaps.add(path)  # the change makes a folder where a file is: file/directory
                if path in got or any(p.startswith(below) for p in [*got, *kept]):
                    continue  # a file there, or something in it: not an empty folder
                if path in fo and any(path.startswith(p + b"/") for p in got if p not in o):
                    continue  # only empty folders where the change puts a file: they make way
                got[path] = (FOLDER, b"", 0)
        if part == "index":
            for path, (mode, _oid, flags) in got.items():
                then = out["files"].get(path, ("",))[0]
                if (
                    flags & ITA
                    and b.get(path) == t.get(path)
                    and then != mode
                    and then != cur["files"].get(path, ("",))[0]
                ):
                    overlaps.add(path)
        for path in list(got):
            for i in range(1, path.count(b"/") + 1):
                above = b"/".join(path.split(b"/")[:i])
                if above not in got:
                    continue
                overlaps.update((above, path))
        out[part] = got
    return out, overlaps


def _makes_way(path: bytes, now: State, frm: State, to: State) -> bool:
    """An empty folder of yours where the move puts a file or a link (design.md: a folder of
    nothing but empty folders makes way for it)."""
    if now["files"].get(path, ("",))[0] != FOLDER:
        return False
    parts = path.split(b"/")
    above = (b"/".join(parts[:i]) for i in range(1, len(parts)))
    return any(frm["files"].get(p) != to["files"].get(p) for p in above)


def _no_folders(part: dict[bytes, Value]) -> dict[bytes, Value]:
    return {p: v for p, v in part.items() if v[0] != FOLDER}


def _folders(part: dict[bytes, Value]) -> set[bytes]:
    return {p for p, v in part.items() if v[0] == FOLDER}


def diff(got: State, want: State) -> str:
    lines = []
    for part in ("files", "index"):
        for p in sorted(set(got[part]) | set(want[part])):
            if got[part].get(p) != want[part].get(p):
                lines.append(f"{part} {p!r}: got {got[part].get(p)}, want {want[part].get(p)}")
    return "\n".join(lines)


def move(world: World, args: Sequence[str], frm: State, to: State) -> tuple[State, State] | None:
    """One take-back or undo, against the model."""
    now, kept = world.state(), world.elsewhere()
    expected, overlaps = merge(frm, now, to)
    res = world.repo.atomic(*args)
    after = world.state()
    assert world.elsewhere() == kept, f"{args}: another worktree or the ignored file changed"
    world.on_a_branch()
    assert "Traceback" not in res.stderr, res.stderr
    for part in ("files", "index"):
        for path in set(now[part]) | set(after[part]):
            if frm[part].get(path) == to[part].get(path) and not _makes_way(path, now, frm, to):
                assert after[part].get(path) == now[part].get(path), (
                    f"{args}: {part} {path!r}, not the move's, changed: {res.stderr}"
                )
    if not world.on_main():
        return (now, after) if res.returncode == 0 else None
    if res.returncode == 3 and overlaps:
        assert after == now, f"{args}: a refusal changed things: {diff(after, now)}"
        assert any(os.fsdecode(p) in res.stderr for p in overlaps), (overlaps, res.stderr)
        return None
    assert res.returncode == 0, f"{args}: exit {res.returncode}, overlaps {overlaps}: {res.stderr}"
    assert not overlaps, f"{args}: the model overlaps at {overlaps}, the move did not"
    assert after == expected, f"{args}: {diff(after, expected)}\n{res.stderr}"
    return now, after


SETTINGS = settings(
    max_examples=_examples(),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # A long sweep may leave out shrinking (each example takes seconds): GIT_ATOMIC_NO_SHRINK=1
    phases=[p for p in Phase if p != Phase.shrink or not os.environ.get("GIT_ATOMIC_NO_SHRINK")],
)


def _tree(world: World, tree: list[Action]) -> None:
    for a in tree[:3]:
        world.act("tree", a)
    world.act("tree", ("commit", 0, 0))
    for a in tree[3:]:
        world.act("tree", a)


@SETTINGS
@given(
    second=st.booleans(),
    tree=_actions(BOTH, 6),
    history=st.sampled_from(("shadow", "commits")),
    op=_actions(OP_KINDS, 4),
    during=_actions(("w2", "w2commit", "w2branch", "w2session"), 3),
    how=st.sampled_from(("gate", "abort", "rollback --op", "rollback")),
    since=_actions(OTHER_KINDS, 3),
    between=_actions(OTHER_KINDS, 3),
    later=_actions(OTHER_KINDS, 2),
)
def test_a_take_back_leaves_the_other_writers(
    second: bool,
    tree: list[Action],
    history: str,
    op: list[Action],
    during: list[Action],
    how: str,
    since: list[Action],
    between: list[Action],
    later: list[Action],
) -> None:
    root = Path(tempfile.mkdtemp(prefix="adv56-"))
    try:
        world = World(root, second=second)
        _tree(world, tree)
        pre, branches = world.state(), world.branches()
        res = world.repo.atomic("begin", "op", "--history", history)
        assert res.returncode == 0, res.stderr
        for i, a in enumerate(op):
            world.act("op", a)
            if i < len(during):  # the second worktree writes while the operation is open
                world.act("other", during[i])
        for a in during[len(op) :]:
            world.act("other", a)
        if how in ("gate", "abort"):  # all the open operation's own: exactly PRE-OP
            kept = world.elsewhere()
            args = ["commit", "-g", "false"] if how == "gate" else ["abort"]
            res = world.repo.atomic(*args)
            assert res.returncode == (1 if how == "gate" else 0), res.stderr
            assert world.state() == pre, diff(world.state(), pre) + res.stderr
            assert world.on_main(), res.stderr
            assert world.elsewhere() == kept, f"{args}: another worktree changed"
            world.on_a_branch()
            if not second:  # no other worktree: every branch as it was
                assert world.branches() == branches, res.stderr
            else:
                assert world.branches()["refs/heads/main"] == branches["refs/heads/main"]
            return
        res = world.repo.atomic("commit", "--no-gates")
        assert res.returncode == 0, res.stderr
        op_id = world.repo.atomic_json("log")["operations"][0]["op_id"]
        post = world.state()
        for a in since:
            world.act("other", a)
        args = ["rollback", "--op", op_id] if how == "rollback --op" else ["rollback"]
        if world.repo.atomic_json("log")["operations"][0]["op_id"] != op_id:
            args = ["rollback", "--op", op_id]  # the newest operation is another session's
        moved = move(world, args, post, pre)
        if not since:  # nothing changed since: exactly PRE-OP, HEAD on its branch again
            assert world.on_main() and world.state() == pre, diff(world.state(), pre)
        for writes in (between, later):
            if moved is None or moved[0] == moved[1]:
                return
            for a in writes:
                world.act("other", a)
            moved = move(world, ["undo"], moved[1], moved[0])
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _bash(session: str, n: int) -> dict[str, object]:
    return {"tool_name": "Bash", "tool_input": {"command": "job"}, "tool_use_id": f"{session}{n}"}


@SETTINGS
@given(
    second=st.booleans(),
    tree=_actions(BOTH, 5),
    calls=st.lists(_actions(BOTH, 3), min_size=1, max_size=2),
    between=_actions((*OTHER_KINDS, "agent", "agent"), 3),
    after=_actions((*OTHER_KINDS, "agent"), 3),
)
def test_a_turns_take_back_leaves_the_other_writers(
    second: bool,
    tree: list[Action],
    calls: list[list[Action]],
    between: list[Action],
    after: list[Action],
) -> None:
    root = Path(tempfile.mkdtemp(prefix="adv56-turn-"))
    try:
        world = World(root, second=second)
        repo = world.repo
        repo.write(".git-atomic.toml", b'[[gates]]\nname = "g"\nrun = "test ! -e bad"\n')
        (repo.path / ".git" / "info" / "exclude").write_bytes(b".git-atomic.toml\nbad\n")
        _tree(world, tree)
        agents.claude_hook(repo, "s1", "UserPromptSubmit", prompt="go")
        # The turn's effect: each call's change, on top of what others wrote between them.
        steps: list[tuple[State, State]] = []  # each call's change, taken back newest first
        for n, call in enumerate(calls):
            agents.claude_hook(repo, "s1", "PreToolUse", **_bash("t", n))
            pre = world.state()
            for a in call:
                world.act("op", a)
            post = world.state()
            agents.claude_hook(repo, "s1", "PostToolUse", **_bash("t", n), tool_response={})
            steps.append((pre, post))
            for a in between[n::2]:
                _other(world, a)
        (repo.path / "bad").write_bytes(b"x\n")  # (ignored: in no checkpoint) the gate fails
        for a in after:
            _other(world, a)
        now, kept = world.state(), world.elsewhere()
        if not world.on_main():
            return
        expected, overlaps = now, set()
        for pre, post in reversed(steps):
            expected, more = merge(post, expected, pre)
            overlaps |= more
        res = agents.claude_hook(repo, "s1", "Stop", check=False)
        assert "Traceback" not in res.stderr, res.stderr
        got = world.state()
        assert world.elsewhere() == kept, "another worktree or the ignored file changed"
        world.on_a_branch()
        if overlaps:
            assert got == now, f"a refusal changed things: {diff(got, now)}\n{res.stderr}"
            return
        assert got == expected, f"{diff(got, expected)}\n{res.stdout}{res.stderr}"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _other(world: World, action: Action) -> None:
    kind, n, v = action
    if kind != "agent":
        world.act("other", action)
        return
    world.count += 1  # another agent session's call in this worktree (its turn never ends)
    call = _bash("s2-", world.count)
    agents.claude_hook(world.repo, "s2", "PreToolUse", **call)
    world.act("agent", ("write", n, v))
    agents.claude_hook(world.repo, "s2", "PostToolUse", **call, tool_response={})
