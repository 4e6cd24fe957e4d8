// process.terminal: a pty relayed by a foreground `run`, and the master sent to --console-socket.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { type Bundle, bundle, OCI, trackBundles } from "./harness.ts";

const use = trackBundles();

const terminal = (c: Record<string, unknown>) => {
  (c["process"] as Record<string, unknown>)["terminal"] = true;
};

describe("terminal", () => {
  test("a foreground run relays a pty: the container sees a terminal and its window size", () => {
    const b = use(
      bundle({ userns: true, args: ["/bin/sh", "-c", "tty; stty size; echo done"], edit: terminal }),
    );
    // script(1) gives leopard-oci a terminal of its own, as a person's shell would.
    const cmd = `stty rows 33 cols 97; ${OCI} --root ${b.root} run -b ${b.dir} c1; echo "exit=$?"`;
    const r = Bun.spawnSync(["script", "-qec", cmd, "/dev/null"], {
      env: process.env, // with the harness's LEOPARD_CGROUP_PARENT
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    // script(1) echoes the end of its own /dev/null input as "^@" at a moment of its choosing.
    const out = r.stdout.toString().replaceAll("\r", "").replaceAll("^@", "");
    expect(out).toContain("/dev/pts/0\n33 97\ndone\n");
    expect(out).toContain("exit=0");
  });

  test("create --console-socket sends the pty master over the socket", async () => {
    const b = use(bundle({ args: ["/bin/sh", "-c", "tty; echo hello-console"], edit: terminal }));
    const sock = join(b.dir, "console.sock");
    const receiver = Bun.spawn(["python3", "-c", RECEIVER, sock], { stdout: "pipe", stderr: "pipe" });
    try {
      await consoleRoundTrip(b, sock, receiver);
    } finally {
      // A failed assertion must not leave the receiver waiting on its socket.
      receiver.kill();
      await receiver.exited;
    }
  });
});

async function consoleRoundTrip(b: Bundle, sock: string, receiver: Subprocess<"ignore", "pipe", "pipe">) {
  const reader = receiver.stdout.getReader();
  // The receiver says "ready" once it listens (a pipe may hand the line over in pieces).
  let first = "";
  while (!first.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    first += new TextDecoder().decode(value);
  }
  expect(first).toBe("ready\n");
  const c = Bun.spawnSync([OCI, "--root", b.root, "create", "-b", b.dir, "--console-socket", sock, "c1"], {
    env: process.env,
    stderr: "pipe",
  });
  expect(c.stderr.toString()).toBe("");
  expect(c.exitCode).toBe(0);
  expect(Bun.spawnSync([OCI, "--root", b.root, "start", "c1"], { env: process.env }).exitCode).toBe(0);
  let rest = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    rest += new TextDecoder().decode(value);
  }
  expect(await receiver.exited).toBe(0);
  const [name, output] = rest.split("\n---\n");
  expect(name).toMatch(/^\/dev\/pts\/\d+$/);
  expect((output ?? "").replaceAll("\r", "")).toBe(`${name}\nhello-console\n`);
  expect(
    Bun.spawnSync([OCI, "--root", b.root, "delete", "--force", "c1"], { env: process.env }).exitCode,
  ).toBe(0);
}

// Receives one fd with SCM_RIGHTS as podman's conmon does, then reads the container's output.
const RECEIVER = `
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(4096, socket.CMSG_SPACE(4))
fd = array.array("i", anc[0][2][:4])[0]
out = b""
while True:
    try:
        d = os.read(fd, 4096)
    except OSError:
        break
    if not d:
        break
    out += d
sys.stdout.write(msg.decode() + "\\n---\\n" + out.decode())
`;
