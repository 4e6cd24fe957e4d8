// The launcher (native/launch.c serve_dir) and `serve` (src/serve/supervisor.ts defaultSocket,
// through src/serve/serve-dir.ts) must pick the same socket by default, or a server would listen
// where no launcher looks. Each case runs both in the same circumstances — the host's root, a user
// (setpriv to nobody), uid 0 in a new user namespace (unshare -U -r, as rootless podman calls its
// runtime), a user without XDG_RUNTIME_DIR, LEOPARD_SERVE_DIR — and checks both against the path
// expected. The launcher names the socket it tried in its LEOPARD_SERVE=1 error.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { TOP } from "../integration/harness.ts";

const LAUNCHER = join(TOP, "native/build/leopard-oci");
const BUN = process.execPath;
const XDG = "/nonexistent-leopard-xdg";
const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

function run(argv: string[], env: Record<string, string>) {
  const r = Bun.spawnSync(argv, {
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", ...env },
    stderr: "pipe",
  });
  return { out: r.stdout.toString().trim(), err: r.stderr.toString().trim(), code: r.exitCode };
}

/** The socket the launcher tried, from its "not served" line ("" when it named none). */
function launcherSocket(prefix: string[], env: Record<string, string>): string {
  const r = run([...prefix, LAUNCHER, "state", "no-such-container"], { ...env, LEOPARD_SERVE: "1" });
  expect(r.code).not.toBe(0);
  const m = /not served \(LEOPARD_SERVE=1\): (\/\S+\.sock): /.exec(r.err);
  return m?.[1] ?? r.err;
}

/** What `serve` would bind, and the user namespace's inode, read in the same circumstances. */
function serveSocket(prefix: string[], env: Record<string, string>): { socket: string; ino: string } {
  const script = `import { defaultSocket } from ${JSON.stringify(join(TOP, "src/serve/supervisor.ts"))};
import { statSync } from "node:fs";
let s; try { s = defaultSocket("leopard-oci"); } catch (e) { s = "error: " + e.message; }
console.log(JSON.stringify({ socket: s, ino: String(statSync("/proc/self/ns/user").ino) }));`;
  const r = run([...prefix, BUN, "-e", script], env);
  expect(r.err).toBe("");
  return JSON.parse(r.out) as { socket: string; ino: string };
}

test("the host's root: /run/leopard-serve", () => {
  const env = { XDG_RUNTIME_DIR: "/run/user/0" };
  expect(launcherSocket([], env)).toBe("/run/leopard-serve/leopard-oci.sock");
  expect(serveSocket([], env).socket).toBe("/run/leopard-serve/leopard-oci.sock");
});

test("a user: $XDG_RUNTIME_DIR/leopard-serve", () => {
  const env = { XDG_RUNTIME_DIR: `${XDG}/` };
  expect(launcherSocket(NOBODY, env)).toBe(`${XDG}/leopard-serve/leopard-oci.sock`);
  expect(serveSocket(NOBODY, env).socket).toBe(`${XDG}/leopard-serve/leopard-oci.sock`);
});

test("uid 0 in another user namespace: the namespace's own directory", () => {
  const env = { XDG_RUNTIME_DIR: XDG };
  const unshare = ["unshare", "-U", "-r"];
  const { socket, ino } = serveSocket(unshare, env);
  expect(ino).toMatch(/^\d+$/);
  expect(ino).not.toBe(String(0xeffffffd));
  expect(socket).toBe(`${XDG}/leopard-serve/userns-${ino}/leopard-oci.sock`);
  // Another namespace, another inode (or the same number reused): the launcher's path has the shape.
  expect(launcherSocket(unshare, env)).toMatch(
    new RegExp(`^${XDG}/leopard-serve/userns-\\d+/leopard-oci\\.sock$`),
  );
  // In one namespace both read the same inode.
  const both = run([...unshare, "sh", "-c", `${LAUNCHER} state x 2>&1; stat -L -c %i /proc/self/ns/user`], {
    ...env,
    LEOPARD_SERVE: "1",
  });
  const [line, nsIno] = both.out.split("\n");
  expect(line).toContain(`${XDG}/leopard-serve/userns-${nsIno}/leopard-oci.sock`);
});

test("a user without XDG_RUNTIME_DIR: no socket, said in one line", () => {
  const r = run([...NOBODY, LAUNCHER, "state", "x"], { LEOPARD_SERVE: "1" });
  expect(r.err).toBe(
    "leopard-oci: not served (LEOPARD_SERVE=1): no socket directory: XDG_RUNTIME_DIR is not set",
  );
  expect(serveSocket(NOBODY, {}).socket).toBe(
    "error: XDG_RUNTIME_DIR is not set: a user's server listens in $XDG_RUNTIME_DIR/leopard-serve (or pass --socket PATH)",
  );
});

test("LEOPARD_SERVE_DIR wins over both", () => {
  const env = { LEOPARD_SERVE_DIR: "/tmp/leopard-serve-dir-test", XDG_RUNTIME_DIR: XDG };
  for (const prefix of [[], NOBODY, ["unshare", "-U", "-r"]]) {
    expect(launcherSocket(prefix, env)).toBe("/tmp/leopard-serve-dir-test/leopard-oci.sock");
    expect(serveSocket(prefix, env).socket).toBe("/tmp/leopard-serve-dir-test/leopard-oci.sock");
  }
});
