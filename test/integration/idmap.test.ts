// Idmapped bind mounts (uidMappings/gidMappings, "idmap", "ridmap") and the recursive mount
// options ("rro"), on the real kernel, as root. The recursive read-only case is compared with runc.
import { afterEach, describe, expect, test } from "bun:test";
import { chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bundle, bundle, CGROUP_PARENT, oci, trackBundles } from "./harness.ts";

type Json = Record<string, unknown>;
const use = trackBundles();
const dirs: string[] = [];
const submounts: string[] = [];
afterEach(() => {
  for (const m of submounts.splice(0)) Bun.spawnSync(["umount", "-l", m]);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const sh = (script: string) => ["/bin/sh", "-c", script];
const one = (n: number) => [{ containerID: n, hostID: 100000, size: 1 }];

/** A host directory owned by 1000:1000 (or owner) holding "top", and "sub": a tmpfs with "f" (or proc). */
function hostTree(opts: { submount?: "tmpfs" | "proc"; owner?: number } = {}): string {
  const owner = opts.owner ?? 1000;
  const d = mkdtempSync(join(tmpdir(), "leopard-idmap-"));
  dirs.push(d);
  chownSync(d, owner, owner);
  writeFileSync(join(d, "top"), "");
  chownSync(join(d, "top"), owner, owner);
  mkdirSync(join(d, "sub"));
  if (opts.submount) {
    const r = Bun.spawnSync(["mount", "-t", opts.submount, opts.submount, join(d, "sub")]);
    if (r.exitCode !== 0) throw new Error(`mount ${opts.submount}: ${r.stderr.toString()}`);
    submounts.push(join(d, "sub"));
    if (opts.submount === "tmpfs") {
      chownSync(join(d, "sub"), owner, owner);
      writeFileSync(join(d, "sub/f"), "");
      chownSync(join(d, "sub/f"), owner, owner);
    }
  }
  return d;
}

function withMount(b: Bundle, m: Json): Bundle {
  (b.config["mounts"] as Json[]).push(m);
  b.write();
  return b;
}

describe("idmapped mounts", () => {
  test("a host directory owned by uid 1000 appears owned by the mapped uid, and new files land as 1000 on the host", () => {
    const d = hostTree();
    const b = use(
      bundle({
        userns: true,
        args: sh(
          "stat -c %u:%g /mnt /mnt/top; touch /mnt/new; stat -c %u:%g /mnt/new; grep -c idmapped /proc/self/mountinfo",
        ),
      }),
    );
    withMount(b, {
      destination: "/mnt",
      type: "bind",
      source: d,
      options: ["bind", "idmap"],
      uidMappings: one(1000),
      gidMappings: one(1000),
    });
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    // 1000 on disk → 100000 through the mount → 0 in the container's user namespace (0 → 100000).
    expect(r.stdout).toBe("0:0\n0:0\n0:0\n1\n");
    const st = statSync(join(d, "new"));
    expect([st.uid, st.gid]).toEqual([1000, 1000]);
    expect(r.code).toBe(0);
  });

  test("without a user namespace the mount's own maps still apply", () => {
    const d = hostTree();
    const b = use(bundle({ args: sh("stat -c %u:%g /mnt/top; touch /mnt/new") }));
    withMount(b, {
      destination: "/mnt",
      source: d,
      options: ["rbind", "idmap"],
      uidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
      gidMappings: [{ containerID: 1000, hostID: 0, size: 1 }],
    });
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0:0\n");
    expect(statSync(join(d, "new")).uid).toBe(1000);
  });

  test('"idmap" without maps of its own takes the container\'s user namespace maps', () => {
    const d = mkdtempSync(join(tmpdir(), "leopard-idmap-"));
    dirs.push(d);
    const b = use(bundle({ userns: true, args: sh("stat -c %u:%g /mnt; touch /mnt/new") }));
    withMount(b, { destination: "/mnt", type: "bind", source: d, options: ["bind", "idmap"] });
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe("");
    // Host root's directory is the container root's; what it writes is host root's.
    expect(r.stdout).toBe("0:0\n");
    expect(statSync(join(d, "new")).uid).toBe(0);
  });

  test('"ridmap" maps the submounts of an rbind too, "idmap" only the mount itself', () => {
    const d = hostTree({ submount: "tmpfs" });
    const run = (opt: string): string => {
      const b = use(bundle({ userns: true, args: sh("stat -c %u /mnt/top /mnt/sub/f") }));
      withMount(b, {
        destination: "/mnt",
        type: "bind",
        source: d,
        options: ["rbind", opt],
        uidMappings: one(1000),
        gidMappings: one(1000),
      });
      const r = oci(b, ["run", "c1"]);
      expect(r.stderr).toBe("");
      return r.stdout;
    };
    expect(run("ridmap")).toBe("0\n0\n");
    // Unmapped: uid 1000 on the tmpfs is no id of the container's user namespace.
    expect(run("idmap")).toBe("0\n65534\n");
  });

  test("a filesystem the kernel refuses to idmap gives one line naming the mount and leaves nothing", () => {
    const b = use(bundle({ userns: true }));
    withMount(b, {
      destination: "/mnt",
      type: "bind",
      source: "/proc",
      options: ["rbind", "idmap"],
      uidMappings: one(0),
      gidMappings: one(0),
    });
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      'leopard-oci: run c1: idmapped mount "/mnt" of "/proc": the kernel refuses to idmap it (its filesystem does not support idmapped mounts)\n',
    );
  });

  test('"ridmap" over a submount that cannot be idmapped fails; "idmap" of the same tree works', () => {
    const d = hostTree({ submount: "proc" });
    const b = use(bundle({ userns: true, args: sh("stat -c %u /mnt/top") }));
    const mount = {
      destination: "/mnt",
      type: "bind",
      source: d,
      uidMappings: one(1000),
      gidMappings: one(1000),
    };
    withMount(b, { ...mount, options: ["rbind", "ridmap"] });
    const r = oci(b, ["run", "c1"]);
    expect(r.stderr).toBe(
      `leopard-oci: run c1: idmapped mount "/mnt" of "${d}": the kernel refuses to idmap it (its filesystem, or one mounted below it, does not support idmapped mounts)\n`,
    );
    (b.config["mounts"] as Json[]).pop();
    withMount(b, { ...mount, options: ["rbind", "idmap"] });
    const ok = oci(b, ["run", "c2"]);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toBe("0\n");
  });

  test("bad idmapped mounts are refused with one line, before anything is made", () => {
    const cases: [Json, boolean, string][] = [
      [
        { destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["idmap"] },
        true,
        'mounts[8].options has "idmap", which needs a bind mount ("bind" or "rbind" in options)',
      ],
      [
        { destination: "/mnt", type: "tmpfs", source: "tmpfs", uidMappings: one(0), gidMappings: one(0) },
        true,
        'mounts[8].uidMappings needs a bind mount ("bind" or "rbind" in options)',
      ],
      [
        { destination: "/mnt", source: "/tmp", options: ["rbind", "idmap"], uidMappings: one(0) },
        true,
        "mounts[8].gidMappings must be set when uidMappings is",
      ],
      [
        { destination: "/mnt", source: "/tmp", options: ["rbind", "idmap"] },
        false,
        'mounts[8] ("/mnt") has "idmap" but no uidMappings/gidMappings, and the container creates no user namespace whose maps it could use',
      ],
      [
        {
          destination: "/mnt",
          source: "/nonexistent-leopard",
          options: ["rbind", "idmap"],
          uidMappings: one(0),
          gidMappings: one(0),
        },
        true,
        'idmapped mount "/mnt" of "/nonexistent-leopard": the source does not exist',
      ],
    ];
    for (const [m, userns, message] of cases) {
      const b = use(bundle({ userns }));
      withMount(b, m);
      const r = oci(b, ["run", "c1"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  });
});

describe("recursive read-only (rro)", () => {
  const script = sh("touch /mnt/x 2>&1 || true; touch /mnt/sub/x 2>&1 || true; echo done");
  const runBoth = (options: string[]): { leopard: string; runc: string } => {
    // Owned by root: the default capabilities have no CAP_DAC_OVERRIDE.
    const d = hostTree({ submount: "tmpfs", owner: 0 });
    const b = use(bundle({ args: script }));
    withMount(b, { destination: "/mnt", type: "bind", source: d, options });
    const leopard = oci(b, ["run", "c1"]);
    expect(leopard.code).toBe(0);
    // The same bundle under runc, its cgroup beside ours under the test parent.
    (b.config["linux"] as Json)["cgroupsPath"] = `${CGROUP_PARENT}/runc-rro`;
    b.write();
    const r = Bun.spawnSync(["runc", "--root", `${b.dir}/runc-state`, "run", "r1"], {
      cwd: b.dir,
      env: process.env,
      stdin: "ignore",
    });
    expect(r.exitCode).toBe(0);
    return { leopard: leopard.stdout, runc: r.stdout.toString() };
  };

  test("rro makes the submounts of an rbind read-only too, as runc does", () => {
    const out = runBoth(["rbind", "rro"]);
    expect(out.leopard).toBe(
      "touch: /mnt/x: Read-only file system\ntouch: /mnt/sub/x: Read-only file system\ndone\n",
    );
    expect(out.runc).toBe(out.leopard);
  });

  test("plain ro on an rbind leaves the submounts writable, as runc does", () => {
    const out = runBoth(["rbind", "ro"]);
    expect(out.leopard).toBe("touch: /mnt/x: Read-only file system\ndone\n");
    expect(out.runc).toBe(out.leopard);
  });
});
