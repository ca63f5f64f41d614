"""A repository git refuses for its format (setup.c, t1302-repo-version), said in one line
naming the keys and the way out: the repository's state, exit 3, as discovery.py's other
refusals of a folder git cannot use; not a configuration git cannot parse (exit 2)."""

from __future__ import annotations

import re
from typing import Final

from git_atomic.core.errors import NotARepository

# git's refusals of a repository format it does not know (setup.c, t1302-repo-version): an
# extension it does not know, one that wants format 1 under format 0, a format above 1.
_FORMAT_LISTED: Final = re.compile(
    rb"^fatal: (unknown repository extensions? found|repo version is 0, but v1-only "
    rb"extensions? found):\n((?:\t.*\n?)+)",
    re.M,
)
_FORMAT_VERSION: Final = re.compile(
    rb"^fatal: Expected git repo version <= (\d+), found (\d+)", re.M
)


def refuse_a_format(stderr: bytes) -> None:
    """Raise NotARepository (exit 3: the repository's own format, not a configuration git cannot
    parse; its keys are right for a newer git) for a repository git refuses for its format, in
    one line naming the keys (`extensions.NAME`, core.repositoryformatversion) and the way out.
    Nothing where git refused for another reason."""
    listed = _FORMAT_LISTED.search(stderr)
    if listed is not None:
        names = [x.strip().decode("utf-8", "backslashreplace") for x in listed[2].splitlines()]
        keys = ", ".join(f"extensions.{x}" for x in names if x)
        if listed[1].startswith(b"unknown"):
            raise NotARepository(
                f"this git does not know {keys}, "
                f"{'repository extensions' if ',' in keys else 'a repository extension'} "
                "the repository's configuration turns on (core.repositoryformatversion 1), and "
                "refuses the repository; nothing was changed",
                hint="a repository of a newer git wants that git; one set by mistake is removed "
                "from the repository's config file with an editor; `git config` refuses too",
            )
        raise NotARepository(
            f"the repository's configuration turns on {keys}, which git reads only with "
            "core.repositoryformatversion 1 (it is 0), and git refuses the repository; "
            "nothing was changed",
            hint="set core.repositoryformatversion = 1 in the repository's config file with an "
            "editor, or remove the extension",
        )
    version = _FORMAT_VERSION.search(stderr)
    if version is not None:
        raise NotARepository(
            f"the repository's core.repositoryformatversion is {version[2].decode()}, and this "
            f"git knows formats up to {version[1].decode()} only: it refuses the repository; "
            "nothing was changed",
            hint="a repository of a newer git wants that git; a value set by mistake is mended "
            "in the repository's config file with an editor; `git config` refuses too",
        )
