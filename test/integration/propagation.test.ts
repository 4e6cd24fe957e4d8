// Mount propagation as runc leaves it: linux.rootfsPropagation and a bind mount's own rshared /
// rslave / rprivate decide how the container's root and volumes relate to the host's peer
// groups (mountinfo's shared:N / master:N). Kubernetes' Bidirectional volumes (rshared) need a
// mount made inside to reach the host; HostToContainer (rslave) needs the reverse.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Bundle, bundle, oci, rootfs, trackBundles, until } from "./harness.ts";

const use = trackBundles();
const runc = Bun.which("runc");
type Json = Record<string, unknown>;

/** A host directory that is a shared mount of its own (its peer group is the volume's "host" group). */
let vol = "";
let hostGroup = "";
beforeAll(() => {
  vol = mkdtempSync(join(tmpdir(), "leopard-prop-"));
  for (const args of [
    ["mount", "--bind", vol, vol],
    ["mount", "--make-private", vol],
    ["mount", "--make-shared", vol],
  ]) {
    const r = Bun.spawnSync(args, { stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`${args.join(" ")}: ${r.stderr.toString()}`);
  }
  hostGroup =
    optional(readFileSync("/proc/self/mountinfo", "utf8"), vol).find((f) => f.startsWith("shared:")) ?? "";
  expect(hostGroup).toMatch(/^shared:\d+$/);
});
afterAll(() => {
  Bun.spawnSync(["umount", "-R", vol]);
  rmSync(vol, { recursive: true, force: true });
});

/** The optional fields of the mount at `target` in a mountinfo text. */
function optional(mountinfo: string, target: string): string[] {
  const line = mountinfo
    .split("\n")
    .map((l) => l.split(" "))
    .findLast((f) => f[4] === target);
  if (!line) return ["<no mount>"];
  const end = line.indexOf("-");
  return line.slice(6, end);
}

/** Peer group numbers that are the host volume's become HOST; others are just "new". */
function relations(fields: string[]): string {
  const n = hostGroup.slice("shared:".length);
  return fields
    .map((f) =>
      f.replace(
        /^(shared|master|propagate_from):(\d+)$/,
        (_m, k: string, id: string) => `${k}:${id === n ? "HOST" : "new"}`,
      ),
    )
    .join(" ");
}

function propagationBundle(
  rootProp: string | undefined,
  volOpt: string | undefined,
  args: string[],
  rootPath?: string,
): Bundle {
  return bundle({
    args,
    edit: (c) => {
      if (rootPath !== undefined) (c["root"] as Json)["path"] = rootPath;
      const linux = c["linux"] as Json;
      if (rootProp !== undefined) linux["rootfsPropagation"] = rootProp;
      (c["mounts"] as Json[]).push({
        destination: "/mnt",
        type: "bind",
        source: vol,
        options: ["rbind", ...(volOpt ? [volOpt] : [])],
      });
      // Mounting inside needs CAP_SYS_ADMIN.
      const caps = (c["process"] as Json)["capabilities"] as Record<string, string[]>;
      for (const set of ["bounding", "effective", "permitted"])
        caps[set] = [...(caps[set] ?? []), "CAP_SYS_ADMIN"];
    },
  });
}

const SHOW = ["/bin/sh", "-c", "cat /proc/self/mountinfo"];

function relationsUnder(
  run: (b: Bundle) => string,
  rootProp: string | undefined,
  volOpt: string | undefined,
  rootPath?: string,
) {
  const out = run(use(propagationBundle(rootProp, volOpt, SHOW, rootPath)));
  return { root: relations(optional(out, "/")), volume: relations(optional(out, "/mnt")) };
}

const leopard = (b: Bundle): string => {
  const r = oci(b, ["run", "c1"]);
  if (r.code !== 0) throw new Error(`leopard-oci run: ${r.stderr}`);
  return r.stdout;
};
const reference = (b: Bundle): string => {
  const r = Bun.spawnSync(
    [runc ?? "runc", "--root", join(b.dir, "runc-state"), "run", "-b", b.dir, `prop-${process.pid}`],
    {
      env: process.env,
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  if (r.exitCode !== 0) throw new Error(`runc run: ${r.stderr.toString()}`);
  return r.stdout.toString();
};

const ROOT_PROPS = [undefined, "private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable"];
const VOLUME_OPTS = [undefined, "rshared", "rslave", "rprivate"];

describe.skipIf(runc === null)("mount propagation matches runc's", () => {
  test.each(
    ROOT_PROPS.flatMap((r) => VOLUME_OPTS.map((v) => [r ?? "(unset)", v ?? "(none)"])),
  )("rootfsPropagation %s, volume option %s", (r, v) => {
    const rootProp = r === "(unset)" ? undefined : r;
    const volOpt = v === "(none)" ? undefined : v;
    const ours = relationsUnder(leopard, rootProp, volOpt);
    // leopard's own expectation for the volume: rprivate is cut off from the host; unless the
    // whole table was made private first, rslave receives from the host's peer group and
    // rshared stays in it.
    // Under the default rslave the volume is a slave of the host's group first, so rshared adds
    // a new group of its own to that.
    const cutOff = rootProp === "rprivate";
    const slaved = rootProp === undefined || rootProp === "rslave" || rootProp === "unbindable";
    if (volOpt === "rprivate") expect(ours.volume).toBe("");
    if (volOpt === "rslave") expect(ours.volume).toBe(cutOff ? "" : "master:HOST");
    if (volOpt === "rshared")
      expect(ours.volume).toBe(cutOff ? "shared:new" : slaved ? "shared:new master:HOST" : "shared:HOST");
    if (rootProp === "unbindable") {
      // runc cannot bind the rootfs from an unbindable mount ("invalid argument"): leopard
      // makes the new root unbindable once it is in place, and volumes are as under rslave.
      expect(ours.root).toBe("unbindable");
      expect(ours.volume).toBe(relationsUnder(reference, "rslave", volOpt).volume);
      return;
    }
    expect(ours).toEqual(relationsUnder(reference, rootProp, volOpt));
  });
});

describe.skipIf(runc === null)(
  "a root filesystem on a shared mount of its own (containerd's overlay under a shared /run)",
  () => {
    let root = "";
    beforeAll(() => {
      root = mkdtempSync(join(tmpdir(), "leopard-prop-root-"));
      for (const args of [
        ["mount", "--rbind", rootfs(0), root],
        ["mount", "--make-rshared", root],
      ])
        expect(Bun.spawnSync(args).exitCode).toBe(0);
    });
    afterAll(() => {
      Bun.spawnSync(["umount", "-R", root]);
      rmSync(root, { recursive: true, force: true });
    });
    const hostMountsUnder = (dir: string) =>
      readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter((l) => l.split(" ")[4]?.startsWith(`${dir}/`)).length;

    test.each([
      ["(unset)"],
      ["rshared"],
      ["shared"],
      ["private"],
      ["rprivate"],
    ])("rootfsPropagation %s: the same relations as runc, and nothing reaches the host's rootfs mount", (r) => {
      const rootProp = r === "(unset)" ? undefined : r;
      const before = hostMountsUnder(root);
      const ours = relationsUnder(leopard, rootProp, "rshared", root);
      expect(hostMountsUnder(root)).toBe(before);
      // The new root never sends to the host (at most a slave of it): the rootfs's own mount was
      // made private before the rootfs was bound, whenever it was shared.
      expect(ours.root).not.toContain("shared:");
      expect(ours).toEqual(relationsUnder(reference, rootProp, "rshared", root));
    });
  },
);

describe("propagation end to end", () => {
  test("Bidirectional: a mount made inside an rshared volume appears on the host", async () => {
    mkdirSync(join(vol, "inside"), { recursive: true });
    const b = use(
      propagationBundle("rshared", "rshared", [
        "/bin/sh",
        "-c",
        "mount -t tmpfs made-inside /mnt/inside && sleep 30",
      ]),
    );
    expect(oci(b, ["create", "c1"]).code).toBe(0);
    expect(oci(b, ["start", "c1"]).code).toBe(0);
    try {
      await until(() => readFileSync("/proc/self/mountinfo", "utf8").includes(` ${join(vol, "inside")} `));
      expect(readFileSync("/proc/self/mounts", "utf8")).toContain(`made-inside ${join(vol, "inside")} tmpfs`);
    } finally {
      oci(b, ["delete", "--force", "c1"]);
      Bun.spawnSync(["umount", join(vol, "inside")]);
    }
  });

  test("HostToContainer: a mount made on the host appears inside an rslave volume", async () => {
    mkdirSync(join(vol, "from-host"), { recursive: true });
    const b = use(
      propagationBundle(undefined, "rslave", [
        "/bin/sh",
        "-c",
        "until grep -q ' /mnt/from-host ' /proc/self/mountinfo; do sleep 0.1; done; echo seen",
      ]),
    );
    expect(oci(b, ["create", "c1"]).code).toBe(0);
    expect(oci(b, ["start", "c1"]).code).toBe(0);
    try {
      expect(Bun.spawnSync(["mount", "-t", "tmpfs", "made-on-host", join(vol, "from-host")]).exitCode).toBe(
        0,
      );
      await until(() => oci(b, ["state", "c1"]).stdout.includes('"stopped"'));
    } finally {
      oci(b, ["delete", "--force", "c1"]);
      Bun.spawnSync(["umount", join(vol, "from-host")]);
    }
  });
});
