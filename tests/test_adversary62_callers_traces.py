"""git's trace variables naming a standard stream by path: `GIT_TRACE=/dev/stdout` (how a
user sees git's trace inline, `man git`: "an absolute path"), `/dev/fd/1`, `/proc/self/fd/1`.
Each of our git calls, whose output we read from a pipe, wrote its trace into that pipe: the
first answer read a trace line as the git dir's path, and every command ended in "internal
error: No such file or directory: b'00:49:48.281398 git.c:460 trace: built-in: ...'".
Such a variable is not given to our calls (your command and gates keep it: their traces go
where you said). The oracle: JSON that parses, one line on failure, the disk as it was, and
what your command saw in its environment."""

from __future__ import annotations

import json

from testing.gitrepo import GitRepo


def test_a_trace_to_a_standard_stream_by_path_leaves_our_answers_whole(repo: GitRepo) -> None:
    repo.write("README", b"yours\n")
    before = repo.fingerprint()
    streams = {
        "GIT_TRACE": "/dev/stdout",
        "GIT_TRACE_SETUP": "/dev/fd/1",
        "GIT_TRACE_PERFORMANCE": "/proc/self/fd/1",
        "GIT_TRACE2_EVENT": "/dev/stdout",
        "GIT_TRACE_PACK_ACCESS": "/dev/stderr",
    }
    seen = 'printf "%s\\n" "$GIT_TRACE" "$GIT_TRACE2_EVENT" > seen'
    res = repo.atomic(
        "run", "--json", "--history", "shadow", "--", "sh", "-c", seen + "; exit 1",
        env=streams, check=1,
    )  # fmt: skip
    assert "internal error" not in res.stderr, res.stderr
    out = json.loads(res.stdout)  # one object, nothing else on stdout
    assert out["status"] == "rolled_back"
    assert repo.fingerprint() == before
    res = repo.atomic("run", "--history", "shadow", "--", "sh", "-c", seen, env=streams, check=0)
    assert repo.read("seen") == b"/dev/stdout\n/dev/stdout\n"  # your command kept them
    for argv in (["rollback"], ["undo"], ["status", "--json"]):
        res = repo.atomic(*argv, env=streams)
        assert res.returncode == 0 and "internal error" not in res.stderr, res.stderr
    assert repo.read("seen") == b"/dev/stdout\n/dev/stdout\n"
