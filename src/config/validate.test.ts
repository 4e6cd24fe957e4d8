import { describe, expect, test } from "bun:test";
import { LeopardError } from "../util/errors.ts";
import { defaultSpec } from "./defaults.ts";
import { SpecError } from "./errors.ts";
import { RLIM_INFINITY } from "./rlimits.ts";
import { BUNDLE, config, NO_UTS, type Row, rejection, USERNS } from "./testing.ts";
import { validateSpec } from "./validate.ts";

// One row per mistake at the top level; the sections have their own validate-*.test.ts.
const ROWS: Row[] = [
  ["the document is not an object", [], "config.json: must hold a JSON object"],
  ["ociVersion is missing", config({ ociVersion: undefined }), "config.json: ociVersion must be set"],
  ["ociVersion is not a string", config({ ociVersion: 1 }), "config.json: ociVersion must be a string"],
  [
    "ociVersion is not semver",
    config({ ociVersion: "0.1" }),
    'config.json: ociVersion "0.1" is not supported (need 1.0.0 or later)',
  ],
  [
    "ociVersion is a pre-1.0 release candidate",
    config({ ociVersion: "1.0.0-rc5" }),
    'config.json: ociVersion "1.0.0-rc5" is not supported (need 1.0.0 or later)',
  ],
  [
    "ociVersion is a future major",
    config({ ociVersion: "2.0.0" }),
    'config.json: ociVersion "2.0.0" is not supported (need 1.x)',
  ],
  ["root is missing", config({ root: undefined }), "config.json: root must be set"],
  ["root.path is empty", config({ "root.path": "" }), "config.json: root.path must not be empty"],
  [
    "root.readonly is not a boolean",
    config({ "root.readonly": "yes" }),
    "config.json: root.readonly must be true or false",
  ],
  ["process is missing", config({ process: undefined }), "config.json: process must be set"],
  ["process is not an object", config({ process: "sh" }), "config.json: process must be an object"],
  ["hostname is a number", config({ hostname: 5 }), "config.json: hostname must be a string"],
  [
    "hostname is too long",
    config({ hostname: "h".repeat(65) }),
    `config.json: hostname "${"h".repeat(65)}" is longer than 64 bytes`,
  ],
  [
    "an annotation is a number",
    config({ annotations: { a: 1 } }),
    'config.json: annotations["a"] must be a string',
  ],
  [
    "an annotation key is empty",
    config({ annotations: { "": "x" } }),
    "config.json: annotations has an empty key",
  ],
];

describe("validateSpec refuses", () => {
  test.each(ROWS)("%s", (_what, raw, message) => {
    expect(rejection(raw)).toBe(message);
  });
});

describe("validateSpec errors", () => {
  test("carry the stable code invalid-spec and the field path", () => {
    let caught: unknown;
    try {
      validateSpec(config({ "linux.namespaces[2].type": "foo" }), { bundle: BUNDLE });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SpecError);
    expect(caught).toBeInstanceOf(LeopardError);
    expect((caught as SpecError).code).toBe("invalid-spec");
    expect((caught as SpecError).field).toBe("linux.namespaces[2].type");
  });

  test("a relative bundle is the caller's mistake, not the config's", () => {
    expect(() => validateSpec(defaultSpec(), { bundle: "bundles/c1" })).toThrow(
      expect.objectContaining({
        code: "invalid-argument",
        message: 'bundle "bundles/c1" must be an absolute path',
      }),
    );
  });
});

describe("validateSpec accepts", () => {
  test("runc's default spec, filling in every default", () => {
    const spec = validateSpec(defaultSpec(), { bundle: BUNDLE });
    expect(spec.ociVersion).toBe("1.2.0");
    expect(spec.bundle).toBe(BUNDLE);
    expect(spec.root).toEqual({ path: "/run/bundles/c1/rootfs", readonly: true });
    expect(spec.hostname).toBe("runc");
    expect(spec.domainname).toBeUndefined();
    expect(spec.process).toEqual({
      terminal: true,
      consoleSize: undefined,
      user: { uid: 0, gid: 0, umask: undefined, additionalGids: [], username: undefined },
      args: ["sh"],
      commandLine: undefined,
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        effective: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        inheritable: [],
        permitted: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        ambient: ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", soft: 1024n, hard: 1024n }],
      noNewPrivileges: true,
      apparmorProfile: undefined,
      oomScoreAdj: undefined,
      selinuxLabel: undefined,
      ioPriority: undefined,
      scheduler: undefined,
      execCPUAffinity: undefined,
    });
    expect(spec.mounts).toHaveLength(7);
    expect(spec.mounts[0]).toEqual({
      destination: "/proc",
      source: "proc",
      type: "proc",
      options: [],
      uidMappings: [],
      gidMappings: [],
    });
    expect(spec.hooks).toEqual({
      prestart: [],
      createRuntime: [],
      createContainer: [],
      startContainer: [],
      poststart: [],
      poststop: [],
    });
    expect(spec.annotations).toEqual({});
    expect(spec.linux.namespaces).toEqual([
      { type: "pid", path: undefined },
      { type: "network", path: undefined },
      { type: "ipc", path: undefined },
      { type: "uts", path: undefined },
      { type: "mount", path: undefined },
    ]);
    expect(spec.linux.resources).toEqual({
      devices: [{ allow: false, type: "a", major: undefined, minor: undefined, access: "rwm" }],
      other: {},
    });
    expect(spec.linux.maskedPaths).toContain("/proc/kcore");
    expect(spec.linux.readonlyPaths).toContain("/proc/sys");
    expect(spec.linux.uidMappings).toEqual([]);
    expect(spec.linux.sysctl).toEqual({});
    expect(spec.linux.seccomp).toBeUndefined();
  });

  test("runc's rootless default spec", () => {
    const spec = validateSpec(defaultSpec({ rootless: true, hostUid: 1000, hostGid: 1000 }), {
      bundle: BUNDLE,
    });
    expect(spec.linux.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux.namespaces.map((n) => n.type)).toEqual(["pid", "ipc", "uts", "mount", "user"]);
    expect(spec.linux.resources).toBeUndefined();
  });

  test("the smallest config: ociVersion, root, process with user, args and cwd, a mount namespace", () => {
    const spec = validateSpec(
      {
        ociVersion: "1.0.0",
        root: { path: "/srv/rootfs" },
        process: { user: { uid: 1000, gid: 1000 }, args: ["/bin/true"], cwd: "/" },
        linux: { namespaces: [{ type: "mount" }] },
      },
      { bundle: BUNDLE },
    );
    expect(spec.root).toEqual({ path: "/srv/rootfs", readonly: false });
    expect(spec.process.capabilities.bounding).toEqual([]);
    expect(spec.process.terminal).toBe(false);
    expect(spec.process.env).toEqual([]);
    expect(spec.mounts).toEqual([]);
  });

  test("unknown keys anywhere, as the runtime-spec requires", () => {
    const spec = validateSpec(
      config({
        vendorExtension: { a: 1 },
        "process.futureField": true,
        "linux.memoryPolicy": { mode: "MPOL_BIND" },
      }),
      { bundle: BUNDLE },
    );
    expect(spec.process.args).toEqual(["sh"]);
  });

  test("null as absent, as Go's encoding/json reads it", () => {
    const spec = validateSpec(config({ hostname: null, "process.rlimits": null, "linux.seccomp": null }), {
      bundle: BUNDLE,
    });
    expect(spec.hostname).toBeUndefined();
    expect(spec.process.rlimits).toEqual([]);
    expect(spec.linux.seccomp).toBeUndefined();
  });

  test("18446744073709551615 as RLIM_INFINITY, exactly", () => {
    const raw = JSON.parse(
      JSON.stringify(config())
        .replace('"hard":1024', '"hard":18446744073709551615')
        .replace('"soft":1024', '"soft":18446744073709551615'),
    );
    const spec = validateSpec(raw, { bundle: BUNDLE });
    expect(spec.process.rlimits[0]).toEqual({
      type: "RLIMIT_NOFILE",
      soft: RLIM_INFINITY,
      hard: RLIM_INFINITY,
    });
  });

  test("a relative bind source resolved against the bundle, other sources as written", () => {
    const spec = validateSpec(
      config({
        "mounts[7]": { destination: "/data", type: "bind", source: "data", options: ["rbind", "ro"] },
        "mounts[8]": { destination: "/mnt", type: "tmpfs", source: "tmpfs" },
      }),
      { bundle: BUNDLE },
    );
    expect(spec.mounts[7]?.source).toBe("/run/bundles/c1/data");
    expect(spec.mounts[8]?.source).toBe("tmpfs");
  });

  test("an absolute root.path, normalized", () => {
    const spec = validateSpec(config({ "root.path": "/srv/../srv/rootfs/" }), { bundle: "/b/" });
    expect(spec.root.path).toBe("/srv/rootfs");
    expect(spec.bundle).toBe("/b");
  });

  test("an empty hostname without a uts namespace, as not set", () => {
    const spec = validateSpec(config({ ...NO_UTS, hostname: "" }), { bundle: BUNDLE });
    expect(spec.hostname).toBeUndefined();
  });

  test("a hostname with a joined uts namespace (a pod's)", () => {
    const spec = validateSpec(config({ "linux.namespaces[3].path": "/proc/42/ns/uts" }), { bundle: BUNDLE });
    expect(spec.hostname).toBe("runc");
  });

  test("a joined user namespace, with or without the maps it has", () => {
    const joined = { "linux.namespaces[5]": { type: "user", path: "/proc/42/ns/user" } };
    expect(validateSpec(config(joined), { bundle: BUNDLE }).linux.uidMappings).toEqual([]);
    const both = validateSpec(config({ ...USERNS, ...joined }), { bundle: BUNDLE });
    expect(both.linux.uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
  });

  test("a created user namespace mapping the process's ids but not root", () => {
    const spec = validateSpec(
      config({
        ...USERNS,
        "linux.uidMappings": [{ containerID: 1000, hostID: 1000, size: 1 }],
        "linux.gidMappings": [{ containerID: 1000, hostID: 1000, size: 1 }],
        "process.user": { uid: 1000, gid: 1000 },
      }),
      { bundle: BUNDLE },
    );
    expect(spec.process.user.uid).toBe(1000);
  });

  test("namespaced sysctls", () => {
    const sysctl = {
      "net.ipv4.ip_forward": "1",
      "net/ipv4/conf/eth0.100/rp_filter": "0",
      "kernel.shmmax": "1000",
      "fs.mqueue.msg_max": "10",
      "kernel.domainname": "example.org",
    };
    expect(validateSpec(config({ "linux.sysctl": sysctl }), { bundle: BUNDLE }).linux.sysctl).toEqual(sysctl);
  });

  test("devices: file type bits stripped from fileMode, a FIFO without numbers", () => {
    const spec = validateSpec(
      config({
        "linux.devices": [
          { type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o20666, uid: 0, gid: 0 },
          { type: "p", path: "/run/fifo" },
        ],
      }),
      { bundle: BUNDLE },
    );
    expect(spec.linux.devices).toEqual([
      { type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 },
      {
        type: "p",
        path: "/run/fifo",
        major: 0,
        minor: 0,
        fileMode: undefined,
        uid: undefined,
        gid: undefined,
      },
    ]);
  });

  test("device rules with -1 as any, and other resources passed through", () => {
    const spec = validateSpec(
      config({
        "linux.resources": {
          devices: [{ allow: true, type: "c", major: 136, minor: -1, access: "rwm" }],
          memory: { limit: 1 << 20 },
          pids: { limit: 100 },
        },
      }),
      { bundle: BUNDLE },
    );
    expect(spec.linux.resources).toEqual({
      devices: [{ allow: true, type: "c", major: 136, minor: undefined, access: "rwm" }],
      other: { memory: { limit: 1 << 20 }, pids: { limit: 100 } },
    });
  });

  test("time offsets for a new time namespace", () => {
    const spec = validateSpec(
      config({
        "linux.namespaces[5]": { type: "time" },
        "linux.timeOffsets": { boottime: { secs: -5, nanosecs: 7 } },
      }),
      { bundle: BUNDLE },
    );
    expect(spec.linux.timeOffsets).toEqual({ boottime: { secs: -5, nanosecs: 7 } });
  });

  test("a seccomp profile, with 64-bit argument values", () => {
    const spec = validateSpec(
      config({
        "linux.seccomp": {
          defaultAction: "SCMP_ACT_ERRNO",
          defaultErrnoRet: 1,
          architectures: ["SCMP_ARCH_X86_64"],
          flags: ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
          syscalls: [
            { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
            {
              names: ["personality"],
              action: "SCMP_ACT_ALLOW",
              args: [{ index: 0, value: 4294967295, op: "SCMP_CMP_EQ" }],
            },
          ],
        },
      }),
      { bundle: BUNDLE },
    );
    expect(spec.linux.seccomp?.syscalls[1]?.args).toEqual([
      { index: 0, value: 4294967295n, valueTwo: 0n, op: "SCMP_CMP_EQ" },
    ]);
    expect(spec.linux.seccomp?.defaultErrnoRet).toBe(1);
  });

  test("hooks with their defaults", () => {
    const spec = validateSpec(config({ hooks: { poststart: [{ path: "/bin/hook", timeout: 5 }] } }), {
      bundle: BUNDLE,
    });
    expect(spec.hooks.poststart).toEqual([{ path: "/bin/hook", args: [], env: [], timeout: 5 }]);
    expect(spec.hooks.prestart).toEqual([]);
  });

  test("without changing the document it was given", () => {
    const raw = config();
    const before = JSON.stringify(raw);
    validateSpec(raw, { bundle: BUNDLE });
    expect(JSON.stringify(raw)).toBe(before);
  });
});
