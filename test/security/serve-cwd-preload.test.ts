// Attack: a server started in a directory someone else can write (an admin runs `leopard-oci
// serve` from a project checkout, a home directory) loads that directory's bunfig.toml and .env
// into every worker: a `preload` there runs code in each worker, as the server's user (root).
// Defence: the launcher runs serve's Bun, and the keeper runs each worker's, with --no-env-file
// --config=/dev/null, as direct calls are run.
import { afterAll, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until } from "../integration/harness.ts";
import { OCI } from "./serve-harness.ts";

setDefaultTimeout(60_000);
const dir = mkdtempSync(join(tmpdir(), "leopard-serve-cwd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a bunfig.toml preload and a .env in the directory serve was started in reach no worker", async () => {
  const marker = join(dir, "preloaded");
  writeFileSync(
    join(dir, "evil.ts"),
    `require("node:fs").appendFileSync(${JSON.stringify(marker)}, process.argv.join(" ") + "\\n");\n`,
  );
  writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
  writeFileSync(join(dir, ".env"), `NODE_OPTIONS=--require=${join(dir, "evil.ts")}\n`);
  // The attack works on a Bun started there without the flags: the check can fail.
  Bun.spawnSync([process.execPath, "-e", "0"], { cwd: dir });
  expect(existsSync(marker)).toBe(true);
  rmSync(marker);
  const sock = join(dir, "sockets");
  const server = Bun.spawn([OCI, "serve", "--socket", join(sock, "leopard-oci.sock")], {
    cwd: dir,
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    const env = {
      ...process.env,
      LEOPARD_SERVE: "1",
      LEOPARD_SERVE_DIR: sock,
      LEOPARD_SERVE_WAIT_MS: "30000",
    };
    await until(
      () => Bun.spawnSync([OCI, "--version"], { env, stdout: "ignore", stderr: "ignore" }).exitCode === 0,
      30_000,
      "a served call",
    );
    const r = Bun.spawnSync([OCI, "--root", join(dir, "state"), "list"], { env, stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.exitCode).toBe(0);
    expect(existsSync(marker)).toBe(false);
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
});
