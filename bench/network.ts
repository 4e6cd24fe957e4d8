// Network setup costs: pinning a namespace in-process vs `unshare --net=FILE` + `ip link set lo
// up`, and attach+detach on the default network. Run as root: bun bench/network.ts [N]
import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { removeNetworkFirewall } from "../src/network/firewall.ts";
import {
  attach,
  createNetns,
  detach,
  networkPaths,
  pruneNetworking,
  removeNetns,
} from "../src/network/index.ts";
import { unmountNetnsDir } from "../src/network/netns.ts";

const n = Number(process.argv[2] ?? 10);
const dir = mkdtempSync(join(tmpdir(), "leopard-bench-net-"));
const paths = networkPaths({
  configDir: join(dir, "net"),
  ipamDir: join(dir, "ipam"),
  runDir: join(dir, "run"),
  bridgePrefix: "lbench",
  subnetPool: "10.250.0.0/16",
});
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  removeNetns(await createNetns(paths, "warm"));
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    removeNetns(await createNetns(paths, `b${i}`));
    ours.push(performance.now() - t);
    const f = join(paths.netnsDir, `u${i}`);
    t = performance.now();
    closeSync(openSync(f, "w"));
    Bun.spawnSync(["unshare", `--net=${f}`, "true"]);
    Bun.spawnSync(["nsenter", `--net=${f}`, "ip", "link", "set", "lo", "up"]);
    theirs.push(performance.now() - t);
    removeNetns(f);
  }
  const att: number[] = [];
  const det: number[] = [];
  for (let i = 0; i < n; i++) {
    const ns = await createNetns(paths, `a${i}`);
    let t = performance.now();
    await attach(paths, `a${i}`, ns, ["leopard"]);
    att.push(performance.now() - t);
    t = performance.now();
    await detach(paths, `a${i}`);
    det.push(performance.now() - t);
  }
  console.log(`netns create+remove, in-process: median ${median(ours).toFixed(2)} ms`);
  console.log(`netns via unshare(1)+ip:         median ${median(theirs).toFixed(2)} ms`);
  console.log(`attach (bridge, network rules):   median ${median(att).toFixed(0)} ms`);
  console.log(`detach:                           median ${median(det).toFixed(0)} ms`);
} finally {
  await pruneNetworking(paths, []);
  Bun.spawnSync(["ip", "link", "del", "lbench0"]);
  removeNetworkFirewall(paths, "lbench0");
  unmountNetnsDir(paths);
  rmSync(dir, { recursive: true, force: true });
}
