"""The cause a Stop names when SIGINT or SIGTERM cut its gates short (agents/judge.py): "before
its gates ran" where none ran; where some ran and passed before the signal stopped the rest,
that was untrue: it says how many ran."""

from __future__ import annotations

import signal

import pytest

from git_atomic.agents import judge
from git_atomic.core.children import INTERRUPTS


def test_the_cause_says_how_many_gates_ran(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(INTERRUPTS, "received", signal.SIGTERM)
    assert judge._interrupted(0, 2) == "interrupted by SIGTERM before its gates ran"
    monkeypatch.setattr(INTERRUPTS, "received", signal.SIGINT)
    said = judge._interrupted(1, 3)
    assert said == "interrupted by SIGINT before all its gates ran (1 of 3 ran, and passed)"
