from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from testing.gitrepo import GitRepo, helper_pids, stop_helpers, verify_flag


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="run long tests and more examples")


def pytest_configure(config: pytest.Config) -> None:
    from hypothesis import settings

    if not hasattr(config, "workerinput"):  # once, before xdist's workers start
        _compile_sources()
        if getattr(config.option, "numprocesses", None):
            _rewrite_test_modules(config)

    _signals_as_at_a_terminal()
    # In-process captures check every edited scan tree against git's own (scan.py); not with
    # GIT_ATOMIC_TEST_VERIFY=0 (a run as users have it: docs/contributing.md).
    os.environ["GIT_ATOMIC_VERIFY_SCAN"] = verify_flag()
    # In-process engines (test_engine*, test_api, ...) commit with the identity in this
    # process's environment, as every subprocess gets it from hermetic_env: never from
    # whatever an earlier test of the same worker left (a clean CI machine has none).
    for key, value in (
        ("GIT_AUTHOR_NAME", "Test Author"),
        ("GIT_AUTHOR_EMAIL", "author@example.com"),
        ("GIT_COMMITTER_NAME", "Test Committer"),
        ("GIT_COMMITTER_EMAIL", "committer@example.com"),
    ):
        os.environ.setdefault(key, value)

    # The suite's own command has a budget (CI: the whole suite in under 8 minutes on 2 cores):
    # 120 examples, in shards xdist spreads (test_property_exact.py); --slow draws 2,000.
    examples = int(
        os.environ.get("GIT_ATOMIC_PROPERTY_EXAMPLES")
        or (2000 if config.getoption("--slow") else 120)
    )
    # CI draws the same examples every run (as Hypothesis's own CI profile does), so a
    # submission is judged on what it changed; anywhere else each run explores new ones.
    settings.register_profile(
        "git-atomic", max_examples=examples, derandomize=bool(os.environ.get("CI"))
    )
    settings.load_profile("git-atomic")


def _signals_as_at_a_terminal() -> None:
    """Ctrl-C and Ctrl-\\ handled as at a terminal, in pytest and so in every command a test
    starts: a suite started in a script's background (`cmd &`, which starts it with SIGINT and
    SIGQUIT ignored) would pass that on, and its tests of the user's Ctrl-C (sent to a command
    that ignores it) wait out the command's own `sleep`, or fail; the warm helper serves no
    command that ignores them (core/helper.py), as its tests expect it to."""
    import signal

    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if signal.getsignal(signal.SIGQUIT) is signal.SIG_IGN:
        signal.signal(signal.SIGQUIT, signal.SIG_DFL)


def _compile_sources() -> None:
    """The package's bytecode, written once: the suite runs the command line from src/
    thousands of times, and where PYTHONDONTWRITEBYTECODE is set (as in some sandboxes and CI
    images) no process writes it, so each one compiled every module it imported (about
    0.25 s of every call). An installed package has its bytecode from pip; the source
    checkout gets it here. Python still checks each file against its source."""
    import compileall

    compileall.compile_dir(
        str(Path(__file__).resolve().parent.parent / "src" / "git_atomic"), quiet=1, workers=1
    )


def _rewrite_test_modules(config: pytest.Config) -> None:
    """The test modules as pytest's assertion rewriting makes them, written once for xdist's
    workers to read. Where bytecode is not written (PYTHONDONTWRITEBYTECODE) pytest keeps no
    such file, and each worker parsed, rewrote and compiled every module itself: about 11 s
    of processor time per worker (`pytest --collect-only`: 16.0 s, 4.9 s with them written).
    They are written as pytest writes them (its own functions and file names), split among
    processes; pytest reads one only while it matches its source's time and size, and
    rewrites the module itself otherwise, as it does where its functions have moved."""
    try:
        from _pytest.assertion import rewrite

        state = config.stash[rewrite.assertstate_key]
        tail, read, make, write = (
            rewrite.PYC_TAIL,
            rewrite._read_pyc,
            rewrite._rewrite_test,
            rewrite._write_pyc,
        )
    except (ImportError, AttributeError, KeyError):  # --assert=plain, or another pytest
        return
    here = Path(__file__).resolve().parent
    modules = [here / "conftest.py"]
    for arg in config.args:  # as given, or testpaths (from the root)
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if not path.exists():
            path = (config.rootpath / arg.split("::")[0]).resolve()
        if path.is_dir() and (path == here or here in path.parents):
            modules += sorted(path.rglob("test_*.py"))
        elif path.suffix == ".py" and path.parent == here:
            modules.append(path)
    cache = here / "__pycache__"
    todo = [m for m in dict.fromkeys(modules) if read(m, cache / (m.name[:-3] + tail)) is None]
    if not todo:
        return
    cache.mkdir(exist_ok=True)

    def one(module: Path) -> None:
        try:
            source, code = make(module, config)
        except Exception:  # a module that does not compile: its worker reports it
            return
        write(state, code, source, cache / (module.name[:-3] + tail))

    shares = max(1, min(os.cpu_count() or 1, len(todo) // 8))
    children = []
    for share in range(1, shares):
        pid = os.fork()
        if pid == 0:  # a share of them, then out: never back into pytest
            code = 1
            try:
                for m in todo[share::shares]:
                    one(m)
                code = 0
            finally:
                os._exit(code)
        children.append(pid)
    for m in todo[::shares]:
        one(m)
    for pid in children:
        os.waitpid(pid, 0)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _no_helper_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """The warm helpers a test's commands started (core/helper.py) end with the test. The
    processes are looked through once when none is found (a few ms a test: the suite's
    thousands of tests), again after those found are stopped."""
    yield
    tmp = request.node.funcargs.get("tmp_path")
    if isinstance(tmp, Path) and stop_helpers(tmp):
        assert not helper_pids(tmp), "a warm helper outlived its test"


def pytest_sessionfinish(session: pytest.Session) -> None:
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        with contextlib.suppress(OSError, ValueError):
            stop_helpers(factory.getbasetemp())


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home")


@pytest.fixture
def empty_repo(tmp_path: Path) -> GitRepo:
    return GitRepo.create(tmp_path / "repo", tmp_path / "home", initial_commit=False)


@pytest.fixture(params=["whole scan index", "split scan index"])
def scan_index_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test on a whole scan index and on a split one (every size split: scanindex.split_at):
    the clean bits and the raw record are trusted the same on both (splitentries.py). Set
    before the test's repository is made (GitRepo passes the variable on)."""
    split = request.param.startswith("split")
    monkeypatch.setenv("GIT_ATOMIC_SPLIT_SCAN_AT", "1" if split else str(1 << 40))
    return str(request.param)
