"""Git settings an operation added or changed in the repository's config, named by its own
rollback.

The configuration (`.git/config`, a worktree's `config.worktree`) is in no checkpoint, and a
rollback leaves it as it is (README: configuration), but for `core.bare` and `core.worktree`
(coreplace.py). A setting can make git run a program of the operation's at your next command:
`core.hooksPath` (hooks from elsewhere, or none of yours), `core.fsmonitor` (at every `git
status`), `filter.<name>.clean`, `diff.external`, `core.sshCommand`; or send your work
elsewhere (`remote.origin.url`). An operation that set one and failed was rolled back saying
"files, index and branches are as before", the setting left in force with no word of it.
Peers met the same: an agent's `.git/config` is a code-execution primitive on the host
(fwdai/fletch #564, tinyhumansai/openhuman #5493), and Claude Code's worktree setup
rewrote the shared repository's `core.hooksPath`, silently turning off the user's hooks
(anthropics/claude-code #67914).

Its own rollback (a failed run, `abort`, `recover`) names each line of those files that its
PRE-OP did not hold (under its section), and how many of the lines it held are gone. The
PRE-OP notes a digest of each line, never its text (a remote's URL may hold a token), in the
read coreplace.py makes anyway; nothing is read again unless the file's lines changed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from git_atomic.engine import coreplace
from git_atomic.engine.git import Repo

_MOST_SHOWN = 8  # lines shown per file; the rest counted
TURN: Final = "turn_config_lines"  # an agent turn's detail: what its calls did (turnbeside.py)


def lines(repo: Repo, details: Mapping[str, object]) -> list[str]:
    """One line per config file whose lines are not those its PRE-OP noted (none where the
    operation noted nothing: one begun before this was recorded)."""
    before = details.get(coreplace.LINES)
    if not isinstance(before, dict):
        return []
    out: list[str] = []
    for key in coreplace.FILES:
        read = coreplace.read_file(repo, key)
        if read is None:
            continue  # none now (one it removed took nothing that runs), or a link
        shown, data = read
        had = before.get(key)
        if key in before and not isinstance(had, list):
            continue
        was = set(had) if isinstance(had, list) else set()
        added, now = _added(data, was)
        gone = sum(1 for digest in was - now if not digest.startswith("["))
        if not added and not gone:
            continue
        out.append(_said(shown, added, gone))
    return out


def later_lines(repo: Repo, details: Mapping[str, object]) -> list[str]:
    """A later `rollback --op`'s: the lines the operation added (from its PRE-OP to its close)
    that are there now, and those it removed that are still gone; an agent turn's, those its
    calls did. None for an operation noted before these were."""
    made = details.get(TURN)
    if isinstance(made, dict):
        return turn_lines(repo, made)
    before, left = details.get(coreplace.LINES), details.get(coreplace.LINES_LEFT)
    if not (isinstance(before, dict) and isinstance(left, dict)):
        return []
    changed: dict[str, object] = {}
    for key in coreplace.FILES:
        then, end = before.get(key, []), left.get(key, [])
        if not (isinstance(then, list) and isinstance(end, list)):
            continue  # one not noted (a link, too large)
        was, still = {str(d) for d in then}, {str(d) for d in end}
        changed[key] = {"added": sorted(still - was), "removed": sorted(was - still)}
    return turn_lines(repo, changed)


def turn_lines(repo: Repo, made: Mapping[str, object]) -> list[str]:
    """An agent turn's: per file, the lines its calls added that are there now, and how many
    of those they removed are still gone (`made`: agents/turnbeside.py's digests)."""
    out: list[str] = []
    for key in coreplace.FILES:
        entry = made.get(key)
        if not isinstance(entry, dict):
            continue
        read = coreplace.read_file(repo, key)
        if read is None:
            continue
        shown, data = read
        ours = {str(d) for d in entry.get("added", []) if isinstance(d, str)}
        shown_lines, now = _lines(data)
        added = [line for line, digest in shown_lines if digest in ours]
        gone = sum(
            1
            for d in entry.get("removed", [])
            if isinstance(d, str) and not d.startswith("[") and d not in now
        )
        if added or gone:
            out.append(_said(shown, added, gone))
    return out


def _added(data: bytes, was: set[str]) -> tuple[list[str], set[str]]:
    """The settings of `data` whose lines `was` lacks, each as `[section] line`; and the
    digests of every line of `data`."""
    shown, now = _lines(data)
    return [line for line, digest in shown if digest not in was], now


def _lines(data: bytes) -> tuple[list[tuple[str, str]], set[str]]:
    """Each setting's line of `data` as shown (`[section] line`) with its digest; and the
    digests of every line of `data` (headers, blanks and comments too)."""
    shown: list[tuple[str, str]] = []
    now: set[str] = set()
    section = ""
    for raw in data.splitlines():
        digest = coreplace.line_digest(raw)
        now.add(digest)
        text = raw.decode("utf-8", "backslashreplace").strip()
        if text.startswith("["):
            section = text.split("]", 1)[0] + "]"
            continue
        if text and text[0] not in "#;":
            shown.append((f"{section} {text}" if section else text, digest))
    return shown, now


def _said(shown: str, added: list[str], gone: int) -> str:
    parts = []
    if added:
        listed = ", ".join(added[:_MOST_SHOWN])
        more = f" (and {len(added) - _MOST_SHOWN} more)" if len(added) > _MOST_SHOWN else ""
        parts.append(f"the operation added or changed {listed}{more}")
    if gone:
        parts.append(f"removed {gone} line{'s' if gone != 1 else ''} it held before")
    return (
        f"{shown}: {', and '.join(parts)}; configuration is in no checkpoint, so it is left "
        "as it is (a setting can make git run a program at your next command: `git config "
        "--local --edit`, or `git config --worktree --edit`, takes away what is not yours)"
    )
