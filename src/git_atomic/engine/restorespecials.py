"""What a restore does of FIFOs, sockets and devices (git holds none of them), and of the
permission bits and extended attributes a tree cannot keep: `Specials`, read from the state
the restore starts from and from its target's capture. A special file the start saw is taken
away where the target has a file or a folder, if still of that kind (unchanged.py); the
target's FIFOs are made again where nothing is; a file written comes back with the bits its
target's capture saw, and a folder made again with them."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet

from git_atomic.core.records import dataclass, field
from git_atomic.engine import checkpoint, safefs, unchanged
from git_atomic.engine.checkpoint import Snapshot
from git_atomic.engine.git import RawChange, Repo
from git_atomic.engine.restorefolders import make_parents
from git_atomic.engine.restoreplan import Outcome, folders_on_the_way


@dataclass(frozen=True)
class Specials:
    """FIFOs, sockets and devices (path -> st_mode; git holds none of them): those the state
    the restore starts from saw, which it may take away where the target has a file or a
    folder, and the target's FIFOs, which it makes again where nothing is."""

    seen: Mapping[bytes, int]
    fifos: Mapping[bytes, int]
    # The target's sockets and devices: none can be made again, so one not there as it was
    # once the restore is done is named, never passed over.
    others: Mapping[bytes, int] = field(default_factory=dict)
    # And the permission bits a tree cannot keep (a 0600 key) that the target's capture saw
    # (checkpoint.load_modes): a file written comes back with them.
    modes: Mapping[bytes, int] = field(default_factory=dict)
    # And their extended attributes (checkpoint.load_attributes): a file made again gets them.
    attributes: Mapping[bytes, tuple[tuple[str, bytes], ...]] = field(default_factory=dict)
    # The target's files and staged trees, where its capture looked at the disk: a file it
    # holds otherwise than your index did was looked at, and its bits are known.
    looked: tuple[str, str] | None = None
    # Those the start saw that the target does not hold as they are (path -> st_mode), where
    # the restore goes to a whole state that knows all of its own (knows_all: a capture):
    # taken away where still of that kind (a FIFO or a socket the operation made). None in a
    # move that takes an effect back or brings it again (`target.made_within`): those it made
    # are its event's to take (effectfifos.py), never yours made since.
    gone: Mapping[bytes, int] = field(default_factory=dict)

    @classmethod
    def read(
        cls, repo: Repo, current: Snapshot, target: Snapshot, paths: Sequence[bytes]
    ) -> Specials:
        """Those of the restore from `current` to `target` (a selective one's under `paths`)."""
        wanted = _wanted(repo, target, paths)
        seen = checkpoint.load_specials(repo, current)
        gone = {}
        if seen and knows_all(target) and not target.made_within:
            gone = {
                p: m
                for p, m in _under(seen, paths).items()
                if stat.S_IFMT(wanted.get(p, 0)) != stat.S_IFMT(m)
            }
        return cls(
            seen,
            {p: m for p, m in wanted.items() if stat.S_ISFIFO(m)},
            others={p: m for p, m in wanted.items() if not stat.S_ISFIFO(m)},
            modes=checkpoint.load_modes(repo, target),
            attributes=checkpoint.load_attributes(repo, target),
            looked=None if target.captured_at is None else (target.files_tree, target.staged_tree),
            gone=gone,
        )

    def modes_for(self, repo: Repo, writes: Sequence[RawChange]) -> dict[bytes, int]:
        """The permission bits the files `writes` makes come back with, where not git's own:
        those the target's capture saw; and, for a file it made again that `protect` names
        (a secret: a key, a `.env`) whose bits no capture saw (tracked, and clean by your
        index: its bits were not looked at), the owner's alone, never more open than it was."""
        found = {c.path: self.modes[c.path] for c in writes if c.path in self.modes}
        made = {c.path: c.new_mode for c in writes if c.path not in found}
        unknown = sorted(p for p, mode in made.items() if mode in ("100644", "100755"))
        if not unknown:
            return found
        from git_atomic.core.config import capture_settings
        from git_atomic.engine import restorekeeps

        _, protect = capture_settings(repo.root)
        if not protect:
            return found  # (asked first: the trees' listing below costs a git process or two)
        named = restorekeeps.protected(repo, unknown, protect)
        unknown = [p for p in unknown if named is not None and p in named]
        if unknown and self.looked is not None:
            # Those clean by the index alone: any other was looked at (0644 or 0755 then).
            files = {e.path: e.oid for e in repo.ls_tree_at(self.looked[0], unknown)}
            staged = {e.path: e.oid for e in repo.ls_tree_at(self.looked[1], unknown)}
            unknown = [p for p in unknown if p in staged and staged[p] == files.get(p)]
        mask = umask()
        for path in unknown:
            found[path] = (0o700 if made[path] == "100755" else 0o600) & ~mask
        return found

    def give_bits(self, tree: safefs.Tree, outcome: Outcome) -> None:
        """The folders this restore made again (mkdir: the umask's bits, 0755) given the bits
        the target's capture saw, opened as well as closed (a team's 2775 folder, a 1777 drop
        box): made by us, they hold no bit of anyone else's to keep. One found there is only
        ever closed (restorebits.closed_again)."""
        for folder in tree.made:
            bits = self.modes.get(folder + b"/")
            fd = None if bits is None else tree.folder(folder)
            if fd is None or bits is None:
                continue
            try:
                os.fchmod(fd, bits)
            except OSError as exc:
                outcome.cannot(folder + b"/", _why(exc))

    def make_way(self, tree: safefs.Tree, path: bytes, outcome: Outcome) -> bool:
        """Take away what the start saw at `path` or on its way, if still of that kind. True
        where the start saw one there (what is at `path` may be another now)."""
        if not self.seen:
            return False
        met = False
        for where in [*folders_on_the_way(path), path]:
            if where in self.seen:
                met = True
                mode = self.seen[where]
                found = unchanged.remove_special(tree, where, mode)
                # A FIFO holds no data, and `undo` makes it again; a socket or a device
                # cannot be made again.
                if found is unchanged.Found.SAME and not stat.S_ISFIFO(mode):
                    outcome.problems.append(
                        f"{_show(where)} was a {_special_kind(mode)} where a file or folder "
                        "comes back; removed (it held no data; `undo` cannot make it again)"
                    )
        return met

    def take_away(
        self, tree: safefs.Tree, outcome: Outcome, written: AbstractSet[bytes]
    ) -> set[bytes]:
        """Those the target does not hold (`gone`) removed where still of their kind; one a
        file or folder of the target (`written`: its files and their folders) took the place
        of went before it was written (make_way). One of another kind there now is someone
        else's: left, as a file changed since is. The folders they were in, for the caller to
        remove where left empty."""
        emptied: set[bytes] = set()
        for path, mode in sorted(self.gone.items(), reverse=True):
            if path in written:
                continue
            try:
                found = unchanged.remove_special(tree, path, mode)
            except OSError as exc:
                outcome.cannot(path, _why(exc))
                continue
            if found is unchanged.Found.SAME:
                outcome.specials_removed[path] = mode
                emptied.add(os.path.dirname(path))
            elif found is unchanged.Found.CHANGED:
                outcome.left.append(path)
        return emptied

    def remake(self, tree: safefs.Tree, outcome: Outcome) -> None:
        """The target's FIFOs made again where nothing is, with their bits; one there with
        other bits, as the start saw it, given the target's (an operation's `chmod` of it)."""
        for path, mode in sorted(self.fifos.items()):
            try:
                if tree.kind(path) == stat.S_IFIFO:
                    self._bits_back(tree, path, mode, outcome)
                    continue
                if tree.kind(path) is not None or not make_parents(tree, path, outcome):
                    continue
                tree.mkfifo(path, mode)
                outcome.fifos_made[path] = mode
            except FileExistsError:
                outcome.left.append(path)
            except OSError as exc:
                outcome.cannot(path, _why(exc))

    def _bits_back(self, tree: safefs.Tree, path: bytes, mode: int, outcome: Outcome) -> None:
        """The FIFO at `path` given the bits of `mode`, where it is as the start saw it (one
        changed since the rescue is someone else's); kept in `outcome.bits` for `undo`."""
        st = tree.lstat(path)
        if st is None or st.st_mode & 0o7777 == mode & 0o7777 or self.seen.get(path) != st.st_mode:
            return
        if tree.chmod_fifo(path, mode):
            outcome.bits[path] = (st.st_mode & 0o7777, mode & 0o7777)
            outcome.notes.append(f"the FIFO {_show(path)} has its bits back ({mode & 0o7777:o})")

    def name_missing(self, repo: Repo, outcome: Outcome) -> None:
        """Once the files are written: each of the target's FIFOs that something else stands
        in place of, and each of its sockets and devices not there as it was, named (a socket
        or a device cannot be made again). A restore never passes over one it did not bring
        back. Those it named already (could not make, left to another writer) aside."""
        if not (self.fifos or self.others):
            return
        told = {*outcome.left, *outcome.failed}
        with safefs.Tree(os.fsencode(repo.root)) as tree:
            for path, mode in sorted({**self.fifos, **self.others}.items()):
                if path in told:
                    continue
                there = tree.kind(path)
                if there == stat.S_IFMT(mode):
                    continue
                outcome.problems.append(special_not_back(path, mode, there))


def knows_all(snap: Snapshot) -> bool:
    """Whether `snap` is a capture that knew every FIFO, socket and device of yours (a walk
    of the folders, or Watchman's kept one): never a state worked out from trees (an isolated
    run's merged result, an effect's target), which holds none."""
    return snap.captured_at is not None and (snap.specials is not None or snap.all_empty_folders)


def special_not_back(path: bytes, mode: int, there: int | None) -> str:
    """The line naming the FIFO, socket or device (`mode`) at `path` that is not back: nothing
    is there now, or something of the kind `there` (stat.S_IFMT)."""
    now = "is gone" if there is None else f"is {kind_words(there)} now"
    if stat.S_ISFIFO(mode):
        return f"{_show(path)} was a FIFO and {now} (left as it is): the FIFO is not made again"
    kind = _special_kind(mode)
    return (
        f"{_show(path)} was a {kind} and {now}: a {kind} cannot be made again (it held no "
        "data; what made it must make it anew)"
    )


def _wanted(repo: Repo, target: Snapshot, paths: Sequence[bytes]) -> dict[bytes, int]:
    """The target's FIFOs, sockets and devices (a selective restore's under `paths`)."""
    return _under(checkpoint.load_specials(repo, target), paths)


def _under(found: Mapping[bytes, int], paths: Sequence[bytes]) -> dict[bytes, int]:
    """Those of `found` under `paths` (all where none are given)."""
    if not paths:
        return dict(found)
    return {
        p: m
        for p, m in found.items()
        if any(p == q or p.startswith(q.rstrip(b"/") + b"/") for q in paths)
    }


def kind_words(kind: int) -> str:
    """What a `stat.S_IFMT` kind is, in a few words."""
    words = {
        stat.S_IFREG: "a file",
        stat.S_IFDIR: "a folder",
        stat.S_IFLNK: "a symbolic link",
        stat.S_IFIFO: "a FIFO",
        stat.S_IFSOCK: "a socket",
    }
    return words.get(kind, "a device")


def _special_kind(mode: int) -> str:
    return "socket" if stat.S_ISSOCK(mode) else "device"


def umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _show(path: bytes) -> str:
    return path.decode("utf-8", "backslashreplace")
