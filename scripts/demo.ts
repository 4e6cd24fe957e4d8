// make demo: the seed container of the classic walkthrough, interactive.
// A busybox rootfs owned by the first mapped uid, a user namespace mapping root to 100000,
// hostname "leopard", its own PID, mount, IPC, network and cgroup namespaces, a tmpfs /tmp.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec } from "../src/spec/defaults.ts";

const TOP = join(import.meta.dir, "..");
const BASE = 100000;
const rootfs = join(TOP, "build/rootfs", `busybox-${BASE}`);
const bundle = join(TOP, "build/demo");

const mk = Bun.spawnSync([join(TOP, "scripts/make-rootfs.sh"), rootfs, String(BASE)], {
  stdio: ["ignore", "inherit", "inherit"],
});
if (mk.exitCode !== 0) process.exit(1);

const interactive = process.stdin.isTTY === true;
const spec = defaultSpec({ args: ["/bin/sh"] }) as unknown as Record<string, Record<string, unknown>>;
const proc = spec["process"]!;
proc["terminal"] = interactive;
proc["env"] = [
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "TERM=xterm",
  "HOME=/root",
  "PS1=\\u@\\h:\\w# ",
];
proc["cwd"] = "/root";
(spec as Record<string, unknown>)["hostname"] = "leopard";
(spec as Record<string, unknown>)["root"] = { path: rootfs, readonly: false };
const linux = spec["linux"]!;
linux["namespaces"] = ["pid", "network", "ipc", "uts", "mount", "cgroup", "user"].map((type) => ({ type }));
linux["uidMappings"] = [{ containerID: 0, hostID: BASE, size: 65536 }];
linux["gidMappings"] = [{ containerID: 0, hostID: BASE, size: 65536 }];
(spec["mounts"] as unknown as Record<string, unknown>[]).push({
  destination: "/tmp",
  type: "tmpfs",
  source: "tmpfs",
  options: ["nosuid", "nodev", "mode=1777"],
});
mkdirSync(bundle, { recursive: true });
writeFileSync(join(bundle, "config.json"), JSON.stringify(spec, null, 2));

console.log(`leopard demo: bundle ${bundle}; type "exit" to leave.\n`);
const id = `leopard-demo-${process.pid}`;
const child = Bun.spawn(
  [join(TOP, "bin/leopard-oci"), "--root", join(bundle, "state"), "run", "--explain", "-b", bundle, id],
  {
    stdio: ["inherit", "inherit", "inherit"],
  },
);
// The runtime forwards signals to the container; keep the demo itself alive until it returns.
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(sig, () => {});
process.exit(await child.exited);
