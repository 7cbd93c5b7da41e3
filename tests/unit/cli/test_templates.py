"""Go's text/template semantics as docker's --format and inspect -f use them (templates.py, gofmt.py),
case by case against what Go 1.x's text/template and fmt print for the same JSON-decoded value."""

import io
import re
import sys

import pytest
from pyctl import output
from pyctl.errors import CLIError
from pyctl.gofmt import go_float, sprintf
from pyctl.templates import TemplateError, render

DOC = {"Name": "/web", "Id": "abc123", "State": {"Running": True, "Paused": False, "Pid": 42, "Health": None},
       "Config": {"Env": ["A=1", "B=2"], "Labels": {"b": "2", "a": "1"}, "Cmd": ["sh", "-c", "x y"], "Volumes": {}},
       "Nets": {"n2": {"IP": "10.0.1.2"}, "n1": {"IP": "10.0.0.2"}}, "Ratio": 1.5, "Big": 1e6, "Empty": ""}


@pytest.mark.parametrize(("template", "want"), [
    # fields; booleans, nil, slices and maps as fmt's %v prints them (maps in key order)
    ("{{.Name}}", "/web"),
    ("{{.State.Running}} {{.State.Paused}}", "true false"),
    ("{{.State.Pid}}", "42"),
    ("{{.State.Health}}", "<nil>"),
    ("{{.Config.Env}}", "[A=1 B=2]"),
    ("{{.Config.Labels}}", "map[a:1 b:2]"),
    ("{{.Config.Volumes}}", "map[]"),
    ("{{.Nets}}", "map[n1:map[IP:10.0.0.2] n2:map[IP:10.0.1.2]]"),
    ("{{.Ratio}} {{.Big}}", "1.5 1e+06"),
    ("{{.}}", "map[Big:1e+06 Config:map[Cmd:[sh -c x y] Env:[A=1 B=2] Labels:map[a:1 b:2] Volumes:map[]] "
              "Empty: Id:abc123 Name:/web Nets:map[n1:map[IP:10.0.0.2] n2:map[IP:10.0.1.2]] Ratio:1.5 "
              "State:map[Health:<nil> Paused:false Pid:42 Running:true]]"),
    # json: compact, a struct's fields in order, a map's keys sorted, no HTML escaping
    ("{{json .Config.Labels}}", '{"a":"1","b":"2"}'),  # a map: keys sorted, as encoding/json
    ("{{json .Nets}}", '{"n1":{"IP":"10.0.0.2"},"n2":{"IP":"10.0.1.2"}}'),
    ("{{json .State}}", '{"Running":true,"Paused":false,"Pid":42,"Health":null}'),
    ('{{json "<a&b>"}}', '"<a&b>"'),
    ("{{.Config.Env | json}}", '["A=1","B=2"]'),
    # range over slices and maps, with variables, else, break and continue
    ("{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]"),
    ("{{range $i, $e := .Config.Env}}{{$i}}:{{$e}} {{end}}", "0:A=1 1:B=2 "),
    ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}", "a=1,b=2,"),
    ("{{range $n, $c := .Nets}}{{$n}} {{$c.IP}};{{end}}", "n1 10.0.0.2;n2 10.0.1.2;"),
    ("{{range .Nets}}{{.IP}} {{end}}", "10.0.0.2 10.0.1.2 "),
    ("{{range .Config.Volumes}}x{{else}}none{{end}}", "none"),
    ("{{range .Config.Env}}{{if eq . \"B=2\"}}{{break}}{{end}}{{.}}{{end}}", "A=1"),
    ("{{range .Config.Env}}{{if eq . \"A=1\"}}{{continue}}{{end}}{{.}}{{end}}", "B=2"),
    ("{{range .Config.Env}}{{$.Name}}{{end}}", "/web/web"),
    # index, len, slice
    ('{{index .Config.Labels "a"}}', "1"),
    ('{{index .Config.Labels "zz"}}', "<nil>"),
    ("{{index .Config.Env 1}}", "B=2"),
    ('{{index .Nets "n1" "IP"}}', "10.0.0.2"),
    ('{{(index .Nets "n2").IP}}', "10.0.1.2"),
    ("{{len .Config.Env}} {{len .Name}} {{len .Config.Labels}}", "2 4 2"),
    ("{{slice .Name 1}} {{slice .Name 1 3}}", "web we"),
    # docker's functions
    ('{{join .Config.Cmd " "}}', "sh -c x y"),
    ('{{join .Config.Cmd ","}}', "sh,-c,x y"),
    ('{{lower "ABC"}} {{upper .Name}}', "abc /WEB"),
    ('{{split "a,b,c" ","}}', "[a b c]"),
    ('{{title "hello world"}}', "Hello World"),
    ('{{truncate .Id 3}}', "abc"),
    ('{{pad .Name 1 2}}|', " /web  |"),
    # printf and print
    ('{{printf "%s is %d" .Name .State.Pid}}', "/web is 42"),
    ('{{printf "%v %v %v" .State.Running .Config.Env .Config.Labels}}', "true [A=1 B=2] map[a:1 b:2]"),
    ('{{printf "%q" .Name}}', '"/web"'),
    ('{{printf "[%5s][%-5s][%05d][%x][%.2f][%t]" "ab" "ab" 42 255 1.5 true}}', "[   ab][ab   ][00042][ff][1.50][true]"),
    ('{{printf "%d"}}', "%!d(MISSING)"),
    ('{{printf "%d" "x"}}', "%!d(string=x)"),
    ('{{printf "%s" 1 2}}', "%!s(int=1)%!(EXTRA int=2)"),
    ('{{printf "100%%"}}', "100%"),
    ('{{.Name | printf "%s!"}}', "/web!"),
    ('{{print 1 2 "a" 3}}', "1 2a3"),
    ('{{println "a" 1}}', "a 1\n"),
    # conditions: Go's truth, comparison, and/or returning the deciding value
    ("{{if .State.Running}}up{{else}}down{{end}}", "up"),
    ("{{if .Empty}}x{{else if .State.Paused}}p{{else if eq .State.Pid 42}}42{{end}}", "42"),
    ("{{if not .Config.Volumes}}no volumes{{end}}", "no volumes"),
    ('{{if eq .Name "/db" "/web"}}one of them{{end}}', "one of them"),
    ("{{if and .State.Running (gt .State.Pid 1)}}ok{{end}}", "ok"),
    ("{{and 1 0 2}} {{or 0 \"\" \"z\"}} {{or 0 \"\"}}", "0 z "),
    ("{{ne .State.Pid 1}} {{lt 1 2}} {{le 2 2}} {{ge 1 2}}", "true true true false"),
    ("{{with .State}}{{.Pid}}{{end}}{{with .Empty}}x{{else}}-{{end}}", "42-"),
    # variables, literals, trim markers, comments
    ("{{$x := .State.Pid}}{{$x}} {{$x = 7}}{{$x}}", "42 7"),
    ("{{$n := len .Config.Env}}{{if gt $n 1}}many{{end}}", "many"),
    ("{{`raw \\n`}} {{\"a\\tb\"}} {{'a'}} {{0x10}} {{true}} {{nil | print}}", "raw \\n a\tb 97 16 true <nil>"),
    ("a  {{- .Id -}}  b", "aabc123b"),
    ("{{- /* a comment */ -}} x", "x"),
    ("line1\n{{range .Config.Env -}}\n  {{.}}\n{{end}}", "line1\nA=1\nB=2\n"),
])
def test_template_prints_as_go(template, want):
    assert render(template, DOC) == want


@pytest.mark.parametrize(("template", "error"), [
    ("{{.Nope}}", 'template: :1:2: executing "" at <.Nope>: map has no entry for key "Nope"'),
    ("x\n {{.State.Nope}}", 'template: :2:3: executing "" at <.State.Nope>: map has no entry for key "Nope"'),
    ("{{.State.Health.X}}", "nil pointer evaluating interface {}.X"),
    ("{{nope .Name}}", 'template: :1: function "nope" not defined'),
    ("{{range .Config.Env}}", "template: :1: unexpected EOF"),
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{.Name", "template: :1: unclosed action"),
    ("{{index .Config.Env 5}}", "error calling index: index out of range: 5"),
    ("{{range .Name}}{{end}}", "range can't iterate over /web"),
    ("{{$y}}", "undefined variable: $y"),
])
def test_template_errors_in_gos_words(template, error):
    with pytest.raises(TemplateError, match=re.escape(error)):
        render(template, DOC)


@pytest.mark.parametrize(("value", "want"), [
    (0.0, "0"), (1.0, "1"), (123456.0, "123456"), (1234567.0, "1.234567e+06"), (0.0001, "0.0001"),
    (0.00001, "1e-05"), (-2.5, "-2.5"), (1e21, "1e+21"),
])
def test_floats_print_as_strconv_shortest_g(value, want):
    assert go_float(value) == want


def test_sprintf_width_and_flags():
    assert sprintf("%-8s|%8s|%+d|%3d", "ab", "cd", 5, 7) == "ab      |      cd|+5|  7"


def _listing(fmt, rows, headers, keys, capsys):
    output.listing(fmt, rows, headers, keys)
    return capsys.readouterr().out


ROWS = [{"Driver": "local", "Name": "data", "Labels": "com.example.a=1,x=y", "Scope": "local"},
        {"Driver": "local", "Name": "a-much-longer-name", "Labels": "", "Scope": "local"}]


def test_listing_table_directive_writes_docker_headers_through_its_tabwriter(capsys):
    out = _listing("table {{.Name}}\\t{{.Driver}}", ROWS, ["DRIVER", "VOLUME NAME"], ["Driver", "Name"], capsys)
    assert out == ("VOLUME NAME          DRIVER\n"
                   "data                 local\n"
                   "a-much-longer-name   local\n")
    # docker's tabwriter: columns at least 10 wide
    out = _listing("table {{.Scope}}\\t{{.Name}}", ROWS, ["DRIVER", "VOLUME NAME"], ["Driver", "Name"], capsys)
    assert out.splitlines()[0] == "SCOPE     VOLUME NAME"


def test_listing_template_without_table_one_line_per_row_and_label_method(capsys):
    out = _listing('{{.Name}} {{.Label "x"}}|{{.Label "com.example.a"}}', ROWS, [], [], capsys)
    assert out == "data y|1\na-much-longer-name |\n"
    assert _listing("table", ROWS, ["DRIVER", "VOLUME NAME"], ["Driver", "Name"], capsys).startswith("DRIVER")


def test_listing_and_inspect_template_errors_are_cli_errors():
    with pytest.raises(CLIError, match="Template parsing error: template: :1:2: executing"):
        output.listing("{{.Nope}}", ROWS, [], [])
    with pytest.raises(CLIError, match='Template parsing error: template: :1: function "x" not defined'):
        output.inspect_docs([DOC], "{{x}}")
    sys.stdout = io.StringIO()
    try:
        output.inspect_docs([DOC, DOC], "{{.State.Running}}")
        assert sys.stdout.getvalue() == "true\ntrue\n"
    finally:
        sys.stdout = sys.__stdout__


def test_null_maps_and_slices_print_as_docker_typed_structs_do():
    from pyctl.doctypes import typed

    doc = typed({"Name": "v", "Labels": None, "Options": None, "Status": None}, "volume")
    assert render("{{.Labels}} {{.Status}} {{len .Labels}} [{{index .Labels \"a\"}}] {{json .Labels}}", doc) == \
        "map[] map[] 0 [] null"
    doc = typed({"Config": {"Cmd": None, "Env": ["A=1"]}, "HostConfig": {"Dns": None},
                 "NetworkSettings": {"Networks": {"n": {"Aliases": None}}}}, "container")
    assert render("{{.Config.Cmd}} {{.HostConfig.Dns}} {{range .NetworkSettings.Networks}}{{.Aliases}}{{end}}",
                  doc) == "[] [] []"
    assert render("{{.X}}", {"X": None}) == "<nil>"  # what no type is known of stays Go's nil interface
