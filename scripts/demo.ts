// make demo: the seed container of the classic walkthrough, interactive.
// A busybox rootfs owned by the first mapped uid, a user namespace mapping root to 100000,
// hostname "leopard", its own PID, mount, IPC, network and cgroup namespaces, a tmpfs /tmp.
// Run by an ordinary user (rootless, no sudo) the same walkthrough maps root to the user's own
// uid and 1… to its /etc/subuid range, and keeps its files under ~/.cache/leopard-demo.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultSpec } from "../src/config/defaults.ts";
import { callerRootlessIds } from "../src/engine/rootless.ts";
import { describe } from "../src/util/errors.ts";

const TOP = join(import.meta.dir, "..");
const uid = process.geteuid?.() ?? 0;
const rootless = uid !== 0;
const BASE = rootless ? uid : 100000;
const home = join(
  process.env["XDG_CACHE_HOME"] || join(process.env["HOME"] || "/tmp", ".cache"),
  "leopard-demo",
);
const rootfs = rootless ? join(home, "rootfs") : join(TOP, "build/rootfs", `busybox-${BASE}`);
const bundle = rootless ? home : join(TOP, "build/demo");

// Rootless: root is the user; 1… are its subordinate ids when it has them (newuidmap writes them).
let maps = [{ containerID: 0, hostID: BASE, size: 65536 }];
let gmaps = maps;
const differs: string[] = [];
if (rootless) {
  maps = [{ containerID: 0, hostID: uid, size: 1 }];
  gmaps = [{ containerID: 0, hostID: process.getegid?.() ?? uid, size: 1 }];
  try {
    const ids = callerRootlessIds();
    maps = ids.uidMappings;
    gmaps = ids.gidMappings;
    differs.push(
      `root in the container is you (uid ${uid}); ids 1… are your /etc/subuid range, written by newuidmap`,
    );
  } catch (e) {
    differs.push(`root in the container is you (uid ${uid}) and no other id is mapped: ${describe(e)}`);
  }
  differs.push(
    "no cgroup limits: the container gets a cgroup only where you may write one (a delegated subtree)",
    "/dev's nodes are bound from the host: mknod is not allowed in a user namespace",
    `the root filesystem, bundle and state are yours, under ${home} (the root demo uses build/)`,
  );
}

mkdirSync(rootless ? home : join(TOP, "build"), { recursive: true });
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
linux["uidMappings"] = maps;
linux["gidMappings"] = gmaps;
(spec["mounts"] as unknown as Record<string, unknown>[]).push({
  destination: "/tmp",
  type: "tmpfs",
  source: "tmpfs",
  options: ["nosuid", "nodev", "mode=1777"],
});
mkdirSync(bundle, { recursive: true });
writeFileSync(join(bundle, "config.json"), JSON.stringify(spec, null, 2));

console.log(`leopard demo: bundle ${bundle}; type "exit" to leave.\n`);
if (rootless)
  console.log(`rootless: what differs from the root demo:\n${differs.map((d) => `  - ${d}`).join("\n")}\n`);
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
