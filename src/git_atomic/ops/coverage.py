"""Total line coverage from a report: coverage.py JSON, Cobertura XML or an LCOV tracefile."""

from __future__ import annotations

import math
import stat
from pathlib import Path
from typing import Final, NoReturn, TypeGuard

from git_atomic.core.errors import AtomicError, Exit

FORMATS: Final = "coverage.py JSON, Cobertura XML or LCOV"
_NO_LINES: Final = "measures no lines, so it gives no coverage to check"


class CoverageError(AtomicError):
    """A coverage report that is missing, unreadable or in no format we know."""

    exit_code = Exit.FAILED  # a gate whose report is bad fails; it never passes silently


def read_coverage(path: Path, *, worktree: Path | None = None) -> float:
    """The report's total line coverage, a percentage from 0 to 100.

    The format is told by the content, not the file name: tools name their reports freely.
    `worktree`: a report named inside it is never read through a link out of it (a gate's
    verdict would come from a file elsewhere, as the configuration's would: config.py).
    """
    try:
        data = _report_bytes(path, worktree)
    except FileNotFoundError:
        raise CoverageError(f"coverage report {path}: not found") from None
    except OSError as e:
        raise CoverageError(f"coverage report {path}: cannot read: {e.strerror or e}") from None
    start = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if not start:
        _fail(path, "is empty")
    if start == b"{":
        return _from_json(path, data)
    if start == b"<" or _looks_like_utf16(data):
        return _from_xml(path, data)
    return _from_lcov(path, data)


def _report_bytes(path: Path, worktree: Path | None) -> bytes:
    """The report's bytes. One whose path enters the worktree is read where it really is,
    which must be in the worktree, opened folder by folder from its top with no link followed
    (core/wholefile.py): a link swapped in after the check is never read through, nor a
    path's `..` taken as text past a folder that is a link. One the configuration names
    outside the worktree is yours, read as named. A FIFO is never waited on."""
    import errno
    import os

    from git_atomic.core import wholefile

    if worktree is not None:
        from git_atomic.core import linkplace

        top = os.path.realpath(worktree)
        full = os.path.join(top, path)
        # Where it is, its links inside followed as text: nothing outside is looked at.
        rel, real = linkplace.placed(top, full)
        if rel is not None:
            try:
                return wholefile.read_beneath(top, rel)
            except OSError as e:
                if e.errno in (errno.ELOOP, errno.ENOTDIR):
                    _fail(path, "a link came on its way while it was read: not read")
                raise
        spelled = os.path.abspath(worktree)
        if _enters(full, top) or _enters(os.path.join(spelled, path), spelled):
            _fail(path, f"a link to {real}, outside the worktree: not read")
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return fh.read()


def _enters(path: str, top: str) -> bool:
    """Whether the text of `path` goes into a folder under `top` on its way."""
    under = [part for part in top.split("/") if part]
    at: list[str] = []
    for part in path.split("/"):
        if part == "..":
            if at:
                at.pop()
        elif part not in ("", "."):
            at.append(part)
            if len(at) > len(under) and at[: len(under)] == under:
                return True
    return False


def _fail(path: Path, why: str) -> NoReturn:
    raise CoverageError(f"coverage report {path}: {why}")


def _percent(path: Path, covered: float, total: float) -> float:
    if total <= 0:
        _fail(path, _NO_LINES)
    return 100.0 * covered / total


def _checked(path: Path, value: float, what: str) -> float:
    if not math.isfinite(value) or not 0 <= value <= 100:
        _fail(path, f"{what} is {value}, not a percentage from 0 to 100")
    return value


def _from_json(path: Path, data: bytes) -> float:
    import json

    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        _fail(path, f"invalid JSON: {e}")
    totals = document.get("totals") if isinstance(document, dict) else None
    if not isinstance(totals, dict):
        _fail(path, f"JSON without a 'totals' object, so not a coverage.py report ({FORMATS})")
    percent = totals.get("percent_covered")
    if _is_number(percent):
        return _checked(path, float(percent), "totals.percent_covered")
    covered, statements = totals.get("covered_lines"), totals.get("num_statements")
    if _is_number(covered) and _is_number(statements):
        return _checked(path, _percent(path, covered, statements), "the line coverage")
    _fail(path, "coverage.py JSON without totals.percent_covered")


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _looks_like_utf16(data: bytes) -> bool:
    return data[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(data) > 1 and b"\x00" in data[:4])


def _from_xml(path: Path, data: bytes) -> float:
    tag, attributes = _root_attributes(path, data)
    if tag != "coverage":
        hint = " (a JaCoCo report: convert it to Cobertura first)" if tag == "report" else ""
        _fail(path, f"XML whose root is <{tag}>, not Cobertura's <coverage>{hint}")
    covered = _float(attributes.get("lines-covered"))
    valid = _float(attributes.get("lines-valid"))
    # The counts give the exact figure; line-rate is often rounded to 4 digits.
    if covered is not None and valid is not None and valid > 0:
        return _checked(path, _percent(path, covered, valid), "lines-covered / lines-valid")
    rate = _float(attributes.get("line-rate"))
    if rate is not None and math.isfinite(rate):
        return _checked(path, rate * 100.0, "line-rate x 100")
    if valid == 0:
        _fail(path, _NO_LINES)
    _fail(path, "Cobertura <coverage> has neither line-rate nor lines-covered and lines-valid")


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


class _Refused(Exception):
    pass


def _root_attributes(path: Path, data: bytes) -> tuple[str, dict[str, str]]:
    """The root element of an XML document, read with entity declarations refused.

    A plain `<!DOCTYPE coverage SYSTEM "...">` is accepted: Cobertura, gcovr and Istanbul
    write one, and expat never fetches it. What is refused is what expands: an internal
    DTD subset or any entity declaration (the "billion laughs" and external entities).
    """
    from xml.parsers import expat

    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    found: list[tuple[str, dict[str, str]]] = []

    def doctype(name: str, system_id: str | None, public_id: str | None, internal: int) -> None:
        if internal:
            raise _Refused("a DTD with an internal subset")

    def entity(name: str, *args: object) -> None:  # pragma: no cover - a second lock
        # Declarations only come from an internal subset, refused above, or from an external
        # DTD, which expat does not load with parameter entity parsing off.
        raise _Refused(f"an entity declaration ({name})")

    def start(tag: str, attributes: dict[str, str]) -> None:
        if not found:
            found.append((tag, attributes))
        # Read to the end anyway: a report cut short while being written must not pass.

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.StartElementHandler = start
    try:
        parser.Parse(data, True)
    except _Refused as e:
        _fail(path, f"XML with {e} refused, for safety")
    except expat.ExpatError as e:
        _fail(path, f"invalid XML: {e}")
    return found[0]  # expat has already failed on a document without a root element


def _from_lcov(path: Path, data: bytes) -> float:
    """Lines hit over lines found; a file listed in several records (one per test) counts once."""
    by_file: dict[str, dict[int, bool]] = {}  # from DA records: line number -> hit at all?
    summaries: list[tuple[int, int]] = []  # LF and LH of records that list no DA
    source: str | None = None
    record: dict[int, bool] = {}
    found = hit = 0
    seen_source = False
    for number, raw in enumerate(data.decode("utf-8-sig", "replace").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line == "end_of_record":
            if source is None:
                _fail(path, f"line {number}: end_of_record outside a record")
            lines = by_file.setdefault(source, {})
            for n, is_hit in record.items():
                lines[n] = lines.get(n, False) or is_hit
            if not record:
                summaries.append((found, hit))
            source, record, found, hit = None, {}, 0, 0
            continue
        key, colon, value = line.partition(":")
        # Any upper-case key is a record type (lcov keeps adding them); anything else is not LCOV.
        if not colon or not key.isalpha() or not key.isupper():
            if not seen_source:
                _fail(path, f"not a coverage report ({FORMATS} expected)")
            _fail(path, f"line {number}: not an LCOV record: {line[:60]!r}")
        try:
            if key == "SF":
                source, seen_source = value, True
            elif key == "DA":
                line_no, count = value.split(",")[:2]
                record[int(line_no)] = record.get(int(line_no), False) or float(count) > 0
            elif key == "LF":
                found = int(value)
            elif key == "LH":
                hit = int(value)
        except ValueError:
            _fail(path, f"line {number}: malformed {key} record: {line[:60]!r}")
    if not seen_source:
        _fail(path, f"not a coverage report ({FORMATS} expected)")
    if source is not None:
        _fail(path, "ends inside a record, without end_of_record: cut short?")
    total = sum(len(lines) for lines in by_file.values()) + sum(f for f, _ in summaries)
    covered = sum(sum(lines.values()) for lines in by_file.values()) + sum(h for _, h in summaries)
    return _checked(path, _percent(path, covered, total), "LH / LF")
