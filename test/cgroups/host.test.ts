// The cgroup managers against this host's real cgroupfs (v1/hybrid here, v2 in the VM of
// scripts/vm). Every cgroup lives under /leopard-test/ and is removed; the processes placed in
// them are ones these tests spawn. Needs root.
import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { attachDeviceProgram, devicePrograms } from "../../src/cgroups/bpf.ts";
import { containerDeviceRules } from "../../src/cgroups/controllers/devices.ts";
import { deviceFilterInsns, encodeInsns } from "../../src/cgroups/controllers/devices-bpf.ts";
import { hostLayout, parseProcCgroup } from "../../src/cgroups/layout.ts";
import { type CgroupManager, openCgroup } from "../../src/cgroups/manager.ts";
import { watchOom } from "../../src/cgroups/oom.ts";
import { type Resources, readResources } from "../../src/cgroups/resources.ts";
import { signalAll } from "../../src/cgroups/signal.ts";

/** This run's own parent, so runs (and other suites' /leopard-test cgroups) never meet. */
const ROOT = `/leopard-test/cgroups-${process.pid}`;
const isRoot = process.getuid?.() === 0;
const layout = isRoot ? hostLayout() : undefined;
const BUN = process.execPath;

const res = (other: Record<string, unknown>): Resources => readResources({ devices: [], other });

let seq = 0;
const managers: CgroupManager[] = [];
const children: Subprocess[] = [];

function cgroup(): CgroupManager {
  const cg = openCgroup(`${ROOT}/t${seq++}`);
  managers.push(cg);
  cg.create();
  return cg;
}

/** A shell that waits for a line on stdin, then runs `script` (so it can be placed first). */
function waiting(script: string): Subprocess<"pipe", "pipe", "pipe"> {
  const p = Bun.spawn(["sh", "-c", `read x; ${script}`], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  children.push(p);
  return p;
}

function go(p: Subprocess<"pipe", "pipe", "pipe">): void {
  p.stdin.write("go\n");
  p.stdin.flush();
}

/** The directory of the cgroup in the hierarchy with `file` (v1: that controller's; v2: the one). */
function dirWith(cg: CgroupManager, file: string): string {
  const d = cg.dirs().find((x) => existsSync(join(x, file)));
  if (d === undefined) throw new Error(`no ${file} in ${cg.dirs().join(", ")}`);
  return d;
}

/** What the cgroup2 root passes on to its children ("" without a cgroup2 mount). */
function rootControllers(): string {
  return layout?.unified === undefined
    ? ""
    : readFileSync(`${layout.unified}/cgroup.subtree_control`, "utf8");
}

/**
 * Leaves the cgroup2 root of a hybrid host as it was: hugetlb off again if a test turned it on
 * (setting a hugetlb limit there does). The kernel refuses that while a child passes it on:
 * /leopard-test goes first when empty, else it stops passing hugetlb on.
 */
function restoreHugetlb(before: string): void {
  if (layout?.mode !== "hybrid" || layout.unified === undefined || before.includes("hugetlb")) return;
  const top = `${layout.unified}/leopard-test`;
  try {
    rmdirSync(top);
  } catch {
    if (existsSync(top)) writeFileSync(`${top}/cgroup.subtree_control`, "-hugetlb");
  }
  writeFileSync(`${layout.unified}/cgroup.subtree_control`, "-hugetlb");
}

/** Polls until check() holds (TCG emulation in the VM is slow to fork). */
async function until(check: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await Bun.sleep(10);
  }
}

/** What a stream has said once it matches `re` (or ends). */
async function readUntil(stream: ReadableStream<Uint8Array>, re: RegExp): Promise<string> {
  const reader = stream.getReader();
  const dec = new TextDecoder();
  let text = "";
  while (!re.test(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  reader.releaseLock();
  return text;
}

const read = (cg: CgroupManager, file: string) => readFileSync(join(dirWith(cg, file), file), "utf8").trim();

afterEach(() => {
  for (const p of children.splice(0)) p.kill("SIGKILL");
  for (const m of managers.splice(0)) m.destroy();
});

afterAll(() => {
  if (!isRoot) return;
  openCgroup(ROOT).destroy();
  // /leopard-test itself goes when nothing else is in it (rmdir refuses otherwise).
  for (const d of openCgroup("/leopard-test").dirs()) {
    try {
      rmdirSync(d);
    } catch {
      // in use by another run, or gone
    }
  }
});

describe.skipIf(!isRoot)(`cgroups on this host (${layout?.mode ?? "not root"})`, () => {
  test("a process placed in a new cgroup shows it in /proc/<pid>/cgroup", () => {
    const cg = cgroup();
    const p = waiting("sleep 30");
    cg.apply(p.pid);
    const mine = parseProcCgroup(readFileSync(`/proc/${p.pid}/cgroup`, "utf8"));
    for (const [k, path] of Object.entries(cg.paths)) expect([k, mine.get(k)]).toEqual([k, path]);
    expect(cg.pids()).toEqual([p.pid]);
  });

  test("memory, pids and cpu limits are written and read back", () => {
    const cg = cgroup();
    cg.set(
      res({
        memory: { limit: 64 * 1024 * 1024 },
        pids: { limit: 16 },
        cpu: { shares: 512, quota: 20000, period: 100000 },
      }),
    );
    if (layout?.mode === "v2") {
      expect(read(cg, "memory.max")).toBe(String(64 * 1024 * 1024));
      expect(read(cg, "cpu.max")).toBe("20000 100000");
      expect(Number(read(cg, "cpu.weight"))).toBeLessThan(100);
    } else {
      expect(read(cg, "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
      expect(read(cg, "cpu.cfs_quota_us")).toBe("20000");
      expect(read(cg, "cpu.shares")).toBe("512");
    }
    expect(read(cg, "pids.max")).toBe("16");
    const s = cg.stats();
    expect(s.pids.limit).toBe(16);
    expect(s.memory.usage.limit).toBe(64 * 1024 * 1024);
  });

  test("update raises and lowers memory with swap on a running cgroup, and checkBeforeUpdate guards usage", async () => {
    const cg = cgroup();
    // Memory is charged to the cgroup a process is in when it is touched: hold 4 MB after joining.
    const p = waiting('x=$(head -c 4000000 /dev/zero | tr "\\0" a); echo held; sleep 30');
    cg.apply(p.pid);
    go(p);
    const MB = 1024 * 1024;
    const swapFile = layout?.mode === "v2" ? "memory.swap.max" : "memory.memsw.limit_in_bytes";
    const limitFile = layout?.mode === "v2" ? "memory.max" : "memory.limit_in_bytes";
    const hasSwap = cg.dirs().some((d) => existsSync(join(d, swapFile)));
    const swap = (n: number) => (hasSwap ? { swap: n } : {});
    cg.set(res({ memory: { limit: 64 * MB, ...swap(128 * MB) } }));
    cg.set(res({ memory: { limit: 256 * MB, ...swap(512 * MB) } })); // growing: swap first
    cg.set(res({ memory: { limit: 32 * MB, ...swap(48 * MB) } })); // shrinking: memory first
    expect(read(cg, limitFile)).toBe(String(32 * MB));
    if (hasSwap) expect(read(cg, swapFile)).toBe(String(layout?.mode === "v2" ? 16 * MB : 48 * MB));
    expect(await readUntil(p.stdout, /held/)).toContain("held");
    expect(() => cg.set(res({ memory: { limit: 4096, checkBeforeUpdate: true } }))).toThrow(
      "is below the current usage",
    );
    expect(read(cg, limitFile)).toBe(String(32 * MB));
  });

  test("hugetlb limits land in the hierarchy that has hugetlb (cgroup2 on a hybrid host)", () => {
    const before = rootControllers();
    const cg = cgroup();
    try {
      cg.set(res({ hugepageLimits: [{ pageSize: "2MB", limit: 4 * 2097152 }] }));
      const file = layout?.v1.has("hugetlb") ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max";
      expect(read(cg, file)).toBe(String(4 * 2097152));
      expect(cg.stats().hugetlb["2MB"]).toBeDefined();
    } finally {
      cg.destroy();
      openCgroup(ROOT).destroy();
      restoreHugetlb(before);
    }
  });

  test("a fork bomb stops at pids.max", async () => {
    const cg = cgroup();
    cg.set(res({ pids: { limit: 5 } }));
    const p = waiting("for i in 1 2 3 4 5 6 7 8 9 10; do sleep 30 & done; echo forked; wait");
    cg.apply(p.pid);
    go(p);
    // The shell reports the fork the kernel refused (dash gives up there).
    expect(await readUntil(p.stderr, /fork/i)).toMatch(/fork/i);
    expect(cg.pids().length).toBeLessThanOrEqual(5);
    expect(cg.stats().pids.current).toBeLessThanOrEqual(5);
  });

  test("a memory hog is OOM-killed and the OOM watch reports it", async () => {
    const cg = cgroup();
    cg.set(res({ memory: { limit: 96 * 1024 * 1024 } }));
    const events: string[] = [];
    const watch = watchOom(cg, () => events.push("oom"), { intervalMs: 20 });
    const p = waiting(`exec ${BUN} -e "const a=[]; for(;;) a.push(Buffer.alloc(1<<20, 1))"`);
    cg.apply(p.pid);
    go(p);
    const code = await p.exited;
    await until(() => events.length >= 1);
    watch.stop();
    expect(p.signalCode ?? code).toBe("SIGKILL");
    expect(cg.oomKills()).toBeGreaterThanOrEqual(1);
    expect(events.length).toBeGreaterThanOrEqual(1);
  }, 30000);

  test("freezing stops a busy loop's cpu time and thawing resumes it", async () => {
    const cg = cgroup();
    const p = waiting("while :; do :; done");
    cg.apply(p.pid);
    go(p);
    await Bun.sleep(200);
    cg.freeze();
    expect(cg.freezerState()).toBe("frozen");
    const a = cg.stats().cpu.usage.total;
    await Bun.sleep(300);
    const b = cg.stats().cpu.usage.total;
    expect(b - a).toBeLessThan(5_000_000); // under 5 ms in 300 ms
    cg.thaw();
    expect(cg.freezerState()).toBe("thawed");
    await until(() => cg.stats().cpu.usage.total - b > 50_000_000);
  });

  test("kill --all signals every process in the cgroup, children included", async () => {
    const cg = cgroup();
    const p = waiting("sleep 60 & sleep 60 & wait");
    cg.apply(p.pid);
    go(p);
    await until(() => cg.pids().length === 3);
    expect(signalAll(cg, "SIGTERM").length).toBe(3);
    expect(cg.freezerState()).toBe("thawed");
    await p.exited;
    await until(() => cg.pids().length === 0);
  });

  test("destroy removes a frozen cgroup with processes in it", async () => {
    const cg = cgroup();
    const p = waiting("sleep 60 & sleep 60 & wait");
    cg.apply(p.pid);
    go(p);
    await until(() => cg.pids().length === 3);
    cg.freeze();
    cg.destroy();
    expect(cg.exists()).toBe(false);
    for (const d of cg.dirs()) expect(existsSync(d)).toBe(false);
    expect(await p.exited).not.toBe(0);
  });

  test("device rules refuse a device they do not allow (v1 devices.deny/allow, v2 eBPF)", async () => {
    const cg = cgroup();
    const rules = containerDeviceRules([
      { allow: false, type: "a", major: undefined, minor: undefined, access: "rwm" },
    ]).filter((r) => !(r.major === 1 && r.minor === 5)); // take /dev/zero away again
    cg.set({ ...res({}), devices: rules });
    const p = waiting(
      "echo hi > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null && echo zero-ok; true",
    );
    cg.apply(p.pid);
    go(p);
    await p.exited;
    const out = await new Response(p.stdout).text();
    expect(out).toContain("null-ok");
    expect(out).not.toContain("zero-ok");
    expect(await new Response(p.stderr).text()).toMatch(/Operation not permitted/);
  });

  test("an eBPF device filter on the cgroup2 directory refuses devices the rules do not allow", async () => {
    const cg = cgroup();
    const unified = cg.dirs().find((d) => layout?.unified !== undefined && d.startsWith(layout.unified));
    if (unified === undefined) return; // a pure v1 host has nowhere to attach it
    const rules = [
      { allow: false, type: "a" as const, major: undefined, minor: undefined, access: "rwm" },
      { allow: true, type: "c" as const, major: 1, minor: 3, access: "rw" },
    ];
    if (layout?.mode === "v2") cg.set({ ...res({}), devices: rules });
    else attachDeviceProgram(unified, encodeInsns(deviceFilterInsns(rules)));
    expect(devicePrograms(unified)).toBe(1);
    // Replacing the filter leaves one program attached.
    attachDeviceProgram(unified, encodeInsns(deviceFilterInsns(rules)));
    expect(devicePrograms(unified)).toBe(1);
    const p = waiting(
      "echo hi > /dev/null && echo null-ok; head -c1 /dev/zero >/dev/null && echo zero-ok; true",
    );
    cg.apply(p.pid);
    go(p);
    await p.exited;
    const out = await new Response(p.stdout).text();
    const err = await new Response(p.stderr).text();
    expect(out).toContain("null-ok");
    expect(out).not.toContain("zero-ok");
    expect(err).toMatch(/Operation not permitted/);
  });

  test("a resource the host lacks is an error naming it", () => {
    const cg = cgroup();
    if (layout?.mode === "v2") {
      expect(() => cg.set(res({ network: { classID: 1 } }))).toThrow("not supported on cgroup v2");
    } else {
      // 32MB pages exist on arm64 only: no x86 host has them (some have 1GB pages, this one does).
      const before = rootControllers();
      try {
        expect(() => cg.set(res({ hugepageLimits: [{ pageSize: "32MB", limit: 0 }] }))).toThrow(
          'pageSize "32MB" is not a huge page size this host has',
        );
      } finally {
        cg.destroy();
        openCgroup(ROOT).destroy();
        restoreHugetlb(before);
      }
    }
  });
});
