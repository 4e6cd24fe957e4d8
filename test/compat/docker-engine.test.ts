// The engine beside docker: each scenario is the same command lines run with the docker client
// (against a private dockerd: its own data root, exec root and socket, --iptables=false
// --bridge=none; test/compat/docker-env.ts) and with bin/leopard (its own storage and run
// directories), each result reduced to one line. docker's line must be the scenario's expected
// value, and leopard's must be docker's: both failing alike is a failure. Where docker versions
// differ, leopard follows current docker and the scenario says what 20.10 (the reference here)
// prints instead. Containers run with --network none on both sides (dockerd has no bridge).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mountsMentioning, rootfs } from "../integration/harness.ts";
import {
  DOCKER,
  DOCKERD,
  type DockerCallOptions,
  type DockerEnv,
  type DockerResult,
  makeDockerEnv,
} from "./docker-env.ts";
import { removeCgroups } from "./podman-env.ts";

setDefaultTimeout(240_000);

const TOP = join(import.meta.dir, "../..");
const LEOPARD = join(TOP, "bin/leopard");
const CGROUP_PARENT = `/leopard-test/dockereng-${process.pid}`;
const IMAGE = "leopard-busybox:test";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const NONE = ["--network", "none"];

interface Side {
  name: "docker" | "leopard";
  cli(args: string[], opts?: DockerCallOptions): DockerResult;
}

let denv: DockerEnv | undefined;
const base = mkdtempSync(join(tmpdir(), "leopard-docker-engine-"));
const ENV: Record<string, string> = {
  PATH: process.env["PATH"] ?? "/usr/bin:/bin",
  LEOPARD_STORAGE: join(base, "storage"),
  LEOPARD_RUN: join(base, "run"),
  LEOPARD_CGROUP_PARENT: `${CGROUP_PARENT}/leopard`,
  LEOPARD_BRIDGE_PREFIX: `lde${process.pid % 10000}b`,
  LEOPARD_SUBNET_POOL: "10.76.0.0/16",
};

function leopardCli(args: string[], o: DockerCallOptions = {}): DockerResult {
  const cmd = o.tty
    ? [
        "script",
        "-qec",
        [LEOPARD, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(" "),
        "/dev/null",
      ]
    : [LEOPARD, ...args];
  const r = Bun.spawnSync(cmd, {
    env: ENV,
    stdin: o.stdin === undefined ? "ignore" : new Blob([o.stdin]),
    stdout: "pipe",
    stderr: "pipe",
  });
  const clean = (s: string) => s.replaceAll("\r", "");
  return {
    code: r.exitCode ?? -1,
    stdout: clean(r.stdout.toString()),
    stderr: r.stderr.toString(),
    bytes: new Uint8Array(r.stdout),
  };
}

const SIDES: Side[] = [
  {
    name: "docker",
    cli: (args, o) => {
      if (!denv) throw new Error("docker environment not set up");
      return denv.docker(args, o);
    },
  },
  { name: "leopard", cli: leopardCli },
];

/** The engine's name in messages ("See 'docker run --help'.") made alike. */
const neutral = (s: string): string => s.replaceAll(/\b(docker|leopard)\b(?!-)/g, "ENGINE");

const table: string[][] = [];
/**
 * Runs the scenario with docker, then leopard; docker's line must be `expected` (or `docker20`,
 * where 20.10 differs from current docker, which leopard follows) and leopard's the expected one.
 */
function same(
  name: string,
  expected: string | RegExp,
  scenario: (s: Side) => string,
  opts: { docker20?: string } = {},
): void {
  test(name, () => check(name, expected, scenario, opts));
}

function check(
  name: string,
  expected: string | RegExp,
  scenario: (s: Side) => string,
  opts: { docker20?: string },
): void {
  const [docker, leopard] = SIDES.map((s) => neutral(scenario(s))) as [string, string];
  const want = opts.docker20 ?? expected;
  table.push([
    name,
    JSON.stringify(docker),
    JSON.stringify(leopard),
    docker === leopard ? "same" : opts.docker20 !== undefined ? "20.10 differs" : "DIFFERENT",
  ]);
  if (typeof want === "string") expect({ name, docker }).toEqual({ name, docker: want });
  else expect(docker).toMatch(want);
  if (opts.docker20 !== undefined || typeof expected !== "string") {
    if (typeof expected === "string") expect({ name, leopard }).toEqual({ name, leopard: expected });
    else expect(leopard).toMatch(expected);
  } else expect({ name, leopard }).toEqual({ name, leopard: docker });
}

const run = (s: Side, args: string[], o?: DockerCallOptions) => s.cli(["run", "--rm", ...NONE, ...args], o);
const out = (r: DockerResult) => r.stdout.trim();
const rm = (s: Side, ...names: string[]) => s.cli(["rm", "-f", ...names]);
/** A detached container named `name`, running `cmd` (sleep by default), removed after body. */
function detached<T>(s: Side, name: string, flags: string[], body: () => T, cmd = ["sleep", "1000"]): T {
  const d = s.cli(["run", "-d", "--name", name, ...NONE, ...flags, IMAGE, ...cmd]);
  if (d.code !== 0) throw new Error(`${s.name} run -d ${name} failed: ${d.stderr}`);
  try {
    return body();
  } finally {
    rm(s, name);
  }
}
/** `tar -t` of a stream: its names, sorted, one line. */
function tarNames(bytes: Uint8Array): string {
  const r = Bun.spawnSync(["tar", "-tf", "-"], { stdin: new Blob([bytes]), stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) return `not a tar: ${r.stderr.toString().trim()}`;
  return r.stdout.toString().trim().split("\n").sort().join(" ");
}

describe.skipIf(!DOCKER || !DOCKERD)("leopard and docker, the same command lines", () => {
  beforeAll(async () => {
    denv = await makeDockerEnv({ cgroupParent: `${CGROUP_PARENT}/docker`, runtimes: {} });
    // Both get the busybox rootfs as docker's `import` makes images (PATH and a Cmd given).
    const tar = join(base, "rootfs.tar");
    const t = Bun.spawnSync(["tar", "-C", rootfs(0), "-cf", tar, "."]);
    if (t.exitCode !== 0) throw new Error(`tar of the busybox rootfs failed: ${t.stderr.toString()}`);
    for (const s of SIDES) {
      const r = s.cli(["import", "--change", `ENV ${PATH_ENV}`, "--change", 'CMD ["sh"]', tar, IMAGE]);
      if (r.code !== 0 && s.name === "docker") throw new Error(`docker import failed: ${r.stderr}`);
      if (r.code !== 0) leopardCli(["import", tar, IMAGE]); // before import --change existed
    }
  });

  afterAll(async () => {
    const ids = out(leopardCli(["ps", "-aq", "--no-trunc"]))
      .split("\n")
      .filter(Boolean);
    if (ids.length > 0) leopardCli(["rm", "-f", "-v", ...ids]);
    leopardCli(["volume", "prune", "-f", "-a"]);
    // <run>/netns is the engine's own mount (shared, as /run/netns is), not a container's.
    const netns = join(ENV["LEOPARD_RUN"] ?? "", "netns");
    const leftMounts = mountsMentioning(base).filter((l) => l.split(" ")[4] !== netns);
    for (const line of mountsMentioning(base).reverse()) {
      const point = line.split(" ")[4];
      if (point?.startsWith(base)) Bun.spawnSync(["umount", "-l", point]);
    }
    rmSync(base, { recursive: true, force: true });
    const left = denv ? await denv.cleanup() : { mounts: [], cgroups: [], processes: [] };
    const cgroups = [...left.cgroups, ...removeCgroups(CGROUP_PARENT)];
    const widths = [0, 1, 2, 3].map((i) => Math.min(44, Math.max(8, ...table.map((r) => r[i]?.length ?? 0))));
    const line = (r: string[]) => r.map((c, i) => c.slice(0, 44).padEnd(widths[i] ?? 8)).join("  ");
    process.stderr.write(`\n${line(["scenario", "docker", "leopard", ""])}\n${table.map(line).join("\n")}\n`);
    expect({ ...left, cgroups, leopardMounts: leftMounts }).toEqual({
      mounts: [],
      cgroups: [],
      processes: [],
      leopardMounts: [],
    });
  });

  describe("data and safety: rmi -f of one tag, cp of a link, -u's groups, --tmpfs defaults, stdin without -i", () => {
    same("rmi -f NAME:TAG keeps the other tag", "rmi 0; other tag 0; removed tag 1", (s) => {
      s.cli(["tag", IMAGE, "twotags:one"]);
      s.cli(["tag", IMAGE, "twotags:two"]);
      const r = s.cli(["rmi", "-f", "twotags:one"]);
      const two = s.cli(["image", "inspect", "twotags:two"]).code;
      const one = s.cli(["image", "inspect", "twotags:one"]).code;
      s.cli(["rmi", "twotags:two"]);
      return `rmi ${r.code}; other tag ${two}; removed tag ${one}`;
    });
    same("cp CTR:/symlink DEST copies the link", "0 link -> /etc/passwd", (s) => {
      s.cli(["run", "--name", "cplink", ...NONE, IMAGE, "ln", "-s", "/etc/passwd", "/link"]);
      const dir = mkdtempSync(join(base, `cp-${s.name}-`));
      const r = s.cli(["cp", "cplink:/link", join(dir, "got")]);
      rm(s, "cplink");
      const l = Bun.spawnSync(["readlink", join(dir, "got")])
        .stdout.toString()
        .trim();
      return `${r.code} ${l === "" ? "not a link" : `link -> ${l}`}`;
    });
    same("-u and the image's groups", "0|0|65534|1000|5|0|77", (s) =>
      ["", "root", "nobody", "1000", "1000:5", "4242", "4242:77"]
        .map((u) =>
          out(
            run(s, [...(u ? ["-u", u] : []), IMAGE, "sh", "-c", "grep Groups /proc/self/status | cut -f2"]),
          ),
        )
        .join("|"),
    );
    same("exec -u and the image's groups", "65534|1000", (s) =>
      detached(s, "execgroups", [], () =>
        ["nobody", "1000"]
          .map((u) =>
            out(
              s.cli(["exec", "-u", u, "execgroups", "sh", "-c", "grep Groups /proc/self/status | cut -f2"]),
            ),
          )
          .join("|"),
      ),
    );
    same(
      "--tmpfs /x, --tmpfs /x:exec,size=1m",
      "rw,nosuid,nodev,noexec,relatime|rw,nosuid,nodev,relatime",
      (s) =>
        ["/x", "/x:exec,size=1m"]
          .map((t) =>
            out(
              run(s, ["--tmpfs", t, IMAGE, "sh", "-c", "grep ' /x ' /proc/self/mountinfo | cut -d' ' -f6"]),
            ),
          )
          .join("|"),
    );
    same("stdin is read with -i only", "without -i: ''; with -i: 'x'", (s) => {
      const without = out(run(s, [IMAGE, "cat"], { stdin: "x\n" }));
      const withI = out(run(s, ["-i", IMAGE, "cat"], { stdin: "x\n" }));
      return `without -i: '${without}'; with -i: '${withI}'`;
    });
  });

  describe("run: -w creates the directory, exit codes, OOM, env order, logs of a foreground run", () => {
    same("-w /new/dir", "0 /new/dir root", (s) => {
      const r = run(s, ["-u", "1000", "-w", "/new/dir", IMAGE, "sh", "-c", "pwd; stat -c %U ."]);
      return `${r.code} ${out(r).replaceAll("\n", " ")}`;
    });
    same("exit codes: 3, not found, not executable", "3 127 126", (s) =>
      [
        run(s, [IMAGE, "sh", "-c", "exit 3"]).code,
        run(s, [IMAGE, "/no/such"]).code,
        run(s, [IMAGE, "/etc/passwd"]).code,
      ].join(" "),
    );
    same("OOM kill: 137 and .State.OOMKilled", "137 true", (s) => {
      const r = s.cli([
        "run",
        "--name",
        "oom",
        ...NONE,
        "--memory",
        "8m",
        "--memory-swap",
        "8m",
        IMAGE,
        "sh",
        "-c",
        "x=aaaaaaaa; while true; do x=$x$x; done",
      ]);
      const killed = out(s.cli(["inspect", "-f", "{{.State.OOMKilled}}", "oom"]));
      rm(s, "oom");
      return `${r.code} ${killed}`;
    });
    same("logs of a container run in the foreground", "0 out|err", (s) => {
      const r = s.cli(["run", "--name", "fglogs", ...NONE, IMAGE, "sh", "-c", "echo out; echo err >&2"]);
      const l = s.cli(["logs", "fglogs"]);
      rm(s, "fglogs");
      return `${r.code} ${out(l)}|${l.stderr.trim()}`;
    });
    same("start -a", "0 started", (s) => {
      s.cli(["create", "--name", "starta", ...NONE, IMAGE, "echo", "started"]);
      const r = s.cli(["start", "-a", "starta"]);
      rm(s, "starta");
      return `${r.code} ${out(r)}`;
    });
    same("--memory 1k is refused before anything runs", "125 Minimum memory limit allowed is 6MB", (s) => {
      const r = run(s, ["--memory", "1k", IMAGE, "true"]);
      return `${r.code} ${/Minimum memory limit allowed is 6MB/.test(r.stderr) ? "Minimum memory limit allowed is 6MB" : r.stderr.trim()}`;
    });
  });

  describe("inspect: -f templates and docker's shapes", () => {
    // .Config.Env: the -e values, then the image's. dockerd 20.10 gives the -e values in an order
    // that changes from one create to the next (a Go map), so they are compared as a set.
    same("container inspect shapes", `-e A=1,B=2 then ${PATH_ENV}; null 1500000000 false running`, (s) =>
      detached(s, "shapes", ["-e", "B=2", "-e", "A=1", "--cpus", "1.5"], () => {
        const r = out(
          s.cli([
            "inspect",
            "-f",
            "{{json .Config.Env}} {{json .Config.Entrypoint}} {{.HostConfig.NanoCpus}} {{.State.OOMKilled}} {{.State.Status}}",
            "shapes",
          ]),
        );
        const [env = "[]", ...rest] = r.split(" ");
        const list = JSON.parse(env) as string[];
        const mine = list.slice(0, 2).sort().join(",");
        return `-e ${mine} then ${list.slice(2).join(",")}; ${rest.join(" ")}`;
      }),
    );
    same("image inspect User and WorkingDir when unset", '"" "" ["sh"]', (s) =>
      out(
        s.cli([
          "image",
          "inspect",
          "-f",
          "{{json .Config.User}} {{json .Config.WorkingDir}} {{json .Config.Cmd}}",
          IMAGE,
        ]),
      ),
    );
    same("template functions", "v sleep,1000 ab /TPL Ab Cd 2 x", (s) =>
      detached(s, "tpl", ["--label", "k=v"], () =>
        out(
          s.cli([
            "inspect",
            "-f",
            '{{index .Config.Labels "k"}} {{join .Config.Cmd ","}} {{lower "AB"}} {{upper .Name}} {{title "ab cd"}} {{len .Config.Cmd}} {{if .State.Running}}x{{else}}y{{end}}',
            "tpl",
          ]),
        ),
      ),
    );
    same("a template error exits 1 (never ignored)", "1", (s) =>
      String(s.cli(["inspect", "-f", "{{.NoSuchField}}", IMAGE]).code),
    );
  });

  describe("--format templates: ps, images, stats, volume ls", () => {
    same("ps --format", 'tpl2 v running|NAMES tpl2|"tpl2"', (s) =>
      detached(s, "tpl2", ["--label", "k=v"], () =>
        [
          out(s.cli(["ps", "--filter", "name=tpl2", "--format", '{{.Names}} {{.Label "k"}} {{.State}}'])),
          out(s.cli(["ps", "--filter", "name=tpl2", "--format", "table {{.Names}}"])).replace(/\s+/g, " "),
          out(s.cli(["ps", "--filter", "name=tpl2", "--format", "{{json .Names}}"])),
        ].join("|"),
      ),
    );
    same("images REPO --format", "leopard-busybox:test", (s) =>
      out(s.cli(["images", "--format", "{{.Repository}}:{{.Tag}}", "leopard-busybox"])),
    );
    same("stats --format, memory in binary units", "st 1 64MiB", (s) =>
      detached(s, "st", ["--memory", "64m"], () => {
        const r = out(s.cli(["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}} {{.MemUsage}}", "st"]));
        return r.replace(/ \S+ \/ /, " ");
      }),
    );
    same("volume ls --format", "tplvol local", (s) => {
      s.cli(["volume", "create", "tplvol"]);
      const r = out(s.cli(["volume", "ls", "--format", "{{.Name}} {{.Driver}}"]));
      s.cli(["volume", "rm", "tplvol"]);
      return r
        .split("\n")
        .filter((l) => l.startsWith("tplvol"))
        .join("|");
    });
  });

  describe("logs -t, cp streams, import --change, save", () => {
    same("logs -t: RFC 3339 with nanoseconds, in UTC", "TIME hi", (s) =>
      detached(
        s,
        "logst",
        [],
        () => {
          for (let i = 0; i < 100 && out(s.cli(["logs", "logst"])) === ""; i++) Bun.sleepSync(50);
          return out(s.cli(["logs", "-t", "logst"])).replace(
            /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z /,
            "TIME ",
          );
        },
        ["sh", "-c", "echo hi; sleep 1000"],
      ),
    );
    same("cp sees a running container's volume, both ways", "0 in-volume 0 from-host", (s) => {
      const r = detached(s, "cpvol", ["-v", "cpvoldata:/data"], () => {
        s.cli(["exec", "cpvol", "sh", "-c", "echo in-volume > /data/f"]);
        const dir = mkdtempSync(join(base, `cpvol-${s.name}-`));
        const got = s.cli(["cp", "cpvol:/data/f", join(dir, "f")]);
        writeFileSync(join(dir, "g"), "from-host\n");
        const put = s.cli(["cp", join(dir, "g"), "cpvol:/data/g"]);
        const read = Bun.spawnSync(["cat", join(dir, "f")])
          .stdout.toString()
          .trim();
        const back = out(s.cli(["exec", "cpvol", "cat", "/data/g"]));
        return `${got.code} ${read} ${put.code} ${back}`;
      });
      s.cli(["volume", "rm", "cpvoldata"]);
      return r;
    });
    same("cp CTR:/etc/hostname - (a tar on stdout)", "0 hostname", (s) =>
      detached(s, "cpout", [], () => {
        const r = s.cli(["cp", "cpout:/etc/hostname", "-"]);
        return `${r.code} ${tarNames(r.bytes)}`;
      }),
    );
    same("cp - CTR:/tmp (a tar from stdin)", "0 from-tar", (s) =>
      detached(s, "cpin", [], () => {
        const dir = mkdtempSync(join(base, `tar-${s.name}-`));
        writeFileSync(join(dir, "in.txt"), "from-tar\n");
        const tar = Bun.spawnSync(["tar", "-C", dir, "-cf", "-", "in.txt"]).stdout;
        const r = s.cli(["cp", "-", "cpin:/tmp"], { stdin: new Uint8Array(tar) });
        return `${r.code} ${out(s.cli(["exec", "cpin", "cat", "/tmp/in.txt"]))}`;
      }),
    );
    same("import --change ENV and CMD", '0 1 ["sh","-c","echo $A"]', (s) => {
      const tar = join(base, "rootfs.tar");
      const i = s.cli([
        "import",
        "--change",
        "ENV A=1",
        "--change",
        'CMD ["sh","-c","echo $A"]',
        tar,
        "changed:1",
      ]);
      const r = run(s, ["changed:1"]);
      const cmd = out(s.cli(["image", "inspect", "-f", "{{json .Config.Cmd}}", "changed:1"]));
      s.cli(["rmi", "changed:1"]);
      return `${i.code} ${out(r)} ${cmd}`;
    });
    same("save writes docker's archive (manifest.json), which docker load takes", "1 loaded", (s) => {
      const r = s.cli(["save", IMAGE]);
      const names = tarNames(r.bytes).split(" ");
      const load = SIDES[0]?.cli(["load"], { stdin: r.bytes });
      return `${names.filter((n) => n === "manifest.json").length} ${load?.code === 0 ? "loaded" : load?.stderr.trim()}`;
    });
  });

  describe("exit codes and words: unknown flags, exec, --help, the verb in errors, prune filters", () => {
    same("unknown flag", "125 unknown flag: --bogus\nSee 'ENGINE run --help'.", (s) => {
      const r = s.cli(["run", "--bogus", IMAGE, "true"]);
      return `${r.code} ${r.stderr.trim()}`;
    });
    same("unknown flag of ps", "125 unknown flag: --bogus\nSee 'ENGINE ps --help'.", (s) => {
      const r = s.cli(["ps", "--bogus"]);
      return `${r.code} ${r.stderr.trim()}`;
    });
    same("exec into a stopped container, a missing one", "1 1", (s) => {
      s.cli(["create", "--name", "stopped", ...NONE, IMAGE, "true"]);
      const r = s.cli(["exec", "stopped", "true"]).code;
      rm(s, "stopped");
      return `${r} ${s.cli(["exec", "nosuchcontainer", "true"]).code}`;
    });
    same(
      "exec of a missing command",
      "127",
      (s) => detached(s, "execmissing", [], () => String(s.cli(["exec", "execmissing", "/no/such"]).code)),
      { docker20: "126" },
    );
    same("--help exits 0", "0 0 0", (s) =>
      [
        s.cli(["volume", "--help"]).code,
        s.cli(["volume", "rm", "--help"]).code,
        s.cli(["ps", "--help"]).code,
      ].join(" "),
    );
    same("errors name the verb typed", "volume rm: 1 false; container prune: 1 false", (s) => {
      const v = s.cli(["volume", "rm", "nosuchvolume"]);
      const p = s.cli(["container", "prune", "-f", "--filter", "bogus=1"]);
      return `volume rm: ${v.code} ${/image/.test(v.stderr)}; container prune: ${p.code} ${/image/.test(p.stderr)}`;
    });
    same(
      "ps --format json: one object per line, docker's fields",
      "1 fmtjson running",
      (s) =>
        detached(s, "fmtjson", [], () => {
          const lines = out(s.cli(["ps", "--filter", "name=fmtjson", "--format", "json"])).split("\n");
          try {
            const rows = lines.map((l) => JSON.parse(l) as { Names: string; State: string });
            return `${rows.length} ${rows[0]?.Names} ${rows[0]?.State}`;
          } catch {
            return `not json: ${lines.join(" ")}`;
          }
        }),
      { docker20: "not json: json" },
    );
    same(
      "volume prune keeps named volumes without -a",
      "named kept",
      (s) => {
        s.cli(["volume", "create", "prunenamed"]);
        s.cli(["volume", "prune", "-f"]);
        const kept = s.cli(["volume", "inspect", "prunenamed"]).code === 0;
        s.cli(["volume", "rm", "prunenamed"]);
        return kept ? "named kept" : "named removed";
      },
      { docker20: "named removed" },
    );
  });
});
