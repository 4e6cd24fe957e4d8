// Rules that tie fields of config.json together, checked once every field has its type.
// Most follow runc (libcontainer/configs/validate and specconv); where leopard is stricter
// the comment says so.
import { entry, fail, failWith, nth, quote } from "./read.ts";
import { sysctlComponents } from "./sysctl.ts";
import type { NamespaceType, SpecFields } from "./types.ts";
import { isMapped } from "./validate-ids.ts";

type Fields = Omit<SpecFields, "ociVersion" | "bundle">;

export function checkRules(s: Fields): void {
  const ns = new Map(s.linux.namespaces.map((n) => [n.type, n]));
  const has = (t: NamespaceType): boolean => ns.has(t);
  const creates = (t: NamespaceType): boolean => ns.has(t) && ns.get(t)?.path === undefined;

  // Stricter than runc: without a mount namespace, runc mounts /proc, /dev and /sys under the
  // rootfs in the host's own mount table and leaves them there after the container is gone.
  // A joined one is set up as runc does it (README: "Joining a mount namespace").
  if (!has("mount")) {
    failWith(
      "linux.namespaces",
      "linux.namespaces must have a \"mount\" entry (a new mount namespace, or one joined by path): without one the container's mounts would be made in, and left behind in, the host's",
    );
  }

  // sethostname/setdomainname change the uts namespace the process is in: never the host's.
  if (s.hostname !== undefined && !has("uts")) {
    fail("hostname", `${quote(s.hostname)} is set but linux.namespaces has no uts namespace`);
  }
  if (s.domainname !== undefined && !has("uts")) {
    fail("domainname", `${quote(s.domainname)} is set but linux.namespaces has no uts namespace`);
  }

  checkUserNamespace(s, has("user"), creates("user"));
  checkIdmappedMounts(s, creates("user"));

  if (s.linux.timeOffsets !== undefined) {
    if (!has("time")) fail("linux.timeOffsets", "is set but linux.namespaces has no time namespace");
    // The kernel takes offsets only before the first process enters a new time namespace.
    if (!creates("time")) fail("linux.timeOffsets", "cannot apply to a time namespace joined by path");
  }

  if (Object.keys(s.linux.netDevices).length > 0 && !has("network")) {
    fail("linux.netDevices", "is set but linux.namespaces has no network namespace");
  }

  for (const name of Object.keys(s.linux.sysctl)) checkSysctl(name, has);
}

function checkUserNamespace(s: Fields, has: boolean, creates: boolean): void {
  const { uidMappings, gidMappings } = s.linux;
  if (!has) {
    if (uidMappings.length > 0)
      fail("linux.uidMappings", "is set but linux.namespaces has no user namespace");
    if (gidMappings.length > 0)
      fail("linux.gidMappings", "is set but linux.namespaces has no user namespace");
    return;
  }
  // A joined user namespace already has its maps; any given here are compared by the runtime.
  if (!creates) return;
  if (uidMappings.length === 0) fail("linux.uidMappings", "must be set when a user namespace is created");
  if (gidMappings.length === 0) fail("linux.gidMappings", "must be set when a user namespace is created");
  // setresuid/setresgid/setgroups to an unmapped id fail with EINVAL; say which id instead.
  // (runc insists that container id 0 be mapped; leopard only needs the ids the process uses.)
  const { uid, gid, additionalGids } = s.process.user;
  if (!isMapped(uidMappings, uid)) fail("process.user.uid", `${uid} is not mapped by linux.uidMappings`);
  if (!isMapped(gidMappings, gid)) fail("process.user.gid", `${gid} is not mapped by linux.gidMappings`);
  additionalGids.forEach((g, i) => {
    if (!isMapped(gidMappings, g))
      fail(nth("process.user.additionalGids", i), `${g} is not mapped by linux.gidMappings`);
  });
}

/**
 * An idmapped mount without maps of its own takes the container's (the runtime-spec allows it),
 * so it needs a user namespace the container creates: a joined one's maps are not in the config.
 */
function checkIdmappedMounts(s: Fields, createsUser: boolean): void {
  s.mounts.forEach((m, i) => {
    const opt = m.options.find((o) => o === "idmap" || o === "ridmap");
    if (opt === undefined || m.uidMappings.length > 0 || createsUser) return;
    fail(
      nth("mounts", i),
      `(${quote(m.destination)}) has "${opt}" but no uidMappings/gidMappings, and the container creates no user namespace whose maps it could use`,
    );
  });
}

/** The IPC sysctls that are per ipc namespace: kernel.<these> (besides fs.mqueue.*). */
const IPC_SYSCTLS = new Set([
  "msgmax",
  "msgmnb",
  "msgmni",
  "sem",
  "shmall",
  "shmmax",
  "shmmni",
  "shm_rmid_forced",
]);

/**
 * /proc/sys is only partly namespaced: a sysctl is allowed when the namespace that owns it is
 * the container's, so writing it cannot change the host. (runc's rule, minus its check that a
 * network namespace joined by path is not the host's, which needs I/O: the runtime does it.)
 * The rules run on the key's components, the same ones the planner builds the path from, so
 * a key cannot pass as "net." here and name another file there.
 */
function checkSysctl(raw: string, has: (t: NamespaceType) => boolean): void {
  const field = entry("linux.sysctl", raw);
  const split = sysctlComponents(raw);
  if ("problem" in split) fail(field, split.problem);
  const [top = "", second = "", ...rest] = split.components;
  if (
    (top === "kernel" && rest.length === 0 && IPC_SYSCTLS.has(second)) ||
    (top === "fs" && second === "mqueue")
  ) {
    if (!has("ipc")) fail(field, "needs an ipc namespace (linux.namespaces has none)");
    return;
  }
  if (top === "net") {
    if (!has("network")) fail(field, "needs a network namespace (linux.namespaces has none)");
    return;
  }
  if (top === "kernel" && rest.length === 0 && (second === "hostname" || second === "domainname")) {
    if (!has("uts")) fail(field, "needs a uts namespace (linux.namespaces has none)");
    if (second === "hostname") fail(field, 'conflicts with the "hostname" field (set that instead)');
    return;
  }
  fail(field, "is not namespaced, so setting it would change the host");
}
