// The light bundles (oci-light.ts's VERB_BUNDLES), built as the Makefile builds them (without
// bytecode, so that the bundle names its modules): each runs its own verbs and no other, the
// full CLI has the same verbs, and what they carry loads none of node:fs, node:crypto (~10 ms each
// in Bun), node:path (2.6 ms without the JIT) or node:os (0.6 ms) at start; the light one (state,
// kill, list) carries no cgroup manager.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VERBS } from "./leopard-oci.ts";
import { LIGHT_EXTERNAL, VERB_BUNDLES } from "./oci-light.ts";

const TOP = join(import.meta.dir, "../..");
let out = "";
const built: Record<string, { file: string; modules: string[] }> = {};

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "leopard-light-"));
  for (const name of Object.keys(VERB_BUNDLES)) {
    const r = await Bun.build({
      entrypoints: [join(TOP, "src/cli", `${name}.ts`)],
      target: "bun",
      format: "cjs",
      external: [...LIGHT_EXTERNAL],
      define: { LEOPARD_BUNDLE: "true" },
      outdir: join(out, name),
    });
    if (!r.success) throw new Error(`bun build ${name}: ${r.logs.join("\n")}`);
    // Beside the bundle, as installed: its system calls (src/sys/libc.ts).
    copyFileSync(join(TOP, "native/build/leopard-sys.node"), join(out, name, "leopard-sys.node"));
    const file = join(out, name, `${name}.js`);
    const modules = [...readFileSync(file, "utf8").matchAll(/^\/\/ (src\/\S+\.ts)$/gm)].map((m) => m[1]!);
    built[name] = { file, modules: [...new Set(modules)] };
  }
});

afterAll(() => rmSync(out, { recursive: true, force: true }));

function run(file: string, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync([process.execPath, file, ...args], { stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

test("no verb is in two light bundles, and each is the full CLI's own", () => {
  const seen = new Map<string, string>();
  for (const [bundle, verbs] of Object.entries(VERB_BUNDLES)) {
    for (const [name, verb] of Object.entries(verbs)) {
      expect(seen.get(name)).toBeUndefined();
      seen.set(name, bundle);
      expect(VERBS[name]).toBe(verb);
    }
  }
  expect([...seen.keys()].sort()).toEqual(["delete", "kill", "list", "ls", "start", "state"]);
});

describe.each(Object.keys(VERB_BUNDLES))("%s", (name) => {
  test("runs each of its verbs (--help) and no other", () => {
    const own = VERB_BUNDLES[name]!;
    for (const [verb, v] of Object.entries(own)) {
      const r = run(built[name]!.file, [verb, "--help"]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      expect(r.stdout.split("\n")[0]).toBe(`usage: leopard-oci ${v.usage}`);
    }
    for (const verb of Object.keys(VERBS).filter((v) => !Object.hasOwn(own, v))) {
      expect(run(built[name]!.file, [verb, "--help"])).toMatchObject({
        code: 1,
        stderr: `leopard-oci: unknown command "${verb}"\n`,
      });
    }
    // ~20 Bun starts: seconds on a loaded machine, not a timing check.
  }, 60_000);

  test("carries no module that imports node:fs, node:crypto, node:path or node:os at start", () => {
    const modules = built[name]!.modules;
    expect(modules).toContain("src/cli/oci-main.ts");
    for (const m of modules) {
      const text = readFileSync(join(TOP, m), "utf8");
      expect({
        m,
        imports: /^import [^;]*from "node:(fs|fs\/promises|crypto|path|os)";/m.test(text),
      }).toEqual({
        m,
        imports: false,
      });
    }
  });
});

test("the light and lifecycle bundles leave the cgroup manager out, and find its part beside them", () => {
  for (const name of ["leopard-oci-light", "leopard-oci-life"]) {
    const { file, modules } = built[name]!;
    expect({ name, cgroups: modules.filter((m) => m.startsWith("src/cgroups/")) }).toEqual({
      name,
      cgroups: ["src/cgroups/layout.ts"],
    });
    expect(modules).not.toContain("src/runtime/cgroup.ts");
    expect(modules).not.toContain("src/runtime/cgroup-ops.ts");
    expect(readFileSync(file, "utf8")).toContain('require("./cgroup-ops.js")');
  }
  expect(built["leopard-oci-light"]!.modules).not.toContain("src/hooks/hooks.ts");
  // The lifecycle bundle runs hooks (start's poststart, delete's poststop).
  expect(built["leopard-oci-life"]!.modules).toContain("src/hooks/hooks.ts");
});

test("without leopard-sys.node beside it (a broken install), a call says so in one line and fails", () => {
  const { file } = built["leopard-oci-light"]!;
  const alone = join(out, "alone");
  mkdirSync(alone);
  copyFileSync(file, join(alone, "leopard-oci-light.js"));
  const r = run(join(alone, "leopard-oci-light.js"), ["--root", alone, "state", "c1"]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  expect(r.stderr).toStartWith(
    `leopard-oci: state c1: cannot load leopard-sys.node (make builds it): ${alone}/`,
  );
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  // No module of it loads bun:ffi when it starts (~1.5 ms, and ~3.5 ms more to bind a symbol).
  const ffi = built["leopard-oci-light"]!.modules.filter((m) =>
    /^import (?!type )[^;]*from "bun:ffi";/m.test(readFileSync(join(TOP, m), "utf8")),
  );
  expect(ffi).toEqual([]);
  expect(built["leopard-oci-light"]!.modules).toContain("src/sys/libc.ts");
});
