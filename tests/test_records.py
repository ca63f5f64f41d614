"""core/records.py's `dataclass` behaves as the standard one for what the package uses: the
same instances, equality, hashing, repr, frozenness and errors, and its `fields`, `replace` and
`asdict` as the standard ones, checked side by side."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import typing
from typing import Any, ClassVar

import pytest

from git_atomic.core import records
from git_atomic.core.records import dataclass


def _pair(frozen: bool, kw_only: bool = False) -> tuple[type, type]:
    """The same class made by each decorator."""
    made = []
    for deco, field in ((dataclasses.dataclass, dataclasses.field), (dataclass, records.field)):

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
        assert dataclasses.asdict(s) == records.asdict(o)
        assert [f.name for f in dataclasses.fields(s)] == [f.name for f in records.fields(o)]
        assert (o == ours(*args, **kwargs)) == (s == std(*args, **kwargs))
        assert o == records.replace(o, items=[9])  # not compared
        assert o != records.replace(o, a=99)
        assert dataclasses.replace(s, a=99).a == records.replace(o, a=99).a == 99
        for maker, obj in ((dataclasses.replace, s), (records.replace, o)):
            with pytest.raises(ValueError):
                maker(obj, late=1)  # not a field __init__ takes
        assert o != s  # another class
        if frozen:
            assert hash(o) == hash(ours(*args, **{**kwargs, "env": {"x": "y"}}))
            with pytest.raises(records.FrozenInstanceError):
                o.a = 5
            with pytest.raises(AttributeError):  # as the standard error is one
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
    assert records.is_record(ours) and records.is_record(ours(1))
    assert (ours.late, std.late) == (7, 7)  # a field's default is the class's attribute
    assert not hasattr(ours, "items") and not hasattr(std, "items")  # a factory's is not


def test_what_the_standard_decorator_refuses_is_refused() -> None:
    for deco, field in ((dataclasses.dataclass, dataclasses.field), (dataclass, records.field)):
        with pytest.raises(TypeError):  # a required field after one with a default

            @deco
            class Order:
                a: int = 1
                b: int

        with pytest.raises(ValueError):  # a mutable default shared by every instance

            @deco
            class Shared:
                a: list[int] = []  # noqa: RUF012

        with pytest.raises(ValueError):
            field(default=1, default_factory=int)


def test_class_variables_are_not_fields_and_records_nest_in_asdict() -> None:
    made: list[Any] = []
    for deco in (dataclasses.dataclass, dataclass):

        @deco(frozen=True)
        class Inner:
            x: int
            kinds: ClassVar[tuple[str, ...]] = ("a",)
            shown: typing.ClassVar[bool] = True

        @deco(frozen=True)
        class Outer:
            inner: Inner
            many: tuple[Inner, ...]
            by: dict[str, list[Inner]]

        made.append(Outer(Inner(1), (Inner(2),), {"k": [Inner(3)]}))
    std, ours = made
    assert dataclasses.asdict(std) == records.asdict(ours)
    assert records.asdict(ours) == {"inner": {"x": 1}, "many": ({"x": 2},), "by": {"k": [{"x": 3}]}}
    assert [f.name for f in records.fields(ours.inner)] == ["x"]

    class ClassVariable:  # a type whose name only begins like ClassVar: a field all the same
        pass

    @dataclass(frozen=True)
    class Holder:
        v: ClassVariable

    assert [f.name for f in records.fields(Holder)] == ["v"]
    inner = type(ours.inner)
    match ours.inner:
        case inner(1):  # positionally, by __match_args__
            pass
        case _:
            pytest.fail("a record matches by its fields")


def test_the_package_never_imports_dataclasses() -> None:
    """Importing `dataclasses` imports `inspect`, `ast`, `dis` and `tokenize`: 4 to 8 ms of each
    command's start. Defining every record class of the engine and commands takes none."""
    code = (
        "import sys, git_atomic.cli.dispatch, git_atomic.commands.session, "
        "git_atomic.commands.rollback, git_atomic.agents.claude_code, git_atomic.api; "
        "print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        env={"PYTHONPATH": str(__import__("pathlib").Path(records.__file__).parents[2])},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"


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
    assert records.replace(child, b=5) == Child(a=1, b=5, c=4)
    assert [f.name for f in records.fields(Child)] == ["a", "b", "c"]
    assert Child.__match_args__ == ("a", "b")  # c is keyword-only
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
