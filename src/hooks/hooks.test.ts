import { describe, expect, test } from "bun:test";
import { hookArgv, hookTimeoutMs, runHooks, stateAroundPid, stateJson } from "./hooks.ts";

const base = { ociVersion: "1.2.0", id: "c1", status: "creating" as const, bundle: "/b", annotations: {} };

describe("hooks", () => {
  test("the state JSON split around the pid reassembles into the state with that pid", () => {
    const { head, tail } = stateAroundPid({ ...base, annotations: { a: '"pid":0' } });
    expect(JSON.parse(`${head}4242${tail}`)).toEqual({ ...base, pid: 4242, annotations: { a: '"pid":0' } });
    expect(`${head}7${tail}`).toBe(stateJson({ ...base, pid: 7, annotations: { a: '"pid":0' } }));
  });

  test("annotations appear only when there are some", () => {
    expect(JSON.parse(stateJson({ ...base, pid: 1 }))).not.toHaveProperty("annotations");
  });

  test("argv is args as written, or the path alone; the timeout is in milliseconds", () => {
    const h = { path: "/bin/x", args: [], env: [], timeout: 2 };
    expect(hookArgv(h)).toEqual(["/bin/x"]);
    expect(hookArgv({ ...h, args: ["x", "-v"] })).toEqual(["x", "-v"]);
    expect(hookTimeoutMs(h)).toBe(2000);
    expect(hookTimeoutMs({ ...h, timeout: undefined })).toBe(0);
  });

  test("a hook gets only its own env", () => {
    const warnings: string[] = [];
    const hook = {
      path: "/bin/sh",
      args: ["sh", "-c", 'test "$A" = 1 && test -z "$HOME"'],
      env: ["A=1"],
      timeout: undefined,
    };
    runHooks("poststop", [hook], { ...base, pid: 1 }, (m) => warnings.push(m));
    expect(warnings).toEqual([]);
  });

  test("poststart and poststop failures are warnings; other stages throw", () => {
    const bad = { path: "/bin/false", args: [], env: [], timeout: undefined };
    const warnings: string[] = [];
    runHooks("poststart", [bad, bad], { ...base, pid: 1 }, (m) => warnings.push(m));
    expect(warnings).toEqual([
      'poststart hook #0 "/bin/false": exited with status 1',
      'poststart hook #1 "/bin/false": exited with status 1',
    ]);
    expect(() => runHooks("prestart", [bad], { ...base, pid: 1 })).toThrow(
      'prestart hook #0 "/bin/false": exited with status 1',
    );
  });
});
