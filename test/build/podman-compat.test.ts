// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not templates
// leopard build beside podman build, through a registry: the same Dockerfile built FROM the same
// imported busybox by both; leopard pushes its image and podman pushes its own to a loopback
// docker-registry; podman pulls and runs leopard's, leopard pulls and runs podman's, and each
// also runs its own. Every run prints a listing of the files the Dockerfile made (modes, owners,
// link counts and targets) and every image's config is read back: each must be the expected value.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { IMAGE, makePodmanEnv, PODMAN, type PodmanEnv } from "../compat/podman-env.ts";
import { type RunningRegistry, startRegistry } from "../image/harness.ts";
import { rootfs } from "../integration/harness.ts";
import { leopard, ok, tempDir } from "./harness.ts";

const CGROUP_PARENT = `/leopard-test/podmanbuild-${process.pid}`;

const LISTING =
  "for p in /app /app/a.txt /app/sub /app/sub/b.txt /app/out.txt /owned /owned/one.txt /empty /link /hard /suid; do stat -c '%n %a %U:%G %F' $p; done; stat -c '%n %h' /hard; readlink /link; test -e /bin/vi || echo novi; ls -A /app | xargs; cat /app/gen; id -un";

const DOCKERFILE = [
  "ARG BASE=unset",
  "FROM ${BASE} AS gen",
  "RUN echo generated > /gen && rm /bin/ls",
  "FROM ${BASE}",
  "ARG WHO=world",
  'ENV GREETING="hello there"',
  "WORKDIR /app",
  "COPY files/ ./",
  "COPY --chown=nobody:nogroup one.txt /owned/",
  "COPY --from=gen /gen ./",
  'RUN echo "$GREETING $WHO" > out.txt && mkdir /empty && ln -s /app/out.txt /link && ln /app/out.txt /hard && cp /bin/busybox /suid && chmod 4755 /suid && rm /bin/vi',
  'LABEL org.example.k="v w"',
  "EXPOSE 8080 53/udp",
  "VOLUME /data",
  "USER nobody",
  `CMD ["sh", "-c", ${JSON.stringify(LISTING)}]`,
].join("\n");

const EXPECTED = [
  "/app 755 root:root directory",
  "/app/a.txt 644 root:root regular file",
  "/app/sub 755 root:root directory",
  "/app/sub/b.txt 644 root:root regular file",
  "/app/out.txt 644 root:root regular file",
  "/owned 755 nobody:nogroup directory",
  "/owned/one.txt 644 nobody:nogroup regular file",
  "/empty 755 root:root directory",
  "/link 777 root:root symbolic link",
  "/hard 644 root:root regular file",
  "/suid 4755 root:root regular file",
  "/hard 2",
  "/app/out.txt",
  "novi",
  "a.txt gen out.txt sub",
  "generated",
  "nobody",
  "",
].join("\n");

const CONFIG = {
  Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "GREETING=hello there"],
  Cmd: ["sh", "-c", LISTING],
  Entrypoint: null,
  WorkingDir: "/app",
  User: "nobody",
  ExposedPorts: { "53/udp": {}, "8080/tcp": {} },
  Labels: { "org.example.k": "v w" },
  Volumes: { "/data": {} },
};

let penv: PodmanEnv | undefined;
let reg: RunningRegistry | undefined;
const podman = (args: string[]) => {
  const r = (penv as PodmanEnv).podman("runc", args);
  if (r.code !== 0) throw new Error(`podman ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};

describe.skipIf(!PODMAN)(
  "leopard build and podman build, each image run by the other through a registry",
  () => {
    let leoRef = "";
    let podRef = "";
    beforeAll(async () => {
      penv = makePodmanEnv({ cgroupParent: `${CGROUP_PARENT}/podman` });
      reg = await startRegistry();
      const dir = tempDir("podman-build");
      const tar = join(dir, "rootfs.tar");
      const t = Bun.spawnSync(["tar", "-C", rootfs(0), "-cf", tar, "."]);
      if (t.exitCode !== 0) throw new Error(`tar failed: ${t.stderr.toString()}`);
      await ok([
        "import",
        "--change",
        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--change",
        'CMD ["sh"]',
        tar,
        IMAGE,
      ]);
      const ctx = join(dir, "ctx");
      const files: Record<string, string> = {
        Dockerfile: DOCKERFILE,
        "files/a.txt": "A\n",
        "files/debug.log": "excluded\n",
        ".dockerignore": "**/*.log\n",
        "files/sub/b.txt": "B\n",
        "one.txt": "1\n",
      };
      for (const [p, c] of Object.entries(files)) {
        mkdirSync(dirname(join(ctx, p)), { recursive: true });
        writeFileSync(join(ctx, p), c);
      }
      leoRef = `${reg.host}/built/leopard:1`;
      podRef = `${reg.host}/built/podman:1`;
      await ok(["build", "-q", "--network", "none", "--build-arg", `BASE=${IMAGE}`, "-t", leoRef, ctx]);
      await ok(["push", leoRef]);
      podman(["build", "-q", "--network", "none", "--build-arg", `BASE=${IMAGE}`, "-t", podRef, ctx]);
      podman(["push", "--tls-verify=false", podRef]);
      podman(["pull", "-q", "--tls-verify=false", leoRef]);
      await ok(["pull", "-q", podRef]);
    }, 300_000);

    afterAll(async () => {
      await reg?.stop();
      const left = penv?.cleanup(["runc"]);
      expect(left?.mounts ?? []).toEqual([]);
    }, 120_000);

    test("each engine runs each image: the same files, modes, owners and links", async () => {
      for (const ref of [leoRef, podRef]) {
        const byLeopard = await ok(["run", "--rm", "--network", "none", ref]);
        const byPodman = podman(["run", "--rm", "--network", "none", ref]);
        expect({ ref, by: "leopard", out: byLeopard }).toEqual({ ref, by: "leopard", out: EXPECTED });
        expect({ ref, by: "podman", out: byPodman }).toEqual({ ref, by: "podman", out: EXPECTED });
      }
    });

    test("both images' configs: Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels, Volumes", async () => {
      for (const ref of [leoRef, podRef]) {
        const c = JSON.parse(await ok(["inspect", ref]))[0].Config;
        // buildah stamps its version on what it builds.
        if (ref === podRef) {
          expect(c.Labels?.["io.buildah.version"]).toMatch(/^\d+\.\d+/);
          c.Labels = Object.fromEntries(
            Object.entries(c.Labels as Record<string, string>).filter(([k]) => k !== "io.buildah.version"),
          );
        }
        const got = Object.fromEntries(Object.keys(CONFIG).map((k) => [k, c[k] ?? null]));
        expect({ ref, config: got }).toEqual({ ref, config: CONFIG });
      }
    });

    test("a missing image in a leopard build is one line", async () => {
      const ctx = tempDir("podman-missing");
      writeFileSync(join(ctx, "Dockerfile"), `FROM ${reg?.host}/built/nothing:1\n`);
      const r = await leopard(["build", ctx]);
      expect(r.code).toBe(1);
      expect(r.err.trim().split("\n").length).toBe(1);
      rmSync(ctx, { recursive: true, force: true });
    });
  },
);
