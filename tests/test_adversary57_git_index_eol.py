"""Families of git's own tests not played before (stop 57's adversary), in the manner of
tests/test_git_cases_more.py (its state reader, its twin oracle and its flavours: a failed run,
a kept run in commits mode and its rollback, an effect taken back after the user's files,
`begin` / `abort` / `rollback --op`, and an agent turn's rollback at Stop):

- t0025-crlf-renormalize: CRLF blobs committed, then `* text=auto` and `add --renormalize`.
- t0026-eol-config: `core.eol=crlf` with a `text` rule, the worktree in CRLF, the index LF;
  an operation that turns `core.eol`/`core.autocrlf` while it edits.
- t3001-ls-files-killed-modified: files made folders and folders made files or links, the
  index still naming the old shapes (`ls-files -k -m`).
- t3060-ls-files-with-tree: `read-tree --prefix` adds index entries with no file on disk.
- t1020-subdirectory and t7010-setup: git-atomic started from a subfolder (and a deeper one),
  the operation's git commands run there too.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import test_git_cases_more as more

Case = more.Case
ALL = ("shadow", "commits", "effect", "begin", "begin-commits", "turn")
CASES: list[Case] = []


def case(name: str, setup: str, op: str, **kw: object) -> None:
    CASES.append(Case(name, setup, op, **{"flavours": ALL, **kw}))  # type: ignore[arg-type]


# --- t0025-crlf-renormalize ----------------------------------------------------------------
RENORM = r"""git config core.autocrlf false; printf 'a\r\nb\r\n' > crlf.txt
printf 'l\nm\n' > lf.txt; printf 'x\r\ny\n' > mixed.txt; printf 'bin\0\r\n' > bin.dat
git add -A; git commit -qm crlf; printf 'w\r\n' > wip.txt"""
case(
    "t0025-renormalize-text-auto",
    RENORM,
    r"""printf '* text=auto\n' > .gitattributes; git add --renormalize .; git add .gitattributes""",
)
case(
    "t0025-renormalize-committed-rule",
    RENORM
    + r"""
printf '*.txt text\n' > .gitattributes; git add .gitattributes; git commit -qm rule""",
    r"""git add --renormalize .; printf 'c\r\n' >> crlf.txt; git commit -qm renorm""",
)
case(
    "t0025-renormalize-then-autocrlf-input",
    RENORM,
    r"""git config core.autocrlf input; git add --renormalize .; printf 'n\r\n' > new.txt
    git add new.txt""",
)
# --- t0026-eol-config ----------------------------------------------------------------------
EOL = r"""git config core.autocrlf false; printf '*.txt text\n*.bin -text\n' > .gitattributes
printf 'one\ntwo\n' > one.txt; printf 'r\nq\n' > two.bin; git add -A; git commit -qm eol
git config core.eol crlf; rm one.txt two.bin; git checkout -- one.txt two.bin
printf 'u\r\n' > user.txt"""
case(
    "t0026-eol-crlf-edited",
    EOL,
    r"""printf 'one\r\ntwo\r\nthree\r\n' > one.txt; printf 'n\r\n' > new.txt; git add -A""",
)
case(
    "t0026-operation-turns-eol-to-lf",
    EOL,
    r"""git config core.eol lf; printf 'edit\r\n' >> one.txt; git add one.txt
    printf 'z\n' > two.bin""",
)
case(
    "t0026-operation-sets-autocrlf-true",
    EOL,
    r"""git config --unset core.eol; git config core.autocrlf true; rm one.txt
    git checkout -- one.txt; printf 'k\n' > k.txt; git add k.txt""",
)
# --- t3001-ls-files-killed-modified --------------------------------------------------------
KILLED = r"""printf 'p0\n' > path0; printf 'p1\n' > path1; mkdir path2 path3 path4 path5
printf 'f2\n' > path2/file2; printf 'f3\n' > path3/file3; printf 'f4\n' > path4/file4
printf 'f5\n' > path5/file5; ln -s xyzzy path6; ln -s xyzzy path7; printf 'p8\n' > path8
git add -A; git commit -qm base
rm path0 path1; mkdir path0 path1; printf 'a\n' > path0/file0; ln -s xyzzy path1/file1
rm -r path2 path3; printf 'p2\n' > path2; ln -s xyzzy path3; printf 'mod\n' > path4/file4
rm path6; printf 'p6 now a file\n' > path6; rm path8; mkdir pathx; printf 'j\n' > pathx/ju"""
case(
    "t3001-killed-and-modified-staged",
    KILLED,
    r"""git update-index --add --remove path0/file0 path0 path2 path2/file2; git add -A pathx
    rm -r path1; printf 'back\n' > path1; rm path5/file5; rmdir path5; ln -s path4 path5""",
)
case(
    "t3001-operation-checks-out-over-the-killed",
    KILLED,
    r"""git checkout -f -- path0 path2 path3 path6 2>/dev/null || true; git add -A path8""",
)
# --- t3060-ls-files-with-tree --------------------------------------------------------------
case(
    "t3060-read-tree-prefix-no-files",
    r"""mkdir -p sub/a; printf 'a\n' > sub/a/x; printf 'b\n' > b; git add -A; git commit -qm t
    printf 'u\n' > sub/untracked""",
    r"""git read-tree --prefix=copy/ HEAD; git read-tree --prefix=other/sub/ HEAD:sub
    git rm -q --cached b""",
)
case(
    "t3060-read-tree-prefix-then-checkout-index",
    r"""mkdir -p d; printf 'a\n' > d/a; printf 'b\n' > b; git add -A; git commit -qm t""",
    r"""git read-tree --prefix=p/ HEAD; git checkout-index -- p/b; mkdir p/d
    printf 'e\n' > p/d/a""",
)
# --- t1020-subdirectory, t7010-setup -------------------------------------------------------
SUB = r"""mkdir -p dir/deep/er; printf 'top\n' > one; printf 'd\n' > dir/two
printf 'e\n' > dir/deep/er/three; git add -A; git commit -qm sub; printf 'u\n' > dir/u"""
SUB_OP = r"""(cd dir; printf 'x\n' >> ../one; git add ../one; git rm -q two
printf 'n\n' > deep/new; git update-index --add deep/new; cd deep; git mv er ../er2
git ls-files --error-unmatch ../../one >/dev/null)"""
case("t1020-started-in-a-subfolder", SUB, SUB_OP, cwd="dir")
# The next command cannot start in the folder the kept operation took away: a failed run only.
case(
    "t1020-started-in-a-folder-the-operation-removes",
    SUB,
    SUB_OP,
    cwd="dir/deep/er",
    flavours=("shadow",),
)
case(
    "t7010-ignored-folder-as-cwd",
    SUB
    + r"""
printf 'ign/\n' > .gitignore; mkdir ign; printf 'i\n' > ign/i""",
    r"""printf 'y\n' > one; git add -A; git add -f ign/i""",
    cwd="ign",
)


def _params() -> list[object]:
    return [pytest.param(c, f, id=f"{c.name}-{f}") for c in CASES for f in c.flavours]


@pytest.mark.parametrize(("case", "flavour"), _params())
def test_git_case(tmp_path: Path, case: Case, flavour: str) -> None:
    more.RUN[flavour](tmp_path, case)
