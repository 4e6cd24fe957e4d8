// bench/rootless: rootless `run --rm busybox true` as a real unprivileged user (the rootless
// tests' user: test/rootless/harness.ts makes leopard-rl-<random> with subordinate ids,
// /run/user/<uid> and a work directory, and removes all of it at the end, also on failure: its
// processes, servers and containers with it). Alternating in one run, on `--network none` and
// then on each engine's default network (leopard: pasta where Debian's passt is installed, else
// slirp4netns; rootless podman 4.3: slirp4netns):
//   podman (runc)              rootless podman with runc, the baseline;
//   leopard direct             `leopard run` (LEOPARD_SERVE=0: the launcher execs Bun);
//                              target <= 1.0x podman;
//   leopard served             served by the user's own `leopard serve`, socket-activated
//                              (systemd-socket-activate, as root's leopard.socket would; a plain
//                              `serve` where that is missing) on a private socket directory under
//                              the user's $XDG_RUNTIME_DIR; LEOPARD_SERVE=1: an unserved call
//                              fails rather than silently going direct; target <= 0.5x podman;
//   podman (leopard-oci)       rootless podman with `--runtime leopard-oci`, direct (a two-line sh
//                              wrapper setting LEOPARD_SERVE=0: podman does not pass the variable
//                              on) and served: podman calls its runtime inside the user namespace
//                              and mount namespace it keeps (its pause process), where a server
//                              outside does not serve (another namespace), so the server is a plain
//                              `leopard-oci serve` started in them by `podman unshare`;
//                              target <= 1.0x podman with runc;
//   podman (leopard-oci default) `--runtime leopard-oci` itself, nothing set: what a user gets. The
//                              first direct `start` in podman's namespaces starts a server there
//                              (src/serve/autostart.ts; the warm-up runs start it), which serves
//                              the calls after it; target <= 1.0x podman with runc.
// The image is leopard's embedded busybox, saved and loaded into podman. Prints the median of
// each and the ratios; never asserts. Then where the time goes: podman's runtime calls per
// container and their time (through a wrapper that logs each call), and leopard's phases direct
// and served (LEOPARD_TRACE=1 marks, median per phase).
// As root: `bun bench/rootless.ts [N runs each, default 10] [M traced runs each, default 5]`.
import { chmodSync, chownSync, existsSync, readFileSync, writeFileSync } from "node:fs";
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
const PASTA = ["/usr/bin/pasta", "/usr/sbin/pasta"].some((p) => existsSync(p));

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const ms = (x: number): string => `${x.toFixed(1).padStart(7)} ms`;
const loadavg = (): string => readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");

const user = makeRootlessUser();
const servers: ReturnType<typeof Bun.spawn>[] = [];
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
  // Wrappers podman calls as its runtime: leopard-oci never served, and always served.
  const ociWrapper = (name: string, env: Record<string, string>): string => {
    const path = join(user.work, name);
    const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
    writeFileSync(path, `#!/bin/sh\n${vars.join(" ")} exec ${JSON.stringify(OCI)} "$@"\n`);
    chmodSync(path, 0o755);
    return path;
  };
  const ociDirect = ociWrapper("leopard-oci-direct", direct);
  const ociServed = ociWrapper("leopard-oci-served", served);
  const podmanGlobal = [PODMAN ?? "podman", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs"];
  const podmanArgv = (runtime: string, args: string[]): string[] => [
    ...podmanGlobal,
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
  const asUser = (argv: string[]) =>
    Bun.spawn(
      [
        "runuser",
        "-u",
        user.name,
        "--",
        "env",
        "-i",
        ...Object.entries(serveEnv).map(([k, v]) => `${k}=${v}`),
        ...argv,
      ],
      { cwd: user.work, stdin: "ignore", stdout: "ignore", stderr: "ignore" },
    );
  servers.push(asUser(serveArgv));
  // leopard-oci's server in podman's namespaces (podman starts its pause process first if needed).
  servers.push(asUser([...podmanGlobal, "unshare", OCI, "serve"]));
  const answers = (argv: string[]): string | undefined => {
    for (let t = 0; ; t++) {
      const r = user.run(argv, { env: served });
      if (r.code === 0) return undefined;
      if (t > 300) return r.stderr.trim();
      Bun.sleepSync(100);
    }
  };
  const engineDown = answers([LEOPARD, "version"]);
  if (engineDown) throw new Error(`the user's leopard serve never answered: ${engineDown}`);
  const ociDown = answers([
    ...podmanGlobal,
    "unshare",
    "env",
    ...Object.entries(served).map(([k, v]) => `${k}=${v}`),
    OCI,
    "--version",
  ]);
  if (ociDown) throw new Error(`the leopard-oci serve in podman's namespaces never answered: ${ociDown}`);

  type Name =
    | "podman-runc"
    | "leopard"
    | "leopard-served"
    | "podman-leopard-oci"
    | "podman-leopard-oci-served"
    | "podman-leopard-oci-default";
  const names: Name[] = [
    "podman-runc",
    "leopard",
    "leopard-served",
    "podman-leopard-oci",
    "podman-leopard-oci-served",
    "podman-leopard-oci-default",
  ];
  const argvOf = (name: Name, net: "none" | "default"): { argv: string[]; env: Record<string, string> } => {
    const n = net === "none" ? ["--network", "none"] : [];
    const run = ["run", "--rm", ...n];
    switch (name) {
      case "podman-runc":
        return { argv: podmanArgv(RUNC, [...run, IMAGE, "true"]), env: direct };
      case "podman-leopard-oci":
        return { argv: podmanArgv(ociDirect, [...run, IMAGE, "true"]), env: direct };
      case "podman-leopard-oci-served":
        return { argv: podmanArgv(ociServed, [...run, IMAGE, "true"]), env: direct };
      case "podman-leopard-oci-default":
        return { argv: podmanArgv(OCI, [...run, IMAGE, "true"]), env: {} };
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
      "podman-leopard-oci-served": [],
      "podman-leopard-oci-default": [],
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
    console.log(
      `--network ${net === "none" ? "none" : `default (leopard: ${PASTA ? "pasta" : "slirp4netns"}; podman: slirp4netns)`}:`,
    );
    console.log(`  ${"podman (runc)".padEnd(28)} median ${ms(base)}`);
    row("leopard direct", "leopard", "<= 1.00x");
    row(`leopard served${activate ? " (activated)" : ""}`, "leopard-served", "<= 0.50x");
    row("podman (leopard-oci direct)", "podman-leopard-oci", "<= 1.00x");
    row("podman (leopard-oci served)", "podman-leopard-oci-served", "<= 1.00x");
    row("podman (leopard-oci default)", "podman-leopard-oci-default", "<= 1.00x");
  }

  // podman's runtime calls per container: a wrapper logs "<command> <microseconds> <status>" per
  // call and runs the real one as its child (bash's $EPOCHREALTIME costs no fork).
  console.log(`podman run --rm --network none: runtime calls per container (${M} traced runs each)`);
  for (const [label, runtime] of [
    ["runc", RUNC],
    ["leopard-oci direct", ociDirect],
    ["leopard-oci served", ociServed],
  ] as const) {
    const log = join(user.work, `calls-${label.replace(/ /g, "-")}.log`);
    const w = join(user.work, `trace-${label.replace(/ /g, "-")}`);
    writeFileSync(
      w,
      [
        "#!/bin/bash",
        "t0=$EPOCHREALTIME",
        `${JSON.stringify(runtime)} "$@"`,
        "rc=$?",
        "t1=$EPOCHREALTIME",
        'cmd=""; skip=0',
        'for a in "$@"; do',
        "  if [ $skip = 1 ]; then skip=0; continue; fi",
        '  case "$a" in --root|--log|--log-format|--criu) skip=1 ;; -*) ;; *) cmd=$a; break ;; esac',
        "done",
        `echo "$cmd $(( (\${t1/./} - \${t0/./}) )) $rc" >> ${JSON.stringify(log)}`,
        "exit $rc",
        "",
      ].join("\n"),
    );
    chmodSync(w, 0o755);
    writeFileSync(log, "");
    chownSync(log, user.uid, user.gid);
    for (let i = 0; i < M; i++) {
      const r = user.run(podmanArgv(w, ["run", "--rm", "--network", "none", IMAGE, "true"]));
      if (r.code !== 0) throw new Error(`podman with ${label} (traced) failed: ${r.stderr.trim()}`);
    }
    const calls = readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" "))
      .map(([cmd, us, rc]) => ({ cmd: cmd || "(none)", ms: Number(us) / 1000, rc: Number(rc) }));
    const byCmd = new Map<string, number[]>();
    for (const c of calls) byCmd.set(c.cmd, [...(byCmd.get(c.cmd) ?? []), c.ms]);
    const total = calls.reduce((a, c) => a + c.ms, 0) / M;
    const failed = calls.filter((c) => c.rc !== 0).length;
    console.log(
      `  ${label.padEnd(20)} ${(calls.length / M).toFixed(1)} calls, ${ms(total)} in the runtime per container${failed ? `, ${failed} calls exited non-zero` : ""}`,
    );
    for (const [cmd, xs] of byCmd)
      console.log(`      ${cmd.padEnd(8)} x${(xs.length / M).toFixed(1)}  median ${ms(median(xs))}`);
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
  for (const s of servers) s.kill("SIGTERM");
  await Promise.all(servers.map((s) => s.exited));
  user.run([LEOPARD, "rm", "--force", "--all"], { env: { LEOPARD_SERVE: "0" } });
  user.run([PODMAN ?? "podman", "--storage-driver", "vfs", "rm", "--all", "--force", "--time", "0"]);
  const left = user.cleanup();
  if (left.length > 0) process.stderr.write(`left behind: ${left.join(", ")}\n`);
}
