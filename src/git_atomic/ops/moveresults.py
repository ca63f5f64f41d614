"""What a rollback, undo or emergency reports (or its dry run), as records: the operation
concerned (results.py) and what moved. Rendered by resultjson.py."""

from __future__ import annotations

from git_atomic.core.records import dataclass
from git_atomic.core.vocab import EventKind
from git_atomic.ops.results import OperationResult


@dataclass(frozen=True)
class ChangedPath:
    path: str
    action: str  # restoreplan.Action


@dataclass(frozen=True)
class FromTo:
    before: str | None
    after: str | None


@dataclass(frozen=True)
class BranchMove:
    name: str  # without refs/heads/
    before: str | None  # None: the branch is created
    after: str | None  # None: the branch is deleted


@dataclass(frozen=True)
class DroppedCommit:
    """A commit no branch nor HEAD holds after the move (the rescue still does)."""

    sha: str
    subject: str
    branch: str


@dataclass(frozen=True)
class MoveFacts:
    """What a move changes (or would): paths and how, HEAD, branches, the staged entries, the
    branches it leaves alone, the commits it drops from history, git's unfinished command
    (`before`: what is cleared, `after`: what comes back), and the refs it keeps."""

    changes: tuple[ChangedPath, ...]
    head: FromTo | None
    branches: tuple[BranchMove, ...]
    index: tuple[str, ...]
    branches_left: tuple[str, ...]
    dropped_commits: tuple[DroppedCommit, ...]
    git_state: FromTo | None
    kept: tuple[str, ...]
    changed_since_rescue: tuple[str, ...] = ()  # written by someone else meanwhile: left
    refs_moved_since_rescue: tuple[str, ...] = ()
    not_restored: tuple[str, ...] = ()  # could not be put back (`problems` says why): left
    checked_out: tuple[str, ...] = ()  # of `kept`: checked out here since the change moved it
    left_on: tuple[str, ...] = ()  # of `kept`: HEAD leaves them, the commits made since stay
    # What it writes back in the git dir beside the refs (reflogs, ORIG_HEAD, packed-refs, a
    # submodule's checkout, a branch's configuration...), for people: said by a dry run.
    git_dir: tuple[str, ...] = ()


@dataclass(frozen=True)
class Target:
    sha: str  # the checkpoint commit the tree goes to
    label: str  # for people: "OP-EXEC stage 2 of fmt [ab12cd34ef56]"


@dataclass(frozen=True)
class MoveResult:
    """A rollback, undo or emergency (or its dry run): the operation concerned, or the
    stand-in of none (`no_operation` named after the event), and what moved."""

    operation: OperationResult
    status: str  # the operation's status after the move, or "undone"
    event: EventKind
    dry_run: bool
    target: Target
    rescue: str | None  # the checkpoint of the state the move replaced
    paths: tuple[str, ...]  # a selective move: only these
    facts: MoveFacts
    problems: tuple[str, ...]
    # What a careful user is told, not a failure: a commit a remote-tracking ref holds that the
    # move takes off a branch (ops/published.py).
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Overlap:
    """Where an effect and the changes made since overlap (effect.Conflict)."""

    path: str
    where: str
    kind: str
    lines: tuple[tuple[int, ...], ...]


@dataclass(frozen=True)
class RefusedMove:
    """A move refused because the effect to take back overlaps with later changes."""

    operation: OperationResult  # the operation concerned, or the stand-in of none
    event: EventKind
    dry_run: bool
    conflicts: tuple[Overlap, ...]
    error: str
    hint: str
    exit_code: int


@dataclass(frozen=True)
class NothingFurther:
    """`rollback` of an operation already back at its first step. `git_dir`: what its dry run
    says the real one still writes back in the git dir (a reflog the operation rewrote)."""

    operation: OperationResult
    dry_run: bool = False
    git_dir: tuple[str, ...] = ()
