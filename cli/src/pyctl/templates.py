"""Go's text/template, as docker's --format and inspect -f run it (missingkey=error), over JSON-shaped
values: text and actions with trim markers ({{- -}}) and comments; fields (.A.B), $ and variables
($x := ..., $x = ...), literals, parenthesized pipelines, pipelines (a | f b); if / else if / else,
range (slices; maps in key order; `$i, $v :=`; else), with (else), break and continue. What values
print as and the functions are gofmt.py's. A dict's callable value is a method: `{{.Label "k"}}`.

Errors are Go's words: "template: :1: unexpected EOF" at parse, "template: :1:2: executing "" at
<.Nope>: map has no entry for key "Nope"" at execution."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .gofmt import FUNCS, TemplateError, go_str, sort_key, truth, type_name

__all__ = ["Template", "TemplateError", "render"]

# ---- lexing


@dataclass
class Tok:
    kind: str          # str num bool nil field var dot ident chain ( ) | := = ,
    value: Any = None
    pos: int = 0       # offset in the template
    text: str = ""     # as written


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\]|\\.)+')
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?))
  | (?P<var>\$\w*(?:\.\w+)*)
  | (?P<field>(?:\.\w+)+)
  | (?P<dot>\.)
  | (?P<ident>[A-Za-z_]\w*)
  | (?P<op>:=|[()|=,])
""", re.VERBOSE)


def _lex(src: str, start: int, end: int, name: str) -> list[Tok]:
    toks: list[Tok] = []
    i = start
    while i < end:
        m = _TOKEN.match(src, i, end)
        if m is None:
            raise TemplateError(f"template: {name}:{_line(src, i)}: unexpected {src[i]!r} in command")
        kind, text = m.lastgroup or "", m.group()
        i = m.end()
        after_close = bool(toks) and toks[-1].kind == ")" and toks[-1].pos + 1 == m.start()
        if kind == "space":
            continue
        if kind == "str":
            toks.append(Tok("str", ast.literal_eval(text), m.start(), text))
        elif kind == "raw":
            toks.append(Tok("str", text[1:-1], m.start(), text))
        elif kind == "char":
            toks.append(Tok("num", ord(ast.literal_eval(text)), m.start(), text))
        elif kind == "num":
            v = text.replace("_", "")
            toks.append(Tok("num", int(v, 0) if re.fullmatch(r"[-+]?(0[xX][\da-fA-F]+|\d+)", v) else float(v),
                            m.start(), text))
        elif kind == "var":
            head, *chain = text.split(".")
            toks.append(Tok("var", (head, chain), m.start(), text))
        elif kind == "field":
            toks.append(Tok("chain" if after_close else "field", text.split(".")[1:], m.start(), text))
        elif kind == "ident" and text in ("true", "false"):
            toks.append(Tok("bool", text == "true", m.start(), text))
        elif kind == "ident" and text == "nil":
            toks.append(Tok("nil", None, m.start(), text))
        else:
            toks.append(Tok(text if kind == "op" else kind, text, m.start(), text))
    return toks


def _line(src: str, pos: int) -> int:
    return src.count("\n", 0, pos) + 1


# ---- the tree


@dataclass
class Pipe:
    decl: list[str]              # variables declared (:=) or assigned (=)
    assign: bool
    cmds: list[list[Any]]        # each command: operands (Tok, or a (Pipe, chain, Tok) for "( ... ).X")
    pos: int = 0
    text: str = ""


@dataclass
class Node:
    kind: str                    # text action if range with break continue
    text: str = ""
    pipe: Pipe | None = None
    body: list[Node] = field(default_factory=list)
    orelse: list[Node] = field(default_factory=list)


class _Parser:
    def __init__(self, src: str, name: str = ""):
        self.src, self.name = src, name
        self.items = list(self._actions())
        self.i = 0

    def _actions(self) -> Any:
        """(kind, text or tokens, position): the text between actions and each action's tokens."""
        src, pos, trim_next = self.src, 0, False
        while True:
            at = src.find("{{", pos)
            text = src[pos:] if at < 0 else src[pos:at]
            if trim_next:
                text = text.lstrip()
            if at < 0:
                if text:
                    yield "text", text, pos
                return
            inner = at + 2
            if src.startswith("- ", inner) or src.startswith("-\t", inner) or src.startswith("-\n", inner):
                text, inner = text.rstrip(), inner + 1
            if text:
                yield "text", text, pos
            close = self._close(inner)
            end, trim_next = close, False
            if src[close - 1] == "-" and close - 2 >= inner and src[close - 2].isspace():
                end, trim_next = close - 1, True
            body = src[inner:end].strip()
            if not (body.startswith("/*") and body.endswith("*/")):
                yield "action", _lex(src, inner, end, self.name), inner
            pos = close + 2

    def _close(self, i: int) -> int:
        quote = ""
        while i < len(self.src):
            c = self.src[i]
            if quote:
                if c == "\\" and quote != "`":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "\"`'":
                quote = c
            elif self.src.startswith("}}", i):
                return i
            i += 1
        raise TemplateError(f"template: {self.name}:{_line(self.src, i)}: unclosed action")

    def parse(self) -> list[Node]:
        nodes, stop = self._list()
        if stop is not None:
            raise TemplateError(f"template: {self.name}:{_line(self.src, stop[2])}: unexpected {{{{{stop[1][0].text}}}}}")
        return nodes

    def _list(self) -> tuple[list[Node], Any]:
        """Nodes up to an {{end}} or {{else ...}} (returned as the item that stopped it) or the end."""
        nodes: list[Node] = []
        while self.i < len(self.items):
            kind, body, pos = self.items[self.i]
            self.i += 1
            if kind == "text":
                nodes.append(Node("text", body))
                continue
            if not body:
                raise TemplateError(f"template: {self.name}:{_line(self.src, pos)}: missing value for command")
            word = body[0].text if body[0].kind == "ident" else ""
            if word in ("end", "else"):
                return nodes, (kind, body, pos)
            if word in ("if", "range", "with"):
                nodes.append(self._control(word, body[1:], pos))
            elif word in ("break", "continue"):
                nodes.append(Node(word))
            elif word in ("define", "template", "block"):
                raise TemplateError(f"template: {self.name}:{_line(self.src, pos)}: {{{{{word}}}}} is not supported")
            else:
                nodes.append(Node("action", pipe=self._pipe(body, pos)))
        return nodes, None

    def _control(self, word: str, toks: list[Tok], pos: int) -> Node:
        node = Node(word, pipe=self._pipe(toks, pos, word == "range"))
        node.body, stop = self._list()
        if stop is None:
            raise TemplateError(f"template: {self.name}:{_line(self.src, len(self.src))}: unexpected EOF")
        toks = stop[1]
        if toks[0].text == "else":
            if len(toks) > 1 and toks[1].text in ("if", "with"):  # {{else if ...}}: an if inside the else
                node.orelse = [self._control(toks[1].text, toks[2:], stop[2])]
                return node
            node.orelse, stop = self._list()
            if stop is None or stop[1][0].text != "end":
                raise TemplateError(f"template: {self.name}:{_line(self.src, len(self.src))}: unexpected EOF")
        return node

    def _pipe(self, toks: list[Tok], pos: int, in_range: bool = False) -> Pipe:
        text = self.src[toks[0].pos:toks[-1].pos + len(toks[-1].text)] if toks else ""
        decl: list[str] = []
        assign = False
        i = 0
        # $x := ...; $x = ...; in range: $i, $e := ...
        if toks and toks[0].kind == "var" and not toks[0].value[1]:
            j, names = 0, [toks[0].value[0]]
            if in_range and len(toks) > 2 and toks[1].kind == "," and toks[2].kind == "var":
                names.append(toks[2].value[0])
                j = 2
            if len(toks) > j + 1 and toks[j + 1].kind in (":=", "="):
                decl, assign, i = names, toks[j + 1].kind == "=", j + 2
        cmds, i = self._cmds(toks, i)
        if i != len(toks):
            raise TemplateError(f"template: {self.name}:{_line(self.src, pos)}: unexpected {toks[i].text!r} in operand")
        if not cmds:
            raise TemplateError(f"template: {self.name}:{_line(self.src, pos)}: missing value for command")
        return Pipe(decl, assign, cmds, pos, text)

    def _cmds(self, toks: list[Tok], i: int) -> tuple[list[list[Any]], int]:
        cmds: list[list[Any]] = [[]]
        while i < len(toks) and toks[i].kind != ")":
            t = toks[i]
            if t.kind == "|":
                if not cmds[-1]:
                    raise TemplateError(f"template: {self.name}:{_line(self.src, t.pos)}: missing command")
                cmds.append([])
                i += 1
            elif t.kind == "(":
                sub, i = self._cmds(toks, i + 1)
                if i >= len(toks):
                    raise TemplateError(f"template: {self.name}:{_line(self.src, t.pos)}: unclosed left paren")
                close = toks[i]
                i += 1
                chain: list[str] = []
                if i < len(toks) and toks[i].kind == "chain":
                    chain = toks[i].value
                    i += 1
                text = self.src[t.pos:close.pos + 1] + ("." + ".".join(chain) if chain else "")
                cmds[-1].append((Pipe([], False, sub, t.pos, text), chain, t))
            elif t.kind in (",", ":=", "="):
                raise TemplateError(f"template: {self.name}:{_line(self.src, t.pos)}: unexpected {t.text!r} in operand")
            else:
                cmds[-1].append(t)
                i += 1
        return (cmds if cmds[-1] else cmds[:-1]), i


# ---- executing


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Template:
    def __init__(self, text: str, funcs: dict[str, Callable[..., Any]] | None = None, name: str = ""):
        self.src, self.name = text, name
        self.funcs = {**FUNCS, **(funcs or {})}
        self.nodes = _Parser(text, name).parse()
        self._check_funcs(self.nodes)

    def _check_funcs(self, nodes: list[Node]) -> None:
        """As Go's parser: an unknown function is an error before anything runs."""
        for n in nodes:
            if n.pipe is not None:
                for cmd in self._all_cmds(n.pipe):
                    for op in cmd:
                        if isinstance(op, Tok) and op.kind == "ident" and op.text not in self.funcs \
                                and op.text not in ("and", "or"):
                            raise TemplateError(f'template: {self.name}:{_line(self.src, op.pos)}: function '
                                                f'"{op.text}" not defined')
            self._check_funcs(n.body)
            self._check_funcs(n.orelse)

    def _all_cmds(self, pipe: Pipe) -> Any:
        for cmd in pipe.cmds:
            yield cmd
            for op in cmd:
                if isinstance(op, tuple):
                    yield from self._all_cmds(op[0])

    def execute(self, data: Any) -> str:
        out: list[str] = []
        self._run(self.nodes, data, [("$", data)], out)
        return "".join(out)

    def _run(self, nodes: list[Node], dot: Any, env: list[tuple[str, Any]], out: list[str]) -> None:
        for n in nodes:
            if n.kind == "text":
                out.append(n.text)
            elif n.kind == "action":
                assert n.pipe is not None
                v = self._pipe(n.pipe, dot, env)
                if not n.pipe.decl:
                    out.append(go_str(v))
            elif n.kind == "break":
                raise _Break
            elif n.kind == "continue":
                raise _Continue
            else:
                self._control(n, dot, env, out)

    def _control(self, n: Node, dot: Any, env: list[tuple[str, Any]], out: list[str]) -> None:
        assert n.pipe is not None
        mark = len(env)
        try:
            if n.kind == "range":
                self._range(n, dot, env, out)
                return
            v = self._pipe(n.pipe, dot, env)
            if truth(v):
                self._run(n.body, v if n.kind == "with" else dot, env, out)
            else:
                self._run(n.orelse, dot, env, out)
        finally:
            del env[mark:]

    def _range(self, n: Node, dot: Any, env: list[tuple[str, Any]], out: list[str]) -> None:
        assert n.pipe is not None
        v = self._pipe(Pipe([], False, n.pipe.cmds, n.pipe.pos, n.pipe.text), dot, env)
        if isinstance(v, dict):
            items = [(k, v[k]) for k in sorted(v, key=sort_key)]
        elif isinstance(v, (list, tuple)):
            items = list(enumerate(v))
        elif v is None:
            items = []
        else:
            raise self._error(n.pipe.pos, n.pipe.text, f"range can't iterate over {go_str(v)}")
        if not items:
            self._run(n.orelse, dot, env, out)
            return
        for key, elem in items:
            mark = len(env)
            names = n.pipe.decl
            if len(names) == 1:
                env.append((names[0], elem))
            elif len(names) == 2:
                env += [(names[0], key), (names[1], elem)]
            try:
                self._run(n.body, elem, env, out)
            except _Break:
                break
            except _Continue:
                continue
            finally:
                del env[mark:]

    def _pipe(self, pipe: Pipe, dot: Any, env: list[tuple[str, Any]]) -> Any:
        v: Any = None
        for i, cmd in enumerate(pipe.cmds):
            v = self._cmd(cmd, dot, env, [v] if i else [], pipe)
        if pipe.decl:
            if pipe.assign:
                for j in range(len(env) - 1, -1, -1):
                    if env[j][0] == pipe.decl[0]:
                        env[j] = (pipe.decl[0], v)
                        break
                else:
                    raise self._error(pipe.pos, pipe.text, f"undefined variable: {pipe.decl[0]}")
            else:
                env.append((pipe.decl[0], v))
        return v

    def _cmd(self, cmd: list[Any], dot: Any, env: list[tuple[str, Any]], piped: list[Any], pipe: Pipe) -> Any:
        head, rest = cmd[0], cmd[1:]
        if isinstance(head, Tok) and head.kind == "ident":
            name = head.text
            if name in ("and", "or"):  # short-circuit, returning the argument that decided
                args = rest + piped
                v: Any = None
                for a in args:
                    v = a if not isinstance(a, (Tok, tuple)) else self._arg(a, dot, env, pipe)
                    if truth(v) != (name == "and"):
                        return v
                return v
            args = [self._arg(a, dot, env, pipe) for a in rest] + piped
            try:
                return self.funcs[name](*args)
            except TemplateError as e:
                raise self._error(head.pos, self._cmd_text(cmd), str(e)) from None
            except (TypeError, ValueError, AttributeError) as e:
                raise self._error(head.pos, self._cmd_text(cmd), f"error calling {name}: {e}") from None
        if isinstance(head, Tok) and head.kind in ("field", "var") or isinstance(head, tuple):
            args = [self._arg(a, dot, env, pipe) for a in rest] + piped
            return self._operand(head, dot, env, pipe, args)
        if rest or piped:
            raise self._error(head.pos, self._cmd_text(cmd), f"can't give argument to non-function {head.text}")
        return self._arg(head, dot, env, pipe)

    def _cmd_text(self, cmd: list[Any]) -> str:
        return " ".join(op.text if isinstance(op, Tok) else op[0].text for op in cmd)

    def _arg(self, op: Any, dot: Any, env: list[tuple[str, Any]], pipe: Pipe) -> Any:
        if isinstance(op, tuple) or op.kind in ("field", "var"):
            return self._operand(op, dot, env, pipe, [])
        if op.kind == "dot":
            return dot
        if op.kind == "ident":
            return self._cmd([op], dot, env, [], pipe)
        return op.value

    def _operand(self, op: Any, dot: Any, env: list[tuple[str, Any]], pipe: Pipe, args: list[Any]) -> Any:
        if isinstance(op, tuple):
            sub, chain, tok = op
            return self._chain(self._pipe(sub, dot, env), chain, tok.pos, sub.text, args)
        if op.kind == "var":
            name, chain = op.value
            for n, v in reversed(env):
                if n == name:
                    return self._chain(v, chain, op.pos, op.text, args)
            raise self._error(op.pos, op.text, f"undefined variable: {name}")
        return self._chain(dot, op.value, op.pos, op.text, args)

    def _chain(self, v: Any, chain: list[str], pos: int, text: str, args: list[Any]) -> Any:
        for i, name in enumerate(chain):
            if isinstance(v, dict):
                if name not in v:
                    raise self._error(pos, text, f'map has no entry for key "{name}"')
                v = v[name]
            elif v is None:
                raise self._error(pos, text, f"nil pointer evaluating interface {{}}.{name}")
            else:
                raise self._error(pos, text, f"can't evaluate field {name} in type {type_name(v)}")
            if callable(v):
                last = i == len(chain) - 1
                try:
                    v = v(*args) if last else v()
                except TypeError:
                    raise self._error(pos, text, f"wrong number of args for {name}: want 1 got {len(args)}") from None
                if last:
                    return v
        if args:
            raise self._error(pos, text, f"can't give argument to non-function {text}")
        return v

    def _error(self, pos: int, text: str, why: str) -> TemplateError:
        line = _line(self.src, pos)
        col = pos - (self.src.rfind("\n", 0, pos) + 1)
        return TemplateError(f'template: {self.name}:{line}:{col}: executing "{self.name}" at <{text}>: {why}')


def render(text: str, data: Any, funcs: dict[str, Callable[..., Any]] | None = None) -> str:
    return Template(text, funcs).execute(data)
