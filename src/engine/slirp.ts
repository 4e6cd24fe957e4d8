// A rootless container's network: slirp4netns (Debian's package; what rootless podman 4.3 uses)
// gives the container's own network namespace a tap device with user-mode NAT for outbound
// connections (10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3) and forwards published ports from
// the host (`-p 127.0.0.1:8080:80`) through its API socket. It is started by a createRuntime hook
// (`leopard slirp-hook ID PORT…`: the runtime runs it once the namespaces exist, before the
// process starts, in the foreground as under conmon), detached, and stopped by the engine when the
// container's network is torn down. Its pid and start time are kept in the run directory.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { hostToolEnv, SYSTEM_PATH } from "../sys/host-tool.ts";
import { processStartTime } from "../sys/proc.ts";
import { LeopardError } from "../util/errors.ts";
import type { PortSpec } from "./flags.ts";

export const SLIRP_ADDRESS = "10.0.2.100";
const READY_TIMEOUT_MS = 10_000;

export function slirpBinary(): string | undefined {
  return SYSTEM_PATH.split(":")
    .map((d) => `${d}/slirp4netns`)
    .find((p) => existsSync(p));
}

/** The one-line error for a rootless network with neither pasta nor slirp4netns. */
export function needSlirp(network: string): LeopardError {
  return new LeopardError(
    "unsupported",
    `--network ${network}: a rootless container's network needs pasta or slirp4netns, and neither is installed (as root: apt-get install passt, or slirp4netns), or use --network none or --network host`,
  );
}

/** --network slirp4netns without slirp4netns. */
export function needSlirp4netns(): LeopardError {
  return new LeopardError(
    "unsupported",
    "--network slirp4netns: slirp4netns is not installed (as root: apt-get install slirp4netns), or use --network pasta",
  );
}

/** slirp4netns's command line for the network namespace of pid (and its user namespace). */
export function slirpArgv(bin: string, pid: number, apiSocket: string): string[] {
  return [
    bin,
    "--configure",
    "--mtu=65520",
    // The host's loopback stays out of reach from the container (10.0.2.2 is not 127.0.0.1).
    "--disable-host-loopback",
    "--api-socket",
    apiSocket,
    "--userns-path",
    `/proc/${pid}/ns/user`,
    "--netns-type",
    "path",
    `/proc/${pid}/ns/net`,
    "tap0",
  ];
}

/** A published port as slirp4netns's add_hostfwd request. */
export function hostfwd(p: PortSpec): string {
  return JSON.stringify({
    execute: "add_hostfwd",
    arguments: {
      proto: p.protocol,
      host_addr: p.hostIP === "" ? "0.0.0.0" : p.hostIP,
      host_port: p.hostPort,
      guest_addr: SLIRP_ADDRESS,
      guest_port: p.containerPort,
    },
  });
}

/** "127.0.0.1:8080:80/tcp" ⇄ PortSpec, for the hook's arguments. */
export function portArg(p: PortSpec): string {
  return `${p.hostIP}:${p.hostPort}:${p.containerPort}/${p.protocol}`;
}

export function parsePortArg(a: string): PortSpec {
  const m = /^([^:]*):(\d+):(\d+)\/(tcp|udp)$/.exec(a);
  if (!m)
    throw new LeopardError("invalid-argument", `slirp-hook: port "${a}" is not HOST_IP:PORT:PORT/PROTO`);
  return {
    hostIP: m[1] ?? "",
    hostPort: Number(m[2]),
    containerPort: Number(m[3]),
    protocol: m[4] as "tcp" | "udp",
  };
}

const dir = (run: string): string => `${run}/slirp`;
const pidFile = (run: string, id: string): string => `${dir(run)}/${id}.json`;

/** Where a container's network helper (slirp4netns or pasta) is recorded: its pid and start time. */
export function rootlessNetFiles(run: string, id: string): { dir: string; pidFile: string } {
  return { dir: dir(run), pidFile: pidFile(run, id) };
}
const apiSocket = (run: string, id: string): string => `${dir(run)}/${id}.sock`;

function request(sock: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // slirp4netns answers one JSON object per connection and then closes it.
    const c = connect(sock);
    let out = "";
    c.on("connect", () => c.write(body));
    c.on("data", (d) => {
      out += d.toString();
    });
    c.on("close", () => resolve(out));
    c.on("error", reject);
  });
}

/** Starts slirp4netns for the container whose init is pid, and forwards its ports. */
export async function startSlirp(
  run: string,
  id: string,
  pid: number,
  ports: readonly PortSpec[],
): Promise<void> {
  const bin = slirpBinary();
  if (bin === undefined) throw needSlirp("slirp4netns");
  mkdirSync(dir(run), { recursive: true, mode: 0o700 });
  const sock = apiSocket(run, id);
  rmSync(sock, { force: true });
  // Detached (a session of its own): it outlives this hook and the runtime, until stopSlirp.
  const log = `${dir(run)}/${id}.log`;
  const child = Bun.spawn(slirpArgv(bin, pid, sock), {
    stdio: ["ignore", "ignore", Bun.file(log)],
    env: hostToolEnv(),
    detached: true,
  } as Parameters<typeof Bun.spawn>[1]);
  child.unref();
  writeFileSync(
    pidFile(run, id),
    JSON.stringify({ pid: child.pid, start: processStartTime(child.pid) ?? "" }),
  );
  try {
    const end = Date.now() + READY_TIMEOUT_MS;
    // Ready when its API socket answers (it creates the socket once tap0 is configured).
    for (;;) {
      if (child.exitCode !== null)
        throw new LeopardError(
          "system",
          `slirp4netns exited with status ${child.exitCode}: ${lastLine(log)}`,
        );
      if (existsSync(sock)) {
        try {
          await request(sock, JSON.stringify({ execute: "list_hostfwd" }));
          break;
        } catch {
          // not listening yet
        }
      }
      if (Date.now() > end)
        throw new LeopardError("system", `slirp4netns did not become ready for container ${id}`);
      await Bun.sleep(10);
    }
    for (const p of ports) {
      const answer = await request(sock, hostfwd(p));
      if (!answer.includes('"return"') || answer.includes('"error"'))
        throw new LeopardError(
          "invalid-argument",
          `-p ${portArg(p)}: slirp4netns could not forward the port: ${answer.trim().replaceAll("\n", " ")}`,
        );
    }
  } catch (e) {
    stopSlirp(run, id);
    throw e;
  }
}

/** Stops the container's slirp4netns or pasta, if one runs (by its pid and start time), and removes its files. */
export function stopSlirp(run: string, id: string): void {
  const f = pidFile(run, id);
  try {
    const { pid, start } = JSON.parse(readFileSync(f, "utf8")) as { pid: number; start: string };
    if (pid > 0 && processStartTime(pid) === start) process.kill(pid, "SIGKILL");
  } catch {
    // no file, or the process is gone already
  }
  rmSync(f, { force: true });
  rmSync(apiSocket(run, id), { force: true });
  rmSync(`${dir(run)}/${id}.log`, { force: true });
}

function lastLine(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").at(-1) ?? "";
  } catch {
    return "";
  }
}
