"""JSON on pyrunc's start-up path, straight over CPython's C accelerator (_json).

`import json` costs ~9 ms here because json.decoder and json.encoder compile
regular expressions at import (pulling in re and enum). Every pyrunc command
reads state.json and most read config.json, so the hot path uses the same C
scanner and string encoder json itself uses, without those imports. Output is
byte-for-byte what json.dumps gives for the same arguments.
"""

import _json

_CONSTANTS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_WHITESPACE = " \t\n\r"


class _ScanContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


# typeshed types the context as a make_scanner; any object with these attributes does (json.decoder's
# own is a JSONDecoder)
_scan = _json.make_scanner(_ScanContext())  # type: ignore[arg-type]
_quote = _json.encode_basestring_ascii


def _skip(s, i):
    n = len(s)
    while i < n and s[i] in _WHITESPACE:
        i += 1
    return i


def loads(data):
    """Like json.loads for UTF-8 text or bytes; ValueError with one line naming the position when malformed."""
    try:
        s = data.decode() if isinstance(data, (bytes, bytearray)) else data
    except UnicodeDecodeError as e:
        raise ValueError(f"invalid UTF-8 at byte {e.start}") from None
    i = _skip(s, 0)
    try:
        obj, end = _scan(s, i)
    except StopIteration as e:
        raise ValueError(_where(s, "Expecting value", e.value)) from None
    except RecursionError:
        raise ValueError("exceeded max depth (nested too deeply)") from None
    except SystemError:
        # the C scanner builds its error from json.decoder, which the hot path does not import
        raise ValueError(_scan_error(s, i)) from None
    except ValueError as e:  # json.decoder was imported after all, or an integer of 4300+ digits
        raise ValueError(_where(s, e.msg, e.pos) if hasattr(e, "msg") and hasattr(e, "pos")
                         else "integer too large") from None
    end = _skip(s, end)
    if end != len(s):
        raise ValueError(_where(s, "Extra data", end))
    return obj


def _where(s, msg, pos):
    if pos >= len(s):
        msg = "unexpected EOF"  # Go's word, which runc prints
    line = s.count("\n", 0, pos) + 1
    column = pos - s.rfind("\n", 0, pos)
    return f"{msg}: line {line} column {column} (char {pos})"


def _scan_error(s, i):
    import json.decoder

    try:
        _scan(s, i)
    except json.decoder.JSONDecodeError as e:
        return _where(s, e.msg, e.pos)
    except ValueError:
        return "integer too large"
    return "malformed JSON"


def dumps(obj, indent=None, compact=False):
    """json.dumps(obj), json.dumps(obj, indent=N) or, with compact, separators=(",", ":")."""
    out: list[str] = []
    item_sep, key_sep = (",", ":") if compact else ("," if indent is not None else ", ", ": ")
    _encode(obj, out, " " * indent if indent is not None else None, 0, item_sep, key_sep)
    return "".join(out)


def _encode(o, out, indent, level, item_sep, key_sep):
    if o is None:
        out.append("null")
    elif o is True:
        out.append("true")
    elif o is False:
        out.append("false")
    elif isinstance(o, str):
        out.append(_quote(o))
    elif isinstance(o, int):
        out.append(int.__repr__(o))
    elif isinstance(o, float):
        out.append(float.__repr__(o))
    elif isinstance(o, (list, tuple, dict)):
        is_dict = isinstance(o, dict)
        opener, closer = ("{", "}") if is_dict else ("[", "]")
        if not o:
            out.append(opener + closer)
            return
        if indent is None:
            sep, pre, post = item_sep, "", ""
        else:
            pre = "\n" + indent * (level + 1)
            sep, post = item_sep + pre, "\n" + indent * level
        out.append(opener + pre)
        for i, item in enumerate(o.items() if isinstance(o, dict) else o):
            if i:
                out.append(sep)
            if is_dict:
                key, item = item
                out.append(_quote(key if isinstance(key, str) else str(key)) + key_sep)
            _encode(item, out, indent, level + 1, item_sep, key_sep)
        out.append(post + closer)
    else:
        raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")
