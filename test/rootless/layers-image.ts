// The three-layer image the rootless root filesystem tests share: busybox, then a layer adding
// /etc/gone, /etc/keep and /var/cache/old, then one deleting /etc/gone (a whiteout), emptying
// /var/cache (opaque) and adding /var/cache/new. Pushed to a registry on loopback and pulled by
// the user; returns the image's reference.
import { afterAll, beforeAll, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { sha256 } from "../../src/image/digest.ts";
import { buildImage, type RunningRegistry, startRegistry, writeLayout } from "../image/harness.ts";
import { cannotRun, makeRootlessUser, type Result, type RootlessUser, TOP } from "./harness.ts";

/** Why the layered image's tests cannot run here, or undefined. */
export function layeredWhy(): string | undefined {
  return (
    cannotRun() ??
    (Bun.which("docker-registry") && Bun.which("skopeo")
      ? undefined
      : "docker-registry and skopeo are needed")
  );
}

/** What a test file on the layered image works with, once its beforeAll has run. */
export interface LayeredWorld {
  user: RootlessUser;
  image: string;
  /** The user's leopard storage (~/.local/share/leopard). */
  storage: string;
}

/**
 * The shared beforeAll/afterAll of the layered image's test files: a real user, a registry on
 * loopback, the image pushed; afterwards every container removed, the registry stopped and the
 * user removed, failing on anything left. `ready` receives the world; `before` runs first,
 * `beforeCleanup` after the containers are removed, `afterCleanup` last (each file's extras).
 */
export function useLayeredImage(
  why: string | undefined,
  hooks: {
    ready: (w: LayeredWorld) => void;
    before?: () => void;
    beforeCleanup?: () => void;
    afterCleanup?: () => void;
  },
): void {
  let user: RootlessUser;
  let registry: RunningRegistry;
  const leopard = (...args: string[]): Result => user.run([`${TOP}/bin/leopard`, ...args]);
  beforeAll(async () => {
    if (why) return;
    hooks.before?.();
    user = makeRootlessUser();
    registry = await startRegistry();
    const image = await pushLayeredImage(user, registry, leopard);
    hooks.ready({ user, image, storage: `${user.home}/.local/share/leopard` });
  });
  afterAll(async () => {
    if (why) return;
    leopard("rm", "--force", "--all");
    hooks.beforeCleanup?.();
    await registry.stop();
    const left = user.cleanup();
    hooks.afterCleanup?.();
    expect(left).toEqual([]);
  });
}

const text = (s: string) => new TextEncoder().encode(s);

export async function pushLayeredImage(
  user: RootlessUser,
  registry: RunningRegistry,
  leopard: (...args: string[]) => Result,
  name = "rootless/layers:1",
): Promise<string> {
  const tarPath = `${user.work}/rootfs.tar`;
  const t = user.run(["tar", "-C", user.rootfs("image-rootfs"), "-cf", tarPath, "."]);
  if (t.code !== 0) throw new Error(`tar failed: ${t.stderr}`);
  const tar = new Uint8Array(readFileSync(tarPath));
  const layout = `${user.work}/layout`;
  const img = await buildImage(layout, [
    { entries: [], raw: { bytes: new Uint8Array(gzipSync(tar)), diffId: sha256(tar) } },
    {
      entries: [
        { name: "etc/gone", type: "file", data: text("old"), mode: 0o644 },
        { name: "etc/keep", type: "file", data: text("kept"), mode: 0o644 },
        { name: "var/cache/", type: "dir", mode: 0o755 },
        { name: "var/cache/old", type: "file", data: text("old"), mode: 0o644 },
      ],
    },
    {
      entries: [
        { name: "etc/.wh.gone", type: "file", mode: 0 },
        { name: "var/cache/.wh..wh..opq", type: "file", mode: 0 },
        { name: "var/cache/new", type: "file", data: text("new"), mode: 0o644 },
      ],
    },
  ]);
  writeLayout(layout, [{ tag: "1", images: [img] }]);
  const image = `${registry.host}/${name}`;
  const push = Bun.spawnSync(
    ["skopeo", "copy", "--dest-tls-verify=false", `oci:${layout}:1`, `docker://${image}`],
    { stderr: "pipe", stdout: "ignore" },
  );
  if (push.exitCode !== 0) throw new Error(`skopeo copy failed: ${push.stderr.toString()}`);
  const pull = leopard("pull", "--tls-verify=false", image);
  if (pull.code !== 0) throw new Error(`pull failed: ${pull.stderr}`);
  return image;
}

/**
 * The layer of a saved image that holds `marker` (a path in it), as "uid/gid path" lines, sorted:
 * what a commit or a RUN step wrote, with its owners. `leopard save` as the user, unpacked with tar.
 */
export function savedLayerEntries(
  user: RootlessUser,
  leopard: (...args: string[]) => Result,
  image: string,
  marker: string,
): Result {
  const out = `${user.work}/saved-${image.replace(/[^a-z0-9]/gi, "-")}`;
  const saved = leopard("save", "-o", `${out}.tar`, image);
  if (saved.code !== 0) return saved;
  return user.run([
    "sh",
    "-c",
    `mkdir ${out} && tar -C ${out} -xf ${out}.tar && find ${out} -type f | while read f; do if tar -tf "$f" 2>/dev/null | grep -qx ${marker}; then tar --numeric-owner -tvf "$f"; fi; done | awk '{print $2, $6}' | sort`,
  ]);
}
