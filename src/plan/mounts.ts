// The container's mount table before pivot_root: propagation, the rootfs bind, the config's
// mounts in order, /dev nodes and symlinks. Targets are resolved by the helper inside the root.
import type { RootfsOverlay } from "../config/rootfs-overlay.ts";
import { MountResolve, type Op } from "../protocol/ops.ts";
import { LeopardError } from "../util/errors.ts";
import { type DeviceNode, makedev } from "./devices.ts";
import { idmapOptionText } from "./idmap.ts";
import {
  isRecursiveOption,
  MS,
  type ParsedOptions,
  parseMountOptions,
  propagationFlag,
} from "./mount-options.ts";
import { q } from "./shell.ts";
import type { HostFacts, Step } from "./step.ts";
import type { NamespaceType, PlanMount, PlanSpec } from "./types.ts";

const UNLABELLED = new Set(["proc", "sysfs", "mqueue", "cgroup", "cgroup2"]);

export interface MountInput {
  /** linux.mountLabel, only when the host has SELinux (src/runtime/lsm.ts decides). */
  mountLabel?: string | undefined;
  /** The container's cgroup per hierarchy (src/cgroups CgroupPaths), for a cgroup mount without a cgroup namespace. */
  cgroupPaths?: Readonly<Record<string, string>> | undefined;
  spec: PlanSpec;
  rootfs: string;
  userns: boolean;
  /** The runtime is rootless: already in a user namespace without the host's privileges (no mknod). */
  rootless?: boolean | undefined;
  created: ReadonlySet<NamespaceType>;
  host: HostFacts;
  devices: readonly DeviceNode[];
  /** For each idmapped mount (by index in spec.mounts), the fd of its detached clone in the helper. */
  idmapFds?: ReadonlyMap<number, number> | undefined;
  /** The root is an overlay of these directories (annotation org.leopard.rootfs.overlay). */
  rootfsOverlay?: RootfsOverlay | undefined;
}

/** mount(2)'s data is one page: the kernel truncates (and so misreads) longer option text. */
const MAX_MOUNT_DATA = 4095;

/**
 * The overlay's option text. In a user namespace (rootless, or a config's own) the kernel refuses
 * trusted.* xattrs, so overlay keeps its marks in user.overlay.* (`userxattr`, Linux 5.11): the
 * layers must mark opaque directories that way (the rootless engine unpacks them so).
 */
export function overlayData(o: RootfsOverlay, userns: boolean): string {
  const data = `lowerdir=${o.lower.join(":")},upperdir=${o.upper},workdir=${o.work}${userns ? ",userxattr" : ""}`;
  if (data.length > MAX_MOUNT_DATA)
    throw new LeopardError(
      "invalid-spec",
      `annotation "org.leopard.rootfs.overlay" is ${data.length} bytes with its options, past the ${MAX_MOUNT_DATA} of one mount (use shorter paths, e.g. symlinks)`,
    );
  return data;
}

function mountOp(
  source: string,
  target: string,
  fstype: string,
  flags: number,
  data: string,
  resolve: MountResolve,
): Op {
  return { op: "MOUNT", source, target, fstype, flags, data, resolve };
}

function optionText(flagsNames: readonly string[], data: string): string {
  const all = [...flagsNames, ...(data ? [data] : [])];
  return all.length > 0 ? ` -o ${all.join(",")}` : "";
}

export function planMounts(input: MountInput): Step[] {
  const { spec, rootfs, host } = input;
  const steps: Step[] = [];
  const add = (op: Op, explain: string): void => {
    steps.push({ op, explain });
  };
  // Propagation as runc sets it up: linux.rootfsPropagation (default rslave, so nothing we mount
  // reaches the host) on the whole mount table first, so a bind mount of a shared host mount
  // stays in the host's peer group under rshared (Kubernetes' Bidirectional volumes) and
  // receives from it under rslave. Unbindable is put on the new root after pivot_root instead
  // (the rootfs could not be bound from an unbindable mount; runc fails there).
  const asked = propagationFlag(spec.linux?.rootfsPropagation ?? "rslave");
  const rootProp = asked === undefined || asked & MS.UNBINDABLE ? MS.SLAVE | MS.REC : asked;
  add(mountOp("", "/", "", rootProp, "", MountResolve.AS_GIVEN), `mount --make-${propName(rootProp)} /`);
  // The mount the rootfs lies on, when it is shared after that: private, because pivot_root
  // refuses a shared parent and the rootfs bind below must not propagate to the host.
  const parent = host.rootfsParent;
  if (parent && sharedAfter(rootProp, parent))
    add(
      mountOp("", parent.path, "", MS.PRIVATE, "", MountResolve.AS_GIVEN),
      `mount --make-private ${q(parent.path)}   # the rootfs's mount: pivot_root refuses a shared parent`,
    );
  const overlay = input.rootfsOverlay;
  if (overlay !== undefined && overlay.mountedIn === undefined) {
    // Mounted here, after propagation is set (so it never reaches the host), by the container's
    // root in its own user namespace: the one place an unprivileged user may mount overlayfs.
    // A mount point itself, so pivot_root takes it without the bind below.
    const data = overlayData(overlay, input.userns || input.rootless === true);
    add(
      mountOp("overlay", rootfs, "overlay", 0, data, MountResolve.AS_GIVEN),
      `mount -t overlay overlay -o ${q(data)} ${q(rootfs)}   # the root: the image's layers under the container's own upper directory`,
    );
  }
  // (A root fuse-overlayfs mounted already, in the namespace this one copies, is a mount
  // point as it is; bound over itself all the same, as any root.)
  else
    add(
      mountOp(rootfs, rootfs, "", MS.BIND | MS.REC, "", MountResolve.AS_GIVEN),
      `mount --rbind ${q(rootfs)} ${q(rootfs)}   # the new root must be a mount point`,
    );
  add(
    { op: "SET_ROOT", path: rootfs },
    `cd ${q(rootfs)}   # every target below resolves inside this root, symlinks never lead out`,
  );

  let devBound = false;
  for (const [index, m] of (spec.mounts ?? []).entries()) {
    const type = m.type ?? "";
    const opts = parseMountOptions(m.options ?? []);
    if (m.destination === "/dev" && (opts.bind || type === "bind")) devBound = true;
    if (type === "cgroup") {
      for (const s of cgroupMount(m, input)) steps.push(s);
      continue;
    }
    const noNetns = !(spec.linux?.namespaces ?? []).some((n) => n.type === "network");
    if (
      type === "sysfs" &&
      ((input.userns && !input.created.has("network")) || (input.rootless && noNetns))
    ) {
      // sysfs can only be mounted in a user namespace that owns the network namespace (rootless
      // with the host's network: bound, as runc falls back to).
      for (const s of bindMount({ ...m, source: "/sys", options: [...(m.options ?? []), "rbind"] }, input))
        steps.push(s);
      continue;
    }
    if (opts.bind || type === "bind") {
      for (const s of bindMount(m, input, input.idmapFds?.get(index))) steps.push(s);
      continue;
    }
    // tmpcopyup over an empty (or missing) directory is a plain tmpfs; copying contents is not
    // done yet, so a directory with files is refused rather than hidden.
    if (opts.copyUp && !(input.host.dirIsEmpty?.(rootfs + m.destination) ?? false))
      throw new LeopardError(
        "unsupported",
        `mount option "tmpcopyup" over the non-empty directory "${m.destination}" is not supported yet`,
      );
    const source = m.source ?? type;
    const flags = opts.flags & ~(MS.REMOUNT | MS.BIND | MS.REC);
    // SELinux: the mount's files get linux.mountLabel through context= (not for the kernel's
    // own proc, sysfs, mqueue and cgroup trees, as runc does it).
    const label = input.mountLabel && !UNLABELLED.has(type) ? [`context="${input.mountLabel}"`] : [];
    const data = [...opts.data, ...label];
    add(
      mountOp(source, m.destination, type, flags, data.join(","), MountResolve.DIR),
      `mount -t ${q(type)}${optionText(describeList(m.options ?? [], opts.data).concat(label), "")} ${q(source)} ${q(rootfs + m.destination)}`,
    );
    for (const p of opts.propagation)
      add(
        mountOp("", m.destination, "", p, "", MountResolve.DIR),
        `mount --make-${propName(p)} ${q(rootfs + m.destination)}`,
      );
    const r = recursiveStep(m, opts, rootfs);
    if (r) steps.push(r);
  }

  if (!devBound) {
    for (const d of input.devices) {
      if (input.userns || input.rootless) {
        // mknod is not allowed in a user namespace: bind the host's node instead (as runc does).
        if (!host.hostHas(d.path)) continue;
        add(
          mountOp(d.path, d.path, "", MS.BIND, "", MountResolve.FILE),
          `touch ${q(rootfs + d.path)} && mount --bind ${q(d.path)} ${q(rootfs + d.path)}`,
        );
      } else {
        const kind = (d.mode & 0o170000) === 0o060000 ? "b" : (d.mode & 0o170000) === 0o010000 ? "p" : "c";
        add(
          { op: "MKNOD", path: d.path, mode: d.mode, dev: makedev(d.major, d.minor), uid: d.uid, gid: d.gid },
          `mknod -m ${(d.mode & 0o7777).toString(8)} ${q(rootfs + d.path)} ${kind}${kind === "p" ? "" : ` ${d.major} ${d.minor}`}`,
        );
      }
    }
    const links: [string, string][] = [
      ["/proc/self/fd", "/dev/fd"],
      ["/proc/self/fd/0", "/dev/stdin"],
      ["/proc/self/fd/1", "/dev/stdout"],
      ["/proc/self/fd/2", "/dev/stderr"],
      ["pts/ptmx", "/dev/ptmx"],
    ];
    for (const [target, link] of links)
      add({ op: "SYMLINK", target, linkpath: link }, `ln -s ${target} ${q(rootfs + link)}`);
  }
  return steps;
}

/** Whether the rootfs's mount is shared once `flags` was applied to "/". */
function sharedAfter(flags: number, parent: { path: string; shared: boolean }): boolean {
  if (flags & MS.REC || parent.path === "/") return (flags & MS.SHARED) !== 0;
  return parent.shared;
}

function describeList(options: readonly string[], data: readonly string[]): string[] {
  return options.filter((o) => !data.includes(o)).concat(data);
}

function propName(p: number): string {
  const base = p & ~MS.REC;
  const name =
    base === MS.PRIVATE
      ? "private"
      : base === MS.SLAVE
        ? "slave"
        : base === MS.SHARED
          ? "shared"
          : "unbindable";
  return (p & MS.REC ? "r" : "") + name;
}

/**
 * The recursive options (rro, rnosuid, ...) as one mount_setattr(AT_RECURSIVE) on the finished
 * mount: it reaches the submounts an rbind brought along, which a remount never does.
 */
function recursiveStep(m: PlanMount, opts: ParsedOptions, rootfs: string): Step | undefined {
  const { set, clear } = opts.recursiveAttr;
  if (set === 0 && clear === 0) return undefined;
  const names = (m.options ?? []).filter(isRecursiveOption).join(",");
  return {
    op: { op: "MOUNT_SETATTR", target: m.destination, set, clear, recursive: 1 },
    explain: `# mount_setattr(AT_RECURSIVE) ${names} on ${q(rootfs + m.destination)} and every mount below it`,
  };
}

function bindMount(m: PlanMount, input: MountInput, idmapFd?: number): Step[] {
  const opts = parseMountOptions(m.options ?? []);
  const source = m.source ?? "";
  const rec = opts.recursive ? MS.REC : 0;
  const resolve = input.host.sourceIsDir(source) ? MountResolve.DIR : MountResolve.FILE;
  const target = input.rootfs + m.destination;
  const idmapped = opts.idmap !== "none" || (m.uidMappings?.length ?? 0) > 0;
  if (idmapped && idmapFd === undefined)
    throw new LeopardError(
      "protocol",
      `mount "${m.destination}": idmapped, but no detached mount was prepared for it`,
    );
  const steps: Step[] = [
    idmapFd !== undefined
      ? {
          // Made by the runtime before the helper started (src/plan/idmap.ts says why).
          op: { op: "MOVE_MOUNT", fd: idmapFd, target: m.destination, resolve },
          explain: `mount --${rec ? "rbind" : "bind"} -o X-mount.idmap=${(m.uidMappings?.length ?? 0) > 0 ? q(idmapOptionText(m.uidMappings ?? [], m.gidMappings ?? [])) : "<the container's maps>"}${opts.idmap === "ridmap" ? " (recursive)" : ""} ${q(source)} ${q(target)}   # idmapped clone inherited as fd ${idmapFd}`,
        }
      : {
          op: mountOp(source, m.destination, "", MS.BIND | rec, "", resolve),
          explain: `mount --${rec ? "rbind" : "bind"} ${q(source)} ${q(target)}`,
        },
  ];
  // Bind mounts take their flags only on a second, remount call.
  const extra = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  if (extra !== 0) {
    steps.push({
      op: mountOp("", m.destination, "", MS.BIND | MS.REMOUNT | extra, "", MountResolve.DIR),
      explain: `mount -o remount,bind,${describeList(m.options ?? [], opts.data)
        .filter(
          (o) => o !== "bind" && o !== "rbind" && o !== "idmap" && o !== "ridmap" && !isRecursiveOption(o),
        )
        .join(",")} ${q(target)}`,
    });
  }
  for (const p of opts.propagation)
    steps.push({
      op: mountOp("", m.destination, "", p, "", MountResolve.DIR),
      explain: `mount --make-${propName(p)} ${q(target)}`,
    });
  const r = recursiveStep(m, opts, input.rootfs);
  if (r) steps.push(r);
  return steps;
}

/**
 * A `cgroup` mount. With a cgroup namespace the hierarchies are mounted fresh (the namespace
 * makes the container's own cgroup their root); without one the host's are bind-mounted.
 */
function cgroupMount(m: PlanMount, input: MountInput): Step[] {
  const opts = parseMountOptions(m.options ?? []);
  const flags = opts.flags & ~(MS.BIND | MS.REC | MS.REMOUNT);
  const dest = m.destination;
  const target = input.rootfs + dest;
  const own = input.cgroupPaths;
  if (!input.created.has("cgroup") && own === undefined) {
    return bindMount(
      { destination: dest, source: "/sys/fs/cgroup", options: [...(m.options ?? []), "rbind"] },
      input,
    );
  }
  const hier = input.host.cgroupMounts;
  const unifiedOnly = hier.length === 1 && hier[0]?.fstype === "cgroup2" && hier[0].name === "";
  // Without a cgroup namespace, fresh mounts would show the host's whole tree: bind only the
  // container's own cgroup of each hierarchy instead (as runc does).
  const ownDir = (h: { name: string; fstype: string; options: string }): string | undefined => {
    if (own === undefined) return undefined;
    const key = h.fstype === "cgroup2" ? "" : h.options.split(",").find((o) => own[o] !== undefined);
    const p = key === undefined ? undefined : own[key];
    return p === undefined ? undefined : `/sys/fs/cgroup${h.name ? `/${h.name}` : ""}${p}`;
  };
  const bindOwn = (src: string, sub: string): Step[] => [
    {
      op: mountOp(src, sub, "", MS.BIND | MS.REC, "", MountResolve.DIR),
      explain: `mount --rbind ${q(src)} ${q(input.rootfs + sub)}`,
    },
    {
      op: mountOp("", sub, "", MS.BIND | MS.REMOUNT | flags, "", MountResolve.DIR),
      explain: `mount -o remount,bind${flags & MS.RDONLY ? ",ro" : ""} ${q(input.rootfs + sub)}`,
    },
  ];
  const namespaced = input.created.has("cgroup");
  if ((unifiedOnly || hier.length === 0) && !namespaced) {
    const src = hier[0] ? ownDir(hier[0]) : undefined;
    return src === undefined ? [] : bindOwn(src, dest);
  }
  if (unifiedOnly || hier.length === 0) {
    return [
      {
        op: mountOp("cgroup2", dest, "cgroup2", flags, "", MountResolve.DIR),
        explain: `mount -t cgroup2 cgroup2 ${q(target)}`,
      },
    ];
  }
  // A v1 or hybrid host: runc mounts the v1 hierarchies only (not the hybrid "unified" cgroup2)
  // on a tmpfs it leaves writable.
  const v1 = hier.filter((h) => h.fstype === "cgroup");
  const steps: Step[] = [
    {
      op: mountOp(
        "tmpfs",
        dest,
        "tmpfs",
        (flags & ~MS.RDONLY) | MS.NOSUID | MS.NODEV | MS.NOEXEC,
        "mode=755",
        MountResolve.DIR,
      ),
      explain: `mount -t tmpfs -o mode=755 tmpfs ${q(target)}`,
    },
  ];
  for (const h of v1.length > 0 ? v1 : hier) {
    const sub = `${dest}/${h.name}`;
    if (!namespaced) {
      const src = ownDir(h);
      if (src !== undefined) steps.push(...bindOwn(src, sub));
      continue;
    }
    steps.push({
      op: mountOp("cgroup", sub, h.fstype, flags, h.options, MountResolve.DIR),
      explain: `mount -t ${h.fstype}${h.options ? ` -o ${h.options}` : ""} cgroup ${q(input.rootfs + sub)}`,
    });
  }
  return steps;
}

export { propagationFlag };
