"""Every boolean setting read as git reads it, git itself the oracle (`git config --type=bool`):
`on`, `2`, `0x1`, `1k` are true; a bare key with no `=` (`[core] autocrlf`) is true; an empty
value (`autocrlf =`) is false. `config -z --list` prints both of the last two with an empty
value, but a bare key without the newline: read alike, the empty one was taken for true."""

from __future__ import annotations

import pytest

from git_atomic.engine import discovery
from testing.gitrepo import GitRepo

SPELLINGS = ["", "= true", "= on", "= 2", "= 0x1", "= 1k", "=", "= false", "= off", "= 0", "= no"]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_a_boolean_is_what_git_says_it_is(repo: GitRepo, spelling: str) -> None:
    config = repo.path / ".git" / "config"
    config.write_text(
        config.read_text() + f"[core]\n\tautocrlf {spelling}\n\tfilemode {spelling}\n"
    )
    git_says = repo.git("config", "--type=bool", "core.fileMode").strip() == "true"
    discovery.discover.cache_clear()
    found = discovery.discover_with_config(str(repo.path))
    assert found.config_bool("core.fileMode") is git_says, spelling
    assert found.autocrlf() is git_says, spelling
