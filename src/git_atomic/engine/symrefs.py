"""Branches that are symbolic refs (`git symbolic-ref refs/heads/alias refs/heads/main`): a
checkpoint notes which ref each names (the capture's one `for-each-ref` lists it:
gitoutput.parse_symrefs), and a restore points each back, makes it again or removes it, as its
target had it (restoreplan.Plan.symref_changes). Each is read just before it is written (git
before 2.46 has no compare-and-swap for a symbolic ref): one someone pointed elsewhere
meanwhile stays, and is named.

A branch that was symbolic and is a plain one now (`git branch -f alias`, `git update-ref
--no-deref`), or the other way round, is both: its plain side moves with the branches
(restorerefs.move_branches), so a symbolic ref to take away goes before them (`before`) and
one to make again comes after (`after`). One naming a ref that is not there git does not list:
a checkpoint does not know it (docs/limits.md)."""

from __future__ import annotations

from git_atomic.engine.git import Repo
from git_atomic.engine.restoreplan import Outcome

# (branch, the ref it names now or None, the ref it names at the target or None)
Change = tuple[str, str | None, str | None]


def read(repo: Repo, name: str) -> str | None:
    """The ref the branch `name` names, None where it is no symbolic ref (or not there)."""
    res = repo.run("symbolic-ref", "-q", name, check=False)
    return res.stdout.decode("utf-8", "surrogateescape").strip() if res.returncode == 0 else None


def there(repo: Repo, name: str) -> bool:
    """Whether `name` is there at all (a plain ref, or a symbolic one, even naming nothing)."""
    if read(repo, name) is not None:
        return True
    return repo.run("rev-parse", "-q", "--verify", name, check=False).returncode == 0


def before(repo: Repo, found: tuple[Change, ...], outcome: Outcome) -> None:
    """Take away the symbolic refs the target does not hold as such (before the branches move:
    a plain branch may come back at the name)."""
    for name, now, then in found:
        if now is None or then is not None:
            continue
        if read(repo, name) != now:
            _left(name, outcome)
            continue
        repo.run("symbolic-ref", "--delete", "-q", name, check=False)  # its reflog with it


def after(repo: Repo, found: tuple[Change, ...], reason: str, outcome: Outcome) -> None:
    """Point back, or make again, the symbolic refs the target holds (after the branches move:
    a plain branch at the name has gone)."""
    for name, now, then in found:
        if then is None:
            continue
        here = read(repo, name)
        if here != now or (now is None and there(repo, name)):
            if here != then:
                _left(name, outcome)
            continue
        repo.run("symbolic-ref", "-m", reason, name, then)


def _left(name: str, outcome: Outcome) -> None:
    outcome.refs_left.append(name)
    outcome.problems.append(
        f"branch {name.removeprefix('refs/heads/')} was changed by someone else (a symbolic "
        "ref pointed elsewhere, made or removed); left as it is"
    )
