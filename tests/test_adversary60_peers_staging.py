"""Peers' reports on the index a take-back met, played against git-atomic: Codex's `/undo`
that restored its ghost commit into the index too and threw away what the user had staged
since (openai/codex#8214, fixed by leaving the index alone in openai/codex#8303), and Codex
putting back the files the user had staged and tweaked (openai/codex#3746). What you staged
before the operation and what you stage after it are yours: `rollback --op`, `undo`, an
agent turn's take-back and the MCP server's `rollback` tool change only the index entries the
operation changed. The oracle is the
raw index's entries (mode, blob, stage, flags) and the disk's bytes."""

from __future__ import annotations

from testing.agents import Lines, shell_turn
from testing.gitrepo import GitRepo
from testing.oracle import index_entries


def blob(repo: GitRepo, data: bytes) -> str:
    return repo.git("hash-object", "--stdin", input=data).strip()


def entry(repo: GitRepo, rel: bytes) -> tuple[str, str, int, int] | None:
    found = [e[1:] for e in index_entries(repo.env, repo.path) if e[0] == rel]
    return found[0] if found else None


def half_staged(repo: GitRepo) -> None:
    """`a.txt` and `b.txt` committed; `a.txt` staged one way and changed again on disk."""
    repo.write("a.txt", b"a\n")
    repo.write("b.txt", b"b\n")
    repo.git("add", "a.txt", "b.txt")
    repo.git("commit", "-qm", "ab")
    repo.write("a.txt", b"a staged\n")
    repo.git("add", "a.txt")
    repo.write("a.txt", b"a staged\nand not\n")


def test_what_you_staged_before_and_after_stays_staged(repo: GitRepo) -> None:
    """openai/codex#8214: the undo restored the snapshot with `--staged`, so the index lost
    what was staged. You half-stage `a.txt`; a kept operation changes and stages `b.txt` and
    stages a new `n.txt`; you then stage a new `c.txt` and your README edit: `rollback --op`
    takes `b.txt` and `n.txt` back, files and entries, and leaves `a.txt`'s staged blob, its
    bytes on disk, and your two new entries; `undo` brings the operation's two back and leaves
    yours as they are."""
    half_staged(repo)
    script = "echo b2 > b.txt && echo n > n.txt && git add b.txt n.txt"
    out = repo.atomic_json("run", "--no-gates", "--history", "shadow", "--", "sh", "-c", script)
    repo.write("c.txt", b"c\n")
    repo.write("README", b"hello\nmine\n")
    repo.git("add", "c.txt", "README")
    yours = {p: entry(repo, p) for p in (b"a.txt", b"c.txt", b"README")}
    assert yours[b"a.txt"] is not None and yours[b"a.txt"][1] == blob(repo, b"a staged\n")
    repo.atomic("rollback", "--op", out["op_id"], check=0)
    assert {p: entry(repo, p) for p in yours} == yours
    assert entry(repo, b"n.txt") is None and not repo.exists("n.txt")
    assert entry(repo, b"b.txt") == ("100644", blob(repo, b"b\n"), 0, 0)
    assert repo.read("b.txt") == b"b\n" and repo.read("a.txt") == b"a staged\nand not\n"
    repo.atomic("undo", check=0)
    assert {p: entry(repo, p) for p in yours} == yours
    assert entry(repo, b"b.txt") == ("100644", blob(repo, b"b2\n"), 0, 0)
    assert entry(repo, b"n.txt") == ("100644", blob(repo, b"n\n"), 0, 0)
    assert repo.read("a.txt") == b"a staged\nand not\n" and repo.read("c.txt") == b"c\n"


def test_what_you_stage_between_an_agents_calls_stays_staged(repo: GitRepo) -> None:
    """openai/codex#3746: the agent put back files the user had staged and tweaked between its
    steps. A Claude Code turn's first shell call changes and stages `b.txt`; between its calls
    you stage your README edit and half-stage `a.txt`; its second call makes `bad`, so the
    gate fails and the turn is taken back: `b.txt` and `bad` go, your staged entries stay."""
    half_staged(repo)
    mine = "echo 'hello\nmine' > README && git add README a.txt && echo more >> a.txt"
    answer = shell_turn(repo, "echo b2 > b.txt && git add b.txt", "echo x > bad", between=mine)
    assert answer.get("decision") == "block", answer
    assert not repo.exists("bad") and repo.read("b.txt") == b"b\n"
    assert entry(repo, b"b.txt") == ("100644", blob(repo, b"b\n"), 0, 0)
    assert entry(repo, b"README") == ("100644", blob(repo, b"hello\nmine\n"), 0, 0)
    assert entry(repo, b"a.txt") == ("100644", blob(repo, b"a staged\nand not\n"), 0, 0)
    assert repo.read("a.txt") == b"a staged\nand not\nmore\n"


def test_what_you_stage_stays_staged_through_the_mcp_tools(repo: GitRepo) -> None:
    """openai/codex#8214 again, through the MCP server an agent such as Codex CLI calls: its
    `run` tool changes and stages `b.txt`; you then stage your README edit; its `rollback`
    tool, given that operation, takes `b.txt` back, file and entry, and leaves yours staged
    and `a.txt` half-staged as it was."""
    half_staged(repo)
    lines = Lines(repo)
    try:
        lines.hello()
        script = "echo b2 > b.txt && git add b.txt"
        lines.call(1, "run", command=["sh", "-c", script], no_gates=True, history="shadow")
        ran = (lines.receive(60) or {})["result"]["structuredContent"]
        repo.write("README", b"hello\nmine\n")
        repo.git("add", "README")
        yours = {p: entry(repo, p) for p in (b"a.txt", b"README")}
        lines.call(2, "rollback", op=ran["op_id"])
        back = (lines.receive(60) or {})["result"]["structuredContent"]
    finally:
        assert "Traceback" not in lines.close()
    assert back["status"] == "rolled_back", back
    assert {p: entry(repo, p) for p in yours} == yours
    assert entry(repo, b"b.txt") == ("100644", blob(repo, b"b\n"), 0, 0)
    assert repo.read("b.txt") == b"b\n" and repo.read("a.txt") == b"a staged\nand not\n"
