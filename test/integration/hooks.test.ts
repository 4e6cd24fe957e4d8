// OCI hooks: all six stages at the spec's moments, with the state on stdin, their own args and
// env, timeouts, and the failure behaviour the spec sets for each stage.
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { type Bundle, bundle, oci, readState, trackBundles, until } from "./harness.ts";

// Real containers (and engines) on a busy machine: well past bun's default 5 s a test.
setDefaultTimeout(30_000);

const use = trackBundles();
type Json = Record<string, unknown>;
type Stage = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

/** A hook that records its stdin, $0, $STAGE and its mount namespace under dir. */
function recorder(stage: Stage, dir: string, extra = ""): Json {
  return {
    path: "/bin/sh",
    // busybox (in the container) picks its applet by argv[0]: there it must be "sh".
    args: [
      dir === "/mnt" ? "sh" : "hook-argv0",
      "-c",
      `cat > ${dir}/${stage}.json; echo "$0 $STAGE" > ${dir}/${stage}.env; readlink /proc/self/ns/mnt > ${dir}/${stage}.mnt; ${extra}`,
    ],
    env: [`STAGE=${stage}`],
  };
}

/** A bundle whose container bind-mounts a log directory at /mnt (startContainer writes there). */
function withHooks(
  args: string[],
  hooks: (log: string) => Partial<Record<Stage, Json[]>>,
): { b: Bundle; log: string } {
  const b = use(bundle({ args }));
  const log = join(b.dir, "log");
  mkdirSync(log);
  const c = b.config;
  c["hooks"] = hooks(log);
  (c["mounts"] as Json[]).push({
    destination: "/mnt",
    type: "bind",
    source: log,
    options: ["rbind", "rw"],
  });
  b.write();
  return { b, log };
}

const read = (log: string, name: string) => readFileSync(join(log, name), "utf8");

describe("hooks", () => {
  test("every stage runs once, in order, with the state on stdin, its own argv[0] and env, in the right namespace", async () => {
    const { b, log } = withHooks(["/bin/true"], (dir) => ({
      prestart: [recorder("prestart", dir)],
      createRuntime: [recorder("createRuntime", dir)],
      createContainer: [recorder("createContainer", dir)],
      startContainer: [recorder("startContainer", "/mnt")],
      poststart: [recorder("poststart", dir)],
      poststop: [recorder("poststop", dir)],
    }));
    const c = oci(b, ["create", "c1"]);
    expect(c.stderr).toBe("");
    expect(c.code).toBe(0);
    const pid = readState(b, "c1")["pid"] as number;
    const containerMnt = readlinkSync(`/proc/${pid}/ns/mnt`);
    const hostMnt = readlinkSync("/proc/self/ns/mnt");
    // create ran the first three; start the next two; delete the last.
    expect(
      readdirSync(log)
        .filter((f) => f.endsWith(".json"))
        .sort(),
    ).toEqual(["createContainer.json", "createRuntime.json", "prestart.json"]);
    expect(oci(b, ["start", "c1"]).code).toBe(0);
    expect(existsSync(join(log, "poststart.json"))).toBe(true);
    // startContainer runs in the container after start returns, just before its process.
    await until(() => readState(b, "c1")["status"] === "stopped");
    expect(oci(b, ["delete", "c1"]).code).toBe(0);
    const want: Record<Stage, [string, string]> = {
      prestart: ["creating", hostMnt],
      createRuntime: ["creating", hostMnt],
      createContainer: ["creating", containerMnt],
      startContainer: ["created", containerMnt],
      poststart: ["running", hostMnt],
      poststop: ["stopped", hostMnt],
    };
    for (const [stage, [status, mnt]] of Object.entries(want)) {
      const st = JSON.parse(read(log, `${stage}.json`));
      expect({ stage, ...st }).toEqual({
        stage,
        ociVersion: st.ociVersion,
        id: "c1",
        status,
        pid,
        bundle: b.dir,
      });
      expect(read(log, `${stage}.env`)).toBe(
        `${stage === "startContainer" ? "sh" : "hook-argv0"} ${stage}\n`,
      );
      expect({ stage, mnt: read(log, `${stage}.mnt`).trim() }).toEqual({ stage, mnt });
    }
  });

  test("a failing prestart hook fails create with an error naming it, and leaves nothing behind", () => {
    const { b } = withHooks(["/bin/true"], () => ({
      prestart: [{ path: "/bin/sh", args: ["sh", "-c", "echo broken >&2; exit 3"] }],
    }));
    const r = oci(b, ["create", "c1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'leopard-oci: create c1: prestart hook #0 "/bin/sh": exited with status 3: broken\n',
    );
    expect(oci(b, ["list", "-q"]).stdout).toBe("");
  });

  test("a failing createContainer hook fails create, naming it", () => {
    const { b } = withHooks(["/bin/true"], () => ({
      createContainer: [{ path: "/bin/false" }],
    }));
    const r = oci(b, ["create", "c1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'leopard-oci: create c1: createContainer hook "/bin/false": exited with status 1\n',
    );
    expect(oci(b, ["list", "-q"]).stdout).toBe("");
  });

  test("a hook past its timeout is killed and fails its stage", () => {
    const { b } = withHooks(["/bin/true"], () => ({
      createRuntime: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }],
    }));
    const started = Date.now();
    const r = oci(b, ["create", "c1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      'leopard-oci: create c1: createRuntime hook #0 "/bin/sleep": timed out after 1 s\n',
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    const c = withHooks(["/bin/true"], () => ({
      createContainer: [{ path: "/bin/sleep", args: ["sleep", "30"], timeout: 1 }],
    }));
    expect(oci(c.b, ["create", "c1"]).stderr).toBe(
      'leopard-oci: create c1: createContainer hook "/bin/sleep": timed out after 1000 ms\n',
    );
  });

  test("a failing startContainer hook stops the container before its process runs", () => {
    const { b, log } = withHooks(["/bin/sh", "-c", "touch /mnt/ran"], () => ({
      startContainer: [{ path: "/bin/false" }],
    }));
    const r = oci(b, ["run", "c1"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('startContainer hook "/bin/false": exited with status 1');
    expect(existsSync(join(log, "ran"))).toBe(false);
  });

  test("failing poststart and poststop hooks are warnings: start and delete succeed", () => {
    const { b, log } = withHooks(["/bin/sleep", "30"], (dir) => ({
      poststart: [{ path: "/bin/false" }, recorder("poststart", dir)],
      poststop: [{ path: "/bin/false" }, recorder("poststop", dir)],
    }));
    expect(oci(b, ["create", "c1"]).code).toBe(0);
    const s = oci(b, ["start", "c1"]);
    expect(s.code).toBe(0);
    expect(s.stderr).toBe('leopard-oci: warning: poststart hook #0 "/bin/false": exited with status 1\n');
    expect(readState(b, "c1")["status"]).toBe("running");
    const d = oci(b, ["delete", "--force", "c1"]);
    expect(d.code).toBe(0);
    expect(d.stderr).toBe('leopard-oci: warning: poststop hook #0 "/bin/false": exited with status 1\n');
    // The hooks after a failing one still ran.
    expect(existsSync(join(log, "poststart.json"))).toBe(true);
    expect(existsSync(join(log, "poststop.json"))).toBe(true);
  });
});
