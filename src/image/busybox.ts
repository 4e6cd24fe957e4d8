// The embedded default image: "busybox" built offline from the system's static busybox
// (Debian's busybox-static), so the first `leopard run busybox` needs no registry. The layer
// is deterministic for a given binary: fixed order, owners and times.
import { existsSync, statSync } from "node:fs";
import { SYSTEM_PATH, spawnToolSync } from "../sys/host-tool.ts";
import { LeopardError } from "../util/errors.ts";
import { createImage } from "./commit.ts";
import type { ImageRecord } from "./db.ts";
import { sha256 } from "./digest.ts";
import { hostPlatform, MT } from "./oci.ts";
import type { Store } from "./store.ts";
import { type TarEntry, tarBytes } from "./tar-write.ts";

export const BUSYBOX_TAG = "docker.io/library/busybox:latest";
export const BUSYBOX_CANDIDATES = [
  "/bin/busybox",
  "/usr/bin/busybox",
  "/usr/lib/initramfs-tools/bin/busybox",
];

export function findBusybox(): string {
  const p = BUSYBOX_CANDIDATES.find((c) => existsSync(c));
  if (p === undefined) {
    throw new LeopardError(
      "not-found",
      `no static busybox found (looked at ${BUSYBOX_CANDIDATES.map((c) => `"${c}"`).join(", ")}); install busybox-static`,
    );
  }
  return p;
}

function applets(busybox: string): string[] {
  const r = spawnToolSync([busybox, "--list-full"], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new LeopardError("system", `"${busybox} --list-full" failed`);
  return new TextDecoder()
    .decode(r.stdout)
    .split("\n")
    .filter((l) => /^[a-z0-9/_.[\]-]+$/i.test(l) && !l.includes(".."))
    .sort();
}

const enc = new TextEncoder();
const T = 946684800; // 2000-01-01: fixed so the layer digest depends on the binary only

/** The layer's entries: the FHS skeleton, busybox, one symlink per applet, passwd and group. */
export function busyboxEntries(busybox: string): TarEntry[] {
  const size = statSync(busybox).size;
  const dirs = [
    "bin",
    "dev",
    "etc",
    "home",
    "proc",
    "root",
    "sbin",
    "sys",
    "tmp",
    "usr",
    "usr/bin",
    "usr/sbin",
    "var",
    "var/run",
  ];
  const out: TarEntry[] = dirs.map((d) => ({
    name: d,
    type: "dir",
    mode: d === "tmp" ? 0o1777 : d === "root" ? 0o700 : 0o755,
    mtime: T,
  }));
  out.push({ name: "bin/busybox", type: "file", mode: 0o755, mtime: T, data: { path: busybox, size } });
  for (const a of applets(busybox)) {
    if (a === "bin/busybox") continue;
    out.push({ name: a, type: "symlink", linkname: "/bin/busybox", mtime: T });
  }
  out.push({
    name: "etc/passwd",
    type: "file",
    mode: 0o644,
    mtime: T,
    data: enc.encode("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"),
  });
  out.push({
    name: "etc/group",
    type: "file",
    mode: 0o644,
    mtime: T,
    data: enc.encode("root:x:0:\nnobody:x:65534:\n"),
  });
  out.push({ name: "etc/hostname", type: "file", mode: 0o644, mtime: T, data: enc.encode("busybox\n") });
  return out;
}

/** Builds the busybox image into the store (idempotent) and tags it. */
export async function buildBusybox(store: Store, tag = BUSYBOX_TAG): Promise<ImageRecord> {
  using _w = await store.writerLock();
  const bb = findBusybox();
  const tar = await tarBytes(busyboxEntries(bb));
  const layer = await store.ingest(undefined, async function* () {
    yield tar;
  });
  const p = hostPlatform();
  return createImage(
    store,
    [{ digest: layer.digest, mediaType: MT.ociLayer, size: layer.size, diffId: sha256(tar) }],
    {
      architecture: p.architecture,
      os: p.os,
      created: new Date(T * 1000).toISOString(),
      config: { Env: [`PATH=${SYSTEM_PATH}`], Cmd: ["sh"] },
      history: [
        { created: new Date(T * 1000).toISOString(), created_by: `leopard: embedded busybox from ${bb}` },
      ],
    },
    { tags: [tag] },
  );
}
