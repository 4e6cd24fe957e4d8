// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not templates
import { describe, expect, test } from "bun:test";
import { parseDockerfile } from "./dockerfile.ts";
import { duration, type Evaluated, evaluate, planStages, platformArgs, type StageState } from "./plan.ts";

const builtins = platformArgs({ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "amd64" });

function plan(text: string, buildArgs: Record<string, string> = {}, target?: string) {
  return planStages(parseDockerfile(text), {
    buildArgs: new Map(Object.entries(buildArgs)),
    target,
    builtins,
    file: "Dockerfile",
  });
}

/** Evaluates every instruction of the last stage from an image config with `env`. */
function run(
  text: string,
  env: string[] = ["PATH=/bin"],
  buildArgs: Record<string, string> = {},
): Evaluated[] {
  const d = parseDockerfile(text);
  const p = planStages(d, { buildArgs: new Map(Object.entries(buildArgs)), builtins, file: "Dockerfile" });
  let s: StageState = { config: { Env: env, Cmd: ["sh"] }, args: new Map(), cmdSet: false };
  const out: Evaluated[] = [];
  for (const i of p.stages[p.stages.length - 1]?.instructions ?? []) {
    const e = evaluate(i, s, {
      escape: d.escape,
      buildArgs: new Map(Object.entries(buildArgs)),
      globals: p.globals,
      builtins,
    });
    out.push(e);
    s = e.state;
  }
  return out;
}

describe("stages", () => {
  test("ARG before FROM expands the base; --build-arg overrides it", () => {
    expect(plan("ARG B=busybox\nFROM ${B}:1\n").stages[0]?.base).toEqual({ kind: "image", ref: "busybox:1" });
    expect(plan("ARG B=busybox\nFROM ${B}:1\n", { B: "alpine" }).stages[0]?.base).toEqual({
      kind: "image",
      ref: "alpine:1",
    });
  });
  test("the built-in platform args reach FROM", () =>
    expect(plan("FROM img-$TARGETARCH\n").stages[0]?.base).toEqual({ kind: "image", ref: "img-amd64" }));
  test("scratch, a previous stage by name, AS names case-insensitive", () => {
    const p = plan("FROM scratch AS One\nFROM one\nFROM busybox\n");
    expect(p.stages.map((s) => s.base)).toEqual([
      { kind: "scratch" },
      { kind: "stage", index: 0 },
      { kind: "image", ref: "busybox" },
    ]);
    expect(p.build).toEqual([2]);
  });
  test("the target and the stages it needs (FROM and COPY --from)", () => {
    const text = "FROM a AS x\nFROM b AS y\nFROM c AS z\nCOPY --from=x /a /a\nFROM d\n";
    expect(plan(text, {}, "z").build).toEqual([0, 2]);
    expect(plan(text).build).toEqual([3]);
    expect(plan("FROM a\nFROM b\nCOPY --from=0 /a /a\n").build).toEqual([0, 1]);
  });
  test("a missing target stage is an error", () =>
    expect(() => plan("FROM a AS x\n", {}, "nope")).toThrow('target stage "nope" could not be found'));
  test("a COPY --from of a later stage is an error", () =>
    expect(() => plan("FROM a AS x\nCOPY --from=y /a /a\nFROM b AS y\n", {}, "x")).toThrow(
      "not a previous stage",
    ));
  test("a duplicate stage name is an error", () =>
    expect(() => plan("FROM a AS x\nFROM b AS X\n")).toThrow("Dockerfile:2: stage name"));
});

describe("instructions", () => {
  test("ENV, WORKDIR and USER expand variables, ENV over ARG", () => {
    const e = run("FROM x\nARG V=arg\nENV V=env W=$V\nWORKDIR /a\nWORKDIR b/$V\nUSER u$V\n");
    const last = e[e.length - 1]?.state.config;
    expect(last?.Env).toEqual(["PATH=/bin", "V=env", "W=arg"]);
    expect(last?.WorkingDir).toBe("/a/b/env");
    expect(last?.User).toBe("uenv");
  });
  test("ARG takes --build-arg, then its default, then the global value", () => {
    const e = run("ARG G=global\nFROM x\nARG G\nARG D=def\nARG B=def\nRUN echo\n", undefined, { B: "given" });
    const r = e[e.length - 1];
    expect(r?.effect).toEqual({
      kind: "run",
      argv: ["/bin/sh", "-c", "echo"],
      env: ["G=global", "D=def", "B=given"],
      network: undefined,
    });
    expect(r?.createdBy).toBe("|3 G=global D=def B=given /bin/sh -c echo");
  });
  test("an undeclared --build-arg is not in RUN's environment", () =>
    expect(run("FROM x\nRUN echo\n", undefined, { X: "1" })[0]?.effect).toMatchObject({ env: [] }));
  test("RUN: shell form under SHELL, exec form as is, not expanded", () => {
    const e = run('FROM x\nRUN echo $HOME\nSHELL ["/bin/bash", "-xc"]\nRUN echo b\nRUN ["a", "$B"]\n');
    expect(e.map((x) => (x.effect.kind === "run" ? x.effect.argv : null)).filter(Boolean)).toEqual([
      ["/bin/sh", "-c", "echo $HOME"],
      ["/bin/bash", "-xc", "echo b"],
      ["a", "$B"],
    ]);
  });
  test("CMD and ENTRYPOINT; ENTRYPOINT clears an inherited CMD but not one of this stage", () => {
    expect(run('FROM x\nENTRYPOINT ["/e"]\n')[0]?.state.config.Cmd).toBeUndefined();
    const e = run('FROM x\nCMD echo hi\nENTRYPOINT ["/e"]\n');
    expect(e[1]?.state.config).toMatchObject({ Cmd: ["/bin/sh", "-c", "echo hi"], Entrypoint: ["/e"] });
  });
  test("EXPOSE, LABEL, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD recorded in the config", () => {
    const e = run(
      [
        "FROM x",
        "ARG P=80",
        "EXPOSE $P 53/udp 7000-7002/UDP",
        'LABEL a=1 "b c"="d e"',
        'VOLUME ["/data"]',
        "VOLUME /v1 /v2",
        "STOPSIGNAL SIGQUIT",
        "HEALTHCHECK --interval=5s --retries=3 CMD wget -q localhost",
        "ONBUILD RUN echo later",
      ].join("\n"),
    );
    expect(e[e.length - 1]?.state.config).toEqual({
      Env: ["PATH=/bin"],
      Cmd: ["sh"],
      ExposedPorts: { "80/tcp": {}, "53/udp": {}, "7000/udp": {}, "7001/udp": {}, "7002/udp": {} },
      Labels: { a: "1", "b c": "d e" },
      Volumes: { "/data": {}, "/v1": {}, "/v2": {} },
      StopSignal: "SIGQUIT",
      Healthcheck: { Test: ["CMD-SHELL", "wget -q localhost"], Interval: 5e9, Retries: 3 },
      OnBuild: ["RUN echo later"],
    });
    expect(e.every((x) => x.effect.kind === "none" && x.createdBy.startsWith("/bin/sh -c #(nop) "))).toBe(
      true,
    );
  });
  test("COPY: sources and destination expanded, relative to WORKDIR, flags", () => {
    const e = run(
      'FROM x\nWORKDIR /w\nENV F=a.txt\nCOPY --chown=1:2 --chmod=0640 $F b* sub/\nCOPY ["$F", "/abs"]\n',
    );
    expect(e[2]?.effect).toEqual({
      kind: "copy",
      add: false,
      sources: ["a.txt", "b*"],
      dest: "/w/sub/",
      from: undefined,
      chown: "1:2",
      chmod: 0o640,
    });
    expect(e[3]?.effect).toMatchObject({ sources: ["a.txt"], dest: "/abs" });
  });
  const bad: [string, string][] = [
    ["FROM x\nCOPY a b c\n", "needs a destination directory ending"],
    ["FROM x\nCOPY a\n", "needs a source and a destination"],
    ["FROM x\nCOPY --chmod=999 a b\n", "is not an octal mode"],
    ["FROM x\nEXPOSE http\n", 'EXPOSE "http" is not PORT'],
    ["FROM x\nEXPOSE 90-80\n", 'EXPOSE "90-80" is not PORT[-PORT]'],
    ["FROM x\nEXPOSE 65536\n", 'EXPOSE "65536" is not PORT[-PORT]'],
    ["FROM x\nSHELL sh -c\n", "SHELL needs the JSON form"],
    ["FROM x\nHEALTHCHECK --interval=5 CMD true\n", '"5" is not a duration'],
  ];
  for (const [text, msg] of bad) test(`refuses: ${msg}`, () => expect(() => run(text)).toThrow(msg));
});

test("durations", () => {
  expect(duration("1m30s")).toBe(90e9);
  expect(duration("250ms")).toBe(250e6);
});

describe("here-documents", () => {
  test("RUN <<EOT alone runs the document; with a command the shell reads it", () => {
    const e = run("FROM x\nRUN <<EOT\necho a\nEOT\nRUN <<EOT cat > /f\nline\nEOT\n");
    expect(e[0]?.effect).toMatchObject({ argv: ["/bin/sh", "-c", "echo a\n"] });
    expect(e[1]?.effect).toMatchObject({ argv: ["/bin/sh", "-c", "<<EOT cat > /f\nline\nEOT"] });
  });
  test("COPY <<EOF: inline files, expanded unless the name is quoted", () => {
    const e = run("FROM x\nENV X=1\nCOPY <<A <<'B' /d/\nval $X \"q\"\nA\nval $X\nB\n");
    expect(e[1]?.effect).toMatchObject({
      kind: "copy",
      sources: ["<<A", "<<B"],
      dest: "/d/",
      inline: { "<<A": 'val 1 "q"\n', "<<B": "val $X\n" },
    });
  });
});
