// Process attributes of config.json, each checked from the container's own process: the five
// capability sets, oomScoreAdj, sysctls, personality, I/O priority, scheduler, masked and
// read-only paths, and the LSM fields on a host that has neither AppArmor nor SELinux.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CAPABILITIES } from "../../src/config/capabilities.ts";
import { bundle, oci, readState, trackBundles } from "./harness.ts";

const use = trackBundles();
const sh = (script: string) => ["/bin/sh", "-c", script];
type Json = Record<string, unknown>;

const hex = (names: readonly string[]): string => {
  let m = 0n;
  for (const n of names) m |= 1n << BigInt(CAPABILITIES.indexOf(n));
  return m.toString(16).padStart(16, "0");
};

/** The Cap* lines of a /proc/<pid>/status as { CapInh: "000…", … }. */
const capLines = (status: string): Record<string, string> =>
  Object.fromEntries(
    status
      .split("\n")
      .filter((l) => l.startsWith("Cap"))
      .map((l) => l.split(/:\s+/) as [string, string]),
  );

const SETS = {
  bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETPCAP", "CAP_NET_RAW"],
  effective: ["CAP_CHOWN", "CAP_KILL"],
  permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
  inheritable: ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
  ambient: ["CAP_NET_BIND_SERVICE"],
};

describe("process attributes", () => {
  test("the five capability sets are exactly as configured before execve, and as the kernel derives them after", async () => {
    const b = use(
      bundle({
        args: sh("grep ^Cap /proc/self/status"),
        edit: (c) => {
          const p = c["process"] as Json;
          p["capabilities"] = SETS;
          p["user"] = { uid: 1000, gid: 1000 };
        },
      }),
    );
    expect(oci(b, ["create", "c1"]).code).toBe(0);
    // Created: init waits on the start FIFO with its credentials applied; read them from here.
    const pid = readState(b, "c1")["pid"] as number;
    const before = capLines(readFileSync(`/proc/${pid}/status`, "utf8"));
    expect(before).toEqual({
      CapInh: hex(SETS.inheritable),
      CapPrm: hex(SETS.permitted),
      CapEff: hex(SETS.effective),
      CapBnd: hex(SETS.bounding),
      CapAmb: hex(SETS.ambient),
    });
    expect(oci(b, ["start", "c1"]).code).toBe(0);
    expect(oci(b, ["delete", "--force", "c1"]).code).toBe(0);
    // After execve of a file without capabilities, a non-root process keeps only its ambient set.
    const r = oci(b, ["run", "c2"]);
    expect(r.stderr).toBe("");
    expect(capLines(r.stdout)).toEqual({
      CapInh: hex(SETS.inheritable),
      CapPrm: hex(SETS.ambient),
      CapEff: hex(SETS.ambient),
      CapBnd: hex(SETS.bounding),
      CapAmb: hex(SETS.ambient),
    });
  });

  test("an unknown capability name is refused at create with the field named", () => {
    const b = use(
      bundle({
        edit: (c) => {
          ((c["process"] as Json)["capabilities"] as Json)["bounding"] = ["CAP_CHOWN", "CAP_FLY"];
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("CAP_FLY");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("oomScoreAdj, sysctls, personality, ioPriority and scheduler reach the container's process", () => {
    const hostShmmax = readFileSync("/proc/sys/kernel/shmmax", "utf8");
    const hostPortStart = readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8");
    const b = use(
      bundle({
        args: sh(
          "cat /proc/self/oom_score_adj /proc/sys/kernel/shmmax /proc/sys/net/ipv4/ip_unprivileged_port_start; uname -m; ionice -p $$; cut -d' ' -f19,40,41 /proc/self/stat",
        ),
        edit: (c) => {
          const p = c["process"] as Json;
          p["oomScoreAdj"] = 321;
          p["ioPriority"] = { class: "IOPRIO_CLASS_RT", priority: 3 };
          p["scheduler"] = { policy: "SCHED_BATCH", nice: 7 };
          const l = c["linux"] as Json;
          l["sysctl"] = { "kernel.shmmax": "123456789", "net/ipv4/ip_unprivileged_port_start": "99" };
          l["personality"] = { domain: "LINUX32" };
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    const machine = process.arch === "x64" ? "i686" : process.arch === "arm64" ? "armv8l" : "";
    // /proc/<pid>/stat: nice (19), rt_priority (40), policy (41; SCHED_BATCH = 3).
    expect(r.stdout).toBe(`321\n123456789\n99\n${machine}\nrealtime: prio 3\n7 0 3\n`);
    // The host's values are untouched: both sysctls are per namespace.
    expect(readFileSync("/proc/sys/kernel/shmmax", "utf8")).toBe(hostShmmax);
    expect(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8")).toBe(hostPortStart);
  });

  test("noNewPrivileges, user.umask and rlimits (soft and hard each exact) reach the process", () => {
    const b = use(
      bundle({
        args: sh(
          "grep ^NoNewPrivs /proc/self/status; umask; grep -E '^Max (open files|core file size|processes)' /proc/self/limits",
        ),
        edit: (c) => {
          const p = c["process"] as Json;
          p["noNewPrivileges"] = true;
          p["user"] = { uid: 0, gid: 0, umask: 0o027 };
          p["rlimits"] = [
            { type: "RLIMIT_NOFILE", soft: 123, hard: 456 },
            { type: "RLIMIT_CORE", soft: 0, hard: 4096 },
            { type: "RLIMIT_NPROC", soft: 77, hard: 88 },
          ];
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout
      .trim()
      .split("\n")
      .map((l) => l.replace(/\s+/g, " ").trim());
    expect(lines).toEqual([
      "NoNewPrivs: 1",
      "0027",
      "Max core file size 0 4096 bytes",
      "Max processes 77 88 processes",
      "Max open files 123 456 files",
    ]);
  });

  test("a realtime scheduler policy with a priority is applied where the kernel allows it", () => {
    const b = use(
      bundle({
        args: sh("cut -d' ' -f40,41 /proc/self/stat"),
        edit: (c) => {
          (c["process"] as Json)["scheduler"] = { policy: "SCHED_FIFO", priority: 10 };
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    if (r.code !== 0) {
      // A cgroup without realtime runtime refuses it; the error names the step.
      expect(r.stderr).toMatch(/sched(_setattr)?: operation not permitted/);
      return;
    }
    expect(r.stdout).toBe("10 1\n");
  });

  test("a sysctl that is not namespaced is refused before anything is created", () => {
    const b = use(
      bundle({
        edit: (c) => {
          (c["linux"] as Json)["sysctl"] = { "kernel.panic": "1" };
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("kernel.panic");
    expect(r.stderr).toContain("not namespaced");
  });

  test("masked paths read empty and read-only paths refuse writes", () => {
    const b = use(
      bundle({
        args: sh(
          "for f in /proc/keys /proc/timer_list /proc/kcore; do [ -e $f ] && wc -c < $f; done; ls -A /proc/acpi | wc -l; (echo 1 > /proc/sys/kernel/shmmax) 2>/dev/null || echo sys-ro; if [ -e /proc/sysrq-trigger ]; then (echo h > /proc/sysrq-trigger) 2>/dev/null || echo sysrq-safe; else echo sysrq-safe; fi",
        ),
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(-3)).toEqual(["0", "sys-ro", "sysrq-safe"]);
    // Every masked file that exists on this kernel reads as zero bytes.
    for (const n of lines.slice(0, -3)) expect(n).toBe("0");
  });

  test("apparmorProfile on a host without AppArmor fails with one clear line, as runc does", () => {
    const b = use(
      bundle({
        edit: (c) => {
          (c["process"] as Json)["apparmorProfile"] = "docker-default";
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      'leopard-oci: run c1: process.apparmorProfile "docker-default" is set but AppArmor is not enabled on this host\n',
    );
  });

  test("selinuxLabel on a host without SELinux fails; a mountLabel alone is skipped with a warning", () => {
    const b = use(
      bundle({
        edit: (c) => {
          (c["process"] as Json)["selinuxLabel"] = "system_u:system_r:container_t:s0";
        },
      }),
    );
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("SELinux is disabled or not supported");
    const b2 = use(
      bundle({
        args: ["/bin/true"],
        edit: (c) => {
          (c["linux"] as Json)["mountLabel"] = "system_u:object_r:container_file_t:s0";
        },
      }),
    );
    const r2 = oci(b2, ["run", "c2"]);
    expect(r2.code).toBe(0);
    expect(r2.stderr).toContain(
      'warning: linux.mountLabel "system_u:object_r:container_file_t:s0" is ignored',
    );
  });
});
