"""Interpolation as the Compose Specification words it, case by case."""

import pytest
from pyctl.compose.errors import ComposeError
from pyctl.compose.interpolate import interpolate, substitute

ENV = {"SET": "value", "EMPTY": "", "NESTED": "inner"}

CASES = [
    ("plain", "plain"),
    ("$SET", "value"),
    ("${SET}", "value"),
    ("a${SET}b", "avalueb"),
    ("$SET-suffix", "value-suffix"),
    ("${UNSET:-default}", "default"),
    ("${EMPTY:-default}", "default"),
    ("${EMPTY-default}", ""),
    ("${UNSET-default}", "default"),
    ("${SET:-default}", "value"),
    ("${SET:+alt}", "alt"),
    ("${EMPTY:+alt}", ""),
    ("${EMPTY+alt}", "alt"),
    ("${UNSET+alt}", ""),
    ("${UNSET:-${NESTED}}", "inner"),
    ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
    ("$$SET", "$SET"),
    ("$${SET}", "${SET}"),
    ("cost: 5$", "cost: 5$"),
    ("${UNSET}", ""),
    ("$UNSET", ""),
    ("${SET?required}", "value"),
]


@pytest.mark.parametrize(("template", "expected"), CASES)
def test_substitute(template, expected):
    assert substitute(template, ENV) == expected


ERRORS = [
    ("${UNSET:?must be set}", "required variable UNSET is missing a value: must be set"),
    ("${EMPTY:?must be set}", "required variable EMPTY is missing a value: must be set"),
    ("${UNSET?}", "required variable UNSET is missing a value"),
    ("${}", 'Invalid template: "${}"'),
    ("${SET", 'Invalid template: "${SET"'),
    ("${1BAD}", 'Invalid template: "${1BAD}"'),
    ("${SET*x}", 'Invalid template: "${SET*x}"'),
]


@pytest.mark.parametrize(("template", "message"), ERRORS)
def test_substitute_errors(template, message):
    with pytest.raises(ComposeError) as e:
        substitute(template, ENV)
    assert str(e.value) == message


def test_empty_question_without_colon_is_set():
    assert substitute("${EMPTY?x}", ENV) == ""


def test_tree_values_only_and_error_path():
    tree = {"services": {"web": {"image": "busybox:${SET}", "${SET}": 1, "ports": ["${PORT:-80}"]}}}
    assert interpolate(tree, ENV) == {"services": {"web": {"image": "busybox:value", "${SET}": 1, "ports": ["80"]}}}
    with pytest.raises(ComposeError) as e:
        interpolate({"services": {"web": {"ports": ["x", "${P:?no port}"]}}}, ENV)
    assert str(e.value) == "error while interpolating services.web.ports[1]: required variable P is missing a value: no port"


def test_unset_warns_once(capsys):
    interpolate({"a": "${NOPE}", "b": "$NOPE"}, {})
    assert capsys.readouterr().err.count('The "NOPE" variable is not set. Defaulting to a blank string.') == 1
