// Attack: another user prepares the server's socket directory before the server starts (owns it,
// or makes it writable to others, or puts a symlink there), so that it can replace the socket
// (callers would reach its server, or none), or swap the socket's path for a symlink before the
// server's chmod by path and have the server change another file's mode. Defence: the supervisor
// refuses a socket directory it did not create unless it belongs to the server's uid, has mode
// 0700 and is not a symlink (lstat), and creates the socket with its mode already set (umask
// around bind: there is no chmod by path).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  chmodSync,
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../integration/harness.ts";
import { OCI } from "./serve-harness.ts";

setDefaultTimeout(60_000);
const base = mkdtempSync(join(tmpdir(), "leopard-serve-dir-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Starts a server on dir/leopard-oci.sock; returns how it ended, or stops it once it listens. */
async function serveIn(
  dir: string,
  umask = "022",
): Promise<{
  code: number | null;
  stderr: string;
  listened: boolean;
  socketMode?: number | undefined;
}> {
  const socket = join(dir, "leopard-oci.sock");
  const p = Bun.spawn(
    ["/bin/sh", "-c", `umask ${umask}; exec "$@"`, "sh", OCI, "serve", "--socket", socket, "--workers", "1"],
    {
      env: process.env,
      stdout: "ignore",
      stderr: "pipe",
    },
  );
  let exited = false;
  void p.exited.then(() => {
    exited = true;
  });
  await until(() => exited || existsSync(socket), 30_000, "the server to listen or exit");
  const listened = !exited;
  const socketMode = listened ? lstatSync(socket).mode & 0o7777 : undefined;
  if (listened) p.kill("SIGTERM");
  const code = await p.exited;
  const stderr = await new Response(p.stderr).text();
  return listened ? { code: null, stderr, listened, socketMode } : { code, stderr, listened };
}

describe("serve-socket-dir-takeover", () => {
  test("a socket directory that belongs to another user is refused, and nothing is made in it", async () => {
    const dir = mkdtempSync(join(base, "theirs-"));
    chownSync(dir, 1000, 1000);
    expect(await serveIn(dir)).toEqual({
      code: 1,
      stderr: `leopard-oci: serve: socket directory "${dir}" belongs to uid 1000, not 0\n`,
      listened: false,
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a socket directory others may write is refused", async () => {
    const dir = mkdtempSync(join(base, "open-"));
    chmodSync(dir, 0o777);
    expect(await serveIn(dir)).toEqual({
      code: 1,
      stderr: `leopard-oci: serve: socket directory "${dir}" has mode 0777, not 0700\n`,
      listened: false,
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  test("a socket directory that is a symlink is refused, even to a directory fit to serve in", async () => {
    const real = mkdtempSync(join(base, "real-"));
    const link = join(base, "link");
    symlinkSync(real, link);
    expect(await serveIn(link)).toEqual({
      code: 1,
      stderr: `leopard-oci: serve: socket directory "${link}" is a symlink, not a directory\n`,
      listened: false,
    });
    expect(readdirSync(real)).toEqual([]);
  });

  test("a directory the server makes is 0700 and its socket 0600, whatever the umask", async () => {
    const dir = join(base, "made", "sockets");
    mkdirSync(join(base, "made"));
    const r = await serveIn(dir, "000");
    expect(r).toEqual({ code: null, listened: true, stderr: "", socketMode: 0o600 });
    expect(lstatSync(dir).mode & 0o7777).toBe(0o700);
  });
});
