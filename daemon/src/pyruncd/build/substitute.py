"""Which parts of each instruction get variables substituted, per the Dockerfile reference: ADD, COPY,
ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR (and RUN --mount specs, COPY/ADD flags and
unquoted-delimiter heredoc bodies, as BuildKit does; ARG defaults are substituted by pyruncd.build.scope,
which also gives each ARG its value). RUN, CMD, ENTRYPOINT, SHELL and
HEALTHCHECK are left as written: in the shell form the shell substitutes, the exec form substitutes nothing.
ONBUILD triggers are substituted when a child build runs them. COPY --from is never substituted (BuildKit
refuses a variable there).
"""

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from pyruncd.build import instructions as ins
from pyruncd.build.errors import DockerfileParseError
from pyruncd.build.expand import SubstitutionError, substitute


@dataclass(frozen=True, kw_only=True)
class SubstitutedInstruction:
    instruction: ins.Instruction
    used: frozenset[str]  # the variables it read: with their values, part of its cache key


class _Substituter:
    def __init__(self, variables: Mapping[str, str], escape: str) -> None:
        self.variables = variables
        self.escape = escape
        self.used: set[str] = set()

    def text(self, word: str) -> str:
        result = substitute(word, self.variables, escape=self.escape)
        self.used |= result.used
        return result.text

    def optional(self, word: str | None) -> str | None:
        return None if word is None else self.text(word)

    def words(self, word: str) -> tuple[str, ...]:
        result = substitute(word, self.variables, escape=self.escape)
        self.used |= result.used
        return result.words

    def pairs(self, pairs: tuple[ins.KeyValue, ...]) -> tuple[ins.KeyValue, ...]:
        return tuple(ins.KeyValue(key=self.text(pair.key), value=self.text(pair.value)) for pair in pairs)

    def heredoc(self, heredoc: ins.Heredoc) -> ins.Heredoc:
        if not heredoc.expand:
            return heredoc
        # BuildKit substitutes heredoc bodies with the default escape and keeps quotes as written
        result = substitute(heredoc.body(), self.variables, escape="\\", process_quotes=False)
        self.used |= result.used
        return dataclasses.replace(heredoc, content=result.text, chomp=False)

    def instruction(self, instruction: ins.Instruction) -> ins.Instruction:
        replace = dataclasses.replace
        match instruction:
            case ins.From():
                return replace(instruction, image=self.text(instruction.image), platform=self.optional(instruction.platform))
            case ins.Run():
                return replace(instruction, mounts=tuple(self.text(spec) for spec in instruction.mounts))
            case ins.Label():
                return replace(instruction, labels=self.pairs(instruction.labels))
            case ins.Env():
                return replace(instruction, variables=self.pairs(instruction.variables))
            case ins.Expose():
                return replace(instruction, ports=tuple(port for word in instruction.ports for port in self.words(word)))
            case ins.Copy() | ins.Add():
                transfer = replace(
                    instruction,
                    sources=tuple(self.text(source) for source in instruction.sources),
                    inline_sources=tuple(self.heredoc(source) for source in instruction.inline_sources),
                    destination=self.text(instruction.destination),
                    chown=self.optional(instruction.chown),
                    chmod=self.optional(instruction.chmod),
                )
                if isinstance(transfer, ins.Add):
                    return replace(transfer, checksum=self.optional(transfer.checksum))
                return transfer
            case ins.Volume():
                return replace(instruction, paths=tuple(self.text(path) for path in instruction.paths))
            case ins.User():
                return replace(instruction, user=self.text(instruction.user))
            case ins.Workdir():
                return replace(instruction, path=self.text(instruction.path))
            case ins.Stopsignal():
                return replace(instruction, signal=self.text(instruction.signal))
        return instruction


def substitute_instruction(
    instruction: ins.Instruction, variables: Mapping[str, str], *, escape: str = "\\"
) -> SubstitutedInstruction:
    substituter = _Substituter(variables, escape)
    try:
        result = substituter.instruction(instruction)
    except SubstitutionError as error:
        raise DockerfileParseError(line=instruction.line, message=str(error), instruction=instruction.keyword) from None
    return SubstitutedInstruction(instruction=result, used=frozenset(substituter.used))
