// A rootless container's network through pasta (Debian's passt package), the first choice where
// it is installed; slirp4netns (src/engine/slirp.ts) is the fallback. pasta joins the container's
// user and network namespaces, gives it a tap device with the host's address and routes (outbound
// connections leave as the host's own, no NAT table), and binds the published ports on the host
// itself, forwarding them into the namespace. Nothing else is forwarded: pasta's defaults forward
// every port bound on either side ("auto"), so each direction is given explicitly, and the
// gateway address is not mapped to the host (the host's loopback stays out of reach, as with
// slirp4netns's --disable-host-loopback). pasta daemonizes once the namespace is configured and
// the ports are bound: its exit status is the readiness (and the error) of the setup. Started by
// the same createRuntime hook as slirp4netns; its pid and start time go in the same file, so
// stopSlirp stops either.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostToolEnv, SYSTEM_PATH } from "../sys/host-tool.ts";
import { processStartTime } from "../sys/proc.ts";
import { LeopardError } from "../util/errors.ts";
import type { PortSpec } from "./flags.ts";
import { rootlessNetFiles, stopSlirp } from "./slirp.ts";

export function pastaBinary(): string | undefined {
  return SYSTEM_PATH.split(":")
    .map((d) => `${d}/pasta`)
    .find((p) => existsSync(p));
}

/** --network pasta without pasta: one line naming the package. */
export function needPasta(): LeopardError {
  return new LeopardError(
    "unsupported",
    "--network pasta: pasta is not installed (as root: apt-get install passt), or use --network slirp4netns",
  );
}

/** One published port as pasta's -t/-u spec: [ADDR/]PORT:TARGET. */
export function pastaPort(p: PortSpec): string[] {
  const addr = p.hostIP === "" ? "" : `${p.hostIP}/`;
  return [p.protocol === "udp" ? "-u" : "-t", `${addr}${p.hostPort}:${p.containerPort}`];
}

/** pasta's command line for the namespaces of pid, forwarding exactly the published ports. */
export function pastaArgv(bin: string, pid: number, pidFile: string, ports: readonly PortSpec[]): string[] {
  const tcp = ports.filter((p) => p.protocol === "tcp");
  const udp = ports.filter((p) => p.protocol === "udp");
  return [
    bin,
    "--config-net",
    "--quiet",
    "--no-map-gw",
    // Nothing from the container to the host's own ports.
    "-T",
    "none",
    "-U",
    "none",
    // Host to container: the published ports only ("none" cannot be given beside a port).
    ...(tcp.length === 0 ? ["-t", "none"] : tcp.flatMap(pastaPort)),
    ...(udp.length === 0 ? ["-u", "none"] : udp.flatMap(pastaPort)),
    "--pid",
    pidFile,
    "--userns",
    `/proc/${pid}/ns/user`,
    "--netns",
    `/proc/${pid}/ns/net`,
  ];
}

/** Starts pasta for the container whose init is pid; returns once its namespace is wired. */
export async function startPasta(
  run: string,
  id: string,
  pid: number,
  ports: readonly PortSpec[],
): Promise<void> {
  const bin = pastaBinary();
  if (bin === undefined) throw needPasta();
  const files = rootlessNetFiles(run, id);
  mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const own = `${files.pidFile}.pasta`;
  rmSync(own, { force: true });
  const p = Bun.spawn(pastaArgv(bin, pid, own, ports), {
    stdio: ["ignore", "ignore", "pipe"],
    env: hostToolEnv(),
  });
  const [err, status] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  let daemon = 0;
  try {
    daemon = Number(readFileSync(own, "utf8").trim());
  } catch {
    // no pid file: it did not get that far
  }
  rmSync(own, { force: true });
  if (daemon > 0)
    writeFileSync(files.pidFile, JSON.stringify({ pid: daemon, start: processStartTime(daemon) ?? "" }));
  if (status !== 0 || daemon <= 0) {
    stopSlirp(run, id);
    const why = err.trim().split("\n").filter(Boolean).at(-1) ?? `exited with status ${status}`;
    throw new LeopardError(
      ports.length > 0 && /bind|port/i.test(why) ? "invalid-argument" : "system",
      `pasta could not wire container ${id}'s network: ${why}`,
    );
  }
}
