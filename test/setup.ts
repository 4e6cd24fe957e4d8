// Preloaded by bun test (bunfig.toml): after the whole run, remove the cgroup parents the tests'
// containers lived under (/leopard-test/…). rmdir only removes empty cgroups, so a container
// still running elsewhere keeps its parent.
import { afterAll } from "bun:test";
import { readdirSync, rmdirSync } from "node:fs";

function removeEmptyTestCgroups(): void {
  let controllers: string[] = [];
  try {
    controllers = readdirSync("/sys/fs/cgroup");
  } catch {
    return;
  }
  for (const ctl of controllers) {
    const top = `/sys/fs/cgroup/${ctl}/leopard-test`;
    let children: string[] = [];
    try {
      children = readdirSync(top, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name);
    } catch {
      continue;
    }
    for (const c of children) {
      try {
        rmdirSync(`${top}/${c}`);
      } catch {}
    }
    try {
      rmdirSync(top);
    } catch {}
  }
}

afterAll(removeEmptyTestCgroups);

/** The engine tests' shared storage and run directories (test/engine/harness.ts), if any. */
function removeEngineTestDirs(): void {
  const { tmpdir } = require("node:os") as typeof import("node:os");
  const { rmSync, existsSync } = require("node:fs") as typeof import("node:fs");
  const dir = `${tmpdir()}/leopard-engine-test-${process.pid}`;
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

afterAll(removeEngineTestDirs);
