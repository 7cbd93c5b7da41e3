"""What the docker CLI's cobra and pflag do that argparse does not, for main.py: boolean flags given a
value (`--detach=true`, `--rm=false`, `-d=1`, as strconv.ParseBool reads it), and the command overview
`pyctl` prints without a command (docker's layout: Usage, Options, Management Commands, Commands)."""

import argparse

from .errors import CLIError

_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def _subparsers(p: argparse.ArgumentParser) -> "argparse._SubParsersAction[argparse.ArgumentParser] | None":
    return next((a for a in p._actions if isinstance(a, argparse._SubParsersAction)), None)


def _is_bool(action: argparse.Action) -> bool:
    return isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction))


def _flag_names(action: argparse.Action) -> str:
    """pflag's name of a flag in its errors: "-d, --detach" or "--rm"."""
    return ", ".join(sorted(action.option_strings, key=len))


def bool_values(p: argparse.ArgumentParser, argv: list[str]) -> list[str]:
    """`argv` with each boolean flag given =VALUE made the bare flag (true) or dropped (false), for the
    parser of the command named, before the first positional argument of that command (what follows,
    a container's command, is left as it is)."""
    out: list[str] = []
    parser = p
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            out += argv[i - 1:]
            break
        if not arg.startswith("-") or arg == "-":
            out.append(arg)
            sub = _subparsers(parser)
            if sub is None or arg not in sub.choices:
                out += argv[i:]   # the command's first positional: the rest is its own
                break
            parser = sub.choices[arg]
            continue
        name, eq, value = arg.partition("=")
        action = parser._option_string_actions.get(name)
        if eq and action is not None and _is_bool(action):
            if value not in _TRUE + _FALSE:
                raise CLIError(f'invalid argument "{value}" for "{_flag_names(action)}" flag: strconv.ParseBool: '
                               f'parsing "{value}": invalid syntax', 125 if parser.prog.split()[-1] in
                               ("run", "create") else 1)
            if (value in _TRUE) == isinstance(action, argparse._StoreTrueAction):
                out.append(name)
            continue
        out.append(arg)
        if not eq and action is not None and action.nargs != 0 and i < len(argv):
            out.append(argv[i])   # the flag's value, whatever it looks like
            i += 1
    return out


def overview(p: argparse.ArgumentParser) -> str:
    """docker's root help: the usage line, the global options, then the commands that have commands
    of their own (Management Commands) and the others, each in name order."""
    sub = _subparsers(p)
    assert sub is not None
    helps = {a.dest: a.help or "" for a in sub._choices_actions}
    groups: dict[str, list[str]] = {"Management Commands": [], "Commands": []}
    for name, parser in sub.choices.items():
        if name in helps:  # aliases have no line of their own
            groups["Management Commands" if _subparsers(parser) else "Commands"].append(name)
    width = max(len(n) for n in helps) + 2
    lines = [f"Usage:  {p.prog} [OPTIONS] COMMAND", "", p.description or "", "", "Options:"]
    for a in p._actions:
        if a.option_strings and not isinstance(a, argparse._HelpAction):
            flags = ", ".join(a.option_strings) + (f" {a.metavar or a.dest.upper()}" if a.nargs != 0 else "")
            lines.append(f"  {flags:<20} {a.help or ''}")
    for title, names in groups.items():
        lines += ["", f"{title}:"] + [f"  {n:<{width}}{_sentence(helps[n])}" for n in sorted(names)]
    return "\n".join(lines + ["", f"Run '{p.prog} COMMAND --help' for more information on a command.", ""])


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]
