// bench/rootless: rootless `run --rm busybox true` as a real unprivileged user (the rootless
// tests' user: test/rootless/harness.ts makes leopard-rl-<random> with subordinate ids,
// /run/user/<uid> and a work directory, and removes all of it at the end, also on failure).
// Alternating in one run, on `--network none` and then on each engine's default network
// (leopard: slirp4netns; rootless podman 4.3: slirp4netns):
//   podman (runc)              rootless podman with runc, the baseline;
//   leopard direct             `leopard run` (LEOPARD_SERVE=0: the launcher execs Bun);
//                              target <= 1.0x podman;
//   leopard served             served by the user's own `leopard serve`, socket-activated
//                              (systemd-socket-activate, as root's leopard.socket would; a plain
//                              `serve` where that is missing) on a private socket directory under
//                              the user's $XDG_RUNTIME_DIR; LEOPARD_SERVE=1: an unserved call
//                              fails rather than silently going direct; target <= 0.5x podman;
//   podman (leopard-oci)       rootless podman with `--runtime leopard-oci` (a two-line sh wrapper
//                              setting LEOPARD_SERVE=0: podman does not pass the variable on);
//                              target <= 1.0x podman with runc.
// The image is leopard's embedded busybox, saved and loaded into podman. Prints the median of
// each and the ratios; never asserts. Then where leopard's time goes, direct and served (LEOPARD_TRACE=1
// marks, median per phase). As root: `bun bench/rootless.ts [N runs each, default 10] [M traced, default 5]`.
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cannotRun, makeRootlessUser, OCI, PODMAN, RUNC, TOP } from "../test/rootless/harness.ts";

const N = Number(process.argv[2] ?? 10);
const M = Number(process.argv[3] ?? 5);
const LEOPARD = join(TOP, "bin/leopard");
const why = cannotRun() ?? (PODMAN ? undefined : "podman is not installed");
if (why !== undefined) {
  process.stderr.write(`bench/rootless cannot run: ${why}\n`);
  process.exit(1);
}
const IMAGE = "docker.io/library/busybox:latest";

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const ms = (x: number): string => `${x.toFixed(1).padStart(7)} ms`;
const loadavg = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

const user = makeRootlessUser();
let server: ReturnType<typeof Bun.spawn> | undefined;
try {
  const serveDir = join(user.runtimeDir, "leopard-bench-serve");
  const socket = join(serveDir, "leopard.sock");
  writeFileSync(
    join(user.work, "containers.conf"),
    '[containers]\ndefault_ulimits = ["nofile=20000:20000"]\n[engine]\nevents_logger = "file"\n',
  );
  user.env["CONTAINERS_CONF"] = join(user.work, "containers.conf");
  const direct = { LEOPARD_SERVE: "0" };
  const served = { LEOPARD_SERVE: "1", LEOPARD_SERVE_DIR: serveDir, LEOPARD_SERVE_WAIT_MS: "30000" };
  const must = (what: string, argv: string[], env: Record<string, string> = direct): string => {
    const r = user.run(argv, { env });
    if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
  };
  // A wrapper podman calls as its runtime: the installed-like leopard-oci, never served.
  const ociWrapper = join(user.work, "leopard-oci-direct");
  writeFileSync(ociWrapper, `#!/bin/sh\nLEOPARD_SERVE=0 exec ${JSON.stringify(OCI)} "$@"\n`);
  chmodSync(ociWrapper, 0o755);
  const podmanArgv = (runtime: string, args: string[]): string[] => [
    PODMAN ?? "podman",
    "--storage-driver",
    "vfs",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
    "--runtime",
    runtime,
    ...args,
  ];

  // leopard builds its embedded busybox on first use; podman gets exactly that image.
  must("leopard run busybox", [LEOPARD, "run", "--rm", "--network", "none", "busybox", "true"]);
  const archive = join(user.work, "busybox.tar");
  must("leopard save", [LEOPARD, "save", "--format", "docker-archive", "-o", archive, "busybox"]);
  must("podman load", podmanArgv(RUNC, ["load", "-i", archive]));

  must("mkdir the socket directory", ["mkdir", "-m", "0700", serveDir]);
  // The user's own server: systemd-socket-activate listens as the user, and the first call starts
  // `leopard serve` with the socket (runuser → env → activator → serve: killing the pid we hold
  // is not enough, the cleanup below ends every process of the user by pid).
  const activate = Bun.which("systemd-socket-activate");
  const serveEnv = { ...user.env, LEOPARD_SERVE_DIR: serveDir };
  const serveArgv =
    activate === null
      ? [LEOPARD, "serve", "--socket", socket]
      : [
          activate,
          "--seqpacket",
          "-l",
          socket,
          ...Object.entries(serveEnv).flatMap(([k, v]) => ["-E", `${k}=${v}`]),
          LEOPARD,
          "serve",
        ];
  server = Bun.spawn(
    [
      "runuser",
      "-u",
      user.name,
      "--",
      "env",
      "-i",
      ...Object.entries(serveEnv).map(([k, v]) => `${k}=${v}`),
      ...serveArgv,
    ],
    { cwd: user.work, stdin: "ignore", stdout: "ignore", stderr: "ignore" },
  );
  for (let t = 0; user.run([LEOPARD, "version"], { env: served }).code !== 0; t++) {
    if (t > 300) {
      const r = user.run([LEOPARD, "version"], { env: served });
      throw new Error(`the user's leopard serve never answered: ${r.stderr.trim()}`);
    }
    Bun.sleepSync(100);
  }

  type Name = "podman-runc" | "leopard" | "leopard-served" | "podman-leopard-oci";
  const names: Name[] = ["podman-runc", "leopard", "leopard-served", "podman-leopard-oci"];
  const argvOf = (name: Name, net: "none" | "default"): { argv: string[]; env: Record<string, string> } => {
    const n = net === "none" ? ["--network", "none"] : [];
    const run = ["run", "--rm", ...n];
    switch (name) {
      case "podman-runc":
        return { argv: podmanArgv(RUNC, [...run, IMAGE, "true"]), env: direct };
      case "podman-leopard-oci":
        return { argv: podmanArgv(ociWrapper, [...run, IMAGE, "true"]), env: direct };
      case "leopard":
        return { argv: [LEOPARD, ...run, "busybox", "true"], env: direct };
      case "leopard-served":
        return { argv: [LEOPARD, ...run, "busybox", "true"], env: served };
    }
  };
  const once = (name: Name, net: "none" | "default"): number => {
    const { argv, env } = argvOf(name, net);
    const t = Bun.nanoseconds();
    const r = user.run(argv, { env });
    const elapsed = (Bun.nanoseconds() - t) / 1e6;
    if (r.code !== 0) throw new Error(`${name} (${net}) failed (${r.code}): ${r.stderr.trim()}`);
    return elapsed;
  };

  console.log(
    `bench/rootless: as ${user.name} (uid ${user.uid}), run --rm busybox true, ${N} runs each, alternating; each through runuser (load ${loadavg()})`,
  );
  for (const net of ["none", "default"] as const) {
    for (const name of names) for (let i = 0; i < 2; i++) once(name, net); // warm-up, not counted
    const times: Record<Name, number[]> = {
      "podman-runc": [],
      leopard: [],
      "leopard-served": [],
      "podman-leopard-oci": [],
    };
    for (let i = 0; i < N; i++)
      for (const name of i % 2 === 0 ? names : [...names].reverse()) times[name].push(once(name, net));
    const base = median(times["podman-runc"]);
    const row = (label: string, name: Name, target: string) => {
      const m = median(times[name]);
      console.log(
        `  ${label.padEnd(28)} median ${ms(m)}   ratio ${(m / base).toFixed(2)}x   (target ${target})`,
      );
    };
    console.log(`--network ${net === "none" ? "none" : "default (slirp4netns, both)"}:`);
    console.log(`  ${"podman (runc)".padEnd(28)} median ${ms(base)}`);
    row("leopard direct", "leopard", "<= 1.00x");
    row(`leopard served${activate ? " (activated)" : ""}`, "leopard-served", "<= 0.50x");
    row("podman (leopard-oci direct)", "podman-leopard-oci", "<= 1.00x");
  }

  // Where leopard's time goes: LEOPARD_TRACE=1 prints "leopard-trace: <at> ms (+<delta>) <phase>"
  // on stderr (a served call's marks come from the worker, as a direct call's).
  for (const [mode, env] of [
    ["direct", direct],
    ["served", served],
  ] as const) {
    const phases = new Map<string, number[]>();
    for (let i = 0; i < M; i++) {
      const r = user.run([LEOPARD, "run", "--rm", "--network", "none", "busybox", "true"], {
        env: { ...env, LEOPARD_TRACE: "1" },
      });
      let last = 0;
      for (const m of r.stderr.matchAll(/^leopard-trace:\s+([\d.]+) ms \(\+[\d.]+\) (.*)$/gm)) {
        const at = Number(m[1]);
        phases.set(m[2] ?? "?", [...(phases.get(m[2] ?? "?") ?? []), at - last]);
        last = at;
      }
    }
    if (phases.size === 0) continue;
    console.log(
      `leopard run --rm --network none busybox true, ${mode}: LEOPARD_TRACE=1 marks, median over ${M}`,
    );
    for (const [phase, xs] of phases) console.log(`  ${ms(median(xs))}  ${phase}`);
  }
  console.log(`load at the end: ${loadavg()}`);
} finally {
  server?.kill("SIGTERM");
  await server?.exited;
  user.run([LEOPARD, "rm", "--force", "--all"], { env: { LEOPARD_SERVE: "0" } });
  user.run([PODMAN ?? "podman", "--storage-driver", "vfs", "rm", "--all", "--force", "--time", "0"]);
  const left = user.cleanup();
  if (left.length > 0) process.stderr.write(`left behind: ${left.join(", ")}\n`);
}
