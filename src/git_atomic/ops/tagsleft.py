"""Tags an operation made, deleted or moved: left as they are (README, "Tags, notes and remote
refs": shared or published, moving them back could undo someone else's), but named in its
rollback's lines, never an operation that "changed nothing".

Each capture holds the tags as the same `for-each-ref` that lists the branches gives them
(capturerefs.TAGS, checkpoint.TAGS): no process of their own, and a blob written once for
tags that stay the same. The operation's PRE-OP and the state it left (its rescue, or the
checkpoint it ended at) are compared; a checkpoint from before tags were captured says
nothing. A deleted tag has no reflog to come back from: the line gives the `update-ref` that
makes it again, its object still in the repository until git's gc prunes it.
"""

from __future__ import annotations

import shlex

from git_atomic.engine import checkpointtags
from git_atomic.engine.git import Repo

_WHY = "left as it is (tags are left alone)"


def lines(repo: Repo, before_blob: str, after_blob: str) -> list[str]:
    """One line per tag the operation made, deleted or moved: its TAGS blobs at its PRE-OP and
    at the state it left (gitdirback.py reads both from the checkpoints' top entries; this
    module is imported only where the two differ)."""
    before = checkpointtags.tags_of(repo, before_blob) or {}
    after = checkpointtags.tags_of(repo, after_blob) or {}
    out = []
    for ref in sorted(before.keys() | after.keys()):
        was, now = before.get(ref), after.get(ref)
        name = ref.removeprefix("refs/tags/")
        if was == now:
            continue
        if now is None:
            back = f"git update-ref {shlex.quote(ref)} {was}"
            out.append(f"tag {name} deleted by the operation: {_WHY}; `{back}` makes it again")
        elif was is None:
            out.append(f"tag {name} made by the operation (at {now[:12]}): {_WHY}")
        else:
            back = f"git update-ref {shlex.quote(ref)} {was} {now}"
            out.append(
                f"tag {name} moved by the operation ({was[:12]} -> {now[:12]}): {_WHY}; "
                f"`{back}` puts it back"
            )
    return out
