import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostToolEnv, isLoaderVariable, SYSTEM_PATH, spawnToolSync } from "./host-tool.ts";

test("a host tool's environment has the system's PATH and no loader variables, and keeps the rest", () => {
  expect(
    hostToolEnv({
      PATH: "/home/someone/bin:/usr/bin",
      LD_PRELOAD: "/tmp/evil.so",
      LD_LIBRARY_PATH: "/tmp",
      GCONV_PATH: "/tmp/gconv",
      GLIBC_TUNABLES: "glibc.malloc.check=3",
      BASH_ENV: "/tmp/rc",
      ENV: "/tmp/rc",
      PYTHONPATH: "/tmp/py",
      PERL5OPT: "-Mevil",
      XTABLES_LIBDIR: "/tmp/xt",
      "BASH_FUNC_ls%%": "() { evil; }",
      LEOPARD_SERVE: "1",
      HOME: "/root",
      UNSET: undefined,
    }),
  ).toEqual({ PATH: SYSTEM_PATH, LEOPARD_SERVE: "1", HOME: "/root" });
});

test("loader variables are named by glibc's list and by prefix; ordinary ones are not", () => {
  for (const v of [
    "LD_AUDIT",
    "MALLOC_TRACE",
    "NLSPATH",
    "LOCPATH",
    "RES_OPTIONS",
    "NODE_OPTIONS",
    "RUBYLIB",
  ])
    expect(isLoaderVariable(v)).toBe(true);
  for (const v of ["PATH", "HOME", "TERM", "LEOPARD_STORAGE", "LANG", "OLD_PWD"])
    expect(isLoaderVariable(v)).toBe(false);
});

const saved = process.env["PATH"];
const dirs: string[] = [];
afterEach(() => {
  process.env["PATH"] = saved;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("a host tool is found on the system's PATH, never on this process's", () => {
  const dir = mkdtempSync(join(tmpdir(), "leopard-host-tool-"));
  dirs.push(dir);
  writeFileSync(join(dir, "uname"), "#!/bin/sh\necho hijacked\n", { mode: 0o755 });
  process.env["PATH"] = `${dir}:${saved}`;
  const r = spawnToolSync(["uname", "-s"], { stdout: "pipe" });
  expect(r.stdout.toString()).toBe("Linux\n");
});
