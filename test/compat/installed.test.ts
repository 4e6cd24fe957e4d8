// The README's podman line for an installed leopard-oci: `make install` into a temp PREFIX, then
// containers.conf's [engine.runtimes] names it and podman runs a container through it by name.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TOP } from "../integration/harness.ts";
import { IMAGE, makePodmanEnv, PODMAN } from "./podman-env.ts";

setDefaultTimeout(180_000);
const prefix = mkdtempSync(join(tmpdir(), "leopard-installed-"));
afterAll(() => rmSync(prefix, { recursive: true, force: true }));

describe.skipIf(PODMAN === null)("an installed leopard-oci", () => {
  test("podman runs a container through containers.conf's [engine.runtimes] entry for it", () => {
    const made = Bun.spawnSync(["make", "-s", "-C", TOP, "install", `PREFIX=${prefix}`], { stderr: "pipe" });
    expect(made.stderr.toString()).toBe("");
    const penv = makePodmanEnv({ cgroupParent: `/leopard-test/installed-${process.pid}` });
    try {
      appendFileSync(
        join(penv.dir, "containers.conf"),
        `[engine.runtimes]\nleopard-oci = [${JSON.stringify(join(prefix, "bin/leopard-oci"))}]\n`,
      );
      expect(penv.podman("leopard-oci", ["run", "--rm", IMAGE, "echo", "hello"])).toMatchObject({
        code: 0,
        stdout: "hello\n",
      });
    } finally {
      const { mounts, cgroups } = penv.cleanup(["leopard-oci"]);
      expect([...mounts, ...cgroups]).toEqual([]);
    }
  });
});
