// A `leopard-oci serve` started by the first call on its socket, as systemd would start it
// (systemd-socket-activate), or a plain server where that tool is missing. Shared by the benches.
import { rmSync } from "node:fs";

/** Whether systemd-socket-activate is here (else the benches start a plain server). */
export const CAN_ACTIVATE = Bun.which("systemd-socket-activate") !== null;

export function activatedServer(oci: string, socket: string): ReturnType<typeof Bun.spawn> {
  rmSync(socket, { force: true }); // an activated server leaves systemd's socket file behind
  const activate = Bun.which("systemd-socket-activate");
  const env = Object.entries(process.env).flatMap(([k, v]) => (v === undefined ? [] : ["-E", `${k}=${v}`]));
  return activate === null
    ? Bun.spawn([oci, "serve", "--socket", socket], { stdout: "ignore", stderr: "inherit" })
    : Bun.spawn([activate, "--seqpacket", "-l", socket, ...env, oci, "serve"], {
        stdout: "ignore",
        stderr: "ignore",
      });
}
