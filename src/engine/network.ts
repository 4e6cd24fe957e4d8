// The container's network as the engine sets it up before start and tears it down after exit:
// "none" (a namespace of its own with only loopback), "host", "container:<name|id>" (another
// container's namespace), or named networks through the CNI library in src/network.
import { LeopardError } from "../util/errors.ts";
import { engineRootless } from "../util/user-dirs.ts";
import type { ContainerRecord } from "./db.ts";
import type { Engine } from "./engine.ts";
import { type AttachedNetwork, chooseRootlessNet } from "./network-types.ts";

export type { AttachedNetwork } from "./network-types.ts";

export async function attachNetwork(engine: Engine, rec: ContainerRecord): Promise<AttachedNetwork> {
  const n = rec.config.network;
  if (n === "none" || n === "host") {
    if (rec.config.publish.length > 0)
      throw new LeopardError(
        "invalid-argument",
        `-p needs a network of the container's own: --network ${n} publishes nothing`,
      );
    // Rootless, "none" is a network namespace the runtime creates in the container's user
    // namespace (a pinned one would need a mount in the host's namespace).
    if (n === "host" || engineRootless()) return { netnsPath: undefined, addresses: [], networks: {} };
    const { noneNetwork } = await import("./network-cni.ts");
    return noneNetwork(engine, rec);
  }
  if (n.startsWith("container:")) {
    const other = engine.db.get(n.slice("container:".length));
    if (other.state !== "running" || other.pid === 0)
      throw new LeopardError(
        "bad-state",
        `container "${other.name}" is not running: cannot join its network`,
      );
    return { netnsPath: `/proc/${other.pid}/ns/net`, addresses: [], networks: {} };
  }
  if (engineRootless()) {
    // Rootless: a network namespace of the container's own (made by the runtime in its user
    // namespace), wired to the host by pasta (src/engine/pasta.ts) or else slirp4netns
    // (src/engine/slirp.ts) from a createRuntime hook. With pasta the container has the host's
    // address, known only once pasta runs: /etc/hosts names it on 127.0.1.1 then.
    const { needSlirp, needSlirp4netns, SLIRP_ADDRESS, slirpBinary } = await import("./slirp.ts");
    const { needPasta, pastaBinary } = await import("./pasta.ts");
    const tool = chooseRootlessNet(n, {
      pasta: pastaBinary() !== undefined,
      slirp4netns: slirpBinary() !== undefined,
    });
    if (tool === undefined)
      throw n === "pasta" ? needPasta() : n === "slirp4netns" ? needSlirp4netns() : needSlirp(n);
    const addresses = tool === "slirp4netns" ? [SLIRP_ADDRESS] : [];
    return { netnsPath: undefined, addresses, networks: {}, slirp: tool };
  }
  const { attachCni } = await import("./network-cni.ts");
  return attachCni(engine, rec);
}

export async function detachNetwork(engine: Engine, rec: ContainerRecord): Promise<void> {
  const n = rec.config.network;
  if (n === "host" || n.startsWith("container:")) return;
  if (engineRootless()) {
    if (n !== "none") (await import("./slirp.ts")).stopSlirp(engine.dirs.run, rec.id);
    return;
  }
  const cni = await import("./network-cni.ts");
  if (n === "none") cni.removeNoneNetwork(engine, rec);
  else {
    await cni.detachCni(engine, rec);
    cni.updatePeerHosts(engine);
  }
}
