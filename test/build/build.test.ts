// `leopard build` end to end: a Dockerfile corpus built with the real engine (the embedded
// busybox as the base), each image run and inspected, each result checked against the value
// the Dockerfile implies.
import { beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { build, busybox, context, leftovers, leopard, ok, runIn, tempDir } from "./harness.ts";

const inspect = async (image: string) => JSON.parse(await ok(["inspect", image]))[0];
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

beforeAll(busybox, 120_000);

describe("leopard build", () => {
  test("ARG, ENV, WORKDIR, COPY with .dockerignore, RUN, USER, CMD: the run output and the config", async () => {
    const ctx = context({
      Dockerfile: [
        "FROM busybox",
        "ARG WHO=world",
        'ENV GREETING="hello there" \\',
        "    PLACE=here",
        "WORKDIR /app",
        "COPY . ./",
        'RUN echo "$GREETING $WHO" > out.txt',
        "USER nobody",
        'CMD ["sh", "-c", "cat /app/out.txt; ls -A /app | xargs; id -un"]',
      ].join("\n"),
      "a.txt": "A\n",
      "secret.key": "no\n",
      "sub/b.txt": "B\n",
      ".dockerignore": "*.key\n",
    });
    const id = await build(["-t", "build-basic", "--build-arg", "WHO=leopard", ctx]);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await runIn("build-basic")).toBe(
      "hello there leopard\n.dockerignore Dockerfile a.txt out.txt sub\nnobody\n",
    );
    const img = await inspect("build-basic");
    expect(img.Id).toBe(`sha256:${id}`);
    expect(img.Config.Env).toEqual([PATH_ENV, "GREETING=hello there", "PLACE=here"]);
    expect(img.Config.WorkingDir).toBe("/app");
    expect(img.Config.User).toBe("nobody");
    expect(img.Config.Cmd).toEqual(["sh", "-c", "cat /app/out.txt; ls -A /app | xargs; id -un"]);
    // busybox's one layer, then COPY's and RUN's; ARG, ENV, WORKDIR, USER, CMD are metadata.
    expect(img.RootFS.Layers.length).toBe(3);
    const mine = img.History.slice(-7);
    expect(mine.map((h: { empty_layer?: boolean }) => h.empty_layer === true)).toEqual([
      true,
      true,
      true,
      false,
      false,
      true,
      true,
    ]);
    expect(mine[4].created_by).toBe('|1 WHO=leopard /bin/sh -c echo "$GREETING $WHO" > out.txt');
    expect(mine[1].created_by).toBe("/bin/sh -c #(nop) ENV GREETING=hello there PLACE=here");
  }, 120_000);

  test("the cache: a rebuild reuses every step and gives the same id; a changed file redoes its COPY and what follows; --no-cache none", async () => {
    const ctx = context({
      Dockerfile: "FROM busybox\nRUN echo one > /one\nCOPY f /f\nRUN cat /one /f > /both\n",
      f: "v1\n",
    });
    const first = await ok(["build", "-t", "build-cache", ctx]);
    expect(first).not.toContain("Using cache");
    const again = await ok(["build", "-t", "build-cache", ctx]);
    expect(again.match(/--> Using cache/g)?.length).toBe(3);
    expect(again.trim().split("\n").pop()).toBe(first.trim().split("\n").pop());
    expect(again).toMatch(/STEP 2\/4: RUN echo one > \/one\n--> Using cache [0-9a-f]{12}\n/);
    await Bun.write(join(ctx, "f"), "v2\n");
    const changed = await ok(["build", "-t", "build-cache", ctx]);
    expect(changed.match(/--> Using cache/g)?.length).toBe(1);
    expect(await runIn("build-cache", ["cat", "/both"])).toBe("one\nv2\n");
    const none = await ok(["build", "--no-cache", "-t", "build-cache", ctx]);
    expect(none).not.toContain("Using cache");
    expect(none.trim().split("\n").pop()).not.toBe(changed.trim().split("\n").pop());
  }, 120_000);

  test("multi-stage: COPY --from a stage by name and by index, FROM a stage, scratch, --target", async () => {
    const ctx = context({
      Dockerfile: [
        "FROM busybox AS builder",
        "RUN mkdir /out && echo built > /out/artifact && echo unused > /out/junk",
        "FROM scratch AS bare",
        "COPY --from=builder /out/artifact /artifact",
        "FROM builder AS extended",
        "RUN echo more >> /out/artifact",
        "FROM busybox",
        "COPY --from=bare /artifact /from-bare",
        "COPY --from=2 /out/ /from-extended/",
        'CMD ["sh", "-c", "cat /from-bare /from-extended/artifact; ls /from-extended | xargs"]',
      ].join("\n"),
    });
    await build(["-t", "build-multi", ctx]);
    expect(await runIn("build-multi")).toBe("built\nbuilt\nmore\nartifact junk\n");
    await build(["-t", "build-target", "--target", "bare", ctx]);
    const bare = await inspect("build-target");
    // scratch: one layer, the artifact only.
    expect(bare.RootFS.Layers.length).toBe(1);
    const saved = join(ctx, "bare");
    await ok(["save", "--format", "oci-archive", "-o", `${saved}.tar`, "build-target"]);
    execFileSync("mkdir", [saved]);
    execFileSync("tar", ["-xf", `${saved}.tar`, "-C", saved]);
    const layer = join(saved, "blobs/sha256", bare.Layers[0].Digest.slice(7));
    expect(execFileSync("tar", ["-tzf", layer], { encoding: "utf8" })).toBe("artifact\n");
  }, 180_000);

  test("deleted files across layers, symlinks, hard links, a setuid file, an empty directory, USER by name", async () => {
    const ctx = context({
      Dockerfile: [
        "FROM busybox",
        "RUN mkdir -p /d/keep /d/gone /empty && echo x > /d/gone/f && echo y > /d/keep/f",
        "RUN rm -rf /d/gone /bin/vi && ln -s /d/keep/f /link && ln /d/keep/f /hard && cp /bin/busybox /suid && chmod 4755 /suid",
        "USER nobody",
        'CMD ["sh", "-c", "ls /d | xargs; test -e /bin/vi || echo novi; readlink /link; stat -c \'%h %a %U\' /hard /suid /empty; id -u"]',
      ].join("\n"),
    });
    await build(["-t", "build-fs", ctx]);
    expect(await runIn("build-fs")).toBe(
      "keep\nnovi\n/d/keep/f\n2 644 root\n1 4755 root\n2 755 root\n65534\n",
    );
  }, 120_000);

  test("COPY --chown by name and --chmod; ADD unpacks a local tar; exec-form RUN; SHELL", async () => {
    const ctx = context({
      Dockerfile: [
        "FROM busybox",
        "COPY --chown=nobody:nobody --chmod=0600 f /owned/f",
        "COPY --chown=1234 f /num/",
        "ADD t.tar.gz /unpacked/",
        'RUN ["/bin/sh", "-c", "echo exec > /exec"]',
        'SHELL ["/bin/sh", "-ec"]',
        "RUN echo shell > /shell",
        'CMD ["sh", "-c", "stat -c \'%U:%G %a\' /owned/f; stat -c \'%u:%g\' /num/f; cat /unpacked/in/t.txt /exec /shell"]',
      ].join("\n"),
      f: "F\n",
      "in/t.txt": "from tar\n",
    });
    execFileSync("tar", ["-czf", join(ctx, "t.tar.gz"), "-C", ctx, "in"]);
    await build(["-t", "build-copy", ctx]);
    expect(await runIn("build-copy")).toBe("nobody:nobody 600\n1234:1234\nfrom tar\nexec\nshell\n");
  }, 120_000);

  test("LABEL, EXPOSE, VOLUME, STOPSIGNAL, HEALTHCHECK, ONBUILD, ENTRYPOINT and --label in the config", async () => {
    const ctx = context({
      Dockerfile: [
        "FROM busybox",
        "ARG PORT=8080",
        'LABEL org.example.name="the image" version=1',
        "EXPOSE $PORT 53/udp",
        "VOLUME /data",
        "STOPSIGNAL SIGQUIT",
        "HEALTHCHECK --interval=30s --retries=2 CMD true",
        "ONBUILD RUN echo child",
        'ENTRYPOINT ["echo", "entry"]',
      ].join("\n"),
    });
    await build(["-t", "build-meta", "--label", "extra=yes", ctx]);
    const c = (await inspect("build-meta")).Config;
    expect(c.Labels).toEqual({ "org.example.name": "the image", version: "1", extra: "yes" });
    expect(c.ExposedPorts).toEqual({ "8080/tcp": {}, "53/udp": {} });
    expect(c.Volumes).toEqual({ "/data": {} });
    expect(c.StopSignal).toBe("SIGQUIT");
    expect(c.Healthcheck).toEqual({ Test: ["CMD-SHELL", "true"], Interval: 30e9, Retries: 2 });
    expect(c.OnBuild).toEqual(["RUN echo child"]);
    expect(c.Entrypoint).toEqual(["echo", "entry"]);
    // ENTRYPOINT cleared busybox's inherited CMD.
    expect(c.Cmd).toBeNull();
    expect(await runIn("build-meta")).toBe("entry\n");
  }, 120_000);

  test("-f names another file; -q prints only the id; several -t", async () => {
    const ctx = context({ "build/Containerfile.alt": "FROM busybox\nRUN echo hi > /hi\n" });
    const r = await leopard([
      "build",
      "-q",
      "-f",
      join(ctx, "build/Containerfile.alt"),
      "-t",
      "build-f1",
      "-t",
      "build-f2:v2",
      ctx,
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f]{64}\n$/);
    const tags = (await inspect("build-f1")).RepoTags;
    expect(tags.sort()).toEqual(["build-f1:latest", "build-f2:v2"]);
  }, 120_000);

  test("here-documents: RUN <<EOT runs the document, COPY <<EOF writes a file", async () => {
    const ctx = context({
      Dockerfile: [
        "FROM busybox",
        "ENV WHO=doc",
        "RUN <<EOT",
        "echo first > /hd",
        "echo second >> /hd",
        "EOT",
        "COPY <<EOF /greeting",
        "hello $WHO",
        "EOF",
        'CMD ["cat", "/hd", "/greeting"]',
      ].join("\n"),
    });
    await build(["-t", "build-heredoc", ctx]);
    expect(await runIn("build-heredoc")).toBe("first\nsecond\nhello doc\n");
  }, 120_000);

  test("ONBUILD triggers of the base run in the child's build and are not inherited", async () => {
    const parent = context({
      Dockerfile: "FROM busybox\nONBUILD COPY marker /marker\nONBUILD RUN echo triggered >> /marker\n",
    });
    await build(["-t", "build-onbuild-parent", parent]);
    const child = context({
      Dockerfile: 'FROM build-onbuild-parent\nCMD ["cat", "/marker"]\n',
      marker: "copied\n",
    });
    const out = await ok(["build", "-t", "build-onbuild-child", child]);
    expect(out).toContain("STEP 2/4: COPY marker /marker\n");
    expect(await runIn("build-onbuild-child")).toBe("copied\ntriggered\n");
    expect((await inspect("build-onbuild-child")).Config.OnBuild ?? null).toBeNull();
  }, 120_000);

  test("a RUN's layer holds only what the command changed, not the runtime's mount points", async () => {
    const ctx = context({ Dockerfile: "FROM busybox\nRUN echo x > /x && rm /bin/vi\n" });
    await build(["-t", "build-layer", ctx]);
    const img = await inspect("build-layer");
    const dir = tempDir("layer");
    await ok(["save", "--format", "oci-archive", "-o", join(dir, "img.tar"), "build-layer"]);
    execFileSync("tar", ["-xf", join(dir, "img.tar"), "-C", dir]);
    const layer = join(dir, "blobs/sha256", img.Layers[img.Layers.length - 1].Digest.slice(7));
    expect(execFileSync("tar", ["-tzf", layer], { encoding: "utf8" })).toBe("bin/\nbin/.wh.vi\nx\n");
  }, 120_000);

  test("RUN's network: the default bridge (an eth0 with an address), none (loopback only); nothing left after", async () => {
    const ctx = context({
      Dockerfile:
        "FROM busybox\nRUN ls /sys/class/net | xargs > /nets && ip -4 -o addr show | awk '{print $2}' | xargs > /addrs\n",
    });
    await build(["-t", "build-net-bridge", ctx]);
    expect(await runIn("build-net-bridge", ["cat", "/nets", "/addrs"])).toBe("eth0 lo\nlo eth0\n");
    await build(["-t", "build-net-none", "--network", "none", ctx]);
    expect(await runIn("build-net-none", ["cat", "/nets", "/addrs"])).toBe("lo\nlo\n");
    expect(leftovers()).toEqual([]);
  }, 120_000);

  test("the cache keeps its layers through collection (a failed build, rmi) until builder prune", async () => {
    const ctx = context({
      Dockerfile: "FROM busybox AS b\nRUN echo kept > /kept\nFROM busybox\nCOPY --from=b /kept /copied\n",
    });
    await build(["-t", "build-kept", ctx]);
    // The builder stage's layer is in no image; a failing build collects what no image or cache entry holds.
    await ok(["rmi", "build-kept"]);
    const bad = context({ Dockerfile: "FROM busybox\nRUN exit 1\n" });
    expect((await leopard(["build", bad])).code).toBe(1);
    const again = await ok(["build", "-t", "build-kept", ctx]);
    expect(again.match(/--> Using cache/g)?.length).toBe(2);
    expect(await runIn("build-kept", ["cat", "/copied"])).toBe("kept\n");
    const pruned = await ok(["builder", "prune", "-f"]);
    expect(pruned).toMatch(/^removed \d+ cache entries; reclaimed \d+ bytes in [1-9]\d* blobs\n$/);
    const after = await ok(["build", "-t", "build-kept", ctx]);
    expect(after).not.toContain("Using cache");
  }, 120_000);
});
