// push, commit and tag against a real docker-registry on loopback: build → push → rmi → pull →
// run gives the image's output back; a second push finds every blob there; a push to another
// repository of the same registry mounts the blobs; a registry with htpasswd refuses a push
// without credentials (one line) and takes it after `login`; an unreachable registry is one
// line too. commit: a container's changes and --change as a new image.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { until } from "../engine/harness.ts";
import { freePort, type RunningRegistry, startRegistry } from "../image/harness.ts";
import { build, busybox, context, leopard, ok, runIn, tempDir } from "./harness.ts";

let reg: RunningRegistry;
let secured: RunningRegistry;

beforeAll(async () => {
  await busybox();
  reg = await startRegistry();
  secured = await startRegistry({ htpasswd: { user: "cat", password: "meow" } });
}, 120_000);

afterAll(async () => {
  await reg?.stop();
  await secured?.stop();
});

const DOCKERFILE =
  'FROM busybox\nCOPY msg /msg\nRUN echo built >> /msg && rm /bin/vi\nCMD ["sh", "-c", "cat /msg; test -e /bin/vi || echo novi"]\n';

describe("leopard push", () => {
  test("build → push → rmi → pull → run; pushed again: every blob already there; another repository: mounted", async () => {
    const id = await build(["-t", "build-push", context({ Dockerfile: DOCKERFILE, msg: "hello\n" })]);
    const dest = `${reg.host}/build/rt:1`;
    const r = await leopard(["push", "build-push", dest]);
    expect(r.code).toBe(0);
    // busybox's layer, COPY's, RUN's, then the config, then the manifest.
    expect(r.err.split("\n").filter((l) => /^Copying (blob|config) [0-9a-f]{12}$/.test(l)).length).toBe(4);
    expect(r.err).toContain(`Writing manifest to ${dest}\n`);
    const manifestDigest = r.out.trim();
    expect(manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const res = await fetch(`http://${reg.host}/v2/build/rt/manifests/1`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(res.headers.get("docker-content-digest")).toBe(manifestDigest);
    await res.body?.cancel();

    await ok(["rmi", "build-push"]);
    expect((await leopard(["inspect", "build-push"])).code).toBe(1);
    await ok(["pull", "-q", dest]);
    expect((await leopard(["inspect", "--format", "{{.Id}}", dest])).out.trim()).toBe(`sha256:${id}`);
    expect(await runIn(dest)).toBe("hello\nbuilt\nnovi\n");

    const again = await leopard(["push", dest]);
    expect(again.code).toBe(0);
    expect(again.err.split("\n").filter((l) => l.endsWith("skipped: already exists")).length).toBe(4);

    const other = await leopard(["push", dest, `${reg.host}/elsewhere/rt:2`]);
    expect(other.code).toBe(0);
    expect(other.err.split("\n").filter((l) => l.endsWith("mounted from another repository")).length).toBe(4);
    await ok(["rmi", dest]);
    await ok(["pull", "-q", `${reg.host}/elsewhere/rt:2`]);
    expect(await runIn(`${reg.host}/elsewhere/rt:2`)).toBe("hello\nbuilt\nnovi\n");
  }, 180_000);

  test("a registry that wants credentials: refused without them, in one line; pushed after login", async () => {
    const authfile = join(tempDir("auth"), "auth.json");
    await ok(["tag", "busybox", "build-secured"]);
    const dest = `${secured.host}/build/sec:1`;
    const r = await leopard(["push", "--authfile", authfile, "build-secured", dest]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      new RegExp(
        `^leopard: push build-secured: registry "${secured.host.replace(/\./g, "\\.")}" denied .* \\(no credentials: try leopard login\\)\\n$`,
      ),
    );
    await ok(["login", "--authfile", authfile, "-u", "cat", "-p", "meow", secured.host]);
    const r2 = await leopard(["push", "--authfile", authfile, "build-secured", dest]);
    expect(r2.code).toBe(0);
    expect(r2.err).toContain(`Writing manifest to ${dest}\n`);
  }, 60_000);

  test("an unreachable registry is a one-line error", async () => {
    const port = await freePort();
    const r = await leopard(["push", "busybox", `127.0.0.1:${port}/x/y:1`]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n").length).toBe(1);
    expect(r.err).toContain(`registry "127.0.0.1:${port}" could not be reached`);
  }, 60_000);
});

describe("leopard commit", () => {
  test("a container's changes (new, changed and deleted files) and --change as a new image", async () => {
    const name = `build-commit-${process.pid}`;
    await ok([
      "run",
      "--name",
      name,
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "echo made > /made; echo v2 > /etc/motd; rm /bin/vi",
    ]);
    const id = (
      await ok([
        "commit",
        "-c",
        'CMD ["sh", "-c", "cat /made /etc/motd; test -e /bin/vi || echo novi; echo $MODE"]',
        "-c",
        "ENV MODE=committed",
        "-m",
        "a message",
        name,
        "build-committed:1",
      ])
    ).trim();
    await ok(["rm", name]);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await runIn("build-committed:1")).toBe("made\nv2\nnovi\ncommitted\n");
    const img = JSON.parse(await ok(["inspect", "build-committed:1"]))[0];
    expect(img.History[img.History.length - 1].comment).toBe("a message");
    // The layer: the container's changes only, not the runtime's mount points (/etc/hosts, …).
    const dir = tempDir("commit");
    await ok(["save", "--format", "oci-archive", "-o", join(dir, "img.tar"), "build-committed:1"]);
    execFileSync("tar", ["-xf", join(dir, "img.tar"), "-C", dir]);
    const layer = join(dir, "blobs/sha256", img.Layers[img.Layers.length - 1].Digest.slice(7));
    expect(execFileSync("tar", ["-tzf", layer], { encoding: "utf8" }).split("\n").sort()).toEqual([
      "",
      "bin/",
      "bin/.wh.vi",
      "etc/",
      "etc/motd",
      "made",
    ]);
  }, 60_000);

  test("a running container is frozen for the commit and running again after it", async () => {
    const name = `build-commit-live-${process.pid}`;
    await ok([
      "run",
      "-d",
      "--name",
      name,
      "--network",
      "none",
      "busybox",
      "sh",
      "-c",
      "echo live > /live; sleep 600",
    ]);
    try {
      await until(
        "/live written",
        async () => (await leopard(["exec", name, "test", "-e", "/live"])).code === 0,
      );
      await ok(["commit", name, "build-committed:live"]);
      expect((await ok(["inspect", "--format", "{{.State.Status}}", name])).trim()).toBe("running");
      expect(await runIn("build-committed:live", ["cat", "/live"])).toBe("live\n");
    } finally {
      await ok(["rm", "-f", name]);
    }
  }, 60_000);

  test("commit of a container that does not exist is a one-line error", async () => {
    const r = await leopard(["commit", "no-such-container", "x"]);
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n").length).toBe(1);
  });
});
