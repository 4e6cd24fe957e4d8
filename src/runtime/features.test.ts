import { describe, expect, test } from "bun:test";
import { SECCOMP_ACTIONS } from "../config/types.ts";
import { parseMountOptions } from "../plan/mount-options.ts";
import { compileSeccomp } from "../seccomp/compile.ts";
import { defaultSeccompProfile } from "../seccomp/default-profile.ts";
import { features, hostSeccompSupport } from "./features.ts";

describe("features", () => {
  test("has runc's shape: versions, hooks, mount options and the linux section", async () => {
    const f = features(await hostSeccompSupport()) as Record<string, Record<string, unknown>>;
    expect(Object.keys(f)).toEqual([
      "ociVersionMin",
      "ociVersionMax",
      "hooks",
      "mountOptions",
      "linux",
      "annotations",
    ]);
    expect(f["ociVersionMax"]).toMatch(/^1\.\d+\.\d+$/);
    expect(f["hooks"]).toHaveLength(6);
    const linux = f["linux"] as unknown as {
      namespaces: string[];
      capabilities: string[];
      seccomp: { enabled: boolean; archs: string[] };
      mountExtensions: unknown;
    };
    expect(Object.keys(linux)).toEqual([
      "namespaces",
      "capabilities",
      "cgroup",
      "seccomp",
      "apparmor",
      "selinux",
      "intelRdt",
      "mountExtensions",
    ]);
    expect(linux.namespaces).toContain("user");
    expect(linux.capabilities).toContain("CAP_SYS_ADMIN");
    expect(linux.seccomp.enabled).toBe(true);
    expect(linux.seccomp.archs).toContain("SCMP_ARCH_X86_64");
    // This kernel (6.x) has mount_setattr, and the probe finds it.
    expect(linux.mountExtensions).toEqual({ idmap: { enabled: true } });
    expect(f["mountOptions"]).toEqual(expect.arrayContaining(["rro", "idmap", "ridmap"]));
  });

  test("the recursive options and idmapped mounts are listed only when the kernel has mount_setattr", async () => {
    const f = features(await hostSeccompSupport(), { setattr: false }) as {
      mountOptions: string[];
      linux: { mountExtensions: unknown };
    };
    expect(f.mountOptions).not.toContain("rro");
    expect(f.mountOptions).not.toContain("idmap");
    expect(f.mountOptions).toContain("ro");
    expect(f.linux.mountExtensions).toEqual({ idmap: { enabled: false } });
  });

  test("every mount option it lists is one the planner accepts as a flag, not as filesystem data", async () => {
    const f = features(await hostSeccompSupport());
    for (const o of f["mountOptions"] as string[]) expect(parseMountOptions([o]).data).toEqual([]);
  });

  test("every seccomp action and operator it lists compiles", async () => {
    const f = features(await hostSeccompSupport()) as { linux: { seccomp: { actions: string[] } } };
    const base = defaultSeccompProfile();
    for (const action of f.linux.seccomp.actions) {
      const rule = { names: ["getpid"], action, errnoRet: undefined, args: [] };
      const profile = {
        ...base,
        defaultAction: "SCMP_ACT_ALLOW",
        listenerPath: "/run/agent.sock",
        syscalls: [rule],
      } as typeof base;
      expect(compileSeccomp(profile).bpf.length).toBeGreaterThan(0);
    }
  });

  test("every seccomp action of the runtime-spec is listed, SCMP_ACT_NOTIFY included", async () => {
    const f = features(await hostSeccompSupport()) as { linux: { seccomp: { actions: string[] } } };
    expect(f.linux.seccomp.actions).toEqual([...SECCOMP_ACTIONS]);
    expect(f.linux.seccomp.actions).toContain("SCMP_ACT_NOTIFY");
  });

  test("without libseccomp, seccomp is reported disabled with no architectures", () => {
    const f = features({ version: undefined, knowsArch: () => true }) as {
      linux: { seccomp: { enabled: boolean; archs: string[] } };
    };
    expect(f.linux.seccomp.enabled).toBe(false);
    expect(f.linux.seccomp.archs).toEqual([]);
  });
});
