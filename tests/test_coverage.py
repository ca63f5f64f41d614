"""Coverage reports: real ones from coverage.py, samples from other tools, and broken ones."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from git_atomic.core.errors import AtomicError, Exit
from git_atomic.ops.coverage import CoverageError, read_coverage
from testing.gitrepo import GitRepo

DATA = Path(__file__).parent / "data" / "coverage"

# A module with a branch never taken and a function never called, so no total is 0 or 100.
MODULE = """\
def classify(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"


def unused(x):
    y = x * 2
    return y + 1


for value in (5, 7):
    classify(value)
"""


@dataclass(frozen=True)
class CoveragePyReports:
    json: Path
    xml: Path
    lcov: Path
    total: float  # what `coverage report` says, to 6 decimals
    lines_only: float  # covered lines over statements, from the JSON's own counts


def coverage_py(directory: Path, *args: str) -> str:
    # Hermetic: no inherited COVERAGE_* settings, no rc file but the empty one we pass.
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    result = subprocess.run(
        [sys.executable, "-m", "coverage", *args],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def make_reports(directory: Path, *, branch: bool) -> CoveragePyReports:
    directory.mkdir()
    (directory / "prog.py").write_text(MODULE)
    (directory / "empty.rc").write_text("")
    common = ["--rcfile=empty.rc", "--data-file=.cov"]
    coverage_py(directory, "run", *common, *(["--branch"] if branch else []), "prog.py")
    coverage_py(directory, "json", *common, "-o", "coverage.json")
    coverage_py(directory, "xml", *common, "-o", "coverage.xml")
    coverage_py(directory, "lcov", *common, "-o", "coverage.lcov")
    total = coverage_py(directory, "report", *common, "--format=total", "--precision=6")
    totals = json.loads((directory / "coverage.json").read_text())["totals"]
    return CoveragePyReports(
        json=directory / "coverage.json",
        xml=directory / "coverage.xml",
        lcov=directory / "coverage.lcov",
        total=float(total),
        lines_only=100.0 * totals["covered_lines"] / totals["num_statements"],
    )


@pytest.fixture(scope="module")
def line_reports(tmp_path_factory: pytest.TempPathFactory) -> CoveragePyReports:
    return make_reports(tmp_path_factory.mktemp("cov") / "lines", branch=False)


@pytest.fixture(scope="module")
def branch_reports(tmp_path_factory: pytest.TempPathFactory) -> CoveragePyReports:
    return make_reports(tmp_path_factory.mktemp("cov") / "branch", branch=True)


def error_of(path: Path) -> str:
    with pytest.raises(CoverageError) as info:
        read_coverage(path)
    message = str(info.value)
    assert "\n" not in message
    assert str(path) in message
    return message


def write(tmp_path: Path, content: str | bytes, name: str = "report") -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


# --- real coverage.py reports -----------------------------------------------------------------


def test_coverage_py_reports_all_give_coverage_reports_total(
    line_reports: CoveragePyReports,
) -> None:
    assert 0 < line_reports.total < 100  # the program really leaves lines unrun
    assert read_coverage(line_reports.json) == pytest.approx(line_reports.total, abs=1e-6)
    assert read_coverage(line_reports.xml) == pytest.approx(line_reports.total, abs=1e-6)
    assert read_coverage(line_reports.lcov) == pytest.approx(line_reports.total, abs=1e-6)


def test_coverage_py_json_with_branches_gives_the_combined_total(
    branch_reports: CoveragePyReports,
) -> None:
    # coverage.py's total (and --fail-under) counts branches too; its JSON carries that total.
    assert read_coverage(branch_reports.json) == pytest.approx(branch_reports.total, abs=1e-6)
    assert branch_reports.total != pytest.approx(branch_reports.lines_only)


def test_xml_and_lcov_with_branches_give_line_coverage(branch_reports: CoveragePyReports) -> None:
    assert read_coverage(branch_reports.xml) == pytest.approx(branch_reports.lines_only)
    assert read_coverage(branch_reports.lcov) == pytest.approx(branch_reports.lines_only)


def test_the_format_is_told_by_content_not_name(
    line_reports: CoveragePyReports, tmp_path: Path
) -> None:
    misnamed = {
        line_reports.json: "coverage.xml",
        line_reports.xml: "lcov.info",
        line_reports.lcov: "coverage.json",
    }
    for report, name in misnamed.items():
        copy = tmp_path / name
        shutil.copy(report, copy)
        assert read_coverage(copy) == pytest.approx(line_reports.total, abs=1e-6)


def test_a_utf8_bom_does_not_hide_the_format(
    line_reports: CoveragePyReports, tmp_path: Path
) -> None:
    for report in (line_reports.json, line_reports.xml, line_reports.lcov):
        copy = write(tmp_path, b"\xef\xbb\xbf" + report.read_bytes(), "bom-" + report.name)
        assert read_coverage(copy) == pytest.approx(line_reports.total, abs=1e-6)


# --- samples from other tools -------------------------------------------------------------------

SAMPLES = {
    # produced by the real tools (see data/coverage/README.md)
    "gcovr-8.8.cobertura.xml": 100 * 7 / 11,
    "gcovr-8.8.lcov.info": 100 * 7 / 11,
    "c8-12.0.0.cobertura.xml": 100 * 13 / 18,
    "c8-12.0.0.lcov.info": 100 * 13 / 18,
    "nyc-18.0.0.cobertura.xml": 70.0,
    "nyc-18.0.0.lcov.info": 70.0,
    # handwritten after the published formats
    "istanbul-style.cobertura.xml": 100 * 5 / 7,  # exact, not the rounded line-rate 0.7143
    "gcovr-style.cobertura.xml": 100 * 12 / 14,
    "cobertura-java.xml": 90.0,
    "cover2cover-jacoco.cobertura.xml": 81.25,
    "geninfo-two-tests.info": 90.0,  # merged per file; summing the records would say 56.25
    "da-only.info": 100 * 4 / 7,
}


def test_every_sample_file_is_checked() -> None:
    on_disk = {p.name for p in DATA.iterdir() if p.name != "README.md"}
    assert on_disk == set(SAMPLES)


@pytest.mark.parametrize(("name", "expected"), SAMPLES.items())
def test_sample_reports(name: str, expected: float) -> None:
    assert read_coverage(DATA / name) == pytest.approx(expected, rel=1e-12)


@pytest.mark.skipif(shutil.which("lcov") is None, reason="lcov is not installed")
@pytest.mark.parametrize("name", [n for n in SAMPLES if n.endswith(".info")])
def test_lcov_samples_agree_with_lcov_summary(name: str) -> None:
    summary = subprocess.run(
        ["lcov", "--summary", str(DATA / name)], capture_output=True, text=True, check=True
    )
    match = re.search(
        r"lines\.+: [\d.]+% \((\d+) of (\d+) lines\)", summary.stdout + summary.stderr
    )
    assert match, summary.stdout + summary.stderr
    hit, found = map(int, match.groups())
    assert read_coverage(DATA / name) == pytest.approx(100 * hit / found)


def test_cobertura_in_utf16_is_read(tmp_path: Path) -> None:
    text = (DATA / "istanbul-style.cobertura.xml").read_text()
    text = text.replace('<?xml version="1.0" ?>', '<?xml version="1.0" encoding="UTF-16"?>')
    report = write(tmp_path, text.encode("utf-16"))
    assert read_coverage(report) == pytest.approx(100 * 5 / 7)


def test_cobertura_line_rate_is_used_when_there_are_no_lines(tmp_path: Path) -> None:
    # coverage.py writes this for a project with no statements: lines-valid 0, line-rate 1.
    report = write(tmp_path, '<coverage line-rate="1" lines-covered="0" lines-valid="0"/>')
    assert read_coverage(report) == 100.0


def test_lcov_summary_records_without_da_lines(tmp_path: Path) -> None:
    report = write(
        tmp_path, "TN:\nSF:a.c\nLF:8\nLH:6\nend_of_record\nSF:b.c\nLF:2\nLH:0\nend_of_record\n"
    )
    assert read_coverage(report) == 60.0


def test_lcov_checksums_blank_lines_and_crlf(tmp_path: Path) -> None:
    report = write(tmp_path, "TN:\r\n\r\nSF:a.c\r\nDA:1,1,abc\r\nDA:2,0,def\r\nend_of_record\r\n")
    assert read_coverage(report) == 50.0


# --- missing, broken and unknown reports --------------------------------------------------------


def test_a_missing_report(tmp_path: Path) -> None:
    assert error_of(tmp_path / "coverage.json").endswith(": not found")


def test_a_report_path_that_is_a_folder(tmp_path: Path) -> None:
    assert ": cannot read: " in error_of(tmp_path)


def test_a_report_in_the_worktree_that_links_out_of_it_is_not_read(tmp_path: Path) -> None:
    """A gate's `coverage.json` that is a link to a file outside the worktree (made by the
    operation the gate judges, or a clone that ships one) gave the gate its verdict from
    there: read through the link, as the configuration never is. Refused now; a link inside
    the worktree, and a report the configuration names outside it, are read as before."""
    top, outside = tmp_path / "worktree", tmp_path / "elsewhere"
    top.mkdir()
    outside.mkdir()
    report = b'{"totals": {"percent_covered": 99.0}}'
    (outside / "cov.json").write_bytes(report)
    (top / "cov.json").symlink_to(outside / "cov.json")
    (top / "real.json").write_bytes(report)
    (top / "inside.json").symlink_to("real.json")
    with pytest.raises(CoverageError) as caught:
        read_coverage(top / "cov.json", worktree=top)
    assert str(caught.value) == (
        f"coverage report {top / 'cov.json'}: a link to {outside / 'cov.json'}, outside the "
        "worktree: not read"
    )
    assert read_coverage(top / "inside.json", worktree=top) == 99.0
    assert read_coverage(outside / "cov.json", worktree=top) == 99.0


def test_coverage_error_is_ours_and_fails_the_gate(tmp_path: Path) -> None:
    with pytest.raises(AtomicError) as info:
        read_coverage(tmp_path / "nothing")
    assert isinstance(info.value, CoverageError)
    assert info.value.exit_code == Exit.FAILED


BROKEN: dict[str, tuple[str | bytes, str]] = {
    "empty": ("", "is empty"),
    "blank": (" \n\t\n", "is empty"),
    "text": ("TOTAL    120     30    75%\n", "not a coverage report"),
    "binary": (b"\x89PNG\r\n\x1a\n\x00\x00", "not a coverage report"),
    "json-invalid": ('{"totals": {"percent_covered": 80', "invalid JSON"),
    "json-not-utf8": (b'{"totals": {"percent_covered": 80, "x": "\xff"}}', "invalid JSON"),
    "json-no-totals": ('{"files": {}}', "without a 'totals' object"),
    "json-istanbul-summary": ('{"total": {"lines": {"pct": 80}}}', "without a 'totals' object"),
    "json-no-percent": ('{"totals": {"covered_lines": 3}}', "without totals.percent_covered"),
    "json-percent-string": ('{"totals": {"percent_covered": "80"}}', "without totals.percent"),
    "json-percent-above-100": ('{"totals": {"percent_covered": 150}}', "150.0, not a percentage"),
    "json-nothing-measured": (
        '{"totals": {"covered_lines": 0, "num_statements": 0}}',
        "measures no lines",
    ),
    "xml-invalid": ("<coverage line-rate='0.5'", "invalid XML"),
    "xml-cut-short": ('<coverage line-rate="0.5"><packages><package>', "invalid XML"),
    "xml-other-root": ('<testsuites tests="3"/>', "root is <testsuites>, not Cobertura"),
    "xml-jacoco": (
        '<report name="shop"><counter type="LINE" missed="1" covered="9"/></report>',
        "a JaCoCo report: convert it to Cobertura first",
    ),
    "xml-no-figures": ('<coverage version="1"/>', "neither line-rate nor lines-covered"),
    "xml-rate-not-number": ('<coverage line-rate="high"/>', "neither line-rate nor lines-covered"),
    "xml-rate-above-1": ('<coverage line-rate="1.5"/>', "150.0, not a percentage"),
    "xml-more-covered-than-valid": (
        '<coverage lines-covered="12" lines-valid="10"/>',
        "120.0, not a percentage",
    ),
    "xml-nothing-measured": (
        '<coverage line-rate="NaN" lines-covered="0" lines-valid="0"/>',
        "measures no lines",
    ),
    "lcov-no-records": ("TN:\n", "not a coverage report"),
    "lcov-cut-short": ("SF:a.c\nDA:1,1\nDA:2,", "malformed DA record"),
    "lcov-no-end": ("SF:a.c\nDA:1,1\nLF:1\nLH:1\n", "ends inside a record"),
    "lcov-bad-da": ("SF:a.c\nDA:one,1\nend_of_record\n", "line 2: malformed DA record"),
    "lcov-bad-lf": ("SF:a.c\nLF:many\nend_of_record\n", "line 2: malformed LF record"),
    "lcov-stray-end": ("SF:a.c\nend_of_record\nend_of_record\n", "line 3: end_of_record outside"),
    "lcov-garbage": ("SF:a.c\nDA:1,1\nsegmentation fault\n", "line 3: not an LCOV record"),
    "lcov-nothing-measured": ("SF:a.c\nend_of_record\n", "measures no lines"),
}


@pytest.mark.parametrize(("content", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_broken_reports_fail_with_one_clear_line(
    tmp_path: Path, content: str | bytes, expected: str
) -> None:
    report = write(tmp_path, content)
    message = error_of(report)
    assert message.startswith(f"coverage report {report}: ")
    assert expected in message


# --- XML that would expand or fetch entities is refused -----------------------------------------

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE coverage [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<coverage line-rate="0.5" version="&lol9;"/>
"""

HOSTILE = {
    "billion-laughs": BILLION_LAUGHS,
    "external-entity": (
        '<!DOCTYPE coverage [<!ENTITY rate SYSTEM "file:///etc/hostname">]>'
        '<coverage line-rate="0.5">&rate;</coverage>'
    ),
    "parameter-entity": (
        '<!DOCTYPE coverage [<!ENTITY % dtd SYSTEM "http://127.0.0.1:9/x.dtd"> %dtd;]>'
        '<coverage line-rate="0.5"/>'
    ),
    "empty-internal-subset": '<!DOCTYPE coverage []><coverage line-rate="0.5"/>',
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_entity_declarations_are_refused_before_expansion(tmp_path: Path, content: str) -> None:
    for encoding in ("utf-8", "utf-16"):  # the guard must not depend on the bytes on disk
        text = (
            content
            if encoding == "utf-8"
            else '<?xml version="1.0" encoding="UTF-16"?>'
            + (content.removeprefix('<?xml version="1.0"?>'))
        )
        report = write(tmp_path, text.encode(encoding), f"hostile-{encoding}.xml")
        started = time.monotonic()
        message = error_of(report)
        assert time.monotonic() - started < 1
        assert "refused, for safety" in message


def test_an_external_dtd_is_never_read(tmp_path: Path) -> None:
    # A plain external DOCTYPE is allowed (Cobertura, gcovr and Istanbul write one), but the
    # file it names is not loaded: an entity defined there stays undefined.
    write(tmp_path, '<!ENTITY rate "0.99">', "evil.dtd")
    report = write(
        tmp_path,
        '<?xml version="1.0"?>\n<!DOCTYPE coverage SYSTEM "evil.dtd">\n'
        '<coverage line-rate="0.25">&rate;</coverage>\n',
        "report.xml",
    )
    assert read_coverage(report) == 25.0


def test_a_gate_whose_report_links_out_of_the_worktree_fails(repo: GitRepo, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    outside.write_bytes(b'{"totals": {"percent_covered": 99.0}}')
    (repo.path / "cov.json").symlink_to(outside)
    repo.write(
        ".git-atomic.toml",
        b'[[gates]]\nname = "c"\nrun = "true"\ncoverage = { report = "cov.json", min = 50 }\n',
    )
    res = repo.atomic("gates", "--run", check=1)
    assert f"a link to {outside}, outside the worktree: not read" in res.stderr
