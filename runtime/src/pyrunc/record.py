"""Typed records for pyrunc: dataclass-like classes that cost nothing at import.

`dataclasses` generates each class's methods with exec(); for the ~35 classes
of config.json that was 15 ms of every pyrunc start (plus 8 ms importing
dataclasses itself). A Record reads its fields from the class annotations
once, in __init_subclass__, and shares one generic __init__.
"""

_MISSING = object()


class Field:
    __slots__ = ("default", "factory", "json")

    def __init__(self, default=_MISSING, factory=None, json=None):
        self.default = default
        self.factory = factory
        self.json = json


def field(default=_MISSING, default_factory=None, json=None):
    """A field's default (or default factory) and, where it is irregular, its JSON name."""
    return Field(default, default_factory, json)


class Record:
    # (name, type, Field) per annotated field, in declaration order; set per subclass
    _fields = ()

    def __init_subclass__(cls, **kw):
        super().__init_subclass__(**kw)
        fields = []
        for name, tp in cls.__dict__.get("__annotations__", {}).items():
            spec = cls.__dict__.get(name, _MISSING)
            if not isinstance(spec, Field):
                spec = Field(default=spec)
            if spec.default is _MISSING and name in cls.__dict__:
                delattr(cls, name)
            elif spec.factory is None:
                setattr(cls, name, spec.default)
            else:
                delattr(cls, name)
            fields.append((name, tp, spec))
        cls._fields = tuple(fields)

    def __init__(self, **kw):
        for name, _, spec in self._fields:
            if name in kw:
                value = kw.pop(name)
            elif spec.factory is not None:
                value = spec.factory()
            elif spec.default is not _MISSING:
                value = spec.default
            else:
                raise TypeError(f"{type(self).__name__}: missing field {name!r}")
            setattr(self, name, value)
        if kw:
            raise TypeError(f"{type(self).__name__}: unknown fields {sorted(kw)}")

    def __eq__(self, other):
        return type(self) is type(other) and all(
            getattr(self, n) == getattr(other, n) for n, _, _ in self._fields)

    def __repr__(self):
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n, _, _ in self._fields)
        return f"{type(self).__name__}({inner})"

    @classmethod
    def required(cls, spec):
        return spec.default is _MISSING and spec.factory is None
