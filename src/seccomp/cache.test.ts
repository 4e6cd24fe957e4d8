import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { SpecSeccomp } from "../config/types.ts";
import { cacheKey, compileCached } from "./cache.ts";
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
  expect(readdirSync(dir).length).toBe(process.getuid?.() === 0 ? 1 : 0);
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
