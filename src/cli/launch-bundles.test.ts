// The launcher (native/build/leopard-oci) runs each light verb's bundle, as launch-verbs.h (from
// VERB_BUNDLES) says, and the whole CLI for every other verb, each with DIRECT_BUN_ENV added (not serve). Checked
// in an installed layout (<prefix>/bin/leopard-oci, <prefix>/lib/leopard/bun) whose "bun" is a
// script that prints Bun's flags, the bundle it was given and Bun's JIT setting. And with the real
// Bun: nothing in the caller's directory (.env, bunfig.toml) reaches leopard-oci.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VERBS } from "./leopard-oci.ts";
import { DIRECT_BUN_ENV, VERB_BUNDLES } from "./oci-light.ts";

const prefix = mkdtempSync(join(tmpdir(), "leopard-launch-"));
mkdirSync(join(prefix, "bin"));
mkdirSync(join(prefix, "lib/leopard"), { recursive: true });
copyFileSync(join(import.meta.dir, "../../native/build/leopard-oci"), join(prefix, "bin/leopard-oci"));
chmodSync(join(prefix, "bin/leopard-oci"), 0o755);
const env = Object.keys(DIRECT_BUN_ENV);
writeFileSync(
  join(prefix, "lib/leopard/bun"),
  // Bun's own flags first, then the bundle: printed as flags, the bundle's name, the environment.
  `#!/bin/sh\nwhile [ "\${1#--}" != "$1" ]; do f="$f $1"; shift; done\necho "$f"\necho "\${1##*/}"\n${env.map((k) => `echo "${k}=\${${k}-unset}"`).join("\n")}\n`,
);
chmodSync(join(prefix, "lib/leopard/bun"), 0o755);
// The launcher needs the bundle it checks for freshness to exist.
writeFileSync(join(prefix, "lib/leopard/leopard-oci.js"), "");

afterAll(() => rmSync(prefix, { recursive: true, force: true }));

function launch(args: string[], extra: Record<string, string> = {}): string[] {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !env.includes(k)));
  const r = Bun.spawnSync([join(prefix, "bin/leopard-oci"), ...args], {
    env: { ...clean, LEOPARD_SERVE: "0", ...extra },
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
  const [flags, ...rest] = r.stdout.toString().trim().split("\n");
  // Nothing from the caller's directory, for every bundle (see the next file's last test).
  expect(flags).toBe("--no-env-file --config=/dev/null");
  return rest;
}

const lightEnv = Object.entries(DIRECT_BUN_ENV).map(([k, v]) => `${k}=${v}`);

test("each light verb runs its bundle, with the light bundles' Bun environment", () => {
  for (const [bundle, verbs] of Object.entries(VERB_BUNDLES)) {
    for (const verb of Object.keys(verbs)) {
      expect(launch(["--root", "/nonexistent", verb, "x"])).toEqual([`${bundle}.js`, ...lightEnv]);
    }
  }
});

test("a light bundle keeps what the caller set", () => {
  const mine = env.map((k) => [k, "mine"] as const);
  expect(launch(["state", "x"], Object.fromEntries(mine))).toEqual([
    "leopard-oci-light.js",
    ...mine.map(([k, v]) => `${k}=${v}`),
  ]);
});

test("every other verb runs the whole CLI, with the same Bun environment (serve too: it takes it out of its workers')", () => {
  const light = new Set(Object.values(VERB_BUNDLES).flatMap((v) => Object.keys(v)));
  const others = Object.keys(VERBS).filter((v) => !light.has(v) && v !== "serve");
  expect(others).toContain("create");
  for (const verb of others) expect(launch(["--root", "/x", verb])).toEqual(["leopard-oci.js", ...lightEnv]);
  expect(launch(["serve"])).toEqual(["leopard-oci.js", ...lightEnv]);
});

test("a .env and a bunfig.toml in the caller's directory do not reach leopard-oci", () => {
  const cwd = mkdtempSync(join(tmpdir(), "leopard-cwd-"));
  try {
    writeFileSync(join(cwd, ".env"), "LEOPARD_TRACE=1\n");
    writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./preload.js"]\n');
    writeFileSync(join(cwd, "preload.js"), 'process.stderr.write("preloaded\\n");\n');
    for (const args of [["--version"], ["--root", join(cwd, "none"), "state", "x"]]) {
      const r = Bun.spawnSync([join(import.meta.dir, "../../bin/leopard-oci"), ...args], {
        cwd,
        env: { ...process.env, LEOPARD_SERVE: "0", LEOPARD_TRACE: "" },
        stdout: "pipe",
        stderr: "pipe",
      });
      const err = r.stderr.toString();
      expect(err).not.toContain("preloaded");
      expect(err).not.toContain("leopard-trace");
      if (args[0] === "--version") expect(r.stdout.toString()).toStartWith("leopard-oci version ");
      else expect(err).toBe('leopard-oci: state x: container "x" does not exist\n');
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});
