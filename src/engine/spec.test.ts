import { describe, expect, test } from "bun:test";
import type { SeccompJson } from "../config/json.ts";
import type { ContainerConfig } from "./config.ts";
import { buildSpec, capabilities, containerEnv, INIT_PATH, mergeEnv, type SpecContext } from "./spec.ts";

const BASE: ContainerConfig = {
  image: "sha256:abc",
  imageName: "busybox",
  entrypoint: [],
  cmd: ["sh"],
  env: ["PATH=/bin"],
  workingDir: "",
  user: "",
  hostname: "h1",
  tty: false,
  interactive: false,
  readOnly: false,
  tmpfs: [],
  volumes: [],
  ulimits: [],
  capAdd: [],
  capDrop: [],
  seccomp: "default",
  noNewPrivileges: false,
  privileged: false,
  devices: [],
  sysctls: {},
  labels: {},
  init: false,
  stopSignal: "SIGTERM",
  stopTimeout: 10,
  network: "none",
  publish: [],
  dns: [],
  addHosts: [],
  autoRemove: false,
};

const DEFAULT_CAPS = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"];
const CTX: SpecContext = {
  id: "c1",
  rootfs: "/r",
  user: { uid: 0, gid: 0, additionalGids: [], home: "/root" },
  etc: { hosts: "/b/hosts", hostname: "/b/hostname", resolv: "/b/resolv.conf" },
  netnsPath: "/run/x/netns/c1",
  cgroupsPath: "/leopard/c1",
  defaultCaps: DEFAULT_CAPS,
  allCaps: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"],
  seccompFor: (caps) =>
    ({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [{ names: caps, action: "SCMP_ACT_ALLOW" }],
    }) as SeccompJson,
  devices: [],
};

const spec = (c: Partial<ContainerConfig>, ctx: Partial<SpecContext> = {}) =>
  buildSpec({ ...BASE, ...c }, { ...CTX, ...ctx });

describe("engine spec", () => {
  test("rootless: a user namespace with the given maps, no cgroupsPath, loopback brought up by a hook with --network none", () => {
    const uidMappings = [
      { containerID: 0, hostID: 1001, size: 1 },
      { containerID: 1, hostID: 100000, size: 65536 },
    ];
    const s = spec(
      { network: "none" },
      {
        cgroupsPath: undefined,
        netnsPath: undefined,
        userns: { uidMappings, gidMappings: uidMappings },
        loopbackUp: "/usr/sbin/ip",
      },
    );
    expect(s.linux?.cgroupsPath).toBeUndefined();
    expect(s.linux?.uidMappings).toEqual(uidMappings);
    expect(s.linux?.namespaces?.filter((n) => n.type === "user" || n.type === "network")).toEqual([
      { type: "user" },
      { type: "network" },
    ]);
    expect(s.hooks?.createContainer).toEqual([
      { path: "/usr/sbin/ip", args: ["ip", "link", "set", "lo", "up"] },
    ]);
    const root = spec({ network: "none" });
    expect(root.linux?.cgroupsPath).toBe("/leopard/c1");
    expect(root.linux?.namespaces?.some((n) => n.type === "user")).toBe(false);
    expect(root.hooks?.createContainer).toBeUndefined();
  });

  test("capability arithmetic as docker's", () => {
    expect(capabilities(DEFAULT_CAPS, ["net_admin"], ["CAP_KILL"])).toEqual([
      "CAP_CHOWN",
      "CAP_NET_ADMIN",
      "CAP_NET_RAW",
    ]);
    expect(capabilities(DEFAULT_CAPS, [], ["ALL"])).toEqual([]);
    expect(capabilities(DEFAULT_CAPS, ["CHOWN"], ["ALL"])).toEqual(["CAP_CHOWN"]);
    expect(capabilities(DEFAULT_CAPS, ["ALL"], []).length).toBeGreaterThan(38);
    expect(() => capabilities(DEFAULT_CAPS, ["FLY"], [])).toThrow('unknown capability "CAP_FLY"');
  });

  test("environment: PATH and HOSTNAME first, image then user (later wins), HOME, TERM with a tty", () => {
    expect(containerEnv({ ...BASE, env: ["A=1", "A=2"], tty: true }, "/root")).toEqual([
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOSTNAME=h1",
      "A=2",
      "HOME=/root",
      "TERM=xterm",
    ]);
  });

  test("process: argv, user, cwd, caps, no ambient, seccomp resolved for the caps", () => {
    const s = spec(
      { entrypoint: ["/init"], cmd: ["a", "b"], workingDir: "/w" },
      { user: { uid: 7, gid: 8, additionalGids: [9], home: "/h" } },
    );
    expect(s.process?.args).toEqual(["/init", "a", "b"]);
    expect(s.process?.user).toEqual({ uid: 7, gid: 8, additionalGids: [9] });
    expect(s.process?.cwd).toBe("/w");
    expect(s.process?.capabilities).toEqual({
      bounding: DEFAULT_CAPS,
      effective: DEFAULT_CAPS,
      permitted: DEFAULT_CAPS,
    });
    expect(s.process?.noNewPrivileges).toBe(false);
    expect(s.process?.rlimits).toBeUndefined();
    expect(s.linux?.seccomp?.syscalls?.[0]?.names).toEqual(DEFAULT_CAPS);
    expect(s.linux?.maskedPaths).toContain("/proc/kcore");
    expect(s.linux?.maskedPaths).toContain("/sys/devices/virtual/powercap");
  });

  test("no command at all is an error", () => {
    expect(() => spec({ cmd: [] })).toThrow("no command specified");
  });

  test("Config.Env as docker merges it: the -e values in their order, then the image's not overridden", () => {
    expect(mergeEnv(["B=2", "A=1", "PATH=/bin"], ["PATH=/usr/bin", "C=3"])).toEqual([
      "B=2",
      "A=1",
      "PATH=/bin",
      "C=3",
    ]);
    expect(mergeEnv([], ["PATH=/usr/bin"])).toEqual(["PATH=/usr/bin"]);
  });

  test("mounts: /etc files, tmpfs, volumes; a later mount on the same destination wins", () => {
    const s = spec({
      tmpfs: [{ destination: "/run", options: [] }],
      volumes: [
        { source: "/host", named: false, destination: "/data", readonly: true },
        { source: "/myhosts", named: false, destination: "/etc/hosts", readonly: false },
      ],
    });
    const by = (d: string) => s.mounts?.filter((m) => m.destination === d) ?? [];
    expect(by("/etc/hostname")[0]?.source).toBe("/b/hostname");
    expect(by("/etc/hosts")).toEqual([
      {
        destination: "/etc/hosts",
        type: "bind",
        source: "/myhosts",
        options: ["rbind", "rprivate", "nosuid", "nodev"],
      },
    ]);
    expect(by("/data")[0]?.options).toContain("ro");
    expect(by("/run")[0]).toEqual({
      destination: "/run",
      type: "tmpfs",
      source: "tmpfs",
      options: ["noexec", "nosuid", "nodev", "rprivate", "mode=1777"],
    });
    expect(by("/dev/shm").length).toBe(1);
  });

  test("--tmpfs: docker's noexec,nosuid,nodev unless the user's options say otherwise (the later wins)", () => {
    const opts = (o: string[]) =>
      spec({ tmpfs: [{ destination: "/x", options: o }] }).mounts?.find((m) => m.destination === "/x")
        ?.options;
    expect(opts([])).toEqual(["noexec", "nosuid", "nodev", "rprivate", "mode=1777"]);
    expect(opts(["exec", "size=1m"])).toEqual([
      "nosuid",
      "nodev",
      "rprivate",
      "mode=1777",
      "exec",
      "size=1m",
    ]);
    expect(opts(["size=1m", "size=2m", "mode=700", "shared"])).toEqual([
      "noexec",
      "nosuid",
      "nodev",
      "size=2m",
      "mode=700",
      "shared",
    ]);
  });

  test("network namespace: joined by path, new, or the host's", () => {
    const ns = (c: Partial<ContainerConfig>, ctx: Partial<SpecContext> = {}) =>
      spec(c, ctx).linux?.namespaces?.filter((n) => n.type === "network");
    expect(ns({})).toEqual([{ type: "network", path: "/run/x/netns/c1" }]);
    expect(ns({}, { netnsPath: undefined })).toEqual([{ type: "network" }]);
    expect(ns({ network: "host" }, { netnsPath: undefined })).toEqual([]);
  });

  test("resources: memory with docker's swap default, cpu, pids, devices", () => {
    const s = spec(
      {
        memory: 1000,
        cpuQuota: 50000,
        cpuPeriod: 100000,
        cpuShares: 512,
        pidsLimit: 10,
        devices: [{ host: "/dev/fuse", container: "/dev/fuse", access: "rw" }],
      },
      { devices: [{ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }] },
    );
    const r = s.linux?.resources as Record<string, unknown>;
    expect(r["memory"]).toEqual({ limit: 1000, swap: 2000 });
    expect(r["cpu"]).toEqual({ shares: 512, quota: 50000, period: 100000 });
    expect(r["pids"]).toEqual({ limit: 10 });
    expect(r["devices"]).toEqual([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
    ]);
    expect(s.linux?.devices?.[0]?.path).toBe("/dev/fuse");
    expect(
      (spec({ memory: 1000, memorySwap: -1 }).linux?.resources as Record<string, unknown>)["memory"],
    ).toEqual({ limit: 1000, swap: -1 });
  });

  test("--privileged: the bounding set, no seccomp, nothing masked, every device, /sys writable", () => {
    const s = spec({ privileged: true });
    expect(s.process?.capabilities?.bounding).toEqual(CTX.allCaps as string[]);
    expect(s.linux?.seccomp).toBeUndefined();
    expect(s.linux?.maskedPaths).toBeUndefined();
    expect(s.linux?.readonlyPaths).toBeUndefined();
    expect((s.linux?.resources as Record<string, unknown>)["devices"]).toEqual([
      { allow: true, access: "rwm" },
    ]);
    expect(s.mounts?.find((m) => m.destination === "/sys")?.options).not.toContain("ro");
  });

  test("--init, --read-only, seccomp unconfined or a profile, labels as annotations", () => {
    const s = spec({ init: true, readOnly: true, labels: { a: "b" } }, { initPath: "/usr/bin/catatonit" });
    expect(s.process?.args).toEqual([INIT_PATH, "--", "sh"]);
    expect(s.mounts?.find((m) => m.destination === INIT_PATH)?.source).toBe("/usr/bin/catatonit");
    expect(s.root).toEqual({ path: "/r", readonly: true });
    expect(s.annotations).toEqual({ a: "b", "org.leopard.image": "busybox" });
    // The root overlay is the engine's to ask for: a label of that name is dropped.
    const overlay = "org.leopard.rootfs.overlay";
    expect(spec({ labels: { [overlay]: "lowerdir=/etc" } }).annotations).toEqual({
      "org.leopard.image": "busybox",
    });
    expect(
      spec({ labels: { [overlay]: "x" } }, { rootfsOverlay: "lowerdir=/l,upperdir=/u,workdir=/w" })
        .annotations,
    ).toEqual({
      [overlay]: "lowerdir=/l,upperdir=/u,workdir=/w",
      "org.leopard.image": "busybox",
    });
    // fuse-overlayfs (src/image/fuse-overlayfs.ts): its user namespace joined, no maps of our own,
    // and the mount namespace to copy named; a label of that name is dropped too.
    const mountns = "org.leopard.rootfs.mountns";
    const f = spec(
      { labels: { [mountns]: "/proc/1/ns/mnt" } },
      {
        userns: { path: "/proc/9/ns/user" },
        rootfsOverlay: "lowerdir=/l,upperdir=/u,workdir=/w",
        rootfsMountns: "/proc/9/ns/mnt",
      },
    );
    expect(f.linux?.namespaces?.filter((n) => n.type === "user")).toEqual([
      { type: "user", path: "/proc/9/ns/user" },
    ]);
    expect(f.linux?.uidMappings).toBeUndefined();
    expect(f.annotations).toEqual({
      [overlay]: "lowerdir=/l,upperdir=/u,workdir=/w",
      [mountns]: "/proc/9/ns/mnt",
      "org.leopard.image": "busybox",
    });
    expect(spec({ labels: { [mountns]: "/proc/1/ns/mnt" } }).annotations).toEqual({
      "org.leopard.image": "busybox",
    });
    expect(spec({ seccomp: "unconfined" }).linux?.seccomp).toBeUndefined();
    expect(spec({ seccomp: '{"defaultAction":"SCMP_ACT_LOG"}' }).linux?.seccomp).toEqual({
      defaultAction: "SCMP_ACT_LOG",
    });
  });
});
