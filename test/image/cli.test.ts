// The image verbs of the leopard CLI end to end, and archive interop with skopeo (the
// containers/image library podman uses): what leopard saves, skopeo reads; what skopeo writes,
// leopard loads.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { type TarEntry, tarBytes } from "../../src/image/tar-write.ts";
import { buildImage, leopardCmd, requireTools, run, skopeo, tempDir, writeLayout } from "./harness.ts";

const text = (s: string) => new TextEncoder().encode(s);
let work: string;
let storage: string;

const leopard = (...args: string[]) => run(leopardCmd(storage, ...args));

function ok(r: { code: number; out: string; err: string }): string {
  if (r.code !== 0) throw new Error(`leopard failed (${r.code}): ${r.err}`);
  return r.out;
}

beforeAll(() => {
  requireTools("skopeo", "gzip");
  work = tempDir("cli");
  storage = `${work}/storage`;
});

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

const rootfs: TarEntry[] = [
  { name: "etc", type: "dir" },
  { name: "etc/os-release", type: "file", data: text("ID=walkthrough\n") },
  { name: "bin", type: "dir" },
  { name: "bin/true", type: "file", data: text("#!/bin/sh\n"), mode: 0o755 },
];

describe("leopard image verbs", () => {
  test("import, images, tag, inspect, rmi and image prune work together", async () => {
    writeFileSync(`${work}/rootfs.tar`, await tarBytes(rootfs));
    expect(run(["gzip", "-k", `${work}/rootfs.tar`]).code).toBe(0);
    const id = ok(leopard("import", `${work}/rootfs.tar.gz`, "walk:1")).trim();
    expect(id).toMatch(/^sha256:[a-f0-9]{64}$/);
    ok(leopard("tag", "walk:1", "localhost:5000/walk:latest"));
    const list = ok(leopard("images"));
    expect(list).toContain("walk ");
    expect(list).toContain("localhost:5000/walk");
    expect(list).toContain(id.slice(7, 19));
    const inspect = JSON.parse(ok(leopard("inspect", id.slice(7, 19))));
    expect(inspect[0].RepoTags.sort()).toEqual(["localhost:5000/walk:latest", "walk:1"]);
    expect(inspect[0].Config.Cmd).toEqual(["/bin/sh"]);
    expect(ok(leopard("rmi", "walk:1"))).toBe("Untagged: walk:1\n");
    ok(leopard("rmi", "localhost:5000/walk"));
    expect(ok(leopard("images", "-q"))).toBe("");
    ok(leopard("import", `${work}/rootfs.tar`));
    expect(ok(leopard("image", "prune"))).toContain("Deleted: sha256:");
    expect(readdirSync(`${storage}/snapshots`)).toEqual([]);
    expect(readdirSync(`${storage}/blobs/sha256`)).toEqual([]);
  });

  test("import and load read a pipe on stdin", async () => {
    writeFileSync(`${work}/pipe.tar`, await tarBytes(rootfs));
    const dir = `${work}/pipe-store`;
    const imp = run([
      "sh",
      "-c",
      `cat ${work}/pipe.tar | "$0" "$@"`,
      ...leopardCmd(dir, "import", "-", "piped:1"),
    ]);
    expect(imp.err).toBe("");
    ok(run(leopardCmd(dir, "save", "-o", `${work}/piped.tar`, "piped:1")));
    const ld = run([
      "sh",
      "-c",
      `cat ${work}/piped.tar | "$0" "$@"`,
      ...leopardCmd(`${work}/pipe-store2`, "load"),
    ]);
    expect(ld.err).toBe("");
    expect(ld.out).toBe("Loaded image: piped:1\n");
  });

  test("errors name the thing and exit 1", () => {
    let r = leopard("inspect", "nosuch:image");
    expect(r.code).toBe(1);
    expect(r.err).toBe('leopard: inspect nosuch:image: image "nosuch:image" is not in the store\n');
    r = leopard("import", `${work}/missing.tar`);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`file "${work}/missing.tar" cannot be opened`);
    r = leopard("frobnicate");
    expect(r.err).toBe('leopard: unknown command "frobnicate"\n');
    r = leopard("pull", "Bad//Name");
    expect(r.err).toContain('image reference "Bad//Name" has an invalid repository name');
  });
});

describe("archive interop with podman", () => {
  test("leopard save loads in podman, and podman save loads in leopard", async () => {
    requireTools("podman");
    const pm = `${work}/podman`;
    const podman = (...args: string[]) =>
      run([
        "podman",
        "--root",
        `${pm}/root`,
        "--runroot",
        `${pm}/run`,
        "--tmpdir",
        `${pm}/tmp`,
        "--storage-driver",
        "vfs",
        "--events-backend",
        "none",
        ...args,
      ]);
    writeFileSync(`${work}/p.tar`, await tarBytes(rootfs));
    const id = ok(leopard("import", `${work}/p.tar`, "pm:1")).trim();
    for (const format of ["oci-archive", "docker-archive"]) {
      ok(leopard("save", "--format", format, "-o", `${work}/pm-${format}.tar`, "pm:1"));
      const r = podman("load", "-i", `${work}/pm-${format}.tar`);
      expect(r.code).toBe(0);
      expect(r.out).toContain("Loaded image: docker.io/library/pm:1");
    }
    const r = podman(
      "save",
      "--format",
      "docker-archive",
      "-o",
      `${work}/from-podman.tar`,
      "docker.io/library/pm:1",
    );
    expect(r.code).toBe(0);
    const other = `${work}/from-podman-store`;
    expect(ok(run(leopardCmd(other, "load", "-i", `${work}/from-podman.tar`)))).toBe("Loaded image: pm:1\n");
    expect(JSON.parse(ok(run(leopardCmd(other, "inspect", "pm:1"))))[0].Id).toBe(id);
    podman("rmi", "--all", "--force");
  }, 60_000);
});

describe("archive interop with skopeo", () => {
  test("leopard save writes OCI and docker archives skopeo reads, and loads them back", async () => {
    writeFileSync(`${work}/s.tar`, await tarBytes(rootfs));
    const id = ok(leopard("import", `${work}/s.tar`, "saved:1")).trim();
    for (const format of ["oci-archive", "docker-archive"]) {
      const out = `${work}/saved-${format}.tar`;
      ok(leopard("save", "--format", format, "-o", out, "saved:1"));
      // skopeo verifies every digest while copying.
      skopeo(
        "copy",
        `${format}:${out}${format === "oci-archive" ? "" : ":docker.io/library/saved:1"}`,
        `oci:${work}/check-${format}:x`,
      );
      const other = `${work}/other-${format}`;
      const r = run(leopardCmd(other, "load", "-i", out));
      expect(r.err).toBe("");
      expect(r.out).toBe("Loaded image: saved:1\n");
      expect(JSON.parse(ok(run(leopardCmd(other, "inspect", "saved:1"))))[0].Id).toBe(id);
    }
  });

  test("archives and layouts skopeo writes load in leopard", async () => {
    const layout = `${work}/sk-layout`;
    const img = await buildImage(layout, [
      { entries: [{ name: "a", type: "file", data: text("one") }] },
      { entries: [{ name: "b", type: "file", data: text("two") }], compression: "none" },
    ]);
    writeLayout(layout, [{ tag: "v1", images: [img] }]);
    skopeo("copy", `oci:${layout}:v1`, `docker-archive:${work}/sk-docker.tar:example.com/sk:v1`);
    skopeo("copy", `oci:${layout}:v1`, `oci-archive:${work}/sk-oci.tar:example.com/sk:v2`);
    const dir = `${work}/sk-store`;
    expect(ok(run(leopardCmd(dir, "load", "-i", `${work}/sk-docker.tar`)))).toBe(
      "Loaded image: example.com/sk:v1\n",
    );
    expect(ok(run(leopardCmd(dir, "load", "-i", `${work}/sk-oci.tar`)))).toBe(
      "Loaded image: example.com/sk:v2\n",
    );
    expect(ok(run(leopardCmd(dir, "load", "--name", "example.com/layout", "-i", layout)))).toBe(
      "Loaded image: example.com/layout:v1\n",
    );
    const ids = new Set(
      ["example.com/sk:v1", "example.com/sk:v2", "example.com/layout:v1"].map(
        (n) => JSON.parse(ok(run(leopardCmd(dir, "inspect", n))))[0].Id,
      ),
    );
    expect(ids.size).toBe(1);
    expect(existsSync(`${dir}/tmp`) && readdirSync(`${dir}/tmp`).length === 0).toBe(true);
  });
});
