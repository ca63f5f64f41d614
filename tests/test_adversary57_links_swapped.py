"""Family: the configuration (`.git-atomic.toml`, `pyproject.toml`) and a gate's coverage report,
files of the worktree read for a verdict, were checked (`realpath`: in the worktree?) and then
opened by name: a link swapped in between (an operation's, a gate's own process still running)
was read through, and a file outside gave the gate its limit or its coverage. Now the file's
real path is opened folder by folder from the top with no link followed (core/wholefile.py
`read_beneath`): a link that came after the check stops the read. The swap is made at the
instant the check returns (the check itself made to do it), so the window is hit every time.
A report's path with `..` past a folder of the worktree that is a link goes where the kernel
goes (outside: refused), not where its text reads. The file outside is never written: its
bytes and mtime are as they were."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from git_atomic.core import config
from git_atomic.core.errors import ConfigError
from git_atomic.ops.coverage import CoverageError, read_coverage

HIGH = b'{"totals": {"percent_covered": 99.0}}'
LOW = b'{"totals": {"percent_covered": 10.0}}'


def outside(path: Path, data: bytes) -> tuple[Path, bytes, int]:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path, data, path.stat().st_mtime_ns


def untouched(seen: tuple[Path, bytes, int]) -> None:
    path, data, mtime = seen
    assert path.read_bytes() == data and path.stat().st_mtime_ns == mtime


def swap_after_place(
    monkeypatch: pytest.MonkeyPatch, named: Path, swap: Callable[[], None]
) -> list[bool]:
    """`swap` made right after the check of `named` answers: `linkplace.placed` (a report's,
    or a configuration file's that is a link: its links followed as text, nothing outside
    looked at), or the configuration's `lstat` of its file (`_linked`)."""
    from git_atomic.core import config, linkplace

    done: list[bool] = []

    def after(real: Callable[..., Any]) -> Callable[..., Any]:
        def checked(*args: Any, **kwargs: Any) -> Any:
            found = real(*args, **kwargs)
            if str(named) in (os.fspath(a) for a in args) and not done:
                swap()
                done.append(True)
            return found

        return checked

    monkeypatch.setattr(linkplace, "placed", after(linkplace.placed))
    monkeypatch.setattr(config, "_linked", after(config._linked))
    return done


def to_link(at: Path, target: Path) -> Callable[[], None]:
    def swap() -> None:
        tmp = at.with_name(at.name + ".swap")
        tmp.symlink_to(target)
        os.replace(tmp, at)  # one step, as a swap by rename is

    return swap


@pytest.mark.parametrize("name", [".git-atomic.toml", "pyproject.toml"])
def test_a_configuration_made_a_link_after_its_check_is_not_read_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    top = tmp_path / "worktree"
    top.mkdir()
    ours = b'history = "shadow"\n'
    theirs = b'history = "commits"\nmax_new_file_size = "1B"\n'  # a limit of its choosing
    if name == "pyproject.toml":
        ours, theirs = (b"[tool.git-atomic]\n" + text for text in (ours, theirs))
    (top / name).write_bytes(ours)
    seen = outside(tmp_path / "elsewhere" / name, theirs)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    done = swap_after_place(monkeypatch, top / name, to_link(top / name, seen[0]))
    if name == ".git-atomic.toml":
        with pytest.raises(ConfigError) as caught:
            config.load_config(top)
        assert str(caught.value) == (
            ".git-atomic.toml: a link came on its way while it was read: not read"
        )
    else:  # a project file of yours linked from elsewhere is simply not ours
        assert config.load_config(top) == config.Config()
    assert done == [True]
    untouched(seen)


def test_a_link_in_the_worktree_is_still_read_as_the_file_it_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = tmp_path / "worktree"
    (top / "conf").mkdir(parents=True)
    (top / "conf" / "atomic.toml").write_bytes(b'history = "shadow"\n')
    (top / ".git-atomic.toml").symlink_to("conf/atomic.toml")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert config.load_config(top).history.value == "shadow"


@pytest.mark.parametrize("what", ["report", "folder"])
def test_a_report_made_a_link_after_its_check_is_not_read_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    """The report, or the folder it is in, made a link to one outside (a high coverage there)
    between the check and the read: refused, the gate fails; before, 99% from outside."""
    top = tmp_path / "worktree"
    (top / "reports").mkdir(parents=True)
    report = top / "reports" / "cov.json"
    report.write_bytes(LOW)
    seen = outside(tmp_path / "elsewhere" / "cov.json", HIGH)
    if what == "report":
        swap = to_link(report, seen[0])
    else:

        def swap() -> None:
            os.rename(top / "reports", top / "kept")
            (top / "reports").symlink_to(seen[0].parent)

    done = swap_after_place(monkeypatch, report, swap)
    with pytest.raises(CoverageError) as caught:
        read_coverage(report, worktree=top)
    assert str(caught.value) == (
        f"coverage report {report}: a link came on its way while it was read: not read"
    )
    assert done == [True]
    untouched(seen)


def test_a_reports_dotdot_past_a_linked_folder_goes_where_the_kernel_goes(
    tmp_path: Path,
) -> None:
    """`sub/../cov.json`, `sub` a link to `elsewhere/deep`: the kernel reads `elsewhere/cov.json`
    (outside: refused), not the worktree's `cov.json` its text names. Before, the check looked
    at the text's file and the read took the kernel's."""
    top = tmp_path / "worktree"
    top.mkdir()
    (top / "cov.json").write_bytes(LOW)
    seen = outside(tmp_path / "elsewhere" / "cov.json", HIGH)
    (tmp_path / "elsewhere" / "deep").mkdir()
    (top / "sub").symlink_to(tmp_path / "elsewhere" / "deep")
    with pytest.raises(CoverageError) as caught:
        read_coverage(top / "sub" / ".." / "cov.json", worktree=top)
    assert "outside the worktree: not read" in str(caught.value)
    untouched(seen)
    (top / "sub").unlink()
    (top / "sub").mkdir()
    assert read_coverage(top / "sub" / ".." / "cov.json", worktree=top) == 10.0
    # Named outside by the configuration itself: yours, read as named; a FIFO never waited on.
    assert read_coverage(seen[0], worktree=top) == 99.0
    os.mkfifo(tmp_path / "fifo.json")
    with pytest.raises(CoverageError) as caught:
        read_coverage(tmp_path / "fifo.json", worktree=top)
    assert ": cannot read: " in str(caught.value)
