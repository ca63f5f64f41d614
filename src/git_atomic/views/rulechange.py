"""Whether a change's ignore rules changed, for the views that count it (`log`, `show --stat`)
and print it (`show --diff`): a file only the new rules show (`.env`, there before, ignored)
is not the change's. The rule files are those the engine reads (engine/rulefiles.py): a
`.gitignore` or the worktree's `core.excludesFile` among the changed paths, and
`.git/info/exclude`, which no tree holds: each checkpoint's meta records it (infoexclude.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

from git_atomic.engine import infoexclude, rulefiles
from git_atomic.engine.git import Repo


def meta_spec(spec: str) -> str | None:
    """`<checkpoint>:meta` for a checkpoint's `<checkpoint>:files` (checkpoint.py)."""
    head, sep, tail = spec.rpartition(":")
    return f"{head}:meta" if sep and tail == "files" else None


def metas_of(repo: Repo, specs: Iterable[str]) -> dict[str, str]:
    """`<checkpoint>:files` -> the blob of its checkpoint's meta, for those that have one (one
    `cat-file --batch-check`)."""
    asked = {m: s for s in specs if (m := meta_spec(s)) is not None}
    if not asked:
        return {}
    answer = repo.out("cat-file", "--batch-check", input=("\n".join(asked) + "\n").encode())
    found = {}
    for meta, line in zip(asked, answer.decode().splitlines(), strict=False):
        fields = line.split()
        if len(fields) == 3 and fields[1] == "blob":
            found[asked[meta]] = fields[0]
    return found


def info_exclude_changed(
    pairs: Sequence[tuple[str, str]], metas: Mapping[str, str], repo: Repo
) -> set[tuple[str, str]]:
    """The pairs of `<checkpoint>:files` specs whose checkpoints recorded two different
    `.git/info/exclude` (one `cat-file --batch` for them all; none where a meta is missing or
    does not know it)."""
    wanted = [(a, b) for a, b in pairs if a in metas and b in metas]
    if not wanted:
        return set()
    data = dict(repo.cat_blobs({metas[s] for pair in wanted for s in pair}))

    def rules(spec: str) -> infoexclude.Rules:
        try:
            meta = json.loads(data.get(metas[spec], b""))
        except ValueError:
            return infoexclude.UNKNOWN
        return infoexclude.from_meta(meta) if isinstance(meta, dict) else infoexclude.UNKNOWN

    changed = set()
    for a, b in wanted:
        before, after = rules(a), rules(b)
        if before.known and after.known and before != after:
            changed.add((a, b))
    return changed


def in_changed_paths(repo: Repo, changed: Iterable[bytes]) -> bool:
    """Whether a changed path holds ignore rules: a `.gitignore`, the worktree's excludes file."""
    return rulefiles.ignore_rules_among(repo, changed)
