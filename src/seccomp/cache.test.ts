import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SpecSeccomp } from "../config/types.ts";
import { CACHE_DIR, cacheDirFor, cacheKey, compileCached } from "./cache.ts";
import { compileSeccomp } from "./compile.ts";

const dir = mkdtempSync(join(tmpdir(), "leopard-seccomp-cache-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const profile = (errno: number): SpecSeccomp => ({
  defaultAction: "SCMP_ACT_ALLOW",
  defaultErrnoRet: undefined,
  architectures: [],
  flags: [],
  listenerPath: undefined,
  listenerMetadata: undefined,
  syscalls: [
    { names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: errno, args: [] },
    {
      names: ["personality"],
      action: "SCMP_ACT_ALLOW",
      errnoRet: undefined,
      args: [{ index: 0, value: 8n, valueTwo: 0n, op: "SCMP_CMP_EQ" }],
    },
  ],
});

test("a profile is compiled once; the cached filter is the compiled one", async () => {
  const first = await compileCached(profile(1), dir);
  expect(readdirSync(dir).length).toBe(1);
  const second = await compileCached(profile(1), dir);
  expect(second.bpf).toEqual(compileSeccomp(profile(1)).bpf);
  expect(second.flags).toBe(first.flags);
});

test("another profile has another key; a corrupt entry is compiled again", async () => {
  expect(cacheKey(profile(1))).not.toBe(cacheKey(profile(2)));
  const key = cacheKey(profile(3)) ?? "";
  writeFileSync(join(dir, key), "not json");
  expect((await compileCached(profile(3), dir)).bpf).toEqual(compileSeccomp(profile(3)).bpf);
});

test("a filter with a listener is cached with it", async () => {
  const notify: SpecSeccomp = {
    ...profile(4),
    listenerPath: "/run/agent.sock",
    syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY", errnoRet: undefined, args: [] }],
  };
  expect((await compileCached(notify, dir)).listener).toBe(true);
  expect((await compileCached(notify, dir)).listener).toBe(true);
  expect((await compileCached(profile(4), dir)).listener).toBe(false);
});

test("the cache directory: root's under /run, a rootless caller's under its XDG_RUNTIME_DIR, none without it", () => {
  const xdg = { XDG_RUNTIME_DIR: "/run/user/1000/" };
  expect(cacheDirFor(xdg, false)).toBe(CACHE_DIR);
  expect(cacheDirFor({}, false)).toBe(CACHE_DIR);
  expect(cacheDirFor(xdg, true)).toBe("/run/user/1000/leopard-seccomp");
  expect(cacheDirFor({}, true)).toBeUndefined();
  expect(cacheDirFor({ XDG_RUNTIME_DIR: "relative" }, true)).toBeUndefined();
});

test("a directory others may write is neither read nor written: a planted filter is not used", async () => {
  const open = join(dir, "open");
  mkdirSync(open);
  chmodSync(open, 0o777);
  const planted = { bpf: Buffer.from(compileSeccomp(profile(6)).bpf).toString("base64"), flags: "0" };
  writeFileSync(join(open, cacheKey(profile(5)) ?? ""), JSON.stringify(planted));
  const got = await compileCached(profile(5), open);
  expect(got.bpf).toEqual(compileSeccomp(profile(5)).bpf);
  expect(got.bpf).not.toEqual(compileSeccomp(profile(6)).bpf);
  expect(readdirSync(open)).toEqual([cacheKey(profile(5)) ?? ""]);
});
