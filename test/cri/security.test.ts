// Security contexts through the CRI under the runc and leopard handlers: containerd writes the
// OCI config (ids, capabilities, seccomp profiles, masked and read-only paths) and the runtime
// must apply it as runc does. Each container's PID 1 is read from /proc/1/status by ExecSync.
import { describe, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ContainerSecurityContext } from "./client.ts";
import { CONTAINERD, RUNC } from "./env.ts";
import { container, criSuite, out, removePod, runPod, sh } from "./harness.ts";

// kubelet's defaults (DefaultProcMount) for a container that is not privileged.
const MASKED = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
];
const READONLY = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
const STATUS = "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/1/status | tr -s '\\t ' ' '";
/**
 * A masked file is /dev/null (a character device), a masked directory an empty read-only tmpfs;
 * a read-only path is a read-only mount of its own.
 */
const PATHS = [
  "stat -c '%n %F' /proc/keys /proc/timer_list",
  "echo /sys/firmware entries: $(ls /sys/firmware | wc -l)",
  "grep -E ' /proc/(sys|bus) ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1",
  // The pod's own UTS namespace's domainname, written back unchanged.
  "echo /proc/sys writable: $(cat /proc/sys/kernel/domainname 2>/dev/null > /proc/sys/kernel/domainname && echo yes || echo no)",
].join("; ");
/** This host's bounding set: a privileged container gets all of it. */
const HOST_BOUNDING = /CapBnd:\s*(\S+)/.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "";

describe.skipIf(!CONTAINERD || !RUNC)("CRI: security contexts under the runc and leopard handlers", () => {
  const suite = criSuite("CRI security");

  /** One pod (privileged allowed), a container per context, the probe's answer for each. */
  async function contexts(
    h: "runc" | "leopard",
    ctxs: Record<string, ContainerSecurityContext>,
    probe: string,
  ) {
    const env = suite.env();
    const pod = await runPod(env, h, "sec", { linux: { security_context: { privileged: true } } });
    const result: Record<string, string> = {};
    for (const [name, security_context] of Object.entries(ctxs)) {
      const id = await container(env, pod, {
        metadata: { name },
        image: { image: env.images.busybox },
        command: ["sleep", "1000"],
        linux: { security_context },
      });
      result[name] = await out(env.cri, id, probe);
    }
    return { ...result, left: (await removePod(env, pod)).join(", ") };
  }

  test("runAsUser, runAsGroup and supplementalGroups; a read-only root filesystem", async () => {
    await suite.both(
      "ids, read-only root",
      {
        ids: "Uid: 1000 1000 1000 1000\nGid: 2000 2000 2000 2000\nGroups: 2000 3000 4000",
        readonly: "touch: /probe: Read-only file system\nwritable volume: yes",
        left: "",
      },
      async (h) => {
        const env = suite.env();
        const pod = await runPod(env, h, "ids");
        const image = { image: env.images.busybox };
        const ids = await container(env, pod, {
          metadata: { name: "ids" },
          image,
          command: ["sleep", "1000"],
          linux: {
            security_context: {
              run_as_user: { value: 1000 },
              run_as_group: { value: 2000 },
              supplemental_groups: [3000, 4000],
            },
          },
        });
        const ro = await container(env, pod, {
          metadata: { name: "ro" },
          image,
          command: ["sleep", "1000"],
          linux: { security_context: { readonly_rootfs: true } },
        });
        const touch = await sh(env.cri, ro, "touch /probe");
        return {
          ids: await out(
            env.cri,
            ids,
            "grep -E '^(Uid|Gid|Groups):' /proc/1/status | tr -s '\\t ' ' ' | sed 's/ $//'",
          ),
          readonly: `${touch.err.trim()}\nwritable volume: ${await out(env.cri, ro, "touch /dev/shm/probe && echo yes")}`,
          left: (await removePod(env, pod)).join(", "),
        };
      },
    );
  });

  test("capabilities add/drop, NoNewPrivs, privileged, and the masked and read-only paths (absent when privileged)", async () => {
    await suite.both<Record<string, string>>(
      "capabilities, privileged, paths",
      {
        default: [
          "CapEff: 00000000a80425fb",
          "CapBnd: 00000000a80425fb",
          "NoNewPrivs: 0",
          "Seccomp: 0",
          "/proc/keys character special file",
          "/proc/timer_list character special file",
          "/sys/firmware entries: 0",
          "/proc/bus ro",
          "/proc/sys ro",
          "/proc/sys writable: no",
        ].join("\n"),
        // + NET_ADMIN, SYS_TIME; - CHOWN, KILL
        caps: [
          "CapEff: 00000000aa0435da",
          "CapBnd: 00000000aa0435da",
          "NoNewPrivs: 1",
          "Seccomp: 0",
          "/proc/keys character special file",
          "/proc/timer_list character special file",
          "/sys/firmware entries: 0",
          "/proc/bus ro",
          "/proc/sys ro",
          "/proc/sys writable: no",
        ].join("\n"),
        privileged: [
          `CapEff: ${HOST_BOUNDING}`,
          `CapBnd: ${HOST_BOUNDING}`,
          "NoNewPrivs: 0",
          "Seccomp: 0",
          "/proc/keys regular empty file",
          "/proc/timer_list regular empty file",
          `/sys/firmware entries: ${readdirSync("/sys/firmware").length}`,
          "/proc/sys writable: yes",
        ].join("\n"),
        left: "",
      },
      (h) =>
        contexts(
          h,
          {
            default: { masked_paths: MASKED, readonly_paths: READONLY },
            caps: {
              capabilities: {
                add_capabilities: ["NET_ADMIN", "SYS_TIME"],
                drop_capabilities: ["CHOWN", "KILL"],
              },
              no_new_privs: true,
              masked_paths: MASKED,
              readonly_paths: READONLY,
            },
            privileged: { privileged: true, masked_paths: MASKED, readonly_paths: READONLY },
          },
          `${STATUS}; ${PATHS}`,
        ),
    );
  });

  test("seccomp RuntimeDefault, Unconfined and Localhost", async () => {
    const profile = join(suite.env().dir, "no-mkdir.json");
    writeFileSync(
      profile,
      JSON.stringify({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
      }),
    );
    await suite.both<Record<string, string>>(
      "seccomp",
      {
        runtimeDefault: "Seccomp: 2\nSeccomp_filters: 1\nmkdir 0",
        unconfined: "Seccomp: 0\nSeccomp_filters: 0\nmkdir 0",
        localhost:
          "Seccomp: 2\nSeccomp_filters: 1\nmkdir: can't create directory '/tmp/d': Operation not permitted\nmkdir 1",
        left: "",
      },
      (h) =>
        contexts(
          h,
          {
            runtimeDefault: { seccomp: { profile_type: "RuntimeDefault" } },
            unconfined: { seccomp: { profile_type: "Unconfined" } },
            localhost: { seccomp: { profile_type: "Localhost", localhost_ref: profile } },
          },
          "grep -E '^Seccomp' /proc/1/status | tr -s '\\t ' ' '; mkdir /tmp/d 2>&1; echo mkdir $?",
        ),
    );
  });
});
