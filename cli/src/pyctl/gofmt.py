"""What Go templates print and call, for templates.py: values as Go's fmt %v prints them (true/false,
<nil>, [a b], map[k:v] in key order, floats in strconv's shortest 'g'), printf's verbs, and the
functions: Go's built-ins (index, len, slice, printf, print, println, not, eq, ne, lt, le, gt, ge; and
and or are templates.py's, they short-circuit) and docker's (json, join, split, lower, upper, title,
pad, truncate)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any


class TemplateError(Exception):
    """A function's error, worded as Go's ("error calling index: ..."); templates.py says where."""


# ---- printing as Go's fmt %v does

class NilMap(dict[str, Any]):
    """A Go map that is nil (JSON null): prints map[], encodes as null; `zero` is what index gives."""

    def __init__(self, zero: Any = None):
        super().__init__()
        self.zero = zero


class NilSlice(list[Any]):
    """A Go slice that is nil (JSON null): prints [], encodes as null."""


def go_str(v: Any) -> str:
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return go_float(v)
    if isinstance(v, dict):
        return "map[" + " ".join(f"{go_str(k)}:{go_str(v[k])}" for k in sorted(v, key=sort_key)) + "]"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(go_str(x) for x in v) + "]"
    return str(v)


def sort_key(k: Any) -> tuple[int, Any]:
    return (0, k) if isinstance(k, (int, float)) else (1, str(k))


def go_float(f: float) -> str:
    """strconv.FormatFloat(f, 'g', -1, 64), as %v prints a float64: the shortest digits, %e once the
    exponent is < -4 or >= 6 (1e+06)."""
    if f != f or f in (float("inf"), float("-inf")):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(f)]
    if f == 0:
        return "0"
    sign, digits, exp = Decimal(repr(f)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    e = len(ds) + int(exp) - 1
    neg = "-" if sign else ""
    if e < -4 or e >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{neg}{mant}e{'-' if e < 0 else '+'}{abs(e):02d}"
    return neg + format(Decimal(repr(abs(f))).normalize(), "f")


def truth(v: Any) -> bool:
    """Go's: false, 0, nil and empty strings, slices and maps are false."""
    return bool(v)


# ---- printf

_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def type_name(v: Any) -> str:
    return {bool: "bool", int: "int", float: "float64", str: "string"}.get(type(v), "map[string]interface {}"
                                                                          if isinstance(v, dict) else "[]interface {}")


def sprintf(fmt: str, *args: Any) -> str:
    out, i, pos = [], 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if i >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[i]
        i += 1
        out.append(_format_one(flags, width, prec, verb, a))
    out.append(fmt[pos:])
    if i < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{type_name(a)}={go_str(a)}" for a in args[i:]) + ")")
    return "".join(out)


def _format_one(flags: str, width: str | None, prec: str | None, verb: str, a: Any) -> str:
    bad = f"%!{verb}({type_name(a)}={go_str(a)})"
    if verb in "vs":
        text = go_str(a)
        if verb == "s" and not isinstance(a, (str, list, dict)):
            return bad
        if prec is not None:
            text = text[:int(prec)]
    elif verb == "q":
        if not isinstance(a, str):
            return bad
        text = json.dumps(a, ensure_ascii=False)
    elif verb == "t":
        if not isinstance(a, bool):
            return bad
        text = go_str(a)
    elif verb in "dxXob":
        if isinstance(a, bool) or not isinstance(a, int):
            if verb in "xX" and isinstance(a, str):
                text = a.encode().hex()
                return text.upper() if verb == "X" else text
            return bad
        text = format(a, {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb])
        if "+" in flags and a >= 0:
            text = "+" + text
    elif verb in "feEgG":
        if isinstance(a, bool) or not isinstance(a, (int, float)):
            return bad
        text = format(float(a), f"{'+' if '+' in flags else ''}.{prec if prec is not None else 6}{verb}")
        if verb in "gG" and prec is None:
            text = go_float(float(a))
    elif verb == "c":
        if not isinstance(a, int):
            return bad
        text = chr(a)
    else:
        return bad
    if width is not None and width != "*":
        w = int(width)
        if "-" in flags:
            text = text.ljust(w)
        elif "0" in flags and verb in "dxXobfeEgG":
            sign = text[0] if text[:1] in "+-" else ""
            text = sign + text[len(sign):].rjust(w - len(sign), "0")
        else:
            text = text.rjust(w)
    return text


# ---- functions

def _index(item: Any, *keys: Any) -> Any:
    for k in keys:
        if isinstance(item, NilMap):
            item = item.zero
        elif isinstance(item, dict):
            item = item.get(k)
        elif isinstance(item, (list, tuple, str)):
            if not isinstance(k, int) or not 0 <= k < len(item):
                raise TemplateError(f"error calling index: index out of range: {k}")
            item = item[k]
        elif item is None:
            raise TemplateError("error calling index: index of untyped nil")
        else:
            raise TemplateError(f"error calling index: can't index item of type {type_name(item)}")
    return item


def _len(v: Any) -> int:
    if not isinstance(v, (str, list, tuple, dict)):
        raise TemplateError(f"error calling len: len of type {type_name(v)}")
    return len(v)


def _slice(v: Any, *ix: int) -> Any:
    return v[ix[0]:ix[1]] if len(ix) == 2 else v[ix[0]:] if ix else v


def _join(items: Any, sep: str) -> str:
    if items is None:
        return ""
    if not isinstance(items, (list, tuple)):
        raise TemplateError(f"wrong type for value; expected []string; got {type_name(items)}")
    return sep.join(go_str(x) for x in items)


def _json(v: Any) -> str:
    """encoding/json without HTML escaping: a Go map's keys sorted, a struct's fields in their order. The
    documents hold both as dicts: one whose keys all start with a capital is taken for a struct."""
    return json.dumps(_go_ordered(v), ensure_ascii=False, separators=(",", ":"))


def _go_ordered(v: Any) -> Any:
    if isinstance(v, (NilMap, NilSlice)):
        return None
    if isinstance(v, dict):
        keys = list(v) if all(str(k)[:1].isupper() for k in v) else sorted(v, key=str)
        return {k: _go_ordered(v[k]) for k in keys}
    if isinstance(v, (list, tuple)):
        return [_go_ordered(x) for x in v]
    return v


def _compare(name: str, op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def f(a: Any, b: Any) -> bool:
        if isinstance(a, bool) != isinstance(b, bool) or isinstance(a, str) != isinstance(b, str):
            raise TemplateError(f"error calling {name}: incompatible types for comparison")
        try:
            return op(a, b)
        except TypeError:
            raise TemplateError(f"error calling {name}: invalid type for comparison") from None
    return f


def _eq(a: Any, *others: Any) -> bool:
    return any(_compare("eq", lambda x, y: bool(x == y))(a, b) for b in others)


def _truncate(s: str, n: int) -> str:
    return s[:n]


def _pad(s: str, before: int, after: int) -> str:
    return " " * before + s + " " * after


FUNCS: dict[str, Callable[..., Any]] = {
    "json": _json, "join": _join, "split": lambda s, sep: s.split(sep), "lower": str.lower, "upper": str.upper,
    "title": lambda s: re.sub(r"\b([a-z])", lambda m: m.group(1).upper(), s), "pad": _pad, "truncate": _truncate,
    "printf": sprintf, "print": lambda *a: _go_print(a, False), "println": lambda *a: _go_print(a, True),
    "index": _index, "len": _len, "slice": _slice, "not": lambda v: not truth(v),
    "eq": _eq, "ne": lambda a, b: not _eq(a, b), "lt": _compare("lt", lambda a, b: bool(a < b)),
    "le": _compare("le", lambda a, b: bool(a <= b)), "gt": _compare("gt", lambda a, b: bool(a > b)),
    "ge": _compare("ge", lambda a, b: bool(a >= b)),
}


def _go_print(args: tuple[Any, ...], newline: bool) -> str:
    """fmt.Sprint: spaces between operands when neither is a string; Sprintln: always, and a newline."""
    if newline:
        return " ".join(go_str(a) for a in args) + "\n"
    out = ""
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_str(a)
    return out
