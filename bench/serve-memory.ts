// bench/serve-memory: what the two servers hold while warm and idle, and after their idle period.
// Starts `leopard-oci serve` and `leopard serve` socket-activated (systemd-socket-activate on a
// private socket directory, as systemd's .socket units would; plain `serve` where that is
// missing) with their defaults but --idle-exit, makes a few calls of each (so each worker has
// served, and the JIT compiled what it runs), waits until every worker is idle, and sums VmRSS
// of the server process (the keeper, native/keeper.c) and its workers (/proc/PID/status), and their PSS and private memory
// (/proc/PID/smaps_rollup): RSS counts the pages of the Bun executable that every Bun process
// shares (~32 MB each here) once per process, PSS divides them among the processes that share
// them, private counts only what is the process's own. Then waits out the idle period and counts
// what is left. Reports, never asserts.
//   bun bench/serve-memory.ts [IDLE_EXIT_SECONDS, default 5]
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const TOP = join(import.meta.dir, "..");
const IDLE = Number(process.argv[2] ?? 5);
const ACTIVATE = Bun.which("systemd-socket-activate");
const dir = mkdtempSync(join(tmpdir(), "leopard-bench-mem-"));
const env = { ...process.env, LEOPARD_SERVE_DIR: dir, LEOPARD_SERVE: "1", LEOPARD_SERVE_WAIT_MS: "30000" };

function children(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return kids === "" ? [] : kids.split(" ").map(Number);
  } catch {
    return [];
  }
}

function rssKb(pid: number): number {
  try {
    return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** PSS and private (clean + dirty) kB from /proc/PID/smaps_rollup. */
function pssKb(pid: number): { pss: number; own: number } {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const f = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, "m").exec(t)?.[1] ?? 0);
    return { pss: f("Pss"), own: f("Private_Clean") + f("Private_Dirty") };
  } catch {
    return { pss: 0, own: 0 };
  }
}

function start(name: "leopard-oci" | "leopard") {
  const bin = join(TOP, "bin", name);
  const socket = join(dir, `${name}.sock`);
  const args = ["serve", "--idle-exit", String(IDLE)];
  const flat = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : ["-E", `${k}=${v}`]));
  const p =
    ACTIVATE === null
      ? Bun.spawn([bin, ...args, "--socket", socket], { stdout: "ignore", stderr: "inherit" })
      : Bun.spawn([ACTIVATE, "--seqpacket", "-l", socket, ...flat, bin, ...args], {
          stdout: "ignore",
          stderr: "ignore",
        });
  return { name, bin, p };
}

function call(bin: string, args: string[]): void {
  const r = Bun.spawnSync([bin, ...args], { env, stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${bin} ${args.join(" ")} failed: ${r.stderr.toString()}`);
}

const servers = [start("leopard-oci"), start("leopard")];
try {
  for (let i = 0; i < 20 && Bun.spawnSync(["test", "-S", join(dir, "leopard.sock")]).exitCode !== 0; i++)
    Bun.sleepSync(100);
  for (let i = 0; i < 10; i++) {
    call(servers[0]!.bin, ["--root", join(dir, "state"), "list"]);
    call(servers[1]!.bin, ["--storage", join(dir, "storage"), "--run", join(dir, "run"), "version"]);
  }
  Bun.sleepSync(1500); // every worker back in its poll
  console.log(
    `bench/serve-memory: warm and idle (load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")})`,
  );
  let total = 0;
  let pss = 0;
  let own = 0;
  let shared = 0; // the most any one process maps that is not its own: the shared pages, once
  for (const s of servers) {
    const workers = children(s.p.pid);
    const sup = rssKb(s.p.pid);
    const ws = workers.map(rssKb);
    const sum = sup + ws.reduce((a, b) => a + b, 0);
    total += sum;
    for (const pid of [s.p.pid, ...workers]) {
      const m = pssKb(pid);
      pss += m.pss;
      own += m.own;
      shared = Math.max(shared, rssKb(pid) - m.own);
    }
    console.log(
      `  ${`${s.name} serve`.padEnd(18)} keeper ${(sup / 1024).toFixed(1)} MB + ${workers.length} worker(s) ${ws.map((k) => `${(k / 1024).toFixed(1)} MB`).join(", ")} = ${(sum / 1024).toFixed(1)} MB`,
    );
  }
  console.log(`  both servers       ${(total / 1024).toFixed(1)} MB RSS   (target <= 150 MB)`);
  console.log(
    `                     ${(pss / 1024).toFixed(1)} MB PSS; ${(own / 1024).toFixed(1)} MB private + ${(shared / 1024).toFixed(1)} MB shared once = ${((own + shared) / 1024).toFixed(1)} MB (RSS counts Bun's shared pages once per process)`,
  );
  const t = Bun.nanoseconds();
  await Promise.all(servers.map((s) => s.p.exited));
  const left = servers.flatMap((s) => [s.p.pid, ...children(s.p.pid)]).filter((pid) => rssKb(pid) > 0);
  console.log(
    `  after the idle period (--idle-exit ${IDLE}): both exited in ${((Bun.nanoseconds() - t) / 1e9).toFixed(1)} s, ${left.length} processes left, 0 MB`,
  );
} finally {
  for (const s of servers) s.p.kill("SIGTERM");
  await Promise.all(servers.map((s) => s.p.exited));
  rmSync(dir, { recursive: true, force: true });
}
