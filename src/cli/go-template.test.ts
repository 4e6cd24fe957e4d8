import { describe, expect, test } from "bun:test";
import { asMap, compileTemplate } from "./go-template.ts";

const ctr = {
  Name: "/web",
  Id: "abc",
  State: { Status: "running", Running: true, OOMKilled: false, ExitCode: 0 },
  Config: {
    Cmd: ["sleep", "10"],
    Env: ["A=1", "B=2"],
    Entrypoint: null,
    Labels: asMap({ k: "v", "com.x": "y" }),
  },
  NetworkSettings: { Networks: asMap({ b: { IPAddress: "10.0.0.3" }, a: { IPAddress: "10.0.0.2" } }) },
  Label(k: string) {
    return (this.Config.Labels as Record<string, string>)[k] ?? "";
  },
};
const render = (t: string, d: unknown = ctr) => compileTemplate(t).render(d);

describe("Go templates as docker users write them", () => {
  test.each([
    ["{{.State.Status}}", "running"],
    ["{{.Name}} {{.Id}}", "/web abc"],
    ["{{.State.Running}} {{.State.ExitCode}}", "true 0"],
    ["{{json .Config.Cmd}}", '["sleep","10"]'],
    ["{{json .Config.Entrypoint}}", "null"],
    ["{{.Config.Entrypoint}}", "<nil>"],
    ["{{.Config.Cmd}}", "[sleep 10]"],
    ["{{.Config.Labels}}", "map[com.x:y k:v]"],
    ['{{index .Config.Labels "k"}}', "v"],
    ['{{index .Config.Labels "nope"}}', "<no value>"],
    ["{{index .Config.Cmd 1}}", "10"],
    ['{{join .Config.Cmd ","}}', "sleep,10"],
    ['{{.Label "k"}}', "v"],
    ['{{lower "AB"}} {{upper .Name}} {{title "ab cd"}}', "ab /WEB Ab Cd"],
    ["{{.Name | upper}}", "/WEB"],
    ["{{len .Config.Env}}", "2"],
    ['{{split "a:b" ":"}}', "[a b]"],
    ["{{println .Name}}", "/web\n"],
    ['{{printf "%s=%d %q" "x" 3 "y"}}', 'x=3 "y"'],
    ["{{if .State.Running}}up{{else}}down{{end}}", "up"],
    ["{{if not .State.Running}}down{{else if .Id}}id{{else}}no{{end}}", "id"],
    ['{{if eq .State.Status "running" "paused"}}live{{end}}', "live"],
    ["{{if and .State.Running .Id}}both{{end}}", "both"],
    ["{{range .Config.Env}}[{{.}}]{{end}}", "[A=1][B=2]"],
    ["{{range $i, $e := .Config.Env}}{{$i}}={{$e}} {{end}}", "0=A=1 1=B=2 "],
    ["{{range $k, $v := .Config.Labels}}{{$k}}:{{$v}};{{end}}", "com.x:y;k:v;"],
    ["{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", "10.0.0.2 10.0.0.3 "],
    ["{{range .Config.Entrypoint}}x{{else}}none{{end}}", "none"],
    ["{{with .State}}{{.Status}}{{end}}", "running"],
    ["{{$n := .Name}}{{$n}}", "/web"],
    ["a  {{- .Id -}}  b", "aabcb"],
    ["{{(index .Config.Cmd 0) | upper}}", "SLEEP"],
    ["{{/* a comment */}}x", "x"],
    ['{{truncate "abcdef" 3}}', "abc"],
  ])("%p", (t, want) => expect(render(t)).toBe(want));

  test.each([
    ["{{.Nope}}", "can't evaluate field Nope"],
    ["{{.State", "unclosed action"],
    ["{{if .Id}}x", "has no {{end}}"],
    ["{{end}}", "unexpected {{end}}"],
    ["{{nofunc .Id}}", 'function "nofunc" not defined'],
    ["{{$x}}", "undefined variable: $x"],
    ['{{"a" "b"}}', "can't give argument to non-function"],
  ])("%p is an error naming the problem", (t, want) => expect(() => render(t)).toThrow(want));
});
