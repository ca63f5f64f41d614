"""Effect, not state: a `packed-refs` you made after the operation is yours.

The operation began with no `.git/packed-refs` and left none; you then deleted a branch
(`git branch -D` of a loose branch leaves git's header alone in a new `packed-refs`, git 2.39).
`rollback --op` took that file away as if the operation had made it, its dry run said
`packed-refs: removed (git's header alone, made by the operation)` and the real one said
nothing of it. The file is yours, made since: it stays, byte for byte, and neither the dry run
nor the rollback names it (engine/packedrefs.py: a later take-back touches only a file the
operation left, the refs it left packed).
"""

from __future__ import annotations

from testing.gitrepo import GitRepo


def test_a_header_only_packed_refs_you_made_since_stays(repo: GitRepo) -> None:
    packed = repo.path / ".git" / "packed-refs"
    assert not packed.exists()
    run = ("run", "--no-gates", "--history", "commits", "--", "sh", "-c")
    op_id = str(repo.atomic_json(*run, "echo op > a && git branch opb")["op_id"])
    assert not packed.exists()
    repo.git("branch", "-q", "-D", "opb")  # yours, since
    yours = packed.read_bytes()
    assert all(not line or line.startswith(b"#") for line in yours.split(b"\n"))
    dry = repo.atomic("rollback", "--op", op_id, "--dry-run", check=0)
    assert "packed-refs" not in dry.stdout + dry.stderr, dry.stdout
    done = repo.atomic("rollback", "--op", op_id, check=0)
    assert "packed-refs" not in done.stdout + done.stderr, done.stdout
    assert packed.read_bytes() == yours
    assert not repo.exists("a")  # the operation's own change is taken back
    repo.atomic("undo", check=0)
    assert packed.read_bytes() == yours and repo.read("a") == b"op\n"
