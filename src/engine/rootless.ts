// A rootless engine's containers: a user namespace mapping root to the user and 1…N to the user's
// subordinate ids (/etc/subuid, /etc/subgid; written by newuidmap/newgidmap from Debian's
// uidmap), as rootless podman maps them. A missing piece is one line naming it and how to add it.
import { existsSync, readFileSync } from "node:fs";
import { userInfo } from "node:os";
import type { RootlessRootfs } from "../image/rootfs.ts";
import { LeopardError } from "../util/errors.ts";
import { SYSTEM_PATH } from "../util/system-path.ts";

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface RootlessIds {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** The first range of /etc/subuid-format text for the user (by name or uid), or undefined. */
export function subRange(
  text: string,
  name: string,
  id: number,
): { start: number; count: number } | undefined {
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if ((who === name || who === String(id)) && start && count) {
      const s = Number(start);
      const c = Number(count);
      if (Number.isInteger(s) && Number.isInteger(c) && c > 0) return { start: s, count: c };
    }
  }
  return undefined;
}

export interface RootlessFacts {
  name: string;
  uid: number;
  gid: number;
  /** /etc/subuid and /etc/subgid ("" when missing). */
  subuid: string;
  subgid: string;
  /** newuidmap and newgidmap are installed. */
  newuidmap: boolean;
  newgidmap: boolean;
}

/** The maps of a rootless container, or a one-line error naming what the user lacks. */
export function rootlessIds(f: RootlessFacts): RootlessIds {
  for (const [tool, present] of [
    ["newuidmap", f.newuidmap],
    ["newgidmap", f.newgidmap],
  ] as const)
    if (!present)
      throw new LeopardError(
        "unsupported",
        `rootless containers need ${tool}, which is not installed (as root: apt-get install uidmap)`,
      );
  const u = subRange(f.subuid, f.name, f.uid);
  const g = subRange(f.subgid, f.name, f.uid);
  for (const [file, r, flag] of [
    ["/etc/subuid", u, "--add-subuids"],
    ["/etc/subgid", g, "--add-subgids"],
  ] as const)
    if (r === undefined)
      throw new LeopardError(
        "unsupported",
        `rootless containers need subordinate ids: ${file} has no entry for "${f.name}" (as root: usermod ${flag} 100000-165535 ${f.name})`,
      );
  return {
    uidMappings: [
      { containerID: 0, hostID: f.uid, size: 1 },
      { containerID: 1, hostID: u!.start, size: u!.count },
    ],
    gidMappings: [
      { containerID: 0, hostID: f.gid, size: 1 },
      { containerID: 1, hostID: g!.start, size: g!.count },
    ],
  };
}

const read = (p: string): string => {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
};
const installed = (tool: string): boolean => SYSTEM_PATH.split(":").some((d) => existsSync(`${d}/${tool}`));

/** The caller's maps, from the files and tools on this host. */
export function callerRootlessIds(): RootlessIds {
  const uid = process.geteuid?.() ?? 0;
  let name = String(uid);
  try {
    name = userInfo().username;
  } catch {
    // a uid without a passwd entry: /etc/subuid may still name it by number
  }
  return rootlessIds({
    name,
    uid,
    gid: process.getegid?.() ?? 0,
    subuid: read("/etc/subuid"),
    subgid: read("/etc/subgid"),
    newuidmap: installed("newuidmap"),
    newgidmap: installed("newgidmap"),
  });
}

const ROOTLESS_ROOTFS: readonly RootlessRootfs[] = ["overlay", "fuse-overlayfs", "copy"];

/** LEOPARD_ROOTLESS_ROOTFS: a rootless root filesystem asked for by name (README "Rootless"); unset or "auto": the fallback order. */
export function rootlessRootfsAsked(v = process.env["LEOPARD_ROOTLESS_ROOTFS"]): RootlessRootfs | undefined {
  if (v === undefined || v === "" || v === "auto") return undefined;
  if ((ROOTLESS_ROOTFS as readonly string[]).includes(v)) return v as RootlessRootfs;
  throw new LeopardError(
    "invalid-argument",
    `LEOPARD_ROOTLESS_ROOTFS="${v}" is not one of auto, ${ROOTLESS_ROOTFS.join(", ")}`,
  );
}
