// Attack: the launcher is started with one of fds 0-2 closed, so the socket it opens to the
// server takes that number and goes to the worker as the caller's stdin, stdout or stderr. What
// the worker (or the container) then writes to "stdout" would be read by the launcher as messages
// from the server ("P": start this program), and what it reads from "stdin" would be the
// server's messages. Defence: the launcher puts /dev/null on any of fds 0-2 that is closed before
// it opens a socket.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { bundle, trackBundles } from "../integration/harness.ts";
import { OCI, type Server, startServer } from "./serve-harness.ts";

setDefaultTimeout(60_000);
const use = trackBundles();
let server: Server;

beforeAll(async () => {
  server = await startServer("leopard-oci");
});

afterAll(async () => {
  await server.stop();
});

describe("serve-launcher-closed-stdio", () => {
  test.each([
    [0, { stdout: "out\n", stderr: "err\n" }],
    [1, { stdout: "", stderr: "err\n" }],
    [2, { stdout: "out\n", stderr: "" }],
  ] as const)("a served run started with fd %d closed gets /dev/null there, never the launcher's socket", (fd, seen) => {
    // cat: stdin is read to its end.
    const b = use(bundle({ args: ["/bin/sh", "-c", "echo out; echo err >&2; cat"] }));
    const r = Bun.spawnSync(
      ["/bin/sh", "-c", `exec ${fd}>&-; exec "$@"`, "sh", OCI, "--root", b.root, "run", "c1"],
      {
        env: server.served(),
        cwd: b.dir,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect({ code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() }).toEqual({
      code: 0,
      ...seen,
    });
  });
});
