// The module map of docs/architecture.md, enforced: a module imports only the modules below it.
// Test files and test support (testing.ts, fake.ts) may reach further.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { productionSources } from "./testing.ts";

const MAY_IMPORT: Record<string, readonly string[]> = {
  util: [],
  sys: ["util"],
  config: ["sys", "util"], // reading config.json and looking at the bundle go through src/sys
  protocol: ["util"],
  plan: ["config", "protocol", "util"],
  seccomp: ["config", "sys", "util"],
  cgroups: ["config", "sys", "util"],
  state: ["config", "sys", "util"],
  hooks: ["config", "state", "sys", "util"],
  runtime: ["hooks", "state", "cgroups", "seccomp", "protocol", "plan", "config", "sys", "util"],
  image: ["config", "sys", "util"],
  network: ["sys", "util"],
  engine: [
    "runtime",
    "image",
    "network",
    "hooks",
    "state",
    "cgroups",
    "seccomp",
    "protocol",
    "plan",
    "config",
    "sys",
    "util",
  ],
  build: [
    "engine",
    "runtime",
    "image",
    "network",
    "hooks",
    "state",
    "cgroups",
    "seccomp",
    "protocol",
    "plan",
    "config",
    "sys",
    "util",
  ],
  serve: ["runtime", "state", "config", "sys", "util"],
  cli: [
    "build",
    "serve",
    "engine",
    "runtime",
    "image",
    "network",
    "hooks",
    "state",
    "cgroups",
    "seccomp",
    "protocol",
    "plan",
    "config",
    "sys",
    "util",
  ],
};

const SRC = import.meta.dir;

test("every module is in the module map", () => {
  const dirs = readdirSync(SRC, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  expect(dirs).toEqual(Object.keys(MAY_IMPORT).sort());
});

test("imports point down the module map only (static and dynamic)", () => {
  const wrong: string[] = [];
  for (const [mod, allowed] of Object.entries(MAY_IMPORT)) {
    for (const file of productionSources(join(SRC, mod))) {
      const text = readFileSync(file, "utf8");
      for (const m of text.matchAll(/(?:from |import\()"\.\.\/(?:\.\.\/)*([a-z-]+)\//g)) {
        const target = m[1] ?? "";
        if (target !== mod && !allowed.includes(target))
          wrong.push(`${file.slice(SRC.length + 1)} imports ${target}`);
      }
    }
  }
  expect(wrong).toEqual([]);
});

/** Cycles known and not yet broken: each entry is a cycle's files in order ("a.ts -> b.ts"). None now: keep it so. */
const KNOWN_CYCLES = new Set<string>([]);

test("no two files import each other, directly or around a cycle (type imports included)", () => {
  const files = productionSources(SRC);
  const graph = new Map<string, string[]>();
  for (const f of files) {
    const deps: string[] = [];
    for (const m of readFileSync(f, "utf8").matchAll(/(?:from|import\()\s*"(\.[^"]+\.ts)"/g))
      deps.push(join(dirname(f), m[1] ?? ""));
    graph.set(f, deps);
  }
  const cycles: string[] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (f: string): void => {
    done.add(f);
    path.push(f);
    for (const d of graph.get(f) ?? []) {
      const at = path.indexOf(d);
      if (at >= 0)
        cycles.push(
          path
            .slice(at)
            .map((p) => p.slice(SRC.length + 1))
            .join(" -> "),
        );
      else if (!done.has(d)) visit(d);
    }
    path.pop();
  };
  for (const f of files) if (!done.has(f)) visit(f);
  expect(cycles.filter((c) => !KNOWN_CYCLES.has(c))).toEqual([]);
});
