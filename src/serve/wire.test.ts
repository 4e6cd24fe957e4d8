import { describe, expect, test } from "bun:test";
import {
  decodeLauncherMessage,
  decodeRequest,
  encodeExit,
  encodeKill,
  encodeRequest,
  encodeSpawn,
  type Request,
  waitStatusCode,
} from "./wire.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const raw = (...fields: string[]) => enc.encode(`${fields.join("\0")}\0`);

const sample: Request = {
  name: "leopard-oci",
  stamp: "1795948642.745477778",
  cwd: "/tmp/bundle",
  nofile: { soft: 1024n, hard: 18446744073709551615n },
  securebits: 0x2f,
  argv: ["run", "--bundle", "/b", "id with spaces", ""],
  env: { PATH: "/usr/bin:/bin", EMPTY: "", "WITH=EQ": "a=b" },
};

describe("request", () => {
  test("round-trips, empty arguments and unlimited limits included", () => {
    const back = decodeRequest(encodeRequest({ ...sample, env: { PATH: "/usr/bin", EMPTY: "" } }));
    expect(back).toEqual({ ...sample, env: { PATH: "/usr/bin", EMPTY: "" } });
  });

  test("decodes what launch.c sends", () => {
    const r = decodeRequest(
      raw("LSRV3", "leopard", "1.000000001", "/", "1024", "20000", "4", "1", "ps", "2", "A=1", "B=x=y"),
    );
    expect(r).toEqual({
      name: "leopard",
      stamp: "1.000000001",
      cwd: "/",
      nofile: { soft: 1024n, hard: 20000n },
      securebits: 4,
      argv: ["ps"],
      env: { A: "1", B: "x=y" },
    });
  });

  const bad: [string, Uint8Array][] = [
    ["another magic", raw("LSRV1", "leopard", "1.0", "/", "1", "1", "0", "0", "0")],
    ["a relative cwd", raw("LSRV3", "leopard", "1.0", "tmp", "1", "1", "0", "0", "0")],
    ["argc past the end", raw("LSRV3", "leopard", "1.0", "/", "1", "1", "0", "3", "a")],
    ["envc short", raw("LSRV3", "leopard", "1.0", "/", "1", "1", "0", "0", "2", "A=1")],
    ["trailing fields", raw("LSRV3", "leopard", "1.0", "/", "1", "1", "0", "0", "0", "extra")],
    ["a negative count", raw("LSRV3", "leopard", "1.0", "/", "1", "1", "0", "-1")],
    ["a non-numeric limit", raw("LSRV3", "leopard", "1.0", "/", "x", "1", "0", "0", "0")],
    ["no securebits", raw("LSRV3", "leopard", "1.0", "/", "1", "1", "", "0", "0")],
  ];
  for (const [what, data] of bad) test(`refuses ${what}`, () => expect(() => decodeRequest(data)).toThrow());

  test("refuses a field with NUL when encoding", () => {
    expect(() => encodeRequest({ ...sample, argv: ["a\0b"] })).toThrow(/NUL/);
  });
});

describe("launcher messages", () => {
  test("started, failed, child", () => {
    expect(decodeLauncherMessage(raw("S", "42"))).toEqual({ type: "started", pid: 42 });
    expect(decodeLauncherMessage(raw("E", "2"))).toEqual({ type: "failed", errno: 2 });
    expect(decodeLauncherMessage(raw("C", "42", "256"))).toEqual({ type: "child", pid: 42, status: 256 });
  });
  test("refuses an unknown type and a missing pid", () => {
    expect(() => decodeLauncherMessage(raw("Z"))).toThrow(/unknown/);
    expect(() => decodeLauncherMessage(raw("S"))).toThrow(/pid/);
  });
});

describe("worker messages", () => {
  test("spawn: fd map then argv, as launch.c parses it", () => {
    const m = encodeSpawn(
      ["/h", "5"],
      [
        [0, { launcher: 0 }],
        [3, { launcher: 3 }],
        [5, { attached: 0 }],
      ],
    );
    expect(dec.decode(m).split("\0")).toEqual([
      "P",
      "3",
      "0",
      "c0",
      "3",
      "c3",
      "5",
      "a0",
      "2",
      "/h",
      "5",
      "",
    ]);
  });
  test("spawn through a program's file: one more map entry, target x, after the child's fds", () => {
    const m = encodeSpawn(["/h", "3"], [[3, { attached: 0 }]], undefined, { attached: 1 });
    expect(dec.decode(m).split("\0")).toEqual(["P", "2", "3", "a0", "x", "a1", "2", "/h", "3", ""]);
  });
  test("spawn with a program's own environment and directory: envc, env, cwd after argv", () => {
    const m = encodeSpawn(["/usr/bin/conmon"], [[3, { attached: 0 }]], {
      env: { A: "1", B: "x=y" },
      cwd: "/b",
    });
    expect(dec.decode(m).split("\0")).toEqual([
      "P",
      "1",
      "3",
      "a0",
      "1",
      "/usr/bin/conmon",
      "2",
      "A=1",
      "B=x=y",
      "/b",
      "",
    ]);
  });
  test("kill: pid and signal number", () => {
    expect(dec.decode(encodeKill(42, 15))).toBe("K\x0042\x0015\0");
  });
  test("exit keeps the low byte, as a process status does", () => {
    expect(dec.decode(encodeExit(3))).toBe("X\x003\0");
    expect(dec.decode(encodeExit(256 + 7))).toBe("X\x007\0");
  });
});

test("wait status: exit code, or 128 + signal", () => {
  expect(waitStatusCode(0)).toBe(0);
  expect(waitStatusCode(3 << 8)).toBe(3);
  expect(waitStatusCode(9)).toBe(137);
  expect(waitStatusCode(15 | 0x80)).toBe(143); // core dumped
});
