"""`dataclass`, the same decorator as the standard library's, at a fraction of the cost to define.

Every command starts a new Python, and defining a dataclass is not free: `dataclasses.dataclass`
writes the source of `__init__`, `__repr__`, `__eq__`, `__hash__` and, frozen, `__setattr__` and
`__delattr__`, and compiles each with `exec`. A frozen one costs 0.8 to 1.4 ms to define here, and
3 to 4 ms on a loaded machine; `run` defines 37 before it does any work: about a third of its
start-up (docs/performance.md, "Start-up").

This `dataclass` writes those methods once, here, for every class. The class is still made by
`dataclasses.dataclass` (asked for no method: nothing is compiled), so its fields,
`dataclasses.fields`, `replace`, `asdict`, `is_dataclass` and pattern matching are the standard
ones, and type checkers read it as a dataclass (`dataclass_transform`). It takes what this
package uses: `frozen`, `kw_only`, defaults and `field(default_factory=..., init=, repr=,
compare=, hash=)`, inheritance from another of its classes, `__post_init__`; tests/test_static.py
checks that no module of ours uses the standard one. Creating an instance costs about 4 µs,
a few more than a generated `__init__`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Final, TypeVar, dataclass_transform, overload

_T = TypeVar("_T", bound=type)
_MISSING: Final = dataclasses.MISSING


class _Spec:
    """What the shared methods need of one record class, worked out once."""

    __slots__ = ("compare", "hashed", "init", "late", "names", "positional", "post", "repr")

    def __init__(self, cls: type) -> None:
        fields = dataclasses.fields(cls)
        init = [f for f in fields if f.init]
        self.positional = tuple(f.name for f in init if not f.kw_only)
        self.init = tuple((f.name, f.default, f.default_factory) for f in init)
        self.names = frozenset(f.name for f in init)
        self.late = tuple((f.name, f.default, f.default_factory) for f in fields if not f.init)
        self.repr = tuple(f.name for f in fields if f.repr)
        self.compare = tuple(f.name for f in fields if f.compare)
        self.hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        self.post = getattr(cls, "__post_init__", None)


def _spec(obj: object) -> _Spec:
    spec: _Spec = type(obj)._record_spec  # type: ignore[attr-defined]
    return spec


def _init(self: object, *args: object, **kwargs: object) -> None:
    spec = _spec(self)
    name = type(self).__qualname__
    if len(args) > len(spec.positional):
        raise TypeError(f"{name}() takes {len(spec.positional)} positional arguments")
    values = dict(zip(spec.positional, args, strict=False))
    for key, value in kwargs.items():
        if key not in spec.names:
            raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
        if key in values:
            raise TypeError(f"{name}() got multiple values for argument {key!r}")
        values[key] = value
    for field_name, default, factory in spec.init:
        if field_name in values:
            value = values[field_name]
        elif default is not _MISSING:
            value = default
        elif factory is not _MISSING:
            value = factory()
        else:
            raise TypeError(f"{name}() missing required argument: {field_name!r}")
        object.__setattr__(self, field_name, value)
    for field_name, default, factory in spec.late:
        if default is not _MISSING:
            object.__setattr__(self, field_name, default)
        elif factory is not _MISSING:
            object.__setattr__(self, field_name, factory())
    if spec.post is not None:
        spec.post(self)


def _repr(self: object) -> str:
    shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in _spec(self).repr)
    return f"{type(self).__qualname__}({shown})"


def _eq(self: object, other: object) -> object:  # bool, or NotImplemented
    if other.__class__ is not self.__class__:
        return NotImplemented
    names = _spec(self).compare
    same: bool = tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)
    return same


def _hash(self: object) -> int:
    return hash(tuple(getattr(self, n) for n in _spec(self).hashed))


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")


@overload
def dataclass(cls: _T, /) -> _T: ...
@overload
def dataclass(*, frozen: bool = False, kw_only: bool = False) -> Callable[[_T], _T]: ...
@dataclass_transform(field_specifiers=(dataclasses.field,))
def dataclass(cls: Any = None, /, *, frozen: bool = False, kw_only: bool = False) -> Any:
    """`dataclasses.dataclass`, for what this package uses of it: see the module."""

    def make(c: Any) -> Any:
        # What the class body defines itself stays, as with the standard decorator.
        own = {name for name, value in vars(c).items() if value is not None}
        if not c.__doc__:
            # The standard decorator writes a missing docstring from `inspect.signature`, which
            # for a class without its own `__init__` tokenizes a builtin's text signature: about
            # a millisecond a class, paid by every command that imports it.
            c.__doc__ = c.__name__
        # The fields, without a generated method (nothing compiled): ours are set below.
        made = dataclasses.dataclass(c, init=False, repr=False, eq=False, kw_only=kw_only)
        made._record_spec = _Spec(made)
        methods: dict[str, object] = {"__init__": _init, "__repr__": _repr, "__eq__": _eq}
        if frozen:
            if own & {"__setattr__", "__delattr__"}:
                raise TypeError(f"cannot overwrite __setattr__ or __delattr__ in {c.__name__}")
            methods |= {"__setattr__": _frozen_setattr, "__delattr__": _frozen_delattr}
            methods["__hash__"] = _hash
        else:
            methods["__hash__"] = None  # mutable and compared by value: unhashable
        for name, method in methods.items():
            if name not in own:
                setattr(made, name, method)
        return made

    return make if cls is None else make(cls)
