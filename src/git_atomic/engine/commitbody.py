"""The commit `git commit-tree -m` would write now, worked out here (Repo.commit_tree writes it
loose, without a process), or None where git decides something: a date it is told in a form
not read here, another encoding, signing, a name or email git would trim, text not UTF-8."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Final

from git_atomic.core import patterns


def body(
    config: Callable[[str], str | None],
    tree: str,
    parents: Sequence[str],
    message: str,
    identity: Mapping[str, str],
) -> bytes | None:
    """The commit `git commit-tree` would write now, or None where git decides something
    here: a date it is told (GIT_*_DATE, in any of the forms git reads), another commit
    encoding, signing, a second object format, names or emails git would trim or change
    (its "crud" at either end, `<`, `>`, a newline), text that is not UTF-8 (git would
    rewrite it as Latin-1), a parent named twice."""
    for key in ("i18n.commitencoding", "extensions.compatobjectformat", "commit.gpgsign"):
        if config(key) is not None:
            return None
    if len(set(parents)) != len(parents):
        return None
    now = int(time.time())
    seconds_east = time.localtime(now).tm_gmtoff
    # In minutes, as git's C division gives them: towards zero (a zone of -5:30:30 is -0530).
    offset = int(seconds_east / 60)
    lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
    for who in ("AUTHOR", "COMMITTER"):
        name, email = identity.get(f"GIT_{who}_NAME"), identity.get(f"GIT_{who}_EMAIL")
        if not (name and email and _plain_ident(name) and _plain_ident(email)):
            return None
        told = identity.get(f"GIT_{who}_DATE", os.environ.get(f"GIT_{who}_DATE"))
        when = _git_date(told) if told else (now, offset)
        if when is None:
            return None
        lines.append(f"{who.lower()} {name} <{email}> {when[0]} {_zone(when[1])}")
    # `-m` ends the message with a newline, unless it has one, or is empty.
    ending = "" if not message or message.endswith("\n") else "\n"
    text = "\n".join(lines) + "\n\n" + message + ending
    # git takes text with a noncharacter (U+FDD0..U+FDEF, U+xxFFFE, U+xxFFFF) for not UTF-8,
    # and writes it again as Latin-1.
    if any(0xFDD0 <= ord(c) <= 0xFDEF or ord(c) & 0xFFFE == 0xFFFE for c in text):
        return None
    try:
        return text.encode("utf-8")  # strict: a surrogate (bytes that were not UTF-8) fails
    except UnicodeEncodeError:
        return None


# What git's `strbuf_addstr_without_crud` trims from either end of a name or email (with `.`,
# which older gits trimmed too), and what it drops anywhere: such an identity is left to git.
_CRUD: Final = frozenset(".,:;<>\"\\'")


def _plain_ident(text: str) -> bool:
    return (
        text[0] > " "
        and text[-1] > " "
        and text[0] not in _CRUD
        and text[-1] not in _CRUD
        and not any(c in text for c in "\n<>")
    )


# The forms of GIT_AUTHOR_DATE / GIT_COMMITTER_DATE read here (any other is git's to read):
# git's own `[@]<seconds> <+-hhmm>`, and ISO 8601 `YYYY-MM-DD[T ]hh:mm:ss` with `Z` or an offset.
# Patterns, compiled (and cached by `re`) only when a date is set: not at every start.
_RAW_DATE: Final = patterns.keep(r"(@?)(\d{1,10}) ([+-])(\d\d)(\d\d)")
_ISO_DATE: Final = patterns.keep(
    r"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:Z|([+-])(\d\d):?(\d\d))"
)


def _git_date(text: str) -> tuple[int, int] | None:
    """(seconds, offset in minutes) of a date git is told, as git reads it; None for a form
    not read here."""
    raw = re.fullmatch(_RAW_DATE, text)
    if raw is not None:
        hours, minutes = int(raw[4]), int(raw[5])
        # Without `@`, git takes a number for seconds only from 100,000,000 on, and refuses
        # one past 2099 (4,102,444,800 is 2100-01-01).
        plain = not raw[1] and not 100_000_000 <= int(raw[2]) < 4_102_444_800
        if hours > 14 or minutes > 59 or plain:
            return None
        offset = hours * 60 + minutes
        return int(raw[2]), -offset if raw[3] == "-" else offset
    iso = re.fullmatch(_ISO_DATE, text)
    if iso is None:
        return None
    year, month, day, hour, minute, second = (int(iso[i]) for i in range(1, 7))
    if not (1970 <= year < 2100 and 1 <= month <= 12 and hour < 24 and minute < 60):
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if not (1 <= day <= _MONTH_DAYS[month - 1] + (month == 2 and leap) and second < 60):
        return None
    offset = 0
    if iso[7] is not None:
        if int(iso[8]) > 14 or int(iso[9]) > 59:
            return None
        offset = int(iso[8]) * 60 + int(iso[9])
        offset = -offset if iso[7] == "-" else offset
    local = _civil_days(year, month, day) * 86400 + hour * 3600 + minute * 60 + second
    seconds = local - offset * 60
    return (seconds, offset) if seconds >= 0 else None


def read_here(text: str) -> bool:
    """Whether `text`, a GIT_*_DATE, is in a form read here (then git reads it alike)."""
    return _git_date(text) is not None


def now_told() -> str:
    """Now, as a GIT_*_DATE git reads (`@<seconds> <zone>`, the zone git gives the moment)."""
    now = int(time.time())
    return f"@{now} {_zone(int(time.localtime(now).tm_gmtoff / 60))}"


_MONTH_DAYS: Final = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _civil_days(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a date of the proleptic Gregorian calendar (what
    calendar.timegm counts, without importing calendar into every command's child)."""
    if month <= 2:
        year -= 1
    era, year_of_era = divmod(year, 400)
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _zone(offset: int) -> str:
    """An offset in minutes as git writes it (`+hhmm`; none is `-0000`)."""
    return f"{'-' if offset < 0 else '+'}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"
