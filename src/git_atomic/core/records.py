"""`dataclass`, the standard library's decorator for what this package uses, without its cost.

Every command starts a new Python, and the standard `dataclasses` is not free: importing it
imports `inspect` (with `ast`, `dis` and `tokenize`), and defining a class with it writes the
source of `__init__`, `__repr__`, `__eq__`, `__hash__` and, frozen, `__setattr__` and
`__delattr__`, and compiles each with `exec`. `begin` defines about 65 such classes before it
does any work.

Here the fields are read from the class's annotations once, and the methods, written once for
every class, read them. It takes what this package uses: `frozen`, `kw_only`, defaults and
`field(default=, default_factory=, init=, repr=, compare=, hash=)`, inheritance from another of
its classes (fields in the order the standard decorator gives them), `__post_init__`,
`__match_args__` for pattern matching, and `ClassVar` annotations left out; with `fields`,
`replace`, `asdict` and `FrozenInstanceError` beside it. tests/test_records.py checks each
against the standard decorator; tests/test_static.py that no module of ours uses the standard
one. Type checkers read it as a dataclass (`dataclass_transform`). Creating an instance costs
about 4 µs, a few more than a generated `__init__`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, TypeVar, dataclass_transform, overload

_T = TypeVar("_T", bound=type)
_R = TypeVar("_R")
_V = TypeVar("_V")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Final[Any] = _Missing()


class FrozenInstanceError(AttributeError):
    """An assignment to a field of a frozen record (as `dataclasses.FrozenInstanceError`)."""


class Field:
    """One field of a record class: its name, default or factory, and what it takes part in."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "kw_only", "name", "repr")

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        init: bool,
        repr: bool,  # the standard field's own names
        compare: bool,
        hash: bool | None,
    ) -> None:
        if default is not _MISSING and default_factory is not _MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.compare = compare
        self.hash = hash
        self.kw_only = False

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r})"


@overload
def field(
    *,
    default: _V,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
) -> _V: ...
@overload
def field(
    *,
    default_factory: Callable[[], _V],
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
) -> _V: ...
@overload
def field(
    *,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
) -> Any: ...
def field(
    *,
    default: Any = _MISSING,
    default_factory: Any = _MISSING,
    init: bool = True,
    repr: bool = True,
    compare: bool = True,
    hash: bool | None = None,
) -> Any:
    """A field's default, factory and parts, as `dataclasses.field` takes them."""
    return Field(default, default_factory, init, repr, compare, hash)


def fields(record: object) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    cls = record if isinstance(record, type) else type(record)
    found: tuple[Field, ...] | None = getattr(cls, "_record_fields", None)
    if found is None:
        raise TypeError(f"{cls.__qualname__} is not a record class")
    return found


def is_record(obj: object) -> bool:
    return hasattr(obj if isinstance(obj, type) else type(obj), "_record_fields")


def replace(record: _R, /, **changes: Any) -> _R:
    """A new record of the same class with `changes`, as `dataclasses.replace` makes it (a
    field that `__init__` does not take cannot be changed)."""
    for f in fields(record):
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False")
        elif f.name not in changes:
            changes[f.name] = getattr(record, f.name)
    return type(record)(**changes)


def asdict(record: object) -> dict[str, Any]:
    """The record's fields as a dict, nested records, lists, tuples and dicts made the same way
    (as `dataclasses.asdict`; other values as they are)."""
    return {f.name: _plain(getattr(record, f.name)) for f in fields(record)}


def _plain(value: Any) -> Any:
    if is_record(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple
        return type(value)(*[_plain(v) for v in value])
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if isinstance(value, dict):
        return type(value)((_plain(k), _plain(v)) for k, v in value.items())
    return value


def _is_classvar(annotation: object) -> bool:
    if isinstance(annotation, str):
        # `ClassVar`, `ClassVar[...]` or `<module>.ClassVar[...]`, as the standard decorator
        # reads a string annotation; not a name that only begins so (`ClassVariable`).
        name = annotation.strip().partition("[")[0].rstrip().rpartition(".")[2]
        return name == "ClassVar"
    return getattr(annotation, "__origin__", annotation) is _classvar()


def _classvar() -> object:
    from typing import ClassVar

    return ClassVar


def _fields_of(c: type, kw_only: bool) -> tuple[Field, ...]:
    """The class's fields: its bases' (each in the place it first had), then its own."""
    found: dict[str, Field] = {}
    for base in reversed(c.__mro__[1:]):
        for f in base.__dict__.get("_record_fields", ()):
            found[f.name] = f
    # The class's own annotations (not `inspect.get_annotations`: `inspect` is what we avoid).
    own: dict[str, object] = c.__dict__.get("__annotations__", {})  # noqa: RUF063
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        value = c.__dict__.get(name, _MISSING)
        if isinstance(value, Field):
            f = value
            if f.default is _MISSING:
                delattr(c, name)  # the factory's value, or a required one: no class attribute
            else:
                setattr(c, name, f.default)
        else:
            if isinstance(value, (list, dict, set)):
                raise ValueError(
                    f"mutable default {type(value)} for field {name} is not allowed: "
                    "use default_factory"
                )
            f = Field(value, _MISSING, True, True, True, None)
        f.name = name
        f.kw_only = kw_only
        found[name] = f
    result = tuple(found.values())
    seen_default = False
    for f in result:
        if not f.init or f.kw_only:
            continue
        if f.default is not _MISSING or f.default_factory is not _MISSING:
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {f.name!r} follows default argument")
    return result


class _Spec:
    """What the shared methods need of one record class, worked out once."""

    __slots__ = ("compare", "hashed", "init", "late", "names", "positional", "post", "repr")

    def __init__(self, cls: type) -> None:
        fields = cls._record_fields  # type: ignore[attr-defined]
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
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


@overload
def dataclass(cls: _T, /) -> _T: ...
@overload
def dataclass(*, frozen: bool = False, kw_only: bool = False) -> Callable[[_T], _T]: ...
@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: Any = None, /, *, frozen: bool = False, kw_only: bool = False) -> Any:
    """`dataclasses.dataclass`, for what this package uses of it: see the module."""

    def make(c: Any) -> Any:
        # What the class body defines itself stays, as with the standard decorator.
        own = {name for name, value in vars(c).items() if value is not None}
        if not c.__doc__:
            c.__doc__ = c.__name__  # (the standard decorator writes its `__init__` signature)
        made = c
        made._record_fields = _fields_of(c, kw_only)
        made._record_spec = _Spec(made)
        if "__match_args__" not in own:
            made.__match_args__ = made._record_spec.positional  # type: ignore[misc]
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
