// leopard build beside docker build (a private dockerd, test/compat/docker-env.ts; 20.10's
// classic builder): the same context built FROM the same imported busybox by both, then each
// image run and inspected. Every result must be the scenario's expected value, on both sides.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DOCKER,
  DOCKERD,
  type DockerEnv,
  type DockerResult,
  IMAGE,
  makeDockerEnv,
} from "../compat/docker-env.ts";
import { removeCgroups } from "../compat/podman-env.ts";
import { mountsMentioning, rootfs } from "../integration/harness.ts";

const TOP = join(import.meta.dir, "../..");
const LEOPARD = join(TOP, "bin/leopard");
const CGROUP_PARENT = `/leopard-test/dockerbuild-${process.pid}`;
const base = mkdtempSync(join(tmpdir(), "leopard-docker-build-"));
const ENV: Record<string, string> = {
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  LEOPARD_STORAGE: join(base, "storage"),
  LEOPARD_RUN: join(base, "run"),
  LEOPARD_CGROUP_PARENT: `${CGROUP_PARENT}/leopard`,
};

function leopard(args: string[]): DockerResult {
  const r = Bun.spawnSync([LEOPARD, ...args], { env: ENV, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  return {
    code: r.exitCode ?? -1,
    stdout: r.stdout.toString(),
    stderr: r.stderr.toString(),
    bytes: new Uint8Array(r.stdout),
  };
}

let denv: DockerEnv | undefined;
type Cli = (args: string[]) => DockerResult;
const sides = (): [string, Cli][] => [
  ["docker", (a) => (denv as DockerEnv).docker(a)],
  ["leopard", leopard],
];

function must(r: DockerResult, what: string): string {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const CONTEXT: Record<string, string> = {
  Dockerfile: [
    `FROM ${IMAGE}`,
    "ARG WHO=world",
    'ENV GREETING="hello there" PATH=/usr/local/bin:/usr/bin:/bin',
    "WORKDIR /app",
    "COPY files/ ./",
    "COPY --chown=65534:65534 one.txt /owned/",
    'RUN echo "$GREETING $WHO" > out.txt && mkdir /empty && ln -s /app/out.txt /link && rm /bin/vi',
    'LABEL org.example.k="v w"',
    "EXPOSE 8080 53/udp 9000-9001",
    "VOLUME /data",
    "USER 65534",
    'ENTRYPOINT ["sh", "-c"]',
    "CMD [\"cat out.txt; ls -A /app | xargs; stat -c '%n %a %u:%g' /owned/one.txt /empty; readlink /link; test -e /bin/vi || echo novi\"]",
  ].join("\n"),
  "files/a.txt": "A\n",
  "files/sub/b.txt": "B\n",
  "one.txt": "1\n",
  "ignored.log": "no\n",
  ".dockerignore": "*.log\n",
};

describe.skipIf(!DOCKER || !DOCKERD)("leopard build and docker build, the same Dockerfile", () => {
  const ctx = join(base, "ctx");
  beforeAll(async () => {
    denv = await makeDockerEnv({ cgroupParent: `${CGROUP_PARENT}/docker`, runtimes: {} });
    const tar = join(base, "rootfs.tar");
    const t = Bun.spawnSync(["tar", "-C", rootfs(0), "-cf", tar, "."]);
    if (t.exitCode !== 0) throw new Error(`tar of the busybox rootfs failed: ${t.stderr.toString()}`);
    must(leopard(["import", tar, IMAGE]), "leopard import");
    for (const [p, c] of Object.entries(CONTEXT)) {
      mkdirSync(join(ctx, p, ".."), { recursive: true });
      writeFileSync(join(ctx, p), c);
    }
    for (const [name, cli] of sides())
      must(
        cli(["build", "-q", "--network", "none", "--build-arg", "WHO=cats", "-t", "built:1", ctx]),
        `${name} build`,
      );
  }, 240_000);

  afterAll(async () => {
    const left = await denv?.cleanup();
    // leopard's run directory pins network namespaces on a mount of its own.
    for (const line of mountsMentioning(base).reverse()) {
      const point = line.split(" ")[4];
      if (point?.startsWith(base)) Bun.spawnSync(["umount", "-l", point]);
    }
    rmSync(base, { recursive: true, force: true });
    // leopard's parent cgroups (LEOPARD_CGROUP_PARENT) outlive its containers: the test's to remove.
    removeCgroups(CGROUP_PARENT);
    expect(left?.processes ?? []).toEqual([]);
  }, 120_000);

  test("the image's output: the files COPY and RUN made, owners, links, deletions", () => {
    for (const [name, cli] of sides()) {
      const out = must(cli(["run", "--rm", "--network", "none", "built:1"]), `${name} run`);
      expect({ name, out }).toEqual({
        name,
        out: "hello there cats\na.txt out.txt sub\n/owned/one.txt 644 65534:65534\n/empty 755 0:0\n/app/out.txt\nnovi\n",
      });
    }
  });

  test("the config: Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts, Labels, Volumes", () => {
    const fields = (cli: Cli) =>
      ["Env", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes"].map((f) =>
        JSON.parse(must(cli(["inspect", "--format", `{{json .Config.${f}}}`, "built:1"]), `inspect ${f}`)),
      );
    for (const [name, cli] of sides()) {
      expect({ name, config: fields(cli) }).toEqual({
        name,
        config: [
          ["PATH=/usr/local/bin:/usr/bin:/bin", "GREETING=hello there"],
          ["sh", "-c"],
          "/app",
          "65534",
          // A range is each of its ports (podman keeps "9000-9001/tcp": podman-compat.test.ts).
          { "53/udp": {}, "8080/tcp": {}, "9000/tcp": {}, "9001/tcp": {} },
          { "org.example.k": "v w" },
          { "/data": {} },
        ],
      });
    }
  });
});
