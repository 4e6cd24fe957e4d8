// Bad input to `leopard build`: each a one-line error naming the file and line (or the flag),
// exit status 1, and nothing left behind — no image or tag, no blob, snapshot or cache entry,
// no build container, runtime state, mount or cgroup — also when ctrl-c (SIGINT) stops a RUN.
import { beforeAll, describe, expect, test } from "bun:test";
import { ENV, LEOPARD } from "../engine/harness.ts";
import { busybox, context, leftovers, leopard, ok, storeListing } from "./harness.ts";

beforeAll(busybox, 120_000);

async function fails(files: Record<string, string>, args: string[], message: string): Promise<void> {
  const before = await storeListing();
  const ctx = context(files);
  const r = await leopard(["build", "-t", "build-bad", ...args, ctx]);
  expect(r.code).toBe(1);
  const lines = r.err.trim().split("\n");
  expect(lines.length).toBe(1);
  expect(lines[0]).toBe(`leopard: build ${ctx}: ${message}`);
  expect(await storeListing()).toEqual(before);
  expect(leftovers()).toEqual([]);
}

describe("leopard build refuses bad input and leaves nothing behind", () => {
  test("an unknown instruction names the file and line", () =>
    fails(
      { Dockerfile: "FROM busybox\nRUN true\nBOGUS x\n" },
      [],
      'Dockerfile:3: unknown instruction "BOGUS"',
    ));
  test("a syntax error in a file given by -f names that file", async () => {
    const ctx = context({ "alt.df": "FROM busybox\nCOPY --nope=1 a b\n" });
    const r = await leopard(["build", "-f", `${ctx}/alt.df`, ctx]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`leopard: build ${ctx}: ${ctx}/alt.df:2: COPY does not take the flag "--nope"\n`);
  });
  test("a COPY source outside the context", () =>
    fails(
      { Dockerfile: "FROM busybox\nRUN echo x > /x\nCOPY ../etc/passwd /p\n" },
      [],
      'Dockerfile:3: COPY source "../etc/passwd" is outside the build context',
    ));
  test("a missing COPY source, and one excluded by .dockerignore", async () => {
    await fails(
      { Dockerfile: "FROM busybox\nCOPY nope /x\n" },
      [],
      'Dockerfile:2: COPY source "nope" is not in the build context',
    );
    await fails(
      { Dockerfile: "FROM busybox\nCOPY x.key /x\n", "x.key": "k", ".dockerignore": "*.key" },
      [],
      'Dockerfile:2: COPY source "x.key" is not in the build context (excluded by .dockerignore)',
    );
  });
  test("a failing RUN: its exit code and last lines; the steps before it are not kept", () =>
    fails(
      { Dockerfile: "FROM busybox\nRUN echo kept > /k\nRUN echo one; echo two; exit 3\n" },
      ["-q", "--no-cache"],
      "Dockerfile:3: RUN echo one; echo two; exit 3 exited with code 3; its last output: one | two",
    ));
  test("a missing --target stage", () =>
    fails(
      { Dockerfile: "FROM busybox AS a\nRUN true\n" },
      ["--target", "nope"],
      'target stage "nope" could not be found',
    ));
  test("a RUN of a command the image does not have", () =>
    fails(
      { Dockerfile: "FROM scratch\nRUN echo hi\n" },
      [],
      'Dockerfile:2: cannot run "/bin/sh -c echo hi": "/bin/sh": no such file or directory',
    ));
  test("COPY --from a stage that does not exist", () =>
    fails(
      { Dockerfile: "FROM busybox\nCOPY --from=nostage /x /x\n" },
      [],
      'Dockerfile:2: COPY --from=nostage: no stage of that name, and no such image (registry "docker.io" could not be reached: Was there a typo in the url or port?)',
    ));

  // The message names this host's platform: written for amd64 hosts.
  test.skipIf(process.arch !== "x64")("a RUN for another platform (no emulation)", () =>
    fails(
      { Dockerfile: "FROM busybox\nRUN true\n" },
      ["--platform", "linux/arm64"],
      "Dockerfile:2: RUN for linux/arm64 on a linux/amd64 host needs emulation, which leopard build does not do",
    ),
  );

  test("ctrl-c (SIGINT) during a RUN stops the build and leaves nothing", async () => {
    const before = await storeListing();
    const ctx = context({ Dockerfile: "FROM busybox\nRUN echo started; sleep 60\n" });
    const p = Bun.spawn([LEOPARD, "build", "--no-cache", "-t", "build-int", ctx], {
      env: ENV,
      stdout: "pipe",
      stderr: "pipe",
    });
    const reader = p.stdout.getReader();
    let out = "";
    while (!out.includes("started\n")) {
      const r = await reader.read();
      if (r.done) break;
      out += new TextDecoder().decode(r.value);
    }
    expect(out).toContain("started\n");
    p.kill("SIGINT");
    const code = await p.exited;
    expect(code).toBe(1);
    expect(await new Response(p.stderr).text()).toBe(`leopard: build ${ctx}: build interrupted\n`);
    expect(await storeListing()).toEqual(before);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test("a build killed outright (SIGKILL) mid-RUN is cleaned up by the next build", async () => {
    const before = await storeListing();
    const ctx = context({ Dockerfile: "FROM busybox\nRUN echo started; sleep 60\n" });
    const p = Bun.spawn([LEOPARD, "build", "--no-cache", ctx], { env: ENV, stdout: "pipe", stderr: "pipe" });
    const reader = p.stdout.getReader();
    let out = "";
    while (!out.includes("started\n")) {
      const r = await reader.read();
      if (r.done) break;
      out += new TextDecoder().decode(r.value);
    }
    p.kill("SIGKILL");
    await p.exited;
    // What it left: its container (directory, mount, runtime state, cgroup, namespace).
    expect(leftovers().length).toBeGreaterThan(0);
    const next = context({ Dockerfile: "FROM busybox\nRUN exit 7\n" });
    const r = await leopard(["build", "-q", next]);
    expect(r.err).toBe(`leopard: build ${next}: Dockerfile:2: RUN exit 7 exited with code 7\n`);
    expect(await storeListing()).toEqual(before);
    expect(leftovers()).toEqual([]);
  }, 60_000);

  test("system prune during a build leaves the running step alone", async () => {
    const ctx = context({ Dockerfile: "FROM busybox\nRUN echo started; sleep 60\n" });
    const p = Bun.spawn([LEOPARD, "build", "--no-cache", ctx], { env: ENV, stdout: "pipe", stderr: "pipe" });
    const reader = p.stdout.getReader();
    let out = "";
    while (!out.includes("started\n")) {
      const r = await reader.read();
      if (r.done) break;
      out += new TextDecoder().decode(r.value);
    }
    const during = leftovers().filter((l) => l.includes("leopard-build-"));
    expect(during.some((l) => l.startsWith("runtime state"))).toBe(true);
    await ok(["system", "prune", "-f"]);
    expect(leftovers().filter((l) => l.includes("leopard-build-"))).toEqual(during);
    p.kill("SIGINT");
    expect(await p.exited).toBe(1);
    expect(leftovers()).toEqual([]);
  }, 60_000);
});
