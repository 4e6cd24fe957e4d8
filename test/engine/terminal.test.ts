// Terminals through the engine, driven by script(1) as the pty harness: `run -it` in the
// foreground (no monitor), `exec -it`, `attach` to a detached -it container through conmon and
// detaching with ctrl-p ctrl-q; `exec -d`; conmon's log size limit.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { statSync } from "node:fs";
import { join } from "node:path";
import { ENV, LEOPARD, leopard, ok, removeAll, STORAGE, until } from "./harness.ts";

setDefaultTimeout(60_000);
const NONE = ["--network", "none"];

afterAll(removeAll);

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs leopard under script(1): its stdin, stdout and stderr are a pty. */
async function inPty(
  args: string[],
  input: string[] = [],
  gapMs = 700,
): Promise<{ code: number; out: string }> {
  const cmd = [LEOPARD, ...args].map(q).join(" ");
  const p = Bun.spawn(["script", "-qefc", cmd, "/dev/null"], {
    env: ENV,
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  for (const chunk of input) {
    await Bun.sleep(gapMs);
    p.stdin.write(chunk);
    p.stdin.flush();
  }
  await Bun.sleep(gapMs);
  p.stdin.end();
  const out = await new Response(p.stdout).text();
  return { code: await p.exited, out: out.replaceAll("\r", "") };
}

describe("terminals", () => {
  test("run -it: a pty inside, keystrokes in, the exit status out", async () => {
    const r = await inPty(
      ["run", "-it", "--rm", ...NONE, "busybox", "sh"],
      ["tty; echo $((6*7))\n", "exit 4\n"],
    );
    expect(r.out).toContain("/dev/pts/0\n42\n");
    expect(r.code).toBe(4);
  });

  test("run -t without -i: a pty inside, no keystrokes in, the output logged as docker logs a tty", async () => {
    const r = await inPty(
      [
        "run",
        "-t",
        ...NONE,
        "--name",
        "ttyonly",
        "busybox",
        "sh",
        "-c",
        "tty; read -t 3 x; echo got:$x; echo done",
      ],
      ["hello\n"],
    );
    expect(r.code).toBe(0);
    expect(r.out).toContain("/dev/pts/0\n");
    expect(r.out).toContain("got:\ndone\n");
    expect(r.out).not.toContain("got:hello");
    const logs = (await ok(["logs", "ttyonly"])).replaceAll("\r", "");
    expect(logs).toBe("/dev/pts/0\ngot:\ndone\n");
    await ok(["rm", "ttyonly"]);
  });

  test("exec -it into a detached container; exec -d leaves its process running", async () => {
    await ok(["run", "-d", ...NONE, "--name", "shell", "busybox", "sleep", "1000"]);
    const r = await inPty(["exec", "-it", "shell", "sh"], ["tty; exit 6\n"]);
    expect(r.out).toContain("/dev/pts/0\n");
    expect(r.code).toBe(6);
    await ok(["exec", "-d", "shell", "sh", "-c", "sleep 0.2; echo done > /tmp/flag; sleep 1000"]);
    await until(
      "the detached exec wrote its file",
      async () => (await leopard(["exec", "shell", "cat", "/tmp/flag"])).out === "done\n",
    );
    expect(await ok(["top", "shell"])).toContain("sleep 1000");
    await ok(["rm", "-f", "shell"]);
  });

  test("attach to a detached -it container, type, detach with ctrl-p ctrl-q (docker's 'read escape sequence', 1); it keeps running", async () => {
    await ok(["run", "-d", "-it", ...NONE, "--name", "tty1", "busybox", "sh"]);
    const r = await inPty(["attach", "tty1"], ["echo attached-$((6*7))\n", "\x10\x11"]);
    expect(r.code).toBe(1);
    expect(r.out).toContain("read escape sequence");
    expect(r.out).toContain("attached-42");
    const s = JSON.parse(await ok(["inspect", "tty1"])) as { State: { Status: string } }[];
    expect(s[0]?.State.Status).toBe("running");
    // The terminal's output is in the log too.
    await until("the session in the log", async () => (await ok(["logs", "tty1"])).includes("attached-42"));
    await ok(["rm", "-f", "tty1"]);
  });

  test("--log-opt max-size keeps the log under the limit", async () => {
    const id = (
      await ok([
        "run",
        "-d",
        ...NONE,
        "--log-opt",
        "max-size=4k",
        "busybox",
        "sh",
        "-c",
        "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done",
      ])
    ).trim();
    expect(await ok(["wait", id])).toBe("0\n");
    expect(statSync(join(STORAGE, "containers", id, "ctr.log")).size).toBeLessThanOrEqual(4096);
    expect((await ok(["logs", "--tail", "1", id])).trim()).toBe("line-2999");
    const bad = await leopard(["run", "--rm", ...NONE, "--log-opt", "max-file=3", "busybox", "true"]);
    expect(bad.code).toBe(125);
    expect(bad.err).toContain('--log-opt "max-file=3"');
    await ok(["rm", id]);
  });
});
