"""The numbers our environment variables give (core/envnumbers.py): the one reading behind the
hook's and the restore's lock waits and the tests' size thresholds. A value that is no number,
or no finite one, is the default; a wait below 0 is none."""

from __future__ import annotations

import pytest

from git_atomic.agents.turnstate import lock_wait
from git_atomic.core import envnumbers
from git_atomic.engine import gitlockheld, indexentries, scanindex


def test_bad_values_are_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "GIT_ATOMIC_TEST_NUMBER"
    for said, wait, size in (
        (None, 7.0, 9),
        ("", 7.0, 9),
        ("soon", 7.0, 9),
        ("nan", 7.0, 9),
        ("inf", 7.0, 9),
        ("-inf", 7.0, 9),
        ("-3", 0.0, -3),
        ("2.5", 2.5, 9),
        ("12", 12.0, 12),
    ):
        if said is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, said)
        assert (envnumbers.seconds(name, 7.0), envnumbers.whole(name, 9)) == (wait, size), said
    # The readers that use it, each read at the call.
    monkeypatch.setenv("GIT_ATOMIC_HOOK_LOCK_WAIT", "nan")
    monkeypatch.setenv("GIT_ATOMIC_INDEX_LOCK_WAIT", "")
    monkeypatch.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "1e3")
    monkeypatch.setenv("GIT_ATOMIC_INDEX_MEMO_AT", "x")
    assert lock_wait() == 45.0 and gitlockheld.live_wait() == 10.0
    assert scanindex.split_at() == scanindex._SPLIT_AT
    assert indexentries.memo_at() == indexentries.AT_MOST_BYTES
