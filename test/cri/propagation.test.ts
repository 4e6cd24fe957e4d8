// Mount propagation of CRI volumes under the runc and leopard handlers: a mount made on the host
// inside the volume, and one made in the (privileged) container inside it, are seen on the other
// side — or not — exactly as with runc: Private neither, HostToContainer the host's, Bidirectional
// both. The volumes live on a tmpfs of the test's own, made shared (containerd requires it).
import { describe, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Propagation } from "./client.ts";
import { CONTAINERD, RUNC } from "./env.ts";
import { container, criSuite, out, removePod, runPod } from "./harness.ts";

const VOLUMES: Record<string, Propagation> = {
  private: "PROPAGATION_PRIVATE",
  h2c: "PROPAGATION_HOST_TO_CONTAINER",
  bidi: "PROPAGATION_BIDIRECTIONAL",
};

function run(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${r.stderr.toString()}`);
}

/** Mount points under dir (host side), deepest first. */
function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((m) => m === dir || m.startsWith(`${dir}/`))
    .reverse();
}

describe.skipIf(!CONTAINERD || !RUNC)("CRI: mount propagation under the runc and leopard handlers", () => {
  const suite = criSuite("CRI mount propagation");

  test("Private, HostToContainer and Bidirectional volumes", async () => {
    await suite.both<Record<string, unknown>>(
      "propagation",
      {
        private: { hostMountInContainer: false, containerMountOnHost: false },
        h2c: { hostMountInContainer: true, containerMountOnHost: false },
        bidi: { hostMountInContainer: true, containerMountOnHost: true },
        left: [] as string[],
      },
      async (h) => {
        const env = suite.env();
        const top = mkdtempSync(join(tmpdir(), `leopard-cri-prop-${h}-`));
        try {
          run(["mount", "-t", "tmpfs", "-o", "size=1m", "leopard-cri-prop", top]);
          run(["mount", "--make-shared", top]);
          for (const v of Object.keys(VOLUMES)) {
            mkdirSync(join(top, v, "from-host"), { recursive: true });
            mkdirSync(join(top, v, "from-container"));
          }
          const pod = await runPod(env, h, "prop", { linux: { security_context: { privileged: true } } });
          const id = await container(env, pod, {
            metadata: { name: "prop" },
            image: { image: env.images.busybox },
            command: ["sleep", "1000"],
            mounts: Object.entries(VOLUMES).map(([v, propagation]) => ({
              container_path: `/${v}`,
              host_path: join(top, v),
              propagation,
            })),
            linux: { security_context: { privileged: true } },
          });
          const result: Record<string, { hostMountInContainer: boolean; containerMountOnHost: boolean }> = {};
          for (const v of Object.keys(VOLUMES)) {
            run(["mount", "-t", "tmpfs", "-o", "size=1m", `host-${v}`, join(top, v, "from-host")]);
            await out(env.cri, id, `mount -t tmpfs -o size=1m ctr-${v} /${v}/from-container`);
          }
          for (const v of Object.keys(VOLUMES)) {
            const inContainer = await out(
              env.cri,
              id,
              `grep -c ' /${v}/from-host ' /proc/self/mountinfo || true`,
            );
            result[v] = {
              hostMountInContainer: Number(inContainer) > 0,
              containerMountOnHost: mountsUnder(join(top, v, "from-container")).length > 0,
            };
          }
          return { ...result, left: await removePod(env, pod) };
        } finally {
          for (const m of mountsUnder(top)) Bun.spawnSync(["umount", "-l", m]);
          rmSync(top, { recursive: true, force: true });
        }
      },
    );
  });
});
