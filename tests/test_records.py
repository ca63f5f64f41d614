"""core/records.py's `dataclass` behaves as the standard one for what the package uses: the
same instances, equality, hashing, repr, frozenness and errors, checked side by side."""

from __future__ import annotations

import dataclasses
from dataclasses import field

import pytest

from git_atomic.core.records import dataclass


def _pair(frozen: bool, kw_only: bool = False) -> tuple[type, type]:
    """The same class made by each decorator."""
    made = []
    for deco in (dataclasses.dataclass, dataclass):

        class Base:
            a: int
            b: str = "b"
            items: list[int] = field(default_factory=list, compare=False)
            env: dict[str, str] = field(default_factory=dict, hash=False, repr=False)
            late: int = field(default=7, init=False)

        Base.__annotations__ = {
            "a": "int",
            "b": "str",
            "items": "list[int]",
            "env": "dict[str, str]",
            "late": "int",
        }
        made.append(deco(frozen=frozen, kw_only=kw_only)(Base))  # type: ignore[operator]
    return made[0], made[1]


@pytest.mark.parametrize("frozen", [True, False])
def test_same_behaviour_as_the_standard_dataclass(frozen: bool) -> None:
    std, ours = _pair(frozen)
    for args, kwargs in [((1,), {}), ((1, "x"), {}), ((), {"a": 2, "items": [3]})]:
        s, o = std(*args, **kwargs), ours(*args, **kwargs)
        assert repr(s) == repr(o).replace(ours.__qualname__, std.__qualname__)
        assert dataclasses.asdict(s) == dataclasses.asdict(o)
        assert [f.name for f in dataclasses.fields(s)] == [f.name for f in dataclasses.fields(o)]
        assert (o == ours(*args, **kwargs)) == (s == std(*args, **kwargs))
        assert o == dataclasses.replace(o, items=[9])  # not compared
        assert o != dataclasses.replace(o, a=99)
        assert o != s  # another class
        if frozen:
            assert hash(o) == hash(ours(*args, **{**kwargs, "env": {"x": "y"}}))
            with pytest.raises(dataclasses.FrozenInstanceError):
                o.a = 5
            with pytest.raises(dataclasses.FrozenInstanceError):
                del o.a
        else:
            with pytest.raises(TypeError):
                hash(o)
            o.a = 5
            assert o.a == 5
    for bad_args, bad_kwargs in [((), {}), ((1,), {"a": 1}), ((1,), {"zzz": 1})]:
        with pytest.raises(TypeError):
            std(*bad_args, **bad_kwargs)
        with pytest.raises(TypeError):
            ours(*bad_args, **bad_kwargs)
    assert ours(1).late == 7
    assert ours.__match_args__ == std.__match_args__
    assert dataclasses.is_dataclass(ours)


def test_inheritance_kw_only_and_post_init() -> None:
    @dataclass(frozen=True)
    class Parent:
        a: int
        b: int = 2

    seen = []

    @dataclass(frozen=True, kw_only=True)
    class Child(Parent):
        c: int = 3

        def __post_init__(self) -> None:
            seen.append(self.c)

    child = Child(a=1, c=4)
    assert (child.a, child.b, child.c, seen) == (1, 2, 4, [4])
    assert Child(1) == Child(a=1)
    assert Child(1) != Parent(1)
    with pytest.raises(TypeError):
        Child(1, 2, 3)  # type: ignore[misc]  # c is keyword-only
    assert dataclasses.replace(child, b=5) == Child(a=1, b=5, c=4)
    assert repr(child).endswith("Child(a=1, b=2, c=4)")


def test_what_the_class_defines_itself_stays() -> None:
    """As with the standard decorator: a class's own __repr__, __eq__ or __hash__ is kept."""

    @dataclass(frozen=True)
    class Own:
        a: int

        def __repr__(self) -> str:
            return "mine"

        def __hash__(self) -> int:
            return 7

    assert repr(Own(1)) == "mine" and hash(Own(2)) == 7
    assert Own(1) == Own(1) and Own(1) != Own(2)  # __eq__ still made
    with pytest.raises(TypeError):

        @dataclass(frozen=True)
        class Bad:
            a: int

            def __setattr__(self, name: str, value: object) -> None:
                object.__setattr__(self, name, value)


def test_a_class_without_a_docstring_costs_no_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard decorator writes a missing docstring from `inspect.signature` (a tokenized
    builtin signature: about a millisecond a class, at every command's start); ours does not."""
    import inspect

    asked: list[object] = []
    monkeypatch.setattr(inspect, "signature", lambda obj, *a, **k: asked.append(obj))

    @dataclass(frozen=True)
    class Plain:
        a: int

    assert Plain(1).a == 1 and Plain.__doc__ == "Plain" and asked == []
