// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Dockerfile variables, not templates
// leopard build beside podman build, through a registry, over a corpus of Dockerfiles: each built
// FROM the same imported busybox by both; leopard pushes its image and podman pushes its own to
// one loopback docker-registry; podman pulls and runs leopard's, leopard pulls and runs podman's,
// and each also runs its own. Every run prints a listing of the files the Dockerfile made (modes,
// owners, link counts and targets) and every image's config is read back: each must be the
// case's expected value, on both engines. One registry and one podman store serve every case.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { IMAGE, makePodmanEnv, PODMAN, type PodmanEnv } from "../compat/podman-env.ts";
import { type RunningRegistry, startRegistry } from "../image/harness.ts";
import { rootfs } from "../integration/harness.ts";
import { leopard, ok, tempDir } from "./harness.ts";

const CGROUP_PARENT = `/leopard-test/podmanbuild-${process.pid}`;

const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** One Dockerfile of the corpus: its context, what its image prints when run, and its config. */
interface Case {
  name: string;
  files: Record<string, string>;
  /** Lines of the Dockerfile; `ARG BASE` comes first, every `FROM ${BASE}` is the busybox. */
  dockerfile: string[];
  /** A gzipped tar of these context paths is written as t.tar.gz (for ADD). */
  tar?: string[];
  out: string;
  config: Record<string, unknown>;
  /** Where podman's own image differs from config, and why (leopard follows docker there). */
  podmanConfig?: { why: string } & Record<string, unknown>;
}

const ALL_LISTING =
  "for p in /app /app/a.txt /app/sub /app/sub/b.txt /app/out.txt /owned /owned/one.txt /empty /link /hard /suid; do stat -c '%n %a %U:%G %F' $p; done; stat -c '%n %h' /hard; readlink /link; test -e /bin/vi || echo novi; ls -A /app | xargs; cat /app/gen; id -un";

const FS_LISTING = [
  "ls -A /d | xargs; ls -A /d/opaque | xargs; test -e /bin/vi || echo novi",
  "readlink /rel; readlink /dangling; cat /rel",
  "stat -c '%n %a %U:%G %F' /d/keep/f /empty /sticky /replaced /rel /dangling /suid /sgid",
  "stat -c '%n %h' /hard /d/keep/f; ls -A /empty | wc -l; ls -A /replaced | wc -l; id -un",
].join("; ");

const MULTI_LISTING =
  "cat /from-bare /from-extended/artifact; ls /from-extended | xargs; stat -c '%n %a %U:%G' /from-bare /from-extended /from-extended/junk";

const COPY_LISTING = [
  "stat -c '%n %a %U:%G' /owned /owned/f",
  "stat -c '%n %a %u:%g' /num /num/f /numdir /numdir/x /numdir/sub /numdir/sub/y /unpacked/in /unpacked/in/t.txt",
  "cat /unpacked/in/t.txt /exec /shell; ls -A /ctx | xargs",
].join("; ");

const LAYERS_LISTING = [
  "stat -c '%n %a %U:%G %h' /base-file /cross-hard /moved/f; stat -c '%n %a %F' /moved /deep/a/b/l",
  "readlink /deep/a/b/l; cat /deep/a/b/l/z /cross-hard; test -e /m || echo nom",
  "test $(stat -c %i /base-file) = $(stat -c %i /cross-hard) && echo same",
].join("; ");

/** Every path but the kernel's and the runtime's own files: mode, owner, type, link target. */
const TREE = [
  "find / -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /etc/hosts -o -path /etc/hostname -o -path /etc/resolv.conf \\) -prune -o -print",
  // `if`, not `&&`: the loop's status is its last command's, and a last path that is not a link
  // would make the listing exit 1.
  'sort | while read -r p; do stat -c \'%n %a %u:%g %F\' "$p"; if test -L "$p"; then readlink "$p"; fi; done',
].join(" | ");

const META_CMD = "pwd; echo $APP $BIN $DEF $ALT $LIT [$V$PORT]; id -u; id -g";

const CORPUS: Case[] = [
  {
    name: "all",
    files: {
      "files/a.txt": "A\n",
      "files/debug.log": "excluded\n",
      ".dockerignore": "**/*.log\n",
      "files/sub/b.txt": "B\n",
      "one.txt": "1\n",
    },
    dockerfile: [
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
      `CMD ["sh", "-c", ${JSON.stringify(ALL_LISTING)}]`,
    ],
    out: [
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
    ].join("\n"),
    config: {
      Env: [PATH_ENV, "GREETING=hello there"],
      Cmd: ["sh", "-c", ALL_LISTING],
      Entrypoint: null,
      WorkingDir: "/app",
      User: "nobody",
      ExposedPorts: { "53/udp": {}, "8080/tcp": {} },
      Labels: { "org.example.k": "v w" },
      Volumes: { "/data": {} },
    },
  },
  {
    // Whiteouts of a file and of a directory made by an earlier layer, an opaque directory (removed
    // and made again), a file replaced by a directory, relative and dangling symlinks, a hard link,
    // setuid, setgid and sticky modes, an empty directory.
    name: "fs",
    files: {},
    dockerfile: [
      "ARG BASE=unset",
      "FROM ${BASE}",
      "RUN mkdir -p /d/keep /d/gone /d/opaque/old /empty /sticky && echo x > /d/gone/f && echo y > /d/keep/f && echo o > /d/opaque/old/f && chmod 1777 /sticky && echo r > /replaced",
      "RUN rm -rf /d/gone /bin/vi /d/opaque /replaced && mkdir -p /d/opaque/new /replaced && echo n > /d/opaque/new/f && ln -s ../d/keep/f /rel && ln -s /nowhere /dangling && ln /d/keep/f /hard && cp /bin/busybox /suid && chmod 4755 /suid && cp /bin/busybox /sgid && chmod 2711 /sgid",
      "USER nobody",
      `CMD ["sh", "-c", ${JSON.stringify(FS_LISTING)}]`,
    ],
    out: [
      "keep opaque",
      "new",
      "novi",
      "../d/keep/f",
      "/nowhere",
      "y",
      "/d/keep/f 644 root:root regular file",
      "/empty 755 root:root directory",
      "/sticky 1777 root:root directory",
      "/replaced 755 root:root directory",
      "/rel 777 root:root symbolic link",
      "/dangling 777 root:root symbolic link",
      "/suid 4755 root:root regular file",
      "/sgid 2711 root:root regular file",
      "/hard 2",
      "/d/keep/f 2",
      "0",
      "0",
      "nobody",
      "",
    ].join("\n"),
    config: {
      Env: [PATH_ENV],
      Cmd: ["sh", "-c", FS_LISTING],
      Entrypoint: null,
      WorkingDir: "",
      User: "nobody",
      ExposedPorts: null,
      Labels: null,
      Volumes: null,
    },
  },
  {
    // A later layer: a hard link to a file of an earlier one, a file whose mode and owner only
    // change, a directory renamed, a symlink to a directory and a file written through it.
    name: "layers",
    files: {},
    dockerfile: [
      "ARG BASE=unset",
      "FROM ${BASE}",
      "RUN echo a > /base-file && mkdir /m && echo m > /m/f && chmod 600 /m/f",
      "RUN ln /base-file /cross-hard && chmod 640 /m/f && chown nobody:nogroup /m/f && mv /m /moved && mkdir -p /deep/a/b/c && ln -s c /deep/a/b/l && echo z > /deep/a/b/l/z",
      `CMD ["sh", "-c", ${JSON.stringify(LAYERS_LISTING)}]`,
    ],
    out: [
      "/base-file 644 root:root 2",
      "/cross-hard 644 root:root 2",
      "/moved/f 640 nobody:nogroup 1",
      "/moved 755 directory",
      "/deep/a/b/l 777 symbolic link",
      "c",
      "z",
      "a",
      "nom",
      "same",
      "",
    ].join("\n"),
    config: {
      Env: [PATH_ENV],
      Cmd: ["sh", "-c", LAYERS_LISTING],
      Entrypoint: null,
      WorkingDir: "",
      User: "",
      ExposedPorts: null,
      Labels: null,
      Volumes: null,
    },
  },
  {
    // Multi-stage: scratch, COPY --from a stage by name and by index, FROM a stage.
    name: "multi",
    files: {},
    dockerfile: [
      "ARG BASE=unset",
      "FROM ${BASE} AS builder",
      "RUN mkdir /out && echo built > /out/artifact && echo unused > /out/junk && chmod 600 /out/junk",
      "FROM scratch AS bare",
      "COPY --from=builder /out/artifact /artifact",
      "FROM builder AS extended",
      "RUN echo more >> /out/artifact",
      "FROM ${BASE}",
      "COPY --from=bare /artifact /from-bare",
      "COPY --from=2 /out/ /from-extended/",
      `CMD ["sh", "-c", ${JSON.stringify(MULTI_LISTING)}]`,
    ],
    out: [
      "built",
      "built",
      "more",
      "artifact junk",
      "/from-bare 644 root:root",
      "/from-extended 755 root:root",
      "/from-extended/junk 600 root:root",
      "",
    ].join("\n"),
    config: {
      Env: [PATH_ENV],
      Cmd: ["sh", "-c", MULTI_LISTING],
      Entrypoint: null,
      WorkingDir: "",
      User: "",
      ExposedPorts: null,
      Labels: null,
      Volumes: null,
    },
  },
  {
    // COPY --chown by name and by number, --chmod, a directory's contents, ADD of a local tar,
    // exec-form RUN, SHELL, and a .dockerignore with an exception.
    name: "copy",
    files: {
      f: "F\n",
      "dir/x": "X\n",
      "dir/sub/y": "Y\n",
      "in/t.txt": "from tar\n",
      "a.log": "ignored\n",
      "keep.log": "kept\n",
      ".dockerignore": "*.log\n!keep.log\n",
    },
    tar: ["in"],
    dockerfile: [
      "ARG BASE=unset",
      "FROM ${BASE}",
      "COPY --chown=nobody:nogroup --chmod=0600 f /owned/f",
      "COPY --chown=1234 f /num/",
      "COPY --chown=1234:5678 dir/ /numdir/",
      "ADD t.tar.gz /unpacked/",
      'RUN ["/bin/sh", "-c", "echo exec > /exec"]',
      'SHELL ["/bin/sh", "-ec"]',
      "RUN echo shell > /shell",
      "COPY . /ctx/",
      `CMD ["sh", "-c", ${JSON.stringify(COPY_LISTING)}]`,
    ],
    out: [
      "/owned 755 nobody:nogroup",
      "/owned/f 600 nobody:nogroup",
      "/num 755 1234:1234",
      "/num/f 644 1234:1234",
      "/numdir 755 1234:5678",
      "/numdir/x 644 1234:5678",
      "/numdir/sub 755 1234:5678",
      "/numdir/sub/y 644 1234:5678",
      "/unpacked/in 755 0:0",
      "/unpacked/in/t.txt 644 0:0",
      "from tar",
      "exec",
      "shell",
      ".dockerignore Dockerfile dir f in keep.log t.tar.gz",
      "",
    ].join("\n"),
    config: {
      Env: [PATH_ENV],
      Cmd: ["sh", "-c", COPY_LISTING],
      Entrypoint: null,
      WorkingDir: "",
      User: "",
      ExposedPorts: null,
      Labels: null,
      Volumes: null,
    },
  },
  {
    // ARG before and after FROM, ENV from ENV, ${x:-default} and ${x:+alt}, an escaped $, a
    // relative WORKDIR, LABEL and EXPOSE from ARGs, a port range, VOLUME's JSON form, USER uid:gid,
    // ENTRYPOINT with CMD as its argument. ARGs are not in the image's environment.
    name: "expand",
    files: {},
    dockerfile: [
      "ARG BASE=unset",
      "ARG V=1.0",
      "FROM ${BASE}",
      "ARG V",
      "ARG PORT=8080",
      "ARG EMPTY",
      "ENV APP=/opt/app",
      "ENV BIN=$APP/bin DEF=${EMPTY:-fallback} ALT=${V:+set} LIT=\\$APP",
      "WORKDIR $APP",
      "WORKDIR sub",
      'LABEL version=$V "with space"="a b"',
      "EXPOSE $PORT ${PORT}/udp 9000-9001",
      'VOLUME ["/data", "/logs"]',
      "USER 1000:1000",
      'ENTRYPOINT ["sh", "-c"]',
      `CMD [${JSON.stringify(META_CMD)}]`,
    ],
    out: ["/opt/app/sub", "/opt/app /opt/app/bin fallback set $APP []", "1000", "1000", ""].join("\n"),
    config: {
      Env: [PATH_ENV, "APP=/opt/app", "BIN=/opt/app/bin", "DEF=fallback", "ALT=set", "LIT=$APP"],
      Cmd: [META_CMD],
      Entrypoint: ["sh", "-c"],
      WorkingDir: "/opt/app/sub",
      User: "1000:1000",
      ExposedPorts: { "8080/tcp": {}, "8080/udp": {}, "9000/tcp": {}, "9001/tcp": {} },
      Labels: { version: "1.0", "with space": "a b" },
      Volumes: { "/data": {}, "/logs": {} },
    },
    podmanConfig: {
      why: "buildah keeps a port range as one key; docker's builder records each port (docker-compat.test.ts), and an image config's keys are PORT/PROTO",
      ExposedPorts: { "8080/tcp": {}, "8080/udp": {}, "9000-9001/tcp": {} },
    },
  },
];

let penv: PodmanEnv | undefined;
let reg: RunningRegistry | undefined;
const podman = (args: string[]) => {
  const r = (penv as PodmanEnv).podman("runc", args);
  if (r.code !== 0) throw new Error(`podman ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
};

/** A config's keys the corpus compares, buildah's version label aside (checked apart). */
function configOf(c: Record<string, unknown>, byPodman: boolean): Record<string, unknown> {
  const labels = c["Labels"] as Record<string, string> | null | undefined;
  let l: Record<string, string> | null = labels ?? null;
  if (byPodman) {
    // buildah stamps its version on what it builds.
    expect(labels?.["io.buildah.version"]).toMatch(/^\d+\.\d+/);
    const rest = Object.entries(labels ?? {}).filter(([k]) => k !== "io.buildah.version");
    l = rest.length === 0 ? null : Object.fromEntries(rest);
  }
  const keys = ["Env", "Cmd", "Entrypoint", "WorkingDir", "User", "ExposedPorts", "Labels", "Volumes"];
  return Object.fromEntries(
    keys.map((k) => [k, k === "Labels" ? l : (c[k] ?? (k === "WorkingDir" || k === "User" ? "" : null))]),
  );
}

describe.skipIf(!PODMAN)(
  "leopard build and podman build over the corpus, each image run by the other through a registry",
  () => {
    const refs = new Map<string, { leopard: string; podman: string }>();
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
      for (const c of CORPUS) {
        const ctx = join(dir, c.name);
        const files = { ...c.files, Dockerfile: c.dockerfile.join("\n") };
        for (const [p, content] of Object.entries(files)) {
          mkdirSync(dirname(join(ctx, p)), { recursive: true });
          writeFileSync(join(ctx, p), content);
        }
        if (c.tar) execFileSync("tar", ["-czf", join(ctx, "t.tar.gz"), "-C", ctx, ...c.tar]);
        const leoRef = `${reg.host}/built/leopard-${c.name}:1`;
        const podRef = `${reg.host}/built/podman-${c.name}:1`;
        const args = ["build", "-q", "--network", "none", "--build-arg", `BASE=${IMAGE}`];
        await ok([...args, "-t", leoRef, ctx]);
        await ok(["push", leoRef]);
        podman([...args, "-t", podRef, ctx]);
        podman(["push", "--tls-verify=false", podRef]);
        podman(["pull", "-q", "--tls-verify=false", leoRef]);
        await ok(["pull", "-q", podRef]);
        refs.set(c.name, { leopard: leoRef, podman: podRef });
      }
    }, 600_000);

    afterAll(async () => {
      await reg?.stop();
      const left = penv?.cleanup(["runc"]);
      expect(left?.mounts ?? []).toEqual([]);
    }, 120_000);

    for (const c of CORPUS) {
      test(`${c.name}: each engine runs each image: the same files, modes, owners and links`, async () => {
        const r = refs.get(c.name);
        expect(r).toBeDefined();
        for (const [builtBy, ref] of Object.entries(r ?? {})) {
          const byLeopard = await ok(["run", "--rm", "--network", "none", ref]);
          const byPodman = podman(["run", "--rm", "--network", "none", ref]);
          expect({ builtBy, runBy: "leopard", out: byLeopard }).toEqual({
            builtBy,
            runBy: "leopard",
            out: c.out,
          });
          expect({ builtBy, runBy: "podman", out: byPodman }).toEqual({
            builtBy,
            runBy: "podman",
            out: c.out,
          });
        }
      });

      test(`${c.name}: the whole tree of leopard's image and of podman's, listed in a container by each engine, is the same`, async () => {
        const r = refs.get(c.name);
        expect(r).toBeDefined();
        const run = ["run", "--rm", "--network", "none", "--user", "0", "--entrypoint", "sh"];
        for (const runBy of ["leopard", "podman"]) {
          const trees: Record<string, string> = {};
          for (const [builtBy, ref] of Object.entries(r ?? {})) {
            const args = [...run, ref, "-c", TREE];
            trees[builtBy] = runBy === "leopard" ? await ok(args) : podman(args);
          }
          // Not empty, and holds what every case has: busybox's shell and its setuid-less mode.
          expect(trees["leopard"]).toContain("/bin/busybox 755 0:0 regular file\n");
          expect({ runBy, tree: trees["leopard"] }).toEqual({ runBy, tree: trees["podman"] });
        }
      });

      test(`${c.name}: both images' configs, read by both engines: Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels, Volumes`, async () => {
        const r = refs.get(c.name);
        expect(r).toBeDefined();
        for (const [builtBy, ref] of Object.entries(r ?? {})) {
          const byLeopard = JSON.parse(await ok(["inspect", ref]))[0].Config;
          const byPodman = JSON.parse(podman(["image", "inspect", ref]))[0].Config;
          for (const [readBy, cfg] of [
            ["leopard", byLeopard],
            ["podman", byPodman],
          ] as const) {
            const got = configOf(cfg, builtBy === "podman");
            const { why: _, ...podmans } = c.podmanConfig ?? { why: "" };
            const want = builtBy === "podman" ? { ...c.config, ...podmans } : c.config;
            expect({ builtBy, readBy, config: got }).toEqual({ builtBy, readBy, config: want });
          }
        }
      });
    }

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
